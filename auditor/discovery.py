"""Finding the service's OpenAPI document when no --spec was given: once per audit, for every check.

Two strategies, in order, within one request budget:
1. the well-known paths where the major frameworks of every backend ecosystem publish it (WELL_KNOWN,
   documented in docs/spec-discovery.md — a test keeps the two in step);
2. the docs pages (Swagger UI, ReDoc, RapiDoc, Scalar, Stoplight Elements): the document URL they name,
   in the page itself, in the Swagger UI initializer script it loads, in a springdoc-style config URL,
   or the document itself inlined in the script (swagger-ui-express, NestJS).

Only URLs on the service itself are followed: a page the target serves never makes the auditor fetch
another host.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from auditor.http import HttpClient, HttpResponse, RequestFailed
from auditor.specparse import SpecError, parse_spec


@dataclass(frozen=True)
class Location:
    path: str
    frameworks: str     # who publishes it there by default (for the docs table and the report)


# Most common first: the first hit ends the search, so a FastAPI service costs one request.
WELL_KNOWN: tuple[Location, ...] = (
    Location("/openapi.json", "FastAPI, APIFlask, flask-smorest, connexion, Litestar (/schema/openapi.json too)"),
    Location("/api/openapi.json", "django-ninja; FastAPI or Flask mounted under /api"),
    Location("/api/v1/openapi.json", "FastAPI or Flask mounted under /api/v1"),
    Location("/v3/api-docs", "Spring Boot (springdoc-openapi)"),
    Location("/api-json", "NestJS (SwaggerModule.setup('api'))"),
    Location("/docs-json", "NestJS (SwaggerModule.setup('docs'))"),
    Location("/api/docs-json", "NestJS (SwaggerModule.setup('api/docs'))"),
    Location("/swagger/v1/swagger.json", "ASP.NET Core (Swashbuckle)"),
    Location("/openapi/v1.json", "ASP.NET Core 9+ (Microsoft.AspNetCore.OpenApi)"),
    Location("/swagger.json", "drf-yasg, Flask-RESTX, go-swagger"),
    Location("/api/swagger.json", "Flask-RESTX or drf-yasg under /api"),
    Location("/api/v1/swagger.json", "Flask-RESTX or drf-yasg under /api/v1"),
    Location("/api/schema/", "Django REST framework (drf-spectacular)"),
    Location("/api/v1/schema/", "drf-spectacular under /api/v1"),
    Location("/schema/openapi.json", "Litestar"),
    Location("/openapi.yaml", "hand-written documents, connexion"),
    Location("/openapi.yml", "hand-written documents"),
    Location("/api/openapi.yaml", "hand-written documents under /api"),
    Location("/docs/openapi.json", "documents published beside the docs page"),
    Location("/api/docs.json", "documents published beside an /api docs page"),
    Location("/v2/api-docs", "Spring Boot (springfox, Swagger 2.0)"),
    Location("/v3/api-docs.yaml", "Spring Boot (springdoc-openapi, YAML)"),
    Location("/q/openapi", "Quarkus (SmallRye OpenAPI)"),
    Location("/swagger/doc.json", "Go (swaggo)"),
    Location("/apispec_1.json", "Flask (Flasgger)"),
    Location("/api-docs.json", "Express (swagger-jsdoc), Laravel"),
    Location("/docs/api-docs.json", "Laravel (L5-Swagger)"),
    Location("/openapi", "Ktor, Django REST framework's generateschema view"),
)

# Pages that show the document and name its URL.
DOCS_PAGES: tuple[Location, ...] = (
    Location("/docs", "FastAPI Swagger UI, APIFlask, NestJS ('docs')"),
    Location("/redoc", "FastAPI ReDoc"),
    Location("/api", "NestJS ('api')"),
    Location("/api/docs", "django-ninja, NestJS ('api/docs'), FastAPI under /api"),
    Location("/api-docs", "Express (swagger-ui-express)"),
    Location("/swagger-ui/index.html", "Spring Boot (springdoc-openapi)"),
    Location("/swagger-ui.html", "Spring Boot (springfox, springdoc redirect)"),
    Location("/swagger/index.html", "ASP.NET Core (Swashbuckle), Go (swaggo)"),
    Location("/swagger/", "drf-yasg"),
    Location("/api/schema/swagger-ui/", "drf-spectacular"),
    Location("/api/schema/redoc/", "drf-spectacular"),
    Location("/apidocs/", "Flask (Flasgger)"),
    Location("/q/swagger-ui/", "Quarkus"),
    Location("/api/documentation", "Laravel (L5-Swagger)"),
)

MAX_REQUESTS = 60   # the whole search, docs pages and their scripts included

# Where a docs page names the document, in the page or in the script it loads.
_LINK_PATTERNS = (
    re.compile(r"""["']?\burl["']?\s*:\s*['"]([^'"\s]{1,300})['"]"""),     # SwaggerUIBundle({url: ...}), Scalar
    re.compile(r"""\bspec-url\s*[=:]\s*['"]([^'"\s]{1,300})['"]"""),        # <redoc spec-url>, <rapi-doc spec-url>
    re.compile(r"""\bdata-url\s*=\s*['"]([^'"\s]{1,300})['"]"""),           # Scalar
    re.compile(r"""\bapiDescriptionUrl\s*=\s*['"]([^'"\s]{1,300})['"]"""),  # Stoplight Elements
    re.compile(r"""Redoc\.init\(\s*['"]([^'"\s]{1,300})['"]"""),
)
_CONFIG_URL = re.compile(r"""["']?\bconfigUrl["']?\s*:\s*['"]([^'"\s]{1,300})['"]""")  # springdoc
_SCRIPT_SRC = re.compile(r"""<script[^>]+\bsrc\s*=\s*['"]([^'"]{1,300})['"]""", re.IGNORECASE)
_INIT_SCRIPTS = ("swagger-initializer", "swagger-ui-init", "swagger-config")
_INLINE_DOC = re.compile(r"""["']?swaggerDoc["']?\s*:\s*\{""")             # swagger-ui-express, NestJS
_ASSETS = (".js", ".css", ".png", ".svg", ".ico", ".gif", ".jpg", ".woff", ".woff2", ".map")


