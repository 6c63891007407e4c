"""Shared artifacts gathered from the target once and handed to every check (Lighthouse's split): the
OpenAPI document (--spec, else discovered on the service: auditor.discovery), the request plan built on
it (auditor.planner) and the service's captured output. Loading is lazy, so an audit that runs no check
needing the spec never fetches it, and a later check gets the cached copy."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.discovery import discover
from auditor.http import HttpClient, RequestFailed
from auditor.planner import RequestPlan, build_plan

# Re-exported: checks and tests read the parsing limits and errors from here.
from auditor.specparse import MAX_DEPTH, MAX_NODES, SpecError, count_nodes, parse_spec

if TYPE_CHECKING:
    from auditor.service import ServiceProcess

__all__ = ["MAX_DEPTH", "MAX_NODES", "Artifacts", "LoadedSpec", "SpecError", "count_nodes", "parse_spec"]


@dataclass
class LoadedSpec:
    document: dict[str, Any]
    source: str                 # file path or URL it came from
    how: str = "--spec"         # how it was found: "--spec", "well-known path /v3/api-docs (...)", ...
    requests: int = 0           # requests the discovery sent

    @property
    def source_url(self) -> str | None:
        return self.source if self.source.startswith(("http://", "https://")) else None


class Artifacts:
    def __init__(self, http: HttpClient, *, spec: str | None, service_log: Path | None = None,
                 service: ServiceProcess | None = None) -> None:
        self._http = http
        self._spec_arg = spec
        self.service_log = service_log  # the combined stdout/stderr of a --serve'd service
        self.service = service          # the --serve'd process itself (None for --url targets)
        self._spec: LoadedSpec | None = None
        self._spec_loaded = False
        self._spec_problem: str | None = None
        self._plan: RequestPlan | None = None
        self._lock = threading.Lock()
        self._plan_lock = threading.Lock()

    @property
    def spec(self) -> LoadedSpec | None:
        """The OpenAPI document, or None when none was given or found (see ``spec_problem``)."""
        with self._lock:
            if not self._spec_loaded:
                self._spec_loaded = True
                try:
                    self._spec = self._load_spec()
                except SpecError as exc:
                    self._spec_problem = str(exc)
            return self._spec

    @property
    def spec_problem(self) -> str | None:
        """Why there is no spec, in one line (after ``spec`` was read)."""
        return self._spec_problem

    def request_plan(self, should_stop: Callable[[], bool] = lambda: False,
                     progress: Callable[[str], None] = lambda message: None) -> RequestPlan | None:
        """The audit's one request plan (auditor.planner): built on first use — by whichever check needs
        it first, within that check's time — and shared; None without a spec or a service."""
        spec = self.spec
        if spec is None or not self._http.base_url:
            return None
        with self._plan_lock:
            if self._plan is None:
                self._plan = build_plan(spec.document, self._http, source_url=spec.source_url,
                                        should_stop=should_stop, progress=progress)
            return self._plan

    def forget_plan(self) -> None:
        """Drop the plan (a check that wrote to the service made its values stale): the next user re-plans."""
        with self._plan_lock:
            self._plan = None

    def _load_spec(self) -> LoadedSpec | None:
        if self._spec_arg:
            if self._spec_arg.startswith(("http://", "https://")):
                return self._fetch(self._spec_arg)
            path = Path(self._spec_arg)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise SpecError(f"cannot read spec {path}: {exc.strerror or exc}") from exc
            except UnicodeDecodeError:
                raise SpecError(f"spec {path} is not UTF-8 text") from None
            return LoadedSpec(parse_spec(text, str(path)), str(path))
        if not self._http.base_url:
            raise SpecError("no --spec given and no --url to discover one on")
        found = discover(self._http)
        return LoadedSpec(found.document, found.source, found.how, found.requests)

    def _fetch(self, url: str) -> LoadedSpec:
        try:
            response = self._http.get(url)
        except RequestFailed as exc:
            raise SpecError(f"cannot fetch spec: {exc}") from exc
        if response.status != 200:
            raise SpecError(f"cannot fetch spec: {response.describe()}")
        if response.truncated:
            raise SpecError(f"spec at {response.url} is larger than {self._http.max_bytes:,} bytes "
                            "(raise [tool.auditor.http] max_bytes, or pass --spec FILE)")
        return LoadedSpec(parse_spec(response.text, response.url), response.url, "--spec", 1)
