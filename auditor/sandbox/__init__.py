"""The one place the audited repo's code runs (tests, migrations, anything that imports the repo).

Running a repository's code is the most dangerous thing the auditor does: a test fixture that empties
"its" database empties whatever the environment names. So every such run goes through a Sandbox:

- the repo's own interpreter (interpreter.py), in a bounded subprocess of its own process group
  (auditor.proc);
- an allow-listed environment (environment.py): no inherited connection string or credential;
- when a database server is known (--db-url or scratch_db_url), a scratch database created for the
  run, handed over in the forms settings modules read (urlform.py, scratchdb/), and dropped afterwards,
  also when the check crashes, times out or is interrupted (scratch.py's registry).

A check gets one from ``AuditContext.sandbox()``; what it did is described for the report by
``describe()`` and ``sentence()``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pydantic

from auditor.proc import ProcResult, run_bounded
from auditor.repo_scope import RepoScope
from auditor.sandbox import dotenv_guard, environment
from auditor.sandbox.environment import ChildEnvironment
from auditor.sandbox.failure import missing_module, no_server_hint, one_line, root_cause
from auditor.sandbox.interpreter import OWN_INTERPRETER, InterpreterError, find_python, import_root, is_own
from auditor.sandbox.scratch import ScratchDatabase, ScratchRegistry
from auditor.sandbox.scratchdb.interface import ScratchError, server_for
from auditor.sandbox.urlform import detect_scheme

__all__ = ["OWN_INTERPRETER", "InterpreterError", "Sandbox", "SandboxError", "SandboxOptions", "ScratchRegistry",
           "find_python", "import_root", "one_line", "root_cause"]


# {scratch_url}, {scratch_host}... in a check's env values; other braces are left alone.
PLACEHOLDER = re.compile(r"\{(scratch_[a-z]+)\}")


def scratch_placeholders(exports: Mapping[str, str]) -> dict[str, str]:
    """The values the placeholders stand for, from the scratch database's exports."""
    url = exports.get("DATABASE_URL", "")
    parts = urlsplit(url)
    return {"scratch_url": url, "scratch_host": parts.hostname or "localhost",
            "scratch_port": str(parts.port or ""), "scratch_user": unquote(parts.username or ""),
            "scratch_password": unquote(parts.password or ""), "scratch_name": parts.path.lstrip("/")}


# A host name that did not resolve, as resolvers and drivers say it.
_UNRESOLVED = re.compile(r"gaierror|Name or service not known|could not translate host name|nodename nor servname|"
                         r"failed to resolve host|Temporary failure in name resolution|getaddrinfo failed",
                         re.IGNORECASE)


class SandboxError(Exception):
    """The sandbox cannot be set up (no interpreter, no scratch database); one line. Nothing was run."""


class SandboxOptions(pydantic.BaseModel):
    """The keys every check that runs the repo's code takes in its config section."""

    # Environment variables for the repo's code (e.g. settings the repo insists on). Everything else the
    # auditor's environment holds is withheld unless inherit_env is true.
    env: dict[str, str] = {}
    # true: the repo's code gets the user's whole environment (minus AUDIT_*). This hands it every
    # exported connection string and credential: a test suite that cleans "its" database then cleans
    # whatever DATABASE_URL or POSTGRES_* name. Scratch databases still override what they name.
    inherit_env: bool = False

    @pydantic.field_validator("env")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = environment.invalid_names(value)
        if bad:
            raise ValueError(f"{bad[0]!r} is not a valid environment variable name")
        return value


