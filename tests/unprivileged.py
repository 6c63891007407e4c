"""Run a piece of a test as an unprivileged user, also when the suite runs as root (as CI does).

Root reads any file whatever its mode, so a test of "permission denied" that simply ran as root would
have to skip. ``run_unprivileged(fn)`` calls ``fn`` in this process when it is not root; as root, in a
forked child that first drops to ``nobody`` (supplementary groups cleared, then gid, then uid) — a
child, so that this process keeps its privileges. The return value, or the exception ``fn`` raised, comes
back through a pipe (pickled) and is returned or re-raised here.
"""

from __future__ import annotations

import os
import pickle
import pwd
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
USER = "nobody"


def run_unprivileged(fn: Callable[[], T]) -> T:
    if os.geteuid() != 0:
        return fn()
    user = pwd.getpwnam(USER)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            outcome: tuple[str, Any]
            if os.geteuid() != user.pw_uid or os.getegid() != user.pw_gid:
                outcome = ("error", f"could not become {USER}")
            else:
                try:
                    outcome = ("returned", fn())
                except BaseException as exc:  # noqa: BLE001 — handed to the parent as it is
                    outcome = ("raised", exc)
            try:
                data = pickle.dumps(outcome)
            except Exception as exc:  # noqa: BLE001 — an unpicklable result is described instead
                data = pickle.dumps(("error", f"{outcome[0]} something unpicklable: {exc}: {outcome[1]!r}"))
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and data, f"the unprivileged child failed (status {status})"
    kind, value = pickle.loads(data)  # noqa: S301 — our own child's bytes
    if kind == "raised":
        raise value
    if kind == "error":
        raise AssertionError(value)
    return value


@contextmanager
def shared_directory() -> Iterator[Path]:
    """A fresh directory the unprivileged user can enter and read (pytest's tmp_path is private to root),
    removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="audit-test-"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
