"""The nplusone check: gather (each GET operation of the spec requested alone — one at a time, or several at
once when every statement is attributed by the request's own trace — with the SQL it caused read from a
source), then judge (judge.py: pure functions over the profiled requests)."""

from __future__ import annotations

import itertools
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from auditor.http import RequestFailed, UnsafeRequest
from auditor.interface import AuditContext, CheckError, CheckSkipped, Safety
from auditor.model import Finding, Outcome, Section, Status
from auditor.operations import Operation
from auditor.planner import Exclusion, PlannedRequest, summarise

from checks.nplusone import framework, judge
from checks.nplusone.config import NPlusOneConfig
from checks.nplusone.judge import EndpointProfile
from checks.nplusone.model import ProfiledRequest
from checks.nplusone.rules import make_finding
from checks.nplusone.scaling import count_items, page_size_parameter, with_query
from checks.nplusone.sources import choose_source
from checks.nplusone.sources.interface import SourceUnavailable, SqlSource

REQUEST_ID_HEADER = "X-Request-ID"


class NPlusOneCheck:
    id: ClassVar[str] = "nplusone"
    title: ClassVar[str] = "N+1 SQL queries"
    section: ClassVar[Section] = Section.PERFORMANCE
    needs: ClassVar[frozenset[str]] = frozenset({"service", "spec"})
    safety: ClassVar[Safety] = Safety.PASSIVE
    config_model: ClassVar[type[NPlusOneConfig]] = NPlusOneConfig

    def run(self, ctx: AuditContext) -> Outcome:
        config = ctx.config if isinstance(ctx.config, NPlusOneConfig) else NPlusOneConfig.model_validate(
            ctx.config.model_dump())
        if ctx.artifacts.spec is None:
            raise CheckSkipped(f"no OpenAPI document: {ctx.artifacts.spec_problem}")
        source = choose_source(ctx, config)   # CheckSkipped with the way to provide one
        # Plan (live values, one preflight each: this GETs lists) before capture starts: keeps a
        # server-side capture window, which other sessions on the server share, as short as it can be.
        ctx.progress("planning one GET per operation")
        request_plan = ctx.artifacts.request_plan(ctx.should_stop, ctx.progress)
        if request_plan is None:
            raise CheckError("no service URL to plan requests against")
        loadable, excluded = request_plan.traffic()
        plans = []
        for planned in loadable:
            if planned.endpoint in config.exclude:
                excluded.append(Exclusion(planned.endpoint, "excluded in config", "config"))
            elif len(plans) >= config.max_operations:
                excluded.append(Exclusion(planned.endpoint, f"past max_operations ({config.max_operations})",
                                          "config"))
            else:
                plans.append(planned)
        excluded = [e for e in excluded if e.endpoint not in config.exclude or e.kind == "config"]
        if not plans:
            raise CheckSkipped("no GET operation to profile" + (f" ({summarise(excluded)})" if excluded else ""))
        gatherer = _Gatherer(ctx, config, source)
        watcher = _StopWatcher(ctx, source)
        try:
            try:
                source.open()
                gatherer.gather(plans)
            except SourceUnavailable as exc:
                raise CheckError(str(exc)) from None
        finally:
            watcher.done()
            source.close()   # restores server settings; idempotent
        if not source.detected:
            raise CheckSkipped(f"no SQL statements in {source.description.split(' (')[0]}: turn on the service's "
                               "SQL log (SQLAlchemy echo, Django's django.db.backends at DEBUG, JSON lines with a "
                               "statement field) or give --db-url for PostgreSQL capture")
        return _judge(gatherer, config, source, ctx, excluded)


class _StopWatcher:
    """Restores the source's settings the moment the audit is stopped (Ctrl-C, deadline), even while the
    check's own thread is still waiting on a request."""

    def __init__(self, ctx: AuditContext, source: SqlSource) -> None:
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(ctx, source), name="nplusone-stop", daemon=True)
        self._thread.start()

    def _watch(self, ctx: AuditContext, source: SqlSource) -> None:
        while not self._finished.is_set():
            if ctx.stop.wait(0.1):
                source.close()
                return

    def done(self) -> None:
        self._finished.set()


