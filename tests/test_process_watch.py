"""tests/processes.py can fail: it finds processes that outlived the block wherever they ended up —
re-parented to PID 1 with their environment scrubbed (by session), or never seen at all (by the mark)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from tests.processes import watch_processes

# Starts a sleeper in a new session with an empty environment, prints its pid, waits for stdin to close.
SLEEPER = ("import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], "
           "start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL{env}); "
           "print(p.pid, flush=True)")
SCRUBBED = SLEEPER.format(env=", env={}") + "; sys.stdin.read()"
# Starts a sleeper that keeps the inherited environment and exits at once: nobody ever sees it as a child.
MARKED = SLEEPER.format(env="")


def _kill(*pids: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_orphans_re_parented_away_from_the_test_are_found_by_session_and_by_mark():
    pids: list[int] = []
    try:
        with watch_processes() as watch:
            launcher = subprocess.Popen([sys.executable, "-c", SCRUBBED], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
            assert launcher.stdout is not None and launcher.stdin is not None
            scrubbed = int(launcher.stdout.readline())
            pids.append(scrubbed)
            deadline = time.monotonic() + 30
            while scrubbed not in watch.seen:  # the sampler has noted its session
                assert time.monotonic() < deadline, "the sampler never saw the grandchild"
                time.sleep(0.02)
            launcher.stdin.close()
            launcher.wait(30)
            marked = int(subprocess.run([sys.executable, "-c", MARKED], capture_output=True, text=True,
                                        check=True).stdout)
            pids.append(marked)
        assert psutil.Process(scrubbed).ppid() != os.getpid() and psutil.Process(marked).ppid() != os.getpid()
        assert "AUDIT_TEST_PROCESS_MARK" not in psutil.Process(scrubbed).environ()
        assert marked not in watch.seen
        assert sorted(int(line.split()[0]) for line in watch.leftovers()) == sorted(pids)
        assert [int(line.split()[0]) for line in watch.leftovers(contains="time.sleep(120)")] != []
    finally:
        _kill(*pids)
    # Once they are killed, nothing is left over: the check is about these processes, not the machine.
    assert watch.left_after() == []


def test_processes_outside_the_block_are_not_counted():
    before = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    try:
        with watch_processes() as watch:
            subprocess.run([sys.executable, "-c", "pass"], check=True)
        assert watch.leftovers() == []
    finally:
        before.kill()
        before.wait()
