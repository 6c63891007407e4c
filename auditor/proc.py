"""Bounded subprocesses: the one way the auditor runs another program to completion (the repo's code through
auditor.sandbox, and tools such as bandit).

A child runs in its own process group, with a deadline, and is killed (the whole group: pytest may start
workers) when the deadline passes or the audit is stopped. Output goes to a file in the check's temp dir,
so a chatty test suite cannot fill a pipe and hang, and only the tail is kept for messages.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

POLL_S = 0.2
KILL_GRACE_S = 3.0
TAIL_BYTES = 64 * 1024


@dataclass
class ProcResult:
    returncode: int | None      # None when it was killed (timeout or stop)
    output: str                 # the tail of stdout+stderr
    timed_out: bool = False
    stopped: bool = False
    seconds: float = 0.0

    def last_line(self) -> str:
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        return lines[-1] if lines else ""


def run_bounded(argv: Sequence[str], *, cwd: Path, env: dict[str, str], timeout_s: float, log_path: Path,
                should_stop: Callable[[], bool] = lambda: False) -> ProcResult:
    """Run argv to completion or until timeout_s / should_stop(); never raises for the child's failure."""
    began = time.monotonic()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        try:
            proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            return ProcResult(returncode=127, output=f"cannot start {argv[0]}: {exc.strerror or exc}")
        timed_out = stopped = False
        while proc.poll() is None:
            if should_stop():
                stopped = True
                break
            if time.monotonic() - began >= timeout_s:
                timed_out = True
                break
            time.sleep(POLL_S)
        if timed_out or stopped:
            _kill_group(proc)
    return ProcResult(returncode=None if (timed_out or stopped) else proc.returncode, output=_tail(log_path),
                      timed_out=timed_out, stopped=stopped, seconds=time.monotonic() - began)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, KILL_GRACE_S)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # Grandchildren that left the group are out of reach; the group kill covers pytest-xdist workers.


def _tail(path: Path) -> str:
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            handle.seek(max(0, size - TAIL_BYTES))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