class _Gatherer:
    def __init__(self, ctx: AuditContext, config: NPlusOneConfig, source: SqlSource) -> None:
        self.ctx = ctx
        self.config = config
        self.source = source
        self.profiles: list[EndpointProfile] = []
        self.stopped = False
        self.failed: list[str] = []
        self._run = uuid.uuid4().hex[:10]
        self._count = itertools.count(1)   # next() is atomic: request ids stay unique across threads
        self.concurrency = 1               # requests outstanding at once (config.concurrency when traces allowed)
        self.redone = 0                    # concurrent attempts whose trace held no SQL, profiled again alone

    def gather(self, plans: list[PlannedRequest]) -> None:
        """Every plan profiled: several at a time when the source attributes exactly at any concurrency
        (traces) and the first plan proved the service continues the auditor's traces, else one at a time."""
        fast = self.source.concurrent() if self.config.concurrency > 1 and len(plans) > 1 else None
        if fast is None:
            self._sequential(plans)
            return
        first = self._profile_plan(plans[0], fast)
        if first is None or not _attributed(first):
            self._sequential(plans)   # the traces did not carry this service's SQL: the whole source, alone
            self._forget_attempts(fast, [first] if first else [])
            return
        results: list[EndpointProfile | None] = [first]
        with ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="nplusone") as pool:
            results += list(pool.map(lambda plan: self._profile_plan(plan, fast), plans[1:]))
        self.concurrency = self.config.concurrency
        # A request whose trace held no SQL (a library no instrumentation covers, an endpoint without SQL)
        # is profiled again alone, through every source the audit has — when it has another.
        redo = [i for i, got in enumerate(results) if got is not None and not _attributed(got)] \
            if fast is not self.source else []
        self._forget_attempts(fast, [results[i] for i in redo])
        for i in redo:
            if self.ctx.should_stop():
                self.stopped = True
                break
            results[i] = self._profile_plan(plans[i], self.source)
        self.redone = len(redo)
        self.profiles = [got for got in results if got is not None]
        if any(got is None for got in results):
            self.stopped = True

    def _sequential(self, plans: list[PlannedRequest]) -> None:
        self.profiles = []
        for plan in plans:
            profile = self._profile_plan(plan, self.source)
            if profile is None:
                self.stopped = True
                return
            self.profiles.append(profile)

    def _profile_plan(self, plan: PlannedRequest, source: SqlSource) -> EndpointProfile | None:
        """One operation profiled (twice, at two page sizes, when it has a page-size parameter); None when
        the audit was stopped first."""
        if self.ctx.should_stop():
            return None
        op = plan.operation
        page = page_size_parameter(op, self.config.small_page, self.config.large_page)
        self.ctx.progress(f"profiling {op.endpoint}")
        if page is not None:
            small = self._profile(op, with_query(plan.url_path, page.name, page.small), plan, "small", source)
            if self.ctx.should_stop():
                return None
            main = self._profile(op, with_query(plan.url_path, page.name, page.large), plan, "large", source)
            small.page_size, main.page_size = page.small, page.large
            profile = EndpointProfile(op.endpoint, main, small=small, page_parameter=page.name)
        else:
            profile = EndpointProfile(op.endpoint, self._profile(op, plan.url_path, plan, "main", source))
        profile.single_object = _single_object(op, profile.main)
        return profile

    def _forget_attempts(self, fast: SqlSource, attempts: list[EndpointProfile]) -> None:
        """The problems of concurrent attempts that are profiled again alone are not the capture's."""
        ids = {r.request_id for got in attempts for r in _requests(got)}
        if ids:
            fast.problems[:] = [p for p in fast.problems if not any(i in p for i in ids)]
            self.failed[:] = [f for f in self.failed if not any(f.startswith(r.endpoint + ":")
                                                                 for got in attempts for r in _requests(got))]

    def _profile(self, op: Operation, url_path: str, plan: PlannedRequest, role: str,
                 source: SqlSource) -> ProfiledRequest:
        request_id = f"audit-npq-{self._run}-{next(self._count)}"
        record = ProfiledRequest(endpoint=op.endpoint, path=url_path, request_id=request_id, role=role)
        headers = {**plan.headers, REQUEST_ID_HEADER: request_id, **source.request_headers(request_id)}
        source.begin(request_id)
        body = ""
        try:
            response = self.ctx.http.get(url_path, headers=headers)
            record.status = response.status
            body = response.text if 200 <= response.status < 300 else ""
        except (RequestFailed, UnsafeRequest) as exc:
            record.error = str(exc).split(": ", 1)[-1]
            self.failed.append(f"{op.endpoint}: {record.error}")
        capture = source.end(request_id)
        record.statements, record.exact, record.stats = capture.statements, capture.exact, capture.stats
        record.items = count_items(body) if body else None
        return record


