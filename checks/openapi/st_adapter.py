"""The one place that knows schemathesis (pinned: 4.32.x; ``schemathesis.engine`` is undocumented and
moves between minors — see ../shared/notes/schemathesis.md). Every schemathesis import is in this file,
inside ``_child_main``.

Why a child process and not the in-process engine in the auditor's thread:
- it runs in a working directory the auditor owns (a schemathesis.toml, hooks module or .hypothesis/
  of the audited repo is never read or written), with HYPOTHESIS_STORAGE_DIRECTORY pointing there too;
- it can be killed at the deadline or on Ctrl-C (a thread cannot);
- it can guard the transport: in the child, requests' HTTPAdapter.send refuses any method the audit did
  not allow and any host but the service's, so a schemathesis phase we did not anticipate (the notes list
  several that sent DELETE in "read-only" runs) still cannot write.
The job (document, base URL, credentials) goes over stdin, never to disk; results come back as JSON
lines in a file the parent reads even when the child was killed half way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUPPORTED = ">=4.32,<4.33"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT", "QUERY")
RESULTS_FILE = "schemathesis-results.jsonl"
START_GRACE_S = 20.0     # python start-up and schemathesis import, on a loaded 2-core machine
KILL_GRACE_S = 3.0
STDERR_TAIL_BYTES = 8192   # read back from the end of the child's stderr
STDERR_TAIL_CHARS = 2000   # what the error message may draw on (its last line)
# Markers that make schemathesis mask a key in curl lines and reports. Its defaults include "auth" and
# "key", which also mask author_id or sort_key and make the reproduction wrong; exact credential names
# and the user's own header names are masked in any case.
SENSITIVE_MARKERS = ("authorization", "token", "secret", "password", "passwd", "credential", "session",
                     "cookie", "api-key", "api_key", "apikey")


@dataclass
class StJob:
    document: dict[str, Any]
    base_url: str                    # service URL + the document's base path
    headers: dict[str, str]          # the user's --header credentials: only schemathesis gets them
    seed: int
    max_examples: int
    request_timeout: float
    rate_limit: str | None
    checks: list[str]
    phases: list[str]
    methods: list[str]               # the methods that may leave the auditor
    max_seconds: float
    known_checks: list[str]          # every check name, so the ones not asked for are switched off
    stateful: bool = False


@dataclass
class StFailure:
    endpoint: str
    code: str
    title: str
    message: str
    curl: str
    check: str
    phase: str
    status: int | None = None


@dataclass
class StResult:
    version: str = ""
    failures: list[StFailure] = field(default_factory=list)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)   # endpoint -> status -> count
    requests: int = 0
    blocked: list[str] = field(default_factory=list)   # requests the guard refused (should stay empty)
    errors: list[str] = field(default_factory=list)
    complete: bool = False
    stopped: str = ""                                  # why it ended early ("deadline", "interrupted")
    duration_s: float = 0.0


def run(job: StJob, workdir: Path, *, should_stop: Callable[[], bool], remaining: Callable[[], float],
        progress: Callable[[str], None] = lambda m: None) -> StResult:
    """Run schemathesis in a child process under ``workdir``; bounded by the job's budget and the check's."""
    workdir.mkdir(parents=True, exist_ok=True)
    results = workdir / RESULTS_FILE
    results.unlink(missing_ok=True)
    root = str(Path(__file__).resolve().parents[2])  # the directory holding the checks package
    bootstrap = ("import sys; sys.path.insert(0, sys.argv[1]); "
                 "from checks.openapi.st_adapter import _child_main; raise SystemExit(_child_main(sys.argv[2]))")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "HYPOTHESIS_STORAGE_DIRECTORY": str(workdir / ".hypothesis"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "NO_COLOR": "1",
        "SCHEMATHESIS_HOOKS": "",
    }
    began = time.monotonic()
    budget = min(job.max_seconds, max(0.0, remaining() - KILL_GRACE_S))
    payload = json.dumps({**job.__dict__, "max_seconds": budget}).encode()
    # -I: isolated mode — no PYTHONPATH, no user site, no current directory on sys.path.
    argv = [sys.executable, "-I", "-c", bootstrap, root, str(results)]
    returncode, stopped, stderr = supervise(argv, payload, cwd=workdir, env=env, results=results, budget=budget,
                                            should_stop=should_stop)
    result = read_results(results)
    result.duration_s = time.monotonic() - began
    if stopped:
        result.stopped = stopped
        result.complete = False
    elif returncode != 0 and not result.complete:
        last = [line for line in stderr.strip().splitlines() if line.strip()][-1:] or [f"exit {returncode}"]
        result.errors.append(f"schemathesis run failed: {last[0][:300]}")
    progress(f"schemathesis: {result.requests} requests, {len(result.failures)} failures")
    return result


def supervise(argv: list[str], payload: bytes, *, cwd: Path, env: dict[str, str], results: Path, budget: float,
              should_stop: Callable[[], bool]) -> tuple[int | None, str, str]:
    """Run the child to its end, the budget's backstop or should_stop(): (exit code, why it was stopped or "",
    the tail of its stderr).

    stderr goes to an anonymous temporary file, not a pipe: a pipe read only after exit fills at 64 KB (a
    long traceback, a flood of warnings) and would stall the child until the backstop killed it. The file
    has no name on disk, so nothing the child printed outlives the run."""
    began = time.monotonic()
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=errors, start_new_session=True)
        stopped = ""
        try:
            assert proc.stdin is not None
            try:
                proc.stdin.write(payload)   # the job (credentials included) never touches the disk
                proc.stdin.close()
            except BrokenPipeError:
                pass   # the child died at start-up: its exit code and stderr say why
            # The budget counts from the moment schemathesis is imported and running (the child's first
            # line), so a slow interpreter start on a loaded machine does not eat it; the start itself gets
            # START_GRACE_S. The child stops itself at the budget between operations; this is the backstop.
            hard_limit = began + START_GRACE_S + budget + KILL_GRACE_S
            started = False
            while proc.poll() is None:
                if should_stop():
                    stopped = "interrupted or out of time"
                    break
                if not started and results.exists() and results.stat().st_size > 0:
                    started = True
                    hard_limit = min(hard_limit, time.monotonic() + budget + KILL_GRACE_S)
                if time.monotonic() > hard_limit:
                    stopped = f"time budget of {budget:.0f} s spent"
                    break
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                _kill(proc)
        errors.seek(max(0, errors.seek(0, os.SEEK_END) - STDERR_TAIL_BYTES))
        tail = errors.read().decode(errors="replace")[-STDERR_TAIL_CHARS:]
    return proc.returncode, stopped, tail


def _kill(proc: subprocess.Popen[bytes]) -> None:
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(KILL_GRACE_S)
            return
        except subprocess.TimeoutExpired:
            continue


def read_results(path: Path) -> StResult:
    result = StResult()
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return result
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        kind = event.pop("type", None)
        if kind == "start":
            result.version = str(event.get("version", ""))
        elif kind == "failure":
            result.failures.append(StFailure(**{k: event.get(k) for k in StFailure.__dataclass_fields__}))
        elif kind == "scenario":
            counts = result.statuses.setdefault(event["endpoint"], Counter())
            for status, n in event.get("statuses", {}).items():
                counts[int(status)] += int(n)
        elif kind == "requests":
            result.requests = int(event.get("count", 0))
        elif kind == "blocked":
            result.blocked.append(str(event.get("request")))
        elif kind == "error":
            result.errors.append(str(event.get("message"))[:300])
        elif kind == "done":
            result.complete = bool(event.get("complete"))
            result.stopped = str(event.get("stopped") or "")
    return result


# --- the child -------------------------------------------------------------------------------------
def schemathesis_config(job: dict[str, Any]) -> dict[str, Any]:
    """The explicit configuration: the notes' safe preset, then the job's bounds."""
    enabled = set(job["checks"])
    header_names = [name.lower() for name in job["headers"]]
    return {
        "seed": job["seed"],
        "base-url": job["base_url"],
        "headers": job["headers"],
        "request-timeout": job["request_timeout"],
        **({"rate-limit": job["rate_limit"]} if job.get("rate_limit") else {}),
        "max-redirects": 0,   # a redirect is judged as documented or not, never followed off the service
        "generation": {"max-examples": job["max_examples"], "database": "none",
                       # credentials come only from --header; never invent Authorization values
                       "with-security-parameters": False},
        "phases": {
            "examples": {"enabled": "examples" in job["phases"]},
            "coverage": {"enabled": "coverage" in job["phases"], "unexpected-methods": []},
            "fuzzing": {"enabled": "fuzzing" in job["phases"]},
            "stateful": {"enabled": bool(job.get("stateful"))},
        },
        "checks": {name: {"enabled": name in enabled} for name in job["known_checks"]},
        "auth": {"auto-signup": False},
        "cache": {"enabled": False},
        "output": {"sanitization": {"enabled": True,
                                    "keys-to-sanitize": sorted({*header_names, "authorization", "cookie",
                                                                "set-cookie", "x-api-key", "api_key"}),
                                    "sensitive-markers": list(SENSITIVE_MARKERS)}},
    }


def bearer_schemes(document: dict[str, Any]) -> dict[str, Any]:
    """A copy where OAuth2 / OpenID Connect schemes read as HTTP bearer.

    schemathesis' ignored_auth (ST401) only understands apiKey/basic/http schemes, so an API secured with
    OAuth2 (a bearer token in Authorization all the same) would never have its missing enforcement
    noticed. For conformance purposes both are "a bearer token in the Authorization header"."""
    document = dict(document)
    components = document.get("components")
    if isinstance(components, dict) and isinstance(components.get("securitySchemes"), dict):
        schemes = {}
        for name, scheme in components["securitySchemes"].items():
            if isinstance(scheme, dict) and scheme.get("type") in ("oauth2", "openIdConnect"):
                scheme = {"type": "http", "scheme": "bearer", "description": scheme.get("description", "")}
            schemes[name] = scheme
        document["components"] = {**components, "securitySchemes": schemes}
    definitions = document.get("securityDefinitions")
    if isinstance(definitions, dict):  # Swagger 2.0 has no bearer type: an Authorization apiKey is the idiom
        document["securityDefinitions"] = {
            name: ({"type": "apiKey", "in": "header", "name": "Authorization"}
                   if isinstance(s, dict) and s.get("type") == "oauth2" else s)
            for name, s in definitions.items()}
    return document


class _Out:
    def __init__(self, path: str) -> None:
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 — closed by the child's exit

    def write(self, kind: str, **data: Any) -> None:
        self._file.write(json.dumps({"type": kind, **data}, default=str) + "\n")
        self._file.flush()


def _install_guard(out: _Out, allowed: set[str], base_url: str, counter: list[int]) -> None:
    """Refuse, below schemathesis, every request the audit did not allow (method or host)."""
    from urllib.parse import urlsplit

    import requests
    from requests.adapters import HTTPAdapter

    base = urlsplit(base_url)
    original = HTTPAdapter.send

    def guarded(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        target = urlsplit(request.url)
        method = (request.method or "GET").upper()
        if method not in allowed or (target.scheme, target.netloc) != (base.scheme, base.netloc):
            out.write("blocked", request=f"{method} {target.scheme}://{target.netloc}{target.path}")
            raise requests.exceptions.ConnectionError(f"{method} {target.path} refused by the auditor's safety guard")
        counter[0] += 1
        if counter[0] % 25 == 0:
            out.write("requests", count=counter[0])
        return original(self, request, *args, **kwargs)

    HTTPAdapter.send = guarded  # type: ignore[method-assign]


def _child_main(results_path: str) -> int:
    job = json.loads(sys.stdin.read())
    out = _Out(results_path)
    deadline = time.monotonic() + float(job["max_seconds"])
    counter = [0]
    _install_guard(out, set(job["methods"]), job["base_url"], counter)

    import schemathesis
    from schemathesis.engine import events, from_schema

    out.write("start", version=schemathesis.__version__)
    from packaging.specifiers import SpecifierSet

    if schemathesis.__version__ not in SpecifierSet(SUPPORTED):
        # engine internals move between minors: refuse rather than misread events
        out.write("error", message=f"schemathesis {schemathesis.__version__} is installed; the auditor needs "
                                   f"schemathesis{SUPPORTED}")
        out.write("done", complete=False, stopped="unsupported schemathesis version")
        os._exit(0)
    config = schemathesis.Config.from_dict(schemathesis_config(job))
    schema = schemathesis.openapi.from_dict(bearer_schemes(job["document"]), config=config)
    unsafe = [m for m in UNSAFE_METHODS if m not in job["methods"]]
    if unsafe:
        schema = schema.exclude(method=unsafe)
    complete, stopped = False, ""
    engine = from_schema(schema)
    try:
        for event in engine.execute():
            if isinstance(event, events.ScenarioFinished):
                _scenario(out, event)
            elif isinstance(event, events.NonFatalError):
                info = getattr(event, "info", None)
                text = getattr(info, "message", None) or str(event.value)
                out.write("error", message=f"{event.label}: {str(text).splitlines()[0] if text else event.value}")
            elif isinstance(event, events.FatalError):
                out.write("error", message=f"schemathesis: {type(event.exception).__name__}: {event.exception}")
            elif isinstance(event, events.Interrupted):
                stopped = "interrupted"
            elif isinstance(event, events.EngineFinished):
                complete = not stopped
            if time.monotonic() > deadline:
                stopped = "time budget spent"
                break
    finally:
        out.write("requests", count=counter[0])
        out.write("done", complete=complete and not stopped, stopped=stopped)
    # Leave at once: engine worker threads may still be waiting on a response.
    os._exit(0)


def _scenario(out: _Out, event: Any) -> None:
    recorder = event.recorder
    endpoint = recorder.label
    statuses: Counter[int] = Counter()
    for interaction in recorder.interactions.values():
        if interaction.response is not None:
            statuses[interaction.response.status_code] += 1
    out.write("scenario", endpoint=endpoint, statuses={str(k): v for k, v in statuses.items()})
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            info = node.failure_info
            if info is None:
                continue
            interaction = recorder.interactions.get(case_id)
            status = interaction.response.status_code if interaction is not None and interaction.response else None
            failure = info.failure
            out.write("failure", endpoint=endpoint, code=getattr(failure, "code", None) or "",
                      title=str(failure.title), message=str(failure.message or "")[:1000],
                      curl=str(info.code_sample)[:2000], check=node.name, phase=str(event.phase.name).lower(),
                      status=status)
