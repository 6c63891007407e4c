"""The request planner: one concrete GET per GET operation, filled with values the service itself
answered, each confirmed by one preflight — shared by every check that sends requests.

Order of work, within a discovery budget and a deadline:
1. operations without path parameters are requested first (their preflight): their bodies fill the
   value index (nested fields and arrays, links, Location headers);
2. each operation with path parameters gets its values, parameter by parameter: the items of its parent
   list (/articles for /articles/{slug}), links matching its path, fields named like the parameter
   anywhere (``username`` ← ``author.username``), filtered by the parameter's schema; then the spec's
   example, default or enum; nothing else — a guessed value would load a 404 ("no live value for {x}");
3. a sub-collection (/articles/{slug}/comments) is planned on the parent with the most children among
   those seen; a list with a page-size parameter at the largest size the document allows;
4. a secured operation is also requested without credentials when credentials were given, so that
   optional authentication (different bodies) is told apart from public reads (the same body).
Only GET is ever sent.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from auditor.http import HttpClient
from auditor.operations import Operation, Parameter, base_path, operations
from auditor.planner import model
from auditor.planner.fetch import Answer, Fetcher, OutOfTime
from auditor.planner.index import ValueIndex
from auditor.planner.model import Exclusion, PlannedRequest, RequestPlan
from auditor.planner.names import child_count_keys, item_keys, normal, singular
from auditor.planner.pages import largest, page_parameter
from auditor.planner.values import Candidate, compatible, documented

MAX_DISCOVERY_REQUESTS = 50   # requests spent finding values (parent lists)
# Requests spent comparing parents for sub-collections, apart: on an API with many sub-collections
# (CTFd: 17) they would otherwise use up the budget that finds values for the operations after them.
MAX_REPRESENTATIVE_REQUESTS = 40
MAX_OPERATIONS = 200          # GET operations planned (and preflighted) per audit
MAX_CANDIDATES = 5            # parents compared when choosing the one with the most children
PLAN_SECONDS = 60.0


def build_plan(document: dict[str, Any], http: HttpClient, *, source_url: str | None = None,
               should_stop: Callable[[], bool] = lambda: False, progress: Callable[[str], None] = lambda m: None,
               max_seconds: float = PLAN_SECONDS) -> RequestPlan:
    every = operations(document)
    plan = RequestPlan(credentials=bool(http.supplied_headers()),
                       blanket_security=bool(every) and all(op.secured for op in every))
    gets = [op for op in every if op.method == "GET"]
    for op in gets[MAX_OPERATIONS:]:
        plan.unresolved.append(Exclusion(op.endpoint, f"not planned: more than {MAX_OPERATIONS} GET operations",
                                         "not-planned"))
    gets = gets[:MAX_OPERATIONS]
    if not http.base_url:
        plan.unresolved += [Exclusion(op.endpoint, "no service to plan against", "not-planned") for op in gets]
        return plan
    planner = _Planner(document, http, source_url, time.monotonic() + max_seconds, should_stop, progress)
    # Lists first: their answers are where the other operations' values come from.
    ordered = [op for op in gets if not op.params_in("path") and "{" not in op.path] + \
              [op for op in gets if op.params_in("path") or "{" in op.path]
    done: set[str] = set()
    try:
        for op in ordered:
            planned = planner.plan(op, plan.credentials)
            if isinstance(planned, Exclusion):
                plan.unresolved.append(planned)
            else:
                plan.requests.append(planned)
            done.add(op.endpoint)
    except OutOfTime:
        plan.complete = False
        plan.stopped = "the planning time budget ran out or the audit was stopped"
        plan.unresolved += [Exclusion(op.endpoint, "not planned: planning stopped before it", "not-planned")
                            for op in ordered if op.endpoint not in done]
    order = {op.endpoint: i for i, op in enumerate(gets)}
    plan.requests.sort(key=lambda p: order.get(p.endpoint, 0))
    plan.discovery_requests = planner.fetcher.discovery_sent + planner.fetcher.representative_sent
    plan.preflight_requests = planner.fetcher.preflight_sent
    return plan


class _Planner:
    def __init__(self, document: dict[str, Any], http: HttpClient, source_url: str | None, deadline: float,
                 should_stop: Callable[[], bool], progress: Callable[[str], None]) -> None:
        self.prefix = base_path(document, source_url)
        self.index = ValueIndex(http.base_url)
        self.fetcher = Fetcher(http, discovery_budget=MAX_DISCOVERY_REQUESTS,
                               representative_budget=MAX_REPRESENTATIVE_REQUESTS, deadline=deadline,
                               should_stop=should_stop, on_body=self._harvest, progress=progress)
        # The planned request of each list planned so far, by its path: a parent list is read from the
        # answer its own preflight got (at the largest page size) instead of being fetched again.
        self._lists: dict[str, tuple[str, dict[str, str]]] = {}
        self._parents: dict[str, Answer] = {}     # how each list answered (to explain a missing value)

    def _harvest(self, path: str, body: Any, headers: dict[str, str]) -> None:
        self.index.add(f"GET {path}", body, headers)

    # -- one operation -------------------------------------------------------------------------------
    def plan(self, op: Operation, credentials: bool) -> PlannedRequest | Exclusion:
        filled = self._query(op)
        if isinstance(filled, Exclusion):
            return filled
        query, headers, sources, page = filled
        params: dict[str, Any] = {name: value for name, value in query.items()}
        params.update(headers)
        concrete = op.path
        representative = ""
        path_params = _in_path_order(op)
        for position, param in enumerate(path_params):
            slot = "{" + param.name + "}"
            head = concrete[: concrete.index(slot)]
            candidates = self._candidates(op, param, head, concrete)
            if not candidates:
                return Exclusion(op.endpoint, self._no_value(slot, head, credentials), "no-live-value")
            choice = candidates[0]
            if position == len(path_params) - 1 and _is_subcollection(op.path, param.name):
                choice, representative = self._representative(candidates, concrete, slot, query, headers)
            params[param.name] = choice.value
            sources[param.name] = choice.source
            concrete = concrete.replace(slot, quote(str(choice.value), safe=""))
        url = self._url(concrete, query)
        answer, _ = self.fetcher.preflight(url, headers)
        if page is not None and answer.status is not None and 400 <= answer.status < 500 \
                and answer.status not in (401, 403):
            # The documented maximum was refused: plan the list at the service's own default size.
            query.pop(page[0], None)
            sources.pop(page[0], None)
            params.pop(page[0], None)
            page = None
            url = self._url(concrete, query)
            answer, _ = self.fetcher.preflight(url, headers)
        planned = PlannedRequest(op, url, params, headers, sources, page, answer, representative=representative,
                                 prefix=self.prefix)
        # Keyed without a trailing slash: /api/dcim/sites/{id}/ (Django) has /api/dcim/sites/ as its parent.
        self._parents.setdefault(concrete.rstrip("/"), answer)
        if answer.ok:
            self._lists.setdefault(concrete.rstrip("/"), (url, headers))
        if op.secured:
            planned.anonymous, planned.auth_mode = self._auth_mode(url, headers, answer, credentials)
        return planned

    def _no_value(self, slot: str, head: str, credentials: bool) -> str:
        """"no live value for {order_id}", with why when its parent list refused the audit."""
        reason = f"no live value for {slot}"
        parent = head.rstrip("/")
        refused = model.refusal(self._parents.get(parent), credentials)
        if refused is not None and refused[1] in ("unauthorized", "forbidden", "redirected"):
            reason += f": its list GET {self.prefix + parent} answered {refused[0]}"
        return reason

    def _url(self, concrete: str, query: dict[str, Any]) -> str:
        return self.prefix + concrete + (f"?{urlencode(query, doseq=True)}" if query else "")

    def _query(self, op: Operation
               ) -> tuple[dict[str, Any], dict[str, str], dict[str, str], tuple[str, int] | None] | Exclusion:
        """Required query and header parameters (live by name, else documented, else a boolean; anything
        else is no better than a placeholder — NetBox's ?peer_device=peerdevice — and excludes the
        operation), and the page size at its documented maximum."""
        query: dict[str, Any] = {}
        headers: dict[str, str] = {}
        sources: dict[str, str] = {}
        for param in op.parameters:
            if param.location not in ("query", "header") or not param.required:
                continue
            live = [c for c in self.index.by_name(param.name) if compatible(c.value, param.schema)] \
                if param.location == "query" else []
            found = live[0] if live else documented(param)
            if found is None and _only_boolean(param.schema):
                found = Candidate(False, "generated from the schema (a boolean)", live=False)
            if found is None:
                where = "?" if param.location == "query" else "header "
                return Exclusion(op.endpoint, f"no live value for {where}{param.name}", "no-live-value")
            sources[param.name] = found.source
            if param.location == "query":
                query[param.name] = _query_value(found.value)
            else:
                headers[param.name] = str(found.value)
        page = None
        paging = page_parameter(op)
        size = largest(paging) if paging else None
        if paging is not None and size is not None:
            name = paging.parameter.name
            query[name] = size
            sources[name] = f"largest page size the document allows ({paging.maximum})"
            page = (name, size)
        return query, headers, sources, page

    def _candidates(self, op: Operation, param: Parameter, head: str, concrete: str) -> list[Candidate]:
        """Live values for a path parameter, most trusted first, that its schema accepts; else the
        documented one; else none."""
        found: list[Candidate] = []
        parent = head.rstrip("/")
        child = _child_segment(op.path, param.name)
        known = self._parents.get(parent)
        if parent and "{" not in parent and (known is None or known.ok):
            # The parent list as planned (its preflight answer is cached), else asked once, written the way
            # the document writes its paths (with or without the trailing slash).
            url, headers = self._lists.get(parent, (self.prefix + parent + ("/" if op.path.endswith("/") else ""), {}))
            got = self.fetcher.discover(url, headers)
            if got is not None:
                self._parents[parent] = got[0]
                if got[0].ok:
                    found += _from_items(got[1], param.name, f"GET {url}", child,
                                         collection=parent.rsplit("/", 1)[-1])
        tail = concrete[concrete.index("{" + param.name + "}") + len(param.name) + 2:].split("/", 1)[0]
        found += self.index.by_link(self.prefix + head + "{" + param.name + "}" + tail, param.name)
        found += self.index.by_name(param.name)
        unique: dict[str, Candidate] = {}
        for candidate in found:
            if compatible(candidate.value, param.schema):
                unique.setdefault(str(candidate.value), candidate)
        if unique:
            return list(unique.values())
        spec_value = documented(param)
        return [spec_value] if spec_value is not None else []

    def _representative(self, candidates: list[Candidate], concrete: str, slot: str, query: dict[str, Any],
                        headers: dict[str, str]) -> tuple[Candidate, str]:
        """Among the live parents seen, the one whose sub-collection answers the most items (parents whose
        list item announces many children are tried first)."""
        live = sorted([c for c in candidates if c.live], key=lambda c: -c.hint)[:MAX_CANDIDATES]
        if len(live) < 2:
            return candidates[0], ""
        best: tuple[int, Candidate] | None = None
        tried = 0
        for candidate in live:
            url = self._url(concrete.replace(slot, quote(str(candidate.value), safe="")), query)
            got = self.fetcher.discover(url, headers, representative=True)
            if got is None:
                break   # budget spent: the best seen so far
            tried += 1
            items = got[0].items if got[0].ok else None
            if items is not None and (best is None or items > best[0]):
                best = (items, candidate)
        if best is None or best[0] == 0:
            return live[0], ""
        return best[1], f"most children among {tried} parents tried: {best[0]} item{'s' if best[0] != 1 else ''}"

    def _auth_mode(self, url: str, headers: dict[str, str], answer: Answer, credentials: bool
                   ) -> tuple[Answer | None, str]:
        if not credentials:
            if answer.status in (401, 403) or answer.redirected:
                return None, model.ENFORCED
            return None, model.ANONYMOUS if answer.ok else model.UNKNOWN
        anonymous, _ = self.fetcher.preflight(url, headers, auth=False)
        if anonymous.status in (401, 403) or (anonymous.redirected and not answer.redirected):
            return anonymous, model.ENFORCED
        if not (anonymous.ok and answer.ok):
            return anonymous, model.UNKNOWN
        if anonymous.digest == answer.digest:
            return anonymous, model.PUBLIC
        # Different bodies: personalised for the credentials, or a body that changes by itself (a clock,
        # a random order)? A second anonymous answer tells.
        again, _ = self.fetcher.preflight(url, headers, auth=False, fresh=True)
        return anonymous, model.OPTIONAL if again.digest == anonymous.digest else model.UNKNOWN


def _only_boolean(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") in ("boolean", ["boolean"], ["boolean", "null"])


# Keys under which a list item may wrap its resource, besides the collection's own name: Relay's edges
# ({"node": {...}}) and generic envelopes.
WRAPPER_KEYS = frozenset({"node", "item", "data", "resource"})


def _from_items(items: list[dict[str, Any]], name: str, source: str, child: str | None, *,
                collection: str = "") -> list[Candidate]:
    """The value of ``name`` in each list item: a key of the item itself, else of the one object the item
    wraps its resource in — named after the collection (``{"Post": {"id": 5}, "votes": 3}`` in /posts: a
    SQLAlchemy row of an entity and an aggregate, as FastAPI serialises it) or a generic wrapper
    (``{"node": {...}}``)."""
    keys = item_keys(name)
    counters = child_count_keys(child) if child else set()
    wrappers = WRAPPER_KEYS | ({normal(collection), normal(singular(collection))} if collection else set())
    found = []
    for item in items:
        value, where = _item_value(item, keys)
        if value is None:
            for key, inner in item.items():
                if isinstance(inner, dict) and normal(key) in wrappers:
                    value, where = _item_value(inner, keys)
                    if value is not None:
                        where = f"{key}.{where}"
                        break
        if value is not None:
            found.append(Candidate(value, f"live: {where} of {source}", live=True, hint=_hint(item, counters)))
    return found


def _item_value(item: dict[str, Any], keys: list[str]) -> tuple[Any, str]:
    for key in keys:
        value = item.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != "":
            return value, key
    return None, ""


def _hint(item: dict[str, Any], counters: set[str]) -> int:
    for key, value in item.items():
        if normal(key) in counters:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, list):
                return len(value)
    return 0


def _child_segment(template: str, name: str) -> str | None:
    """The literal segment right after ``{name}`` ("comments" of /articles/{slug}/comments), if any."""
    match = re.search(r"\{" + re.escape(name) + r"\}/([^/{}]+)", template)
    return match.group(1) if match else None


def _is_subcollection(template: str, name: str) -> bool:
    """/articles/{slug}/comments: literal segments, and nothing else variable, after the parameter."""
    after = template.split("{" + name + "}", 1)[-1]
    return bool(after.strip("/")) and "{" not in after


def _in_path_order(op: Operation) -> list[Parameter]:
    by_name = {p.name: p for p in op.params_in("path")}
    names = list(dict.fromkeys(re.findall(r"{([^}/]+)}", op.path)))  # a name used twice is filled once
    return [by_name.get(n) or Parameter(name=n, location="path", required=True, schema={"type": "string"})
            for n in names]


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_query_value(v) for v in value]
    if isinstance(value, dict):
        return json.dumps(value)
    return value