def _requests(profile: EndpointProfile) -> list[ProfiledRequest]:
    return ([profile.small] if profile.small else []) + [profile.main]


def _attributed(profile: EndpointProfile) -> bool:
    """Every request of the profile got its statements exactly (by its own trace) and had some."""
    return all(r.exact and r.statements and r.error is None for r in _requests(profile))


def _single_object(op: Operation, request: ProfiledRequest) -> bool:
    return bool(op.params_in("path")) and request.items is None


def _judge(got: _Gatherer, config: NPlusOneConfig, source: SqlSource, ctx: AuditContext,
           excluded: list[Exclusion]) -> Outcome:
    requests = [r for p in got.profiles for r in _requests(p)]
    statements = [s for r in requests for s in r.statements]
    fw = framework.detect(statements, ctx.target.repo)
    findings: list[Finding] = []
    for profile in got.profiles:
        findings += judge.judge_endpoint(profile, config, fw)
    problems = list(dict.fromkeys(source.problems))
    if source.unparsed_lines:
        problems.append(f"{source.unparsed_lines} log line(s) looked like SQL but could not be read")
    if got.failed:
        problems.append(f"{len(got.failed)} request(s) got no response: " + "; ".join(got.failed[:3]))
    if problems:
        findings.append(make_finding("NPQ010", "The SQL capture was incomplete: " + "; ".join(problems) + ".",
                                     {"url": ctx.http.base_url or ""}, key="capture", stable_location={}))
    rows = [judge.endpoint_row(p) for p in got.profiles]
    exact = sum(1 for r in requests if r.exact)
    pace = "one at a time"
    if got.concurrency > 1:
        pace = (f"{got.concurrency} at a time (each request's statements are those of its own trace)"
                + (f", {got.redone} whose trace held no SQL again alone" if got.redone else ""))
    metrics: dict[str, Any] = {
        "method": (f"Each GET operation of the spec requested alone, {pace}, with {REQUEST_ID_HEADER} set; "
                   f"SQL read from {source.description}; statements attributed "
                   f"{'by the request id the service logs or its own trace' if exact else 'by bracketing each request'}"
                   f"{f' ({exact} of {len(requests)} requests exactly)' if exact and exact < len(requests) else ''}; "
                   f"operations with a page-size parameter requested at {config.small_page} and "
                   f"{config.large_page} items to see whether repeats grow with the page; N+1 at >= "
                   f"{config.threshold} runs of one statement shape with different values, info at "
                   f">= {config.info_threshold}, severity raised at >= {config.slow_ms:g} ms in total."),
        "requests_profiled": len(requests),
        "concurrency": got.concurrency,
        "queries_captured": len(statements),
        "source": source.name,
        "log_format": source.format_name,
        "attribution": "request id" if exact == len(requests) and requests else (
            "mixed" if exact else "bracketing"),
        "framework": fw,
        "pg_stat_statements": bool(getattr(source, "stat_statements", False)),
        "endpoints": sorted(rows, key=lambda r: (-r["max_repeats"], -r["queries"])),
        "excluded": [e.to_dict() for e in excluded],
    }
    n_plus_one = [f for f in findings if f.rule_id in ("NPQ001", "NPQ004")]
    status = None
    if n_plus_one:
        where = sorted({f.location.get("endpoint", "") for f in n_plus_one})
        summary = (f"{len(n_plus_one)} potential N+1 ({', '.join(where[:3])}{'…' if len(where) > 3 else ''}); "
                   f"{len(requests)} requests profiled, {len(statements)} statements captured")
    else:
        busiest = max(rows, key=lambda r: r["queries"], default=None)
        summary = f"no N+1 in {len(requests)} requests profiled ({len(statements)} statements captured"
        summary += f", at most {busiest['queries']} per request at {busiest['method']} {busiest['path']})" \
            if busiest and busiest["queries"] else ")"
        if requests and not statements:
            summary = (f"no SQL captured for any of {len(requests)} requests from {source.description}: "
                       "nothing could be judged")
            status = Status.WARN
    if got.stopped:
        summary += " (stopped early: not every operation was profiled)"
        status = Status.WARN if not findings else status
    if excluded:
        summary += f"; {summarise(excluded)}"
    return Outcome(summary=summary, metrics=metrics, findings=findings, status=status)
