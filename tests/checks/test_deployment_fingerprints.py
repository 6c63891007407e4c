"""Fingerprints of the deployment check's findings are stable across line shifts (baselines gate on
findings new since a run) and tell apart two findings of one rule in one file by what they are about
(the ENV/ARG name and its stage, the FROM, the container, the Dockerfile), never by a line number."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

from auditor.model import Finding
from tests.checks.deployment_helpers import run_check

DOCKERFILE = textwrap.dedent("""\
    ARG GITHUB_TOKEN
    FROM python AS build
    ARG GITHUB_TOKEN
    ENV API_TOKEN=abcdef0123456789 \\
        DB_PASSWORD=correct-horse-battery
    RUN pip wheel -w /wheels .
    FROM python:latest
    ENV SECRET_KEY=zyxwvu9876543210
    ENV API_TOKEN=fedcba9876543210
    ARG NPM_TOKEN
    COPY --from=build /wheels /wheels
    COPY app /app
    CMD python -m app
    """)
WORKER = "FROM python\nARG GITHUB_TOKEN\nCOPY app /app\nCMD [\"python\", \"-m\", \"app.worker\"]\n"
MANIFEST = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api}
    spec:
      template:
        spec:
          containers:
            - name: api
              image: api:1
            - name: sidecar
              image: proxy:1
    ---
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: api}
    spec:
      template:
        spec:
          containers:
            - name: api
              image: api:1
    """)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "svc"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "__init__.py").write_text("import os\nLEVEL = os.environ.get('LOG_LEVEL')\n")
    (repo / "Dockerfile").write_text(DOCKERFILE)
    (repo / "worker.Dockerfile").write_text(WORKER)
    (repo / ".dockerignore").write_text("*.pyc\n")       # neither .env nor .git excluded
    (repo / ".git").mkdir()                               # the context "is a git checkout" for DPL012
    (repo / "k8s.yaml").write_text(MANIFEST)
    return repo


def _prints(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.rule_id, f.fingerprint) for f in findings)


def test_two_findings_of_one_rule_in_one_file_have_distinct_fingerprints(tmp_path):
    outcome = run_check(_repo(tmp_path), tmp_path)
    rules = Counter(f.rule_id for f in outcome.findings)
    # The fixture has look-alikes for every rule that can repeat within one file.
    assert rules["DPL003"] == 3 and rules["DPL005"] == 4 and rules["DPL006"] == 4 and rules["DPL015"] == 3
    assert rules["DPL011"] == 2 and rules["DPL012"] == 2   # one .dockerignore, two Dockerfiles
    prints = Counter(f.fingerprint for f in outcome.findings)
    assert [p for p, n in prints.items() if n > 1] == []


def test_blank_lines_at_the_top_keep_every_fingerprint(tmp_path):
    repo = _repo(tmp_path)
    before = run_check(repo, tmp_path).findings
    (repo / "Dockerfile").write_text("\n\n# syntax=docker/dockerfile:1\n\n" + DOCKERFILE)
    (repo / "worker.Dockerfile").write_text("\n\n\n" + WORKER)
    (repo / "k8s.yaml").write_text("\n# manifests\n\n" + MANIFEST)
    after = run_check(repo, tmp_path).findings
    # The lines did move (else this test would prove nothing) ...
    lines_before = sorted((f.rule_id, f.location.get("line") or 0) for f in before if f.location.get("line", 1) > 1)
    lines_after = sorted((f.rule_id, f.location.get("line") or 0) for f in after if f.location.get("line", 1) > 1)
    assert lines_before and lines_before != lines_after
    # ... and every finding kept its fingerprint.
    assert _prints(before) == _prints(after)
