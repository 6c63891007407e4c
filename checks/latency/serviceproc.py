"""Which processes are the audited service, so its CPU and memory can be sampled during the load.

A `--serve`d service runs in its own session (the core starts it with start_new_session): the process
listening on the port leads us to the session's leader, and the whole tree under it is the service (a
shell wrapper, a uvicorn or gunicorn master and its workers). A loopback `--url` service is the
process(es) holding the listening socket and their children, when the OS lets us see them (psutil reads
/proc; another user's processes stay hidden unless we are root). Nothing is guessed: when no process
can be named, the report says why."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import psutil

from auditor.runner import is_loopback


@dataclass
class ServiceRef:
    roots: list[int] = field(default_factory=list)    # pids whose trees are the service
    how: str = ""                                      # "--serve process tree (session 1234)"
    unseen: str = ""                                   # why no process could be named (empty when roots)

    def processes(self) -> list[psutil.Process]:
        """The service's processes now: the roots and all their descendants (workers come and go)."""
        found: dict[int, psutil.Process] = {}
        for pid in self.roots:
            try:
                root = psutil.Process(pid)
                found[pid] = root
                for child in root.children(recursive=True):
                    found[child.pid] = child
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return list(found.values())


def find_service(base_url: str, served: bool) -> ServiceRef:
    parts = urlsplit(base_url)
    if not is_loopback(base_url):
        return ServiceRef(unseen="the service is not on this machine")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        listening = sorted({c.pid for c in psutil.net_connections(kind="tcp")
                            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                            and c.pid is not None})
    except (psutil.AccessDenied, OSError) as exc:
        return ServiceRef(unseen=f"the OS does not list listening sockets to us ({type(exc).__name__})")
    if not listening:
        return ServiceRef(unseen=f"no process of ours listens on port {port} (another user's, or a container's)")
    if os.getpid() in listening:
        # A test server inside the auditor's own process: its CPU would be the auditor's too.
        return ServiceRef(unseen="the service runs inside the auditor's own process")
    if served:
        leaders = sorted({_session_leader(pid) for pid in listening})
        return ServiceRef(roots=leaders, how=f"--serve process tree (session {', '.join(map(str, leaders))})")
    return ServiceRef(roots=listening, how=f"the process listening on port {port} (pid "
                                           f"{', '.join(map(str, listening))}) and its children")


def _session_leader(pid: int) -> int:
    """The session leader when we can see it (the --serve command itself), else the process."""
    try:
        sid = os.getsid(pid)
    except OSError:
        return pid
    return sid if sid > 1 and psutil.pid_exists(sid) and sid != os.getsid(0) else pid
