"""Shared artifacts gathered from the target once and handed to every check (Lighthouse's split):
the OpenAPI document and the service's captured output. Loading is lazy, so an audit that runs no
check needing the spec never fetches it, and a second check gets the cached copy."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from auditor.http import HttpClient, RequestFailed

if TYPE_CHECKING:
    from auditor.service import ServiceProcess

# Where services usually publish their OpenAPI document, most common first.
SPEC_PATHS = (
    "/openapi.json",
    "/openapi.yaml",
    "/docs/openapi.json",
    "/api/openapi.json",
    "/api/v1/openapi.json",
    "/swagger.json",
    "/v3/api-docs",
)


# A YAML alias bomb loads as a small graph that expands exponentially on every walk; a 20 MB JSON
# document has about a million nodes. Past this many nodes (or this depth: every walker recurses) the
# document is refused before any check walks it.
MAX_NODES = 3_000_000
MAX_DEPTH = 200


class SpecError(Exception):
    """The spec given with --spec could not be read or parsed (one-line message)."""


@dataclass
class LoadedSpec:
    document: dict[str, Any]
    source: str  # file path or URL it came from


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
        self._lock = threading.Lock()

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

    def _load_spec(self) -> LoadedSpec | None:
        if self._spec_arg:
            if self._spec_arg.startswith(("http://", "https://")):
                return self._fetch(self._spec_arg, required=True)
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
        for candidate in SPEC_PATHS:
            found = self._fetch(candidate, required=False)
            if found:
                return found
        raise SpecError(f"no OpenAPI document at {', '.join(SPEC_PATHS)}; pass --spec")

    def _fetch(self, url: str, *, required: bool) -> LoadedSpec | None:
        try:
            response = self._http.get(url)
        except RequestFailed as exc:
            if required:
                raise SpecError(f"cannot fetch spec: {exc}") from exc
            return None
        if response.status != 200:
            if required:
                raise SpecError(f"cannot fetch spec: {response.describe()}")
            return None
        if response.truncated:
            # Parsing a cut document would be slow and wrong; a spec endpoint that answers 200 with more
            # than the cap is reported, not skipped, so discovery never silently misses a real spec.
            raise SpecError(f"spec at {response.url} is larger than {self._http.max_bytes:,} bytes "
                            "(raise [tool.auditor.http] max_bytes, or pass --spec FILE)")
        try:
            return LoadedSpec(parse_spec(response.text, response.url), response.url)
        except SpecError:
            if required:
                raise
            return None


# libyaml's loader where PyYAML was built with it: several times faster on large documents.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_spec(text: str, source: str) -> dict[str, Any]:
    """JSON or YAML into a dict that at least looks like OpenAPI/Swagger and is small enough to walk."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise SpecError(f"spec {source} nests too deeply to parse") from None
    except ValueError:
        try:
            document = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 — a safe loader
        except RecursionError:
            raise SpecError(f"spec {source} nests too deeply to parse") from None
        except yaml.YAMLError as exc:
            raise SpecError(f"spec {source} is neither JSON nor YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(document, dict) or not ({"openapi", "swagger"} & document.keys()):
        raise SpecError(f"spec {source} is not an OpenAPI or Swagger document")
    if count_nodes(document) > MAX_NODES:
        raise SpecError(f"spec {source} expands to more than {MAX_NODES:,} nodes or nests deeper than "
                        f"{MAX_DEPTH} levels (huge document or YAML alias bomb); refusing to analyse it")
    return document


def count_nodes(document: Any, limit: int = MAX_NODES) -> int:
    """Nodes of the document as every walker sees it (aliases counted each time), stopping past
    ``limit``; a document nested deeper than MAX_DEPTH counts as over the limit."""
    count = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > limit or depth > MAX_DEPTH:
            return limit + 1
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)
    return count
