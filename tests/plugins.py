"""A throwaway plugin distribution, installed only for the test that asks for it (PYTHONPATH), so the
registry finds these checks through the same entry-point group as the built-ins."""

from __future__ import annotations

import textwrap
from pathlib import Path

PLUGIN_SOURCE = textwrap.dedent('''
    import os
    import time
    from pathlib import Path

    from auditor.interface import CheckConfig, CheckError, Safety
    from auditor.model import Finding, Outcome, Section, Severity


    class _Base:
        section = Section.DEPLOYMENT
        needs = frozenset({"service"})
        safety = Safety.PASSIVE
        config_model = CheckConfig


    class Crashy(_Base):
        id, title = "crashy", "Crashes on purpose"

        def run(self, ctx):
            raise RuntimeError("boom from a broken plugin")


    class Echoer(_Base):
        id, title = "echoer", "Echoes the request headers back as evidence"

        def run(self, ctx):
            response = ctx.http.get("/echo")
            finding = Finding(rule_id="TST001", severity=Severity.MEDIUM, title="echoed headers",
                              message=response.text, location={"endpoint": "GET /echo"},
                              evidence=response.evidence())
            return Outcome(summary="echoed " + response.text.replace("\\n", " | "), findings=[finding],
                           metrics={"echo": response.text})


    class Sleepy(_Base):
        id, title = "sleepy", "Sleeps past its deadline"

        def run(self, ctx):
            time.sleep(30)


    class Stopper(_Base):
        id, title = "stopper", "Measures until the audit is stopped, then returns what it has"

        def run(self, ctx):
            Path(os.environ["STOPPER_MARK"]).write_text("started")
            ctx.stop.wait(60)
            return Outcome(summary="measured 3 ticks", metrics={"ticks": 3})


    class Writer(_Base):
        id, title = "writer", "Tries a write"

        def run(self, ctx):
            ctx.http.request("POST", "/things", json={})
            return Outcome(summary="wrote")


    class Failer(_Base):
        id, title = "failer", "Reports one finding of the configured severity"
        needs = frozenset()

        class config_model(CheckConfig):
            severity: str = "high"

        def run(self, ctx):
            finding = Finding(rule_id="TST002", severity=Severity(ctx.config.severity), title="<script>alert(1)</script>",
                              message="m", location={"file": "app.py", "line": 3})
            return Outcome(summary="one finding", findings=[finding])


    class Loader(_Base):
        id, title = "loader", "A load test (safety LOAD) that only says it ran"
        safety = Safety.LOAD

        def run(self, ctx):
            return Outcome(summary="loaded")


    class RepoOnly(_Base):
        id, title = "repoonly", "Needs a repo"
        needs = frozenset({"repo"})

        def run(self, ctx):
            raise CheckError("should have been skipped")
''')


def install_test_plugins(root: Path) -> Path:
    """Write the plugin module and its dist-info under ``root``; put ``root`` on PYTHONPATH to use it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "audit_test_plugins.py").write_text(PLUGIN_SOURCE)
    dist = root / "audit_test_plugins-0.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: audit-test-plugins\nVersion: 0.0\n")
    names = ["crashy:Crashy", "echoer:Echoer", "sleepy:Sleepy", "writer:Writer", "failer:Failer",
             "repoonly:RepoOnly", "stopper:Stopper", "loader:Loader"]
    entries = "\n".join(f"{n.split(':')[0]} = audit_test_plugins:{n.split(':')[1]}" for n in names)
    (dist / "entry_points.txt").write_text(f"[auditor.checks]\n{entries}\n")
    return root
