"""Run the selected checks against one target and assemble the Report.

Gathering is shared (one HTTP client, artifacts loaded once); each check runs isolated: under a
deadline, with exceptions turned into status "error", and its unmet needs turned into "skipped".
Checks run one after another on purpose: a load test next to a fuzzer would measure the fuzzer.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from auditor import __version__, dedupe
from auditor.artifacts import Artifacts
from auditor.config import ConfigError, Settings, validate_check_section
from auditor.gate import check_status, exit_code, regate, verdict
from auditor.http import HttpClient, RequestFailed, UnsafeRequest
from auditor.interface import AuditContext, Check, CheckConfig, CheckError, CheckSkipped, Safety, Target
from auditor.model import CheckResult, Outcome, Report, Status, disambiguate
from auditor.otlp import OtlpReceiver, Traces, instrument
from auditor.redact import scrub_file
from auditor.sandbox import ScratchRegistry
from auditor.service import ServiceProcess
from auditor.ui import ConsoleUI

SERVICE_LOG_NAME = "service.log"


class TargetUnreachable(Exception):
    """The --url answered nothing at all; nothing can be measured."""


@dataclass
class ServeSpec:
    """How to start the service under audit (--serve, or `audit demo`)."""

    command: str
    env: dict[str, str]
    cwd: Path | None = None


def select_checks(registry: dict[str, type[Check]], settings: Settings) -> list[type[Check]]:
    for option, ids in (("--checks", settings.checks or []), ("--skip", settings.skip)):
        unknown = [i for i in ids if i not in registry]
        if unknown:
            raise ConfigError(f"{option}: unknown check id {unknown[0]!r} (known: {', '.join(registry)})")
    wanted = settings.checks or list(registry)
    off = {i for i, level in settings.policy.levels.items() if level == "off"}  # policy: not run at all
    return [registry[i] for i in registry if i in wanted and i not in settings.skip and i not in off]


def is_loopback(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_audit(settings: Settings, registry: dict[str, type[Check]], ui: ConsoleUI,
              serve: ServeSpec | None = None) -> Report:
    """Everything up to the Report; rendering is the caller's. Raises ConfigError, ServiceError and
    TargetUnreachable before any check ran (nothing measured, so no report)."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    began = time.monotonic()
    selected = select_checks(registry, settings)
    configs = {cls.id: validate_check_section(cls.id, cls.config_model, settings.check_sections.get(cls.id, {}))
               for cls in selected}
    headers = settings.header_dict()
    for secret in headers.values():
        ui.redactor.add(secret)  # the UI's redactor also scrubs the report below
    service: ServiceProcess | None = None
    service_outcome: dict[str, Any] | None = None
    url = settings.url
    results: list[CheckResult] = []
    scratch = ScratchRegistry()  # scratch databases the checks' sandboxes leave are dropped at the end
    notices: list[str] = []
    read_only = settings.read_only
    traces: Traces | None = None
    with tempfile.TemporaryDirectory(prefix="audit-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            traces = _start_traces(settings, selected, configs, serve, tmp, ui)
            if serve:
                env = serve.env
                if traces is not None and traces.status_file is not None:
                    env = {**env, **instrument.environment(traces.receiver.endpoint, tmp / "otel",
                                                           existing_pythonpath=serve.env.get("PYTHONPATH")
                                                           or os.environ.get("PYTHONPATH"))}
                service = ServiceProcess(serve.command, settings.output_dir / SERVICE_LOG_NAME, env=env,
                                         cwd=serve.cwd)
                with ui.working("starting the service"):
                    service.start(settings.serve_timeout)
                url = service.url
                ui.info(f"service started on {url} in {service.started_s:.1f} s (output: {service.log_path})")
            read_only = settings.read_only or (bool(url) and not is_loopback(url) and not settings.safety.allow_writes)
            notices = safety_notices(settings, selected, configs, url, read_only)
            for notice in notices:
                ui.notice(notice)
            with HttpClient(url, headers=headers, read_only=read_only, timeout_s=settings.http.timeout,
                            max_bytes=settings.http.max_bytes, max_redirects=settings.http.max_redirects) as http:
                if url:
                    _preflight(http, url)
                target = Target(url=url, spec=settings.spec, repo=settings.repo, db_url=settings.db_url)
                artifacts = Artifacts(http, spec=settings.spec, service_log=service.log_path if service else None,
                                      service=service)
                for cls in selected:
                    try:
                        result = _run_one(cls, configs[cls.id], settings, target, http, artifacts,
                                          read_only, tmp, ui, {r.id: r for r in results}, scratch, traces)
                    except KeyboardInterrupt as exc:
                        # Stop at once, but keep what was measured: the report is still written.
                        if isinstance(exc, Interrupted):
                            results.append(exc.result)
                        results.extend(_not_run(c, INTERRUPTED) for c in selected[len(results):])
                        ui.error("interrupted: writing the report of what was measured")
                        break
                    results.append(result)
                    ui.check_done(result)
        finally:
            for problem in scratch.close():
                ui.error(f"a scratch database could not be dropped: {problem}")
            if service:
                with ui.working("stopping the service"):
                    service_outcome = service.stop()
                try:
                    scrub_file(service.log_path, ui.redactor)  # what the service printed may hold live tokens
                except OSError as exc:
                    ui.error(f"{service.log_path} could not be redacted: {exc.strerror or exc}")
            if traces is not None:
                traces.receiver.stop()
    if dedupe.merge(results):  # one finding per defect across checks; re-gate the checks that lost one
        regate(results, settings.fail_on, levels=settings.policy.levels, fail_on_by_check=settings.policy.fail_on)
    outcome = verdict(results)
    report = Report(
        tool={"name": "backend-auditor", "version": __version__},
        target={"url": url, "spec": settings.spec, "repo": str(settings.repo) if settings.repo else None,
                "safety": {"read_only": read_only if url else None, "notices": notices}},
        started_at=started_at,
        duration_s=time.monotonic() - began,
        verdict=outcome,
        checks=results,
        gate={"fail_on": settings.fail_on, "exit_code": exit_code(outcome)},
        service=service_outcome,
    )
    # Secrets given by the user never reach a renderer: scrub the whole report once, here.
    return Report.from_dict(ui.redactor.scrub_obj(report.to_dict()))


def safety_notices(settings: Settings, selected: list[type[Check]], configs: dict[str, CheckConfig],
                   url: str | None, read_only: bool) -> list[str]:
    """What the audit may do to the service beyond reading it, said before it starts (console) and in the
    report's header: writes enabled for a check, writes or load allowed against a non-loopback host. A
    check announces writes with a ``writes = true`` key in its config section."""
    if not url:
        return []
    notices = []
    remote = not is_loopback(url)
    if remote and not read_only:
        notices.append(f"writes are allowed against the non-loopback host {url} ([tool.auditor.safety] allow_writes)")
    writers = [cls.id for cls in selected if getattr(configs.get(cls.id), "writes", False) is True]
    if writers and not read_only:
        notices.append(f"writes are enabled: {', '.join(writers)} may send POST/PUT/PATCH/DELETE requests to {url}")
    loaders = [cls.id for cls in selected if cls.safety is Safety.LOAD]
    if remote and loaders and settings.safety.allow_remote_load:
        notices.append(f"load is allowed against the non-loopback host {url}: {', '.join(loaders)} will send "
                       "sustained traffic ([tool.auditor.safety] allow_remote_load)")
    return notices


def _start_traces(settings: Settings, selected: list[type[Check]], configs: dict[str, CheckConfig],
                  serve: ServeSpec | None, tmp: Path, ui: ConsoleUI) -> Traces | None:
    """The OTLP receiver, when traces are wanted: --otlp (a service that exports by itself), or a --serve'd
    service a selected check wants traced (``instrument = true`` in its config: nplusone)."""
    instrument_serve = serve is not None and any(getattr(configs.get(cls.id), "instrument", False) is True
                                                 for cls in selected)
    if settings.otlp_port is None and not instrument_serve:
        return None
    try:
        receiver = OtlpReceiver(port=settings.otlp_port or 0).start()
    except OSError as exc:
        raise ConfigError(f"--otlp {settings.otlp_port}: cannot listen on 127.0.0.1:{settings.otlp_port}: "
                          f"{exc.strerror or exc}") from None
    if settings.otlp_port is not None:
        ui.info(f"receiving OpenTelemetry traces at {receiver.endpoint}: start the service with "
                f"OTEL_EXPORTER_OTLP_ENDPOINT={receiver.endpoint} (OTLP/HTTP)")
    return Traces(receiver, status_file=tmp / "otel" / instrument.STATUS_NAME if instrument_serve else None)


def _preflight(http: HttpClient, url: str) -> None:
    try:
        http.get("/")
    except RequestFailed as exc:
        raise TargetUnreachable(f"target {url} is unreachable: {str(exc).split(': ', 1)[-1]}") from None


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a check that still returned what it had measured (kept in the report)."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__()
        self.result = result


class UnusableInput(Exception):
    """An input the user named (e.g. --spec) cannot be used: the check that needs it ends in error."""


STOP_GRACE_S = 5.0  # how long a stopped check may take to clean up (kill its load, restore settings)
INTERRUPTED = "interrupted (Ctrl-C or SIGTERM) before it finished"


def _not_run(cls: type[Check], summary: str, status: Status = Status.ERROR) -> CheckResult:
    return CheckResult(id=cls.id, title=cls.title, section=cls.section, status=status, summary=summary)


def _unmet_need(cls: type[Check], target: Target, artifacts: Artifacts, settings: Settings) -> str | None:
    for need in sorted(cls.needs):
        if need == "service" and not target.url:
            return "no service to audit (give --url or --serve)"
        if need == "repo" and not (target.repo and Path(target.repo).is_dir()):
            return "no repository (give --repo PATH)" if not target.repo else f"repo {target.repo} is not a directory"
        if need == "database" and not target.db_url:
            return "no database (give --db-url)"
        if need == "spec" and artifacts.spec is None:
            if target.spec:
                # The user named a document that cannot be used: the audit is not trusted (error, not skip).
                raise UnusableInput(f"--spec {target.spec}: {artifacts.spec_problem}")
            return f"no OpenAPI document: {artifacts.spec_problem}"
    if cls.safety is Safety.LOAD and target.url and not is_loopback(target.url) \
            and not settings.safety.allow_remote_load:
        return "load tests against a non-loopback host need [tool.auditor.safety] allow_remote_load = true"
    if cls.safety is Safety.LOAD and settings.read_only and not settings.safety.allow_load_read_only:
        # The contract: --read-only means no load test unless the config explicitly allows it.
        return "--read-only: no load test unless [tool.auditor.safety] allow_load_read_only = true"
    return None


def _run_one(cls: type[Check], config: CheckConfig, settings: Settings, target: Target, http: HttpClient,
             artifacts: Artifacts, read_only: bool, tmp: Path, ui: ConsoleUI,
             earlier: dict[str, CheckResult], scratch: ScratchRegistry, traces: Traces | None = None) -> CheckResult:
    began = time.monotonic()
    try:
        unmet = _unmet_need(cls, target, artifacts, settings)
    except UnusableInput as exc:
        return _with_time(_not_run(cls, str(exc)), time.monotonic() - began)
    if unmet:
        return _not_run(cls, unmet, Status.SKIPPED)
    check_tmp = tmp / cls.id
    check_tmp.mkdir()
    ctx = AuditContext(target=target, http=http, artifacts=artifacts, config=config, tmp_dir=check_tmp,
                       deadline=began + settings.check_timeout, read_only=read_only, seed=settings.seed,
                       progress=lambda message: ui.debug(f"{cls.id}: {message}"),
                       settings=settings.model_dump(exclude={"headers", "check_sections"}), earlier=earlier,
                       scratch=scratch, traces=traces)
    box: dict[str, Any] = {}
    # Completion is an Event, not Thread.join/is_alive: on CPython 3.11 a join interrupted by Ctrl-C
    # can leave is_alive() False while the thread still runs.
    done = threading.Event()

    def target_fn() -> None:
        try:
            box["outcome"] = cls().run(ctx)
        except BaseException as exc:  # noqa: BLE001 — isolation: any failure is this check's "error"
            box["exc"] = exc
            box["tb"] = traceback.format_exc()
        finally:
            done.set()

    worker = threading.Thread(target=target_fn, name=f"check-{cls.id}", daemon=True)
    with ui.working(f"running {cls.id}"):
        worker.start()
        try:
            done.wait(settings.check_timeout)
        except KeyboardInterrupt:
            ctx.stop.set()  # let the check end its load / restore settings before the report is written
            done.wait(STOP_GRACE_S)
            outcome = box.get("outcome")
            if done.is_set() and isinstance(outcome, Outcome):
                # It stopped in time with what it measured: keep that, as an untrusted (error) result.
                partial = _result_of(cls, outcome, settings, time.monotonic() - began)
                partial.status = Status.ERROR
                partial.summary = f"{partial.summary} (interrupted)"
                raise Interrupted(partial) from None
            raise
        timed_out = not done.is_set()
        if timed_out:
            ctx.stop.set()
            done.wait(STOP_GRACE_S)
    elapsed = time.monotonic() - began
    if timed_out:
        # A thread cannot be killed; it is a daemon, so it dies with the process. Its result is dropped.
        return _with_time(_not_run(cls, f"timed out after {settings.check_timeout:.0f} s"), elapsed)
    if "exc" in box:
        ui.debug(box["tb"])
        return _with_time(_not_run(cls, *_describe_failure(box["exc"])), elapsed)
    outcome = box.get("outcome")
    if not isinstance(outcome, Outcome):
        return _with_time(_not_run(cls, f"check returned {type(outcome).__name__}, not an Outcome"), elapsed)
    return _result_of(cls, outcome, settings, elapsed)


def _result_of(cls: type[Check], outcome: Outcome, settings: Settings, elapsed: float) -> CheckResult:
    disambiguate(outcome.findings)
    return CheckResult(id=cls.id, title=cls.title, section=cls.section,
                       status=check_status(outcome.findings, settings.policy.fail_on.get(cls.id, settings.fail_on),
                                           outcome.status, settings.policy.levels.get(cls.id, "error")),
                       summary=outcome.summary, duration_s=elapsed, metrics=outcome.metrics,
                       findings=sorted(outcome.findings, key=lambda f: -f.severity.rank))


def _describe_failure(exc: BaseException) -> tuple[str, Status]:
    if isinstance(exc, CheckSkipped):
        return str(exc) or "nothing to check", Status.SKIPPED
    if isinstance(exc, CheckError):
        return str(exc), Status.ERROR
    if isinstance(exc, UnsafeRequest):
        return f"stopped: {exc}", Status.ERROR
    first_line = (str(exc).splitlines() or [""])[0]
    return f"crashed: {type(exc).__name__}: {first_line}".rstrip(": "), Status.ERROR


def _with_time(result: CheckResult, elapsed: float) -> CheckResult:
    result.duration_s = elapsed
    return result
