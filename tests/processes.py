"""Did a test leave a process behind? Looked for on the whole machine, not among this process's children.

A process whose parent dies is re-parented to PID 1 (or a subreaper): a check of ``children()`` no
longer sees it. ``watch_processes()`` finds them anyway, three ways:

- by session and process group: while the block runs, a sampler notes the session id and process group
  of every descendant of this process started in the block (the auditor starts its load generator and
  the audited repo's code in their own session); afterwards every live process in one of those sessions
  or groups is a leftover, wherever its parent is;
- by identity: every descendant the sampler saw (pid and start time) that is still alive;
- by a mark in the environment: the block runs with a unique ``AUDIT_TEST_PROCESS_MARK`` in os.environ,
  which every descendant inherits (unless something scrubs its environment).

A child that stays in this process's session, scrubs its environment and is gone from the tree before
the sampler's first look (20 ms) escapes all three; nothing the auditor starts is like that for long.
Other test runs on the same machine have other sessions and other marks, so they are never counted.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil

MARK_ENV = "AUDIT_TEST_PROCESS_MARK"
SAMPLE_S = 0.02


@dataclass
class ProcessWatch:
    mark: str
    own: tuple[int, int] = field(default_factory=lambda: (os.getsid(0), os.getpgid(0)))
    sessions: set[int] = field(default_factory=set)
    groups: set[int] = field(default_factory=set)
    seen: dict[int, str] = field(default_factory=dict)      # pid -> command line, every descendant seen
    before: set[tuple[int, float]] = field(default_factory=set)  # descendants from before the block
    started: set[tuple[int, float]] = field(default_factory=set)  # (pid, start time) of those seen in it

    def sample(self) -> None:
        for child in psutil.Process().children(recursive=True):
            try:
                identity = (child.pid, child.create_time())
                if identity in self.before:
                    continue
                self.started.add(identity)
                sid, pgid = os.getsid(child.pid), os.getpgid(child.pid)
                # the latest: a child sampled between fork and exec shows its parent's command line
                self.seen[child.pid] = " ".join(child.cmdline())
            except (ProcessLookupError, psutil.Error):
                continue
            if sid != self.own[0]:
                self.sessions.add(sid)
            if pgid != self.own[1]:
                self.groups.add(pgid)

    def leftovers(self, contains: str = "") -> list[str]:
        """Every live process (zombies excluded: they are gone, only not yet reaped) that this block
        started, as "pid ppid=.. sid=.. cmdline", optionally only those whose command line contains
        ``contains``."""
        found = []
        me = os.getpid()
        for proc in psutil.process_iter(["pid", "ppid", "status", "cmdline"]):
            pid = proc.info["pid"]
            if pid == me or proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            try:
                sid, pgid = os.getsid(pid), os.getpgid(pid)
                ours = sid in self.sessions or pgid in self.groups or (pid, proc.create_time()) in self.started
                if not ours:
                    ours = proc.environ().get(MARK_ENV) == self.mark
            except (ProcessLookupError, psutil.Error):
                continue
            cmdline = " ".join(proc.info["cmdline"] or [])
            if ours and contains in cmdline:
                found.append(f"{pid} ppid={proc.info['ppid']} sid={sid} {cmdline[:200]}")
        return found

    def left_after(self, seconds: float = 15, contains: str = "") -> list[str]:
        """``leftovers()`` polled until there are none or ``seconds`` have passed (a killed process takes
        a moment to be gone): what is still there at the deadline."""
        deadline = time.monotonic() + seconds
        while (found := self.leftovers(contains)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return found


@contextmanager
def watch_processes() -> Iterator[ProcessWatch]:
    """Note what the block starts; call ``leftovers()`` after it (and after anything that should have
    stopped those processes)."""
    watch = ProcessWatch(mark=uuid.uuid4().hex)
    for child in psutil.Process().children(recursive=True):
        try:
            watch.before.add((child.pid, child.create_time()))
        except psutil.Error:
            continue
    previous = os.environ.get(MARK_ENV)
    os.environ[MARK_ENV] = watch.mark
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            watch.sample()
            stop.wait(SAMPLE_S)

    thread = threading.Thread(target=sampler, name="process-watch", daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        stop.set()
        thread.join()
        watch.sample()
        if previous is None:
            os.environ.pop(MARK_ENV, None)
        else:
            os.environ[MARK_ENV] = previous