@dataclass
class Discovered:
    document: dict[str, Any]
    source: str          # the URL the document came from (a script's URL when it was inlined)
    how: str             # one line for the report: "well-known path /v3/api-docs (Spring Boot ...)"
    requests: int        # requests the search sent


class _Search:
    """One bounded search: each path fetched at most once, the budget shared by both strategies."""

    def __init__(self, http: HttpClient, max_requests: int) -> None:
        self.http = http
        self.budget = max_requests
        self.sent = 0
        self._seen: dict[str, HttpResponse | None] = {}

    def get(self, path: str) -> HttpResponse | None:
        if path in self._seen:
            return self._seen[path]
        if self.sent >= self.budget:
            return None
        self.sent += 1
        try:
            response: HttpResponse | None = self.http.get(path)
        except RequestFailed:
            response = None
        self._seen[path] = response
        return response

    def document_at(self, path: str) -> tuple[dict[str, Any], str] | None:
        response = self.get(path)
        if response is None or response.status != 200:
            return None
        if response.truncated:
            # Parsing a cut document would be slow and wrong; a spec endpoint answering 200 with more than
            # the cap is reported, not skipped, so discovery never silently misses a real spec.
            if _looks_like_spec_start(response.text):
                raise SpecError(f"spec at {response.url} is larger than {self.http.max_bytes:,} bytes "
                                "(raise [tool.auditor.http] max_bytes, or pass --spec FILE)")
            return None
        try:
            return parse_spec(response.text, response.url), response.url
        except SpecError:
            return None


