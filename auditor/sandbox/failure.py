"""What went wrong in a run of the repo's code, in one line: the root cause, not the last line.

The last line of a failed run is often noise: SQLAlchemy's "(Background on this error at: https://...)",
pytest's "Interrupted: 1 error during collection", Django's "System check identified some issues".
The cause a person needs is the first exception, with its type and message, as Python printed it in a
traceback or pytest in its "E   " lines.
"""

from __future__ import annotations

import re

from auditor.redact import redact
from auditor.sandbox.environment import NO_SERVER_DIR

MAX_CAUSE = 300
# "package.module.SomeError: message" or "SomeError" alone (a bare raise), as a traceback ends.
_EXCEPTION = re.compile(r"^(?:E\s+)?((?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Warning|"
                        r"NotFound|Invalid|Refused|Timeout|Failure|Configured|DoesNotExist))(?::\s*(.*))?$")
_NOISE = re.compile(r"^\(Background on this error at:|^For more information about this error|^Interrupted:|"
                    r"^=+|^-+$|^\s*\^+\s*$")
_MISSING_MODULE = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '([\w.]+)'")


def exceptions(output: str) -> list[str]:
    """Every "Type: message" line of tracebacks and pytest's E-lines, in order, without duplicates."""
    found: list[str] = []
    for raw in output.splitlines():
        line = raw.strip()
        if not line or _NOISE.match(line):
            continue
        match = _EXCEPTION.match(line)
        if match is None:
            continue
        text = match.group(1) + (f": {match.group(2).strip()}" if match.group(2) else "")
        if text not in found:
            found.append(text)
    return found


def root_cause(output: str) -> str:
    """The first exception of the output, masked and cut to one line; else the last meaningful line."""
    found = exceptions(output)
    if found:
        return redact(found[0])[:MAX_CAUSE]
    lines = [line.strip() for line in output.splitlines() if line.strip() and not _NOISE.match(line.strip())]
    return redact(lines[-1] if lines else "no output")[:MAX_CAUSE]


def missing_module(cause: str) -> str | None:
    """The module an ImportError names ("No module named 'flask_sqlalchemy'"), if that is the cause."""
    match = _MISSING_MODULE.search(cause)
    return match.group(1) if match else None


def one_line(text: str, limit: int = MAX_CAUSE) -> str:
    """Whitespace (newlines included: a multi-line SQL error) collapsed: console summaries are one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def no_server_hint(cause: str) -> str | None:
    """The hint for a run whose code reached for the local database server's default socket or a server
    its .env names (the sandbox's decoys, environment.NO_SERVER_DIR and dotenv_guard.NOWHERE_HOST): it needs
    a server the auditor may make scratch databases on."""
    if NO_SERVER_DIR not in cause:
        return None
    what = ("a server its own .env file names" if f"{NO_SERVER_DIR}.invalid" in cause
            else "the local database server's default socket")
    return (f"the repo's code connected to {what}, which the sandbox withholds (it may hold real data): give "
            "--db-url (a server for scratch databases) or set the connection in the check's env")
