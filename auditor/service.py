"""--serve: run the service under audit as a child process on a free loopback port.

Its stdout and stderr go to one file in the output directory (ordering kept, so SQL log lines stay
next to the request that caused them; later checks read them). It is stopped with SIGTERM and given
10 s to exit (graceful shutdown is itself a readiness fact we record), then SIGKILL.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

GRACE_PERIOD_S = 10.0
LOG_TAIL_LINES = 12


class ServiceError(Exception):
    """The service could not be started or never answered; one line plus its last output lines."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServiceProcess:
    command: str                      # with "{port}" where the port goes
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    port: int = 0
    _proc: subprocess.Popen[bytes] | None = None
    _log: Any = None
    started_s: float = 0.0
    _outcome: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float) -> None:
        if "{port}" not in self.command:
            raise ServiceError("--serve command must contain {port} where the port goes")
        self.port = free_port()
        argv = shlex.split(self.command.replace("{port}", str(self.port)))
        # `NAME=value cmd` as a shell reads it: leading assignments set the child's environment.
        prefix: dict[str, str] = {}
        while argv and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", argv[0]):
            name, _, value = argv.pop(0).partition("=")
            prefix[name] = value
        if not argv:
            raise ServiceError("--serve has only NAME=value settings and no command to run")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        began = time.monotonic()
        try:
            # A new session so SIGTERM reaches the whole process group (a shell wrapper and its child).
            self._proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, cwd=self.cwd,
                                          env={**os.environ, **self.env, **prefix}, start_new_session=True)
        except OSError as exc:
            self._log.close()
            raise ServiceError(f"--serve could not start {argv[0]!r}: {exc.strerror or exc}") from None
        self._wait_until_answering(timeout_s)
        self.started_s = time.monotonic() - began

    def _wait_until_answering(self, timeout_s: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                code = self._proc.poll()
                if code is not None:
                    raise ServiceError(f"the service exited with code {code} before answering"
                                       f"{self._tail_note()}")
                try:
                    client.get(self.url + "/")  # any HTTP answer, even 404, means it is up
                    return
                except httpx.HTTPError:
                    time.sleep(0.1)
        self.stop()
        raise ServiceError(f"the service did not answer on {self.url} within {timeout_s:.0f} s"
                           f"{self._tail_note()}")

    def stop(self) -> dict[str, Any]:
        """Stop it; returns what happened (recorded in the report). A second call returns the first
        call's outcome (a check may stop the service itself, e.g. to measure shutdown)."""
        if self._proc is None:
            return self._outcome or {}
        began = time.monotonic()
        graceful = True
        if self._proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=GRACE_PERIOD_S)
            except subprocess.TimeoutExpired:
                graceful = False
                self._signal(signal.SIGKILL)
                self._proc.wait()
        if self._log:
            self._log.close()
        outcome = {
            "command": self.command,
            "port": self.port,
            "log": str(self.log_path),
            "startup_s": round(self.started_s, 3),
            # exited on SIGTERM within the grace period; "graceful_shutdown" also needs every request in
            # flight answered, when a check measured that (record_in_flight: the deployment check)
            "exited_on_sigterm": graceful,
            "graceful_shutdown": graceful,
            "shutdown_s": round(time.monotonic() - began, 3),
            "exit_code": self._proc.returncode,
        }
        self._proc = None
        self._outcome = outcome
        return outcome

    def record_in_flight(self, in_flight: int, dropped: int) -> None:
        """What a check measured of the requests in flight at SIGTERM: the shutdown is graceful only when the
        process exited on SIGTERM AND none of them was dropped (the report's service block and the
        deployment check's DPL030 then say the same thing)."""
        if self._outcome is None:
            return
        self._outcome["in_flight_at_sigterm"] = in_flight
        self._outcome["in_flight_dropped"] = dropped
        self._outcome["graceful_shutdown"] = bool(self._outcome.get("exited_on_sigterm")) and dropped == 0

    def _signal(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass

    def tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        try:
            with self.log_path.open("r", encoding="utf-8", errors="replace") as fh:
                return [line.rstrip("\n") for line in deque(fh, maxlen=lines)]
        except OSError:
            return []

    def _tail_note(self) -> str:
        tail = self.tail()
        # The error itself stays one line; the service's last lines follow it, indented, as context.
        return "; its last output lines:\n" + "\n".join(f"    {line}" for line in tail) if tail else ""