def _looks_like_spec_start(text: str) -> bool:
    head = text[:4000]
    return bool(re.search(r"""["']?(openapi|swagger)["']?\s*:""", head))


def discover(http: HttpClient, max_requests: int = MAX_REQUESTS) -> Discovered:
    """The service's document, or SpecError saying what was tried."""
    search = _Search(http, max_requests)
    for place in WELL_KNOWN:
        found = search.document_at(place.path)
        if found:
            return Discovered(found[0], found[1], f"well-known path {place.path} ({place.frameworks})", search.sent)
    for page in DOCS_PAGES:
        found_with = _from_docs_page(search, page.path)
        if found_with:
            document, source, via = found_with
            return Discovered(document, source, f"docs page {page.path} → {via}", search.sent)
    raise SpecError(f"no OpenAPI document on the service: tried {len(WELL_KNOWN)} well-known paths "
                    f"({', '.join(p.path for p in WELL_KNOWN[:4])}, ...) and {len(DOCS_PAGES)} docs pages "
                    f"({search.sent} requests); pass --spec")


def _from_docs_page(search: _Search, page: str) -> tuple[dict[str, Any], str, str] | None:
    response = search.get(page)
    if response is None or response.status != 200 or "html" not in response.content_type:
        return None
    page_url = response.url
    found = _from_text(search, response.text, page_url)
    if found:
        return found
    for src in _SCRIPT_SRC.findall(response.text):
        if not any(marker in src for marker in _INIT_SCRIPTS):
            continue
        script_path = _same_origin_path(search.http.base_url, page_url, src)
        if script_path is None:
            continue
        script = search.get(script_path)
        if script is None or script.status != 200:
            continue
        found = _from_text(search, script.text, script.url)
        if found:
            return found
    return None


def _from_text(search: _Search, text: str, where: str) -> tuple[dict[str, Any], str, str] | None:
    """The document a page or script names or inlines."""
    inline = _inline_document(text, where)
    if inline is not None:
        return inline, where, f"document inlined in {_path_of(search.http.base_url, where)}"
    links = [link for pattern in _LINK_PATTERNS for link in pattern.findall(text)]
    for link in dict.fromkeys(links):
        if link.lower().split("?")[0].endswith(_ASSETS):
            continue
        path = _same_origin_path(search.http.base_url, where, link)
        if path is None:
            continue
        found = search.document_at(path)
        if found:
            return found[0], found[1], path
    for config_link in _CONFIG_URL.findall(text):
        path = _same_origin_path(search.http.base_url, where, config_link)
        response = search.get(path) if path else None
        if response is None or response.status != 200:
            continue
        try:
            config = json.loads(response.text)
        except ValueError:
            continue
        named = [config.get("url")] if isinstance(config, dict) else []
        if isinstance(config, dict) and isinstance(config.get("urls"), list):
            named += [u.get("url") for u in config["urls"] if isinstance(u, dict)]
        for link in [n for n in named if isinstance(n, str)]:
            doc_path = _same_origin_path(search.http.base_url, response.url, link)
            found = search.document_at(doc_path) if doc_path else None
            if found:
                return found[0], found[1], f"{path} → {doc_path}"
    return None


def _inline_document(text: str, where: str) -> dict[str, Any] | None:
    match = _INLINE_DOC.search(text)
    if not match:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text, match.end() - 1)
    except ValueError:
        return None
    try:
        return parse_spec(json.dumps(value), where) if isinstance(value, dict) else None
    except SpecError:
        return None


def _same_origin_path(base_url: str, page_url: str, link: str) -> str | None:
    """The path (and query) of ``link`` on the service, resolved against the page; None when it points
    anywhere else."""
    absolute = urljoin(page_url, link)
    if not absolute.startswith(base_url + "/"):
        return None
    return absolute[len(base_url):]


def _path_of(base_url: str, url: str) -> str:
    return url.removeprefix(base_url)
