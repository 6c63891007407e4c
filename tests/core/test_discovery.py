"""Spec discovery in the core (auditor.discovery): the well-known paths of every ecosystem's frameworks,
docs pages and what they name or inline, bounded, GET only, the service's own URLs only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from auditor.discovery import DOCS_PAGES, MAX_REQUESTS, WELL_KNOWN, discover
from auditor.http import HttpClient
from auditor.specparse import SpecError
from tests.stub_server import StubServer

DOC = {"openapi": "3.0.3", "info": {"title": "found", "version": "1"}, "paths": {}}
JSON = {"Content-Type": "application/json"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "spec-and-requests.md"


def test_the_docs_table_lists_every_path_in_the_order_tried() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = re.findall(r"^\| \d+ \| `([^`]+)` \| (.+?) \|$", text, flags=re.MULTILINE)
    assert rows == [(p.path, p.frameworks) for p in (*WELL_KNOWN, *DOCS_PAGES)]


@pytest.mark.parametrize("path", ["/api-json", "/docs-json", "/v3/api-docs", "/swagger/v1/swagger.json",
                                  "/api/v1/openapi.json", "/api/schema/"])
def test_framework_defaults_are_found(path: str) -> None:
    with StubServer(routes={path: (200, JSON, json.dumps(DOC))}) as stub, HttpClient(stub.url) as http:
        found = discover(http)
    assert found.source == stub.url + path and found.how.startswith(f"well-known path {path} (")
    assert found.requests == [p.path for p in WELL_KNOWN].index(path) + 1


@pytest.mark.parametrize(("routes", "how"), [
    # ReDoc naming a document next to it, relative to the page
    ({"/redoc": (200, HTML, '<redoc spec-url="spec/v1.json"></redoc>'), "/spec/v1.json": (200, JSON, json.dumps(DOC))},
     "docs page /redoc → /spec/v1.json"),
    # Swagger UI 4+: the page loads swagger-initializer.js, which names the document
    ({"/docs": (200, HTML, '<script src="./swagger-initializer.js"></script>'),
      "/swagger-initializer.js": (200, {}, 'window.ui = SwaggerUIBundle({ url: "/private/openapi.json" })'),
      "/private/openapi.json": (200, JSON, json.dumps(DOC))}, "docs page /docs → /private/openapi.json"),
    # swagger-ui-express and NestJS: the document inlined in swagger-ui-init.js
    ({"/api-docs": (200, HTML, '<script src="/api-docs/swagger-ui-init.js"></script>'),
      "/api-docs/swagger-ui-init.js": (200, {}, 'let options = {"swaggerDoc": ' + json.dumps(DOC)
                                       + ', "customOptions": {}};')},
     "docs page /api-docs → document inlined in /api-docs/swagger-ui-init.js"),
    # springdoc: the initializer names a config URL, whose JSON names the document
    ({"/swagger-ui/index.html": (200, HTML, '<script src="swagger-initializer.js"></script>'),
      "/swagger-ui/swagger-initializer.js": (200, {}, 'configUrl: "/internal/swagger-config"'),
      "/internal/swagger-config": (200, JSON, json.dumps({"urls": [{"url": "/internal/docs", "name": "x"}]})),
      "/internal/docs": (200, JSON, json.dumps(DOC))},
     "docs page /swagger-ui/index.html → /internal/swagger-config → /internal/docs"),
])
def test_docs_pages_lead_to_the_document(routes: dict, how: str) -> None:
    with StubServer(routes=routes) as stub, HttpClient(stub.url) as http:
        found = discover(http)
    assert found.how == how and found.document["info"]["title"] == "found"


def test_nothing_anywhere_is_one_line_after_a_bounded_search_of_gets() -> None:
    page = '<redoc spec-url="http://203.0.113.9/openapi.json"></redoc><script src="/swagger-ui-init.js"></script>'
    with StubServer(default=(200, HTML, page)) as stub, HttpClient(stub.url) as http:
        with pytest.raises(SpecError) as caught:
            discover(http)
    assert str(caught.value).startswith("no OpenAPI document on the service: tried ")
    assert "\n" not in str(caught.value) and str(caught.value).endswith("; pass --spec")
    assert len(stub.requests) <= MAX_REQUESTS and {m for m, _, _ in stub.requests} == {"GET"}
    assert not [p for _, p, _ in stub.requests if "203.0.113.9" in p]   # only the service's own URLs