class Sandbox:
    """Runs the repo's code for one check. Use as a context manager: the scratch database, if one was
    made, is dropped on exit."""

    def __init__(self, *, repo: Path, tmp_dir: Path, python: str | Path | None, server_url: str | None,
                 options: SandboxOptions, registry: ScratchRegistry, should_stop: Callable[[], bool],
                 environ: Mapping[str, str] | None = None) -> None:
        self.repo = repo
        self.tmp_dir = tmp_dir
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self.options = options
        self.registry = registry
        self.should_stop = should_stop
        self.environ = dict(os.environ if environ is None else environ)
        self.server_url = server_url or None
        self.scratch: ScratchDatabase | None = None
        self._child: ChildEnvironment | None = None
        try:
            self.python, self.python_source = find_python(repo, python, self.environ)
        except InterpreterError as exc:
            raise SandboxError(str(exc)) from None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.scratch is not None:
            try:
                self.registry.drop(self.scratch)
            except ScratchError:
                pass  # the registry keeps it and the runner reports it when the audit ends

    # -- what the child gets ---------------------------------------------------------------------------
    def scratch_database(self) -> ScratchDatabase | None:
        """The scratch database, created on first use (None without a known server)."""
        if self.scratch is None and self.server_url:
            try:
                server = server_for(self.server_url)
                scheme, why = detect_scheme(self.repo, server.engine, self.environ)
                self.scratch = self.registry.create(server, scheme, why)
            except ScratchError as exc:
                raise SandboxError(str(exc)) from None
            except ImportError as exc:
                raise SandboxError(f"scratch databases need the {exc.name} package in the auditor's "
                                   "environment") from None
        return self.scratch

    def environment(self) -> ChildEnvironment:
        if self._child is None:
            scratch = self.scratch_database()
            exports = scratch.server.exports(scratch.name, scratch.scheme) if scratch else {}
            local_env = {d.name: (d.value, d.file) for d in dotenv_guard.decoys(RepoScope.of(self.repo))}
            self._child = environment.build(environ=self.environ,
                                            configured=self._configured(exports, scratch is not None),
                                            scratch=exports, inherit=self.options.inherit_env, python=self.python,
                                            tmp_dir=self.tmp_dir / "tmp", local_env=local_env)
        return self._child

    def _configured(self, exports: Mapping[str, str], have_scratch: bool) -> dict[str, str]:
        """The check's ``env`` with the scratch placeholders filled in ({scratch_host}, {scratch_name}...:
        for settings split over names the exports do not use, such as DATABASE__HOSTNAME)."""
        values = scratch_placeholders(exports) if have_scratch else {}
        out = {}
        for name, value in self.options.env.items():
            for placeholder in PLACEHOLDER.findall(value):
                if placeholder not in values:
                    raise SandboxError(
                        f"env {name} uses {{{placeholder}}} but " + (
                            "no database server is known: give --db-url (or scratch_db_url)" if not have_scratch
                            else f"that is not one of {', '.join('{' + k + '}' for k in sorted(values))}"))
            out[name] = PLACEHOLDER.sub(lambda m: values[m.group(1)], value)
        return out

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The child's environment plus ``extra`` (the check's own variables, e.g. PYTHONPATH)."""
        return {**self.environment().env, **(extra or {})}

    def run(self, argv: Sequence[str], *, cwd: Path, timeout_s: float, log_name: str,
            extra_env: Mapping[str, str] | None = None) -> ProcResult:
        """argv (its first item usually ``self.python``) to completion, timeout or stop."""
        return run_bounded(list(argv), cwd=cwd, env=self.env(extra_env), timeout_s=timeout_s,
                           log_path=self.tmp_dir / log_name, should_stop=self.should_stop)

    @property
    def own_interpreter(self) -> bool:
        """True when no interpreter of the repo's was found: the auditor's own runs its code."""
        return is_own(self.python_source)

    def cause(self, output: str) -> str:
        """The root cause of a failed run in one line (auditor.sandbox.failure), with the hint a person needs
        when the auditor's own interpreter lacked one of the repo's packages."""
        cause = root_cause(output)
        module = missing_module(cause)
        if module and self.own_interpreter and not _is_repo_module(self.repo, module):
            cause += (f" — the auditor's own interpreter ran the repo's code and lacks {module.split('.')[0]!r}: "
                      "give --python (the repo's interpreter)")
        hint = no_server_hint(cause)
        if hint is None and self._child is not None and self._child.local_env and _UNRESOLVED.search(cause):
            # asyncpg and others say only "Name or service not known", without the host.
            hint = (f"the repo's .env names servers the sandbox withholds ({', '.join(self._child.local_env[:4])}): "
                    "give --db-url and map them with the check's env, e.g. NAME = \"{scratch_host}\"")
        if hint:
            cause += f" — {hint}"
        return cause

    # -- for the report --------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"python": str(self.python), "python_source": self.python_source}
        if self._child is not None:
            out["environment"] = self._child.describe()
        out["scratch_database"] = self.scratch.describe() if self.scratch else None
        return out

    def interpreter_sentence(self) -> str:
        """Which interpreter ran the code and why; loud when it is the auditor's own."""
        if self.own_interpreter:
            return (f"ran with the AUDITOR'S OWN interpreter {self.python} (no virtualenv in the repo or up to its git "
                    "root, no VIRTUAL_ENV, no poetry/pipenv environment): give --python for the repo's")
        return f"ran with {self.python} ({self.python_source})"

    def sentence(self) -> str:
        """What the run was protected by, in one sentence for the check's method text."""
        parts = [self._child.sentence() if self._child else "the repo's code did not run"]
        if self.scratch is not None:
            parts.append(f"its database was a scratch {self.scratch.server.engine} database "
                         f"{self.scratch.name} on {self.scratch.server.where}, created for this run and dropped "
                         "after it")
            if self.scratch.left_behind:
                parts.append(f"the run also created {', '.join(self.scratch.left_behind[:6])} on that server "
                             "itself and left it there (not dropped: the auditor drops only what it made)")
        elif self._child is not None:
            parts.append("no database server was known (--db-url or scratch_db_url), so no server database "
                         "was made for it")
        return "; ".join(parts) + "."


def _is_repo_module(repo: Path, module: str) -> bool:
    """Whether an import names the repo's own code (a missing module there is the repo's bug, not the
    interpreter's)."""
    top = module.split(".")[0]
    for base in (repo, repo / "src"):
        if (base / top).is_dir() or (base / f"{top}.py").is_file():
            return True
    return repo.name == top
