"""security check: fingerprints stay the same when lines move or are reformatted (a baseline of known
findings must keep matching them), and never derive from a secret's value."""

from __future__ import annotations

import hashlib
from pathlib import Path

from auditor.model import Outcome, fingerprint
from checks.security.check import SecurityCheck
from checks.security.config import SecurityConfig
from tests.checks.security_helpers import DB_PASSWORD, GITHUB_TOKEN
from tests.conftest import check_context

ORIGINAL = ("import subprocess\n"
            f'GITHUB_TOKEN = "{GITHUB_TOKEN}"\n'
            "\n\n"
            "def run(cmd):\n"
            "    return subprocess.call(cmd, shell=True)\n")
# Two blank lines above everything: every finding moves down by two.
SHIFTED = "\n\n" + ORIGINAL
# Reformatted as a formatter or a hand edit would: spaces inside the lines, another indentation.
REFORMATTED = ("\n\nimport  subprocess\n"
               f'GITHUB_TOKEN="{GITHUB_TOKEN}"\n'
               "\n\n"
               "def run(cmd):\n"
               "        return subprocess.call( cmd, shell = True )\n")


def run_on(text: str, tmp_path: Path, name: str) -> Outcome:
    repo = tmp_path / name / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "tasks.py").write_text(text)
    work = tmp_path / name / "work"
    work.mkdir()
    ctx = check_context(None, SecurityConfig(), work, repo=repo)
    with ctx.http:
        return SecurityCheck().run(ctx)


def prints(outcome: Outcome) -> dict[str, tuple[str, int]]:
    """finding → (fingerprint, line), the finding named by its rule and bandit test."""
    return {f"{f.rule_id} {f.title.split()[0] if f.rule_id == 'SEC001' else ''}".strip():
            (f.fingerprint, f.location["line"]) for f in outcome.findings}


def test_fingerprints_survive_blank_lines_above_and_reformatting(tmp_path):
    original = prints(run_on(ORIGINAL, tmp_path, "original"))
    shifted = prints(run_on(SHIFTED, tmp_path, "shifted"))
    reformatted = prints(run_on(REFORMATTED, tmp_path, "reformatted"))
    assert set(original) == {"SEC001 B404", "SEC001 B602", "SEC013"}
    # The lines really moved...
    assert {k: line for k, (_, line) in original.items()} == {"SEC001 B404": 1, "SEC001 B602": 6, "SEC013": 2}
    assert {k: line for k, (_, line) in shifted.items()} == {"SEC001 B404": 3, "SEC001 B602": 8, "SEC013": 4}
    # ...and the fingerprints did not.
    assert {k: fp for k, (fp, _) in shifted.items()} == {k: fp for k, (fp, _) in original.items()}
    assert {k: fp for k, (fp, _) in reformatted.items()} == {k: fp for k, (fp, _) in original.items()}
    assert len({fp for fp, _ in original.values()}) == 3


def test_secret_fingerprint_keys_on_detect_secrets_hash_never_the_value(tmp_path):
    outcome = run_on(f'db_password = "{DB_PASSWORD}"\n', tmp_path, "one")
    (secret,) = [f for f in outcome.findings if f.rule_id == "SEC010"]
    hashed = hashlib.sha1(DB_PASSWORD.encode()).hexdigest()  # detect-secrets' PotentialSecret.hash_secret
    assert secret.fingerprint == fingerprint("SEC010", {"file": "app/tasks.py"}, f"Secret Keyword:{hashed}")


def test_bandit_fingerprint_keys_on_the_whitespace_free_line_and_test(tmp_path):
    outcome = run_on(ORIGINAL, tmp_path, "one")
    shell = next(f for f in outcome.findings if f.title.startswith("B602"))
    assert shell.fingerprint == fingerprint("SEC001", {"file": "app/tasks.py"},
                                            "B602:returnsubprocess.call(cmd,shell=True)")
