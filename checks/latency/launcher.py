"""Runs the load subprocess (checks/latency/loadgen.py) in its own process group, bounded in time,
and reads back its JSON. Stopping (Ctrl-C, deadline) sends SIGTERM to the whole group — the load
process and its locust workers stop scheduling at once and write what they measured — then SIGKILL
after a short grace, so nothing outlives the check."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import checks

TERM_GRACE_S = 1.5   # SIGTERM → results written; then SIGKILL (the runner itself waits 5 s at most)
POLL_S = 0.05
RESULT_NAME = "load-result.json"
LOG_NAME = "loadgen.log"


class LoadFailed(Exception):
    """The load subprocess failed without a result; one line."""


def run_load(job: dict[str, Any], tmp_dir: Path, *, should_stop: Callable[[], bool], budget_s: float
             ) -> dict[str, Any]:
    """Run ``job`` and return the subprocess's result. ``budget_s`` is a hard wall-time cap."""
    result_path = tmp_dir / RESULT_NAME
    result_path.unlink(missing_ok=True)
    job = {**job, "result_path": str(result_path)}
    root = str(Path(checks.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p),
           "PYTHONUNBUFFERED": "1"}
    log_path = tmp_dir / LOG_NAME
    stopped = timed_out = False
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "checks.latency.loadgen"], stdin=subprocess.PIPE,
                                stdout=log, stderr=subprocess.STDOUT, cwd=tmp_dir, env=env,
                                start_new_session=True)
        try:
            assert proc.stdin is not None
            # Secrets (the audit's --header values) travel on stdin, never in argv or a file.
            proc.stdin.write(json.dumps(job).encode())
            proc.stdin.close()
            deadline = time.monotonic() + budget_s
            while proc.poll() is None:
                if should_stop():
                    stopped = True
                    break
                if time.monotonic() > deadline:
                    timed_out = True
                    break
                time.sleep(POLL_S)
            if stopped or timed_out:
                _signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(TERM_GRACE_S)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            _signal_group(proc.pid, signal.SIGKILL)  # workers too, even when the leader already exited
            proc.wait()
    if result_path.exists():
        try:
            result = json.loads(result_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise LoadFailed(f"load result unreadable: {exc}") from None
        result["interrupted"] = bool(result.get("interrupted")) or stopped
        result["timed_out"] = timed_out
        return result
    if stopped:
        return {"mode": job["mode"], "error": None, "interrupted": True, "processes": [], "steps": []}
    if timed_out:
        raise LoadFailed(f"the load process did not finish within {budget_s:.0f} s and was killed")
    raise LoadFailed(f"the load process failed (exit {proc.returncode}): {_last_line(log_path)}")


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return "no output"
    lines = [line for line in lines if line]
    return lines[-1][:300] if lines else "no output"
