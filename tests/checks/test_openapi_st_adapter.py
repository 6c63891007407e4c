"""The schemathesis child's supervision, with real child processes: a child that floods stderr runs to its
end (stderr is a file, not a pipe read after exit), its last line is kept, and a stop still kills it."""

from __future__ import annotations

import os
import sys

from checks.openapi import st_adapter

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def test_a_child_flooding_stderr_is_not_stalled_and_its_last_line_is_kept(tmp_path):
    # 300 KB of stderr, far past a pipe's 64 KB: with a pipe read only after exit the child would block on
    # its write until the backstop killed it, and `stopped` would say so.
    script = ("import sys; job = sys.stdin.read(); sys.stderr.write('noise ' * 50000 + '\\n'); "
              "sys.stderr.write('last: ' + job + '\\n'); sys.exit(3)")
    returncode, stopped, tail = st_adapter.supervise(
        [sys.executable, "-c", script], b"the job", cwd=tmp_path, env=ENV, results=tmp_path / "results.jsonl",
        budget=5.0, should_stop=lambda: False)
    assert stopped == ""
    assert returncode == 3
    assert tail.splitlines()[-1] == "last: the job"
    assert len(tail) <= st_adapter.STDERR_TAIL_CHARS
    assert os.listdir(tmp_path) == []   # stderr had no file of its own in the work directory


def test_a_stop_still_kills_the_child(tmp_path):
    returncode, stopped, _ = st_adapter.supervise(
        [sys.executable, "-c", "import sys, time; sys.stdin.read(); time.sleep(60)"], b"", cwd=tmp_path, env=ENV,
        results=tmp_path / "results.jsonl", budget=60.0, should_stop=lambda: True)
    assert stopped == "interrupted or out of time"
    assert returncode is not None and returncode < 0   # ended by a signal, not by itself
