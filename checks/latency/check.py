"""The latency check: plan the traffic from the spec (traffic.py), run the load in a subprocess on
locust (launcher.py → loadgen.py), then judge the saved result (judge.py, pure functions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from auditor.interface import AuditContext, CheckError, CheckSkipped, Safety
from auditor.model import Outcome, Section
from auditor.planner import summarise

from checks.latency import traffic
from checks.latency.config import MAX_DURATION_S, MAX_RATE, MAX_WORKERS, LatencyConfig
from checks.latency.judge import Run, judge
from checks.latency.launcher import LoadFailed, run_load

# Time the subprocess may need beyond warm-up + duration + request timeout: interpreter and locust
# start-up (about a second each, more for every worker on a busy machine) and writing the result.
STARTUP_S = 10.0
PER_WORKER_S = 4.0
REMOTE_CONNECT_S = 30.0


class LatencyCheck:
    id: ClassVar[str] = "latency"
    title: ClassVar[str] = "Latency under load"
    section: ClassVar[Section] = Section.PERFORMANCE
    needs: ClassVar[frozenset[str]] = frozenset({"service", "spec"})
    safety: ClassVar[Safety] = Safety.LOAD
    config_model: ClassVar[type[LatencyConfig]] = LatencyConfig

    def run(self, ctx: AuditContext) -> Outcome:
        config = ctx.config if isinstance(ctx.config, LatencyConfig) else LatencyConfig.model_validate(
            ctx.config.model_dump())
        base_url = ctx.http.base_url
        if not base_url:
            raise CheckError("no service URL to load")
        run, config = _resolve(ctx, config, base_url)
        job: dict[str, Any] = {
            "mode": run.mode, "host": base_url, "headers": _client_headers(ctx), "read_only": ctx.read_only,
            "rate": run.rate, "duration": run.duration, "warmup": run.warmup, "workers": run.workers,
            "request_timeout": config.request_timeout, "connect_timeout": config.connect_timeout,
            "max_in_flight": config.max_in_flight, "late_ms": config.late_ms,
            "master_port": config.master_port, "master_bind": config.master_bind,
            "remote_workers": config.remote_workers if run.mode == "open" else 0,
            "locust_users": config.locust_users,
            "closed": {"max_users": config.max_users, "step_duration": config.step_duration,
                       "step_warmup": config.step_warmup, "budget_ms": config.p95_ms,
                       "error_budget": config.error_rate},
        }
        if run.mode == "locustfile":
            job["locustfile"] = str(config.locustfile)
            job["targets"] = []
        else:
            planned = self._traffic(ctx, config)
            run.excluded = [e.to_dict() for e in planned.excluded]
            run.excluded_note = summarise(planned.excluded)
            run.probes = [{"endpoint": t.name, "request": t.path, "probe": t.probe} for t in planned.targets]
            job["targets"] = [t.to_job() for t in planned.targets]
        # Workers have this long to connect to the master: start-up for local ones, longer for remote
        # machines (started by hand); the wall-time cap of the whole load includes it.
        remote = config.remote_workers if run.mode == "open" else 0
        job["worker_connect_s"] = PER_WORKER_S * run.workers + (REMOTE_CONNECT_S if remote else 5.0)
        budget = run.warmup + run.duration + config.request_timeout + STARTUP_S
        if run.workers or remote:
            budget += job["worker_connect_s"]
        if ctx.should_stop():
            raise CheckError("stopped before the load started")
        ctx.progress(f"{run.mode} load: {run.rate:g} req/s for {run.duration:g} s after {run.warmup:g} s warm-up")
        try:
            result = run_load(job, ctx.tmp_dir, should_stop=ctx.should_stop, budget_s=min(budget, ctx.remaining()))
        except LoadFailed as exc:
            raise CheckError(str(exc)) from None
        if result.get("error") and not result.get("interrupted") and not result.get("processes") \
                and not result.get("steps"):
            raise CheckError(f"load generator: {result['error']}")
        outcome = judge(result, config, run)
        if run.probes:
            outcome.metrics["traffic"] = run.probes
        if result.get("error") and not result.get("interrupted"):
            outcome.summary += f" (load generator: {result['error']})"
        return outcome

    def _traffic(self, ctx: AuditContext, config: LatencyConfig) -> traffic.Traffic:
        if ctx.artifacts.spec is None:
            raise CheckSkipped(f"no OpenAPI document: {ctx.artifacts.spec_problem}")
        ctx.progress("planning one GET per operation (live values, one preflight each)")
        try:
            request_plan = ctx.artifacts.request_plan(ctx.should_stop, ctx.progress)
        except (ValueError, TypeError, KeyError) as exc:
            raise CheckError(f"cannot plan requests from the spec: {exc}") from None
        if request_plan is None:
            raise CheckError("no service URL to plan requests against")
        planned = traffic.plan(request_plan, config)
        planned = traffic.probe_extras(planned, ctx.http, request_plan.credentials, ctx.should_stop, ctx.progress,
                                       timeout_s=min(config.request_timeout, 10.0))
        if not planned.targets:
            raise CheckSkipped("no GET operation to load"
                               + (f" ({summarise(planned.excluded)})" if planned.excluded else ""))
        # Refused or broken everywhere: nothing to measure. A probe that timed out is different: a
        # stalling service is exactly what the load should show (as failed, slow requests).
        if all(t.probe.startswith("no response") and "timed out" not in t.probe for t in planned.targets):
            raise CheckError(f"the service does not answer: {planned.targets[0].probe}")
        return planned


def _resolve(ctx: AuditContext, config: LatencyConfig, base_url: str) -> tuple[Run, LatencyConfig]:
    """Core options (--load-*, --locustfile) over the config section; hard ceilings over both."""
    settings = ctx.settings
    capped: list[str] = []

    def pick(key: str, own: Any) -> Any:
        value = settings.get(key)
        return own if value is None else value

    rate, duration = float(pick("load_rate", config.rate)), float(pick("load_duration", config.duration))
    workers, locustfile = int(pick("load_workers", config.workers)), pick("locustfile", config.locustfile)
    if rate > MAX_RATE:
        capped.append(f"rate {rate:g} → {MAX_RATE:g} req/s")
        rate = MAX_RATE
    if duration > MAX_DURATION_S:
        capped.append(f"duration {duration:g} → {MAX_DURATION_S:g} s")
        duration = MAX_DURATION_S
    if workers > MAX_WORKERS:
        capped.append(f"workers {workers} → {MAX_WORKERS}")
        workers = MAX_WORKERS
    warmup = config.warmup
    # Never plan a run the deadline would cut: shrink the measured duration to what is left.
    spare = ctx.remaining() - (warmup + config.request_timeout + STARTUP_S + PER_WORKER_S * workers)
    if spare < duration:
        if spare < 1.0:
            raise CheckError(f"not enough time left for a load run ({ctx.remaining():.0f} s before the deadline)")
        capped.append(f"duration {duration:g} → {spare:.0f} s (check deadline)")
        duration = float(int(spare))
    mode = config.mode
    if locustfile is not None:
        path = Path(locustfile)
        if not path.is_file():
            raise CheckError(f"locustfile {path} not found")
        mode = "locustfile"
        config = config.model_copy(update={"locustfile": path.resolve()})
        workers = 0  # the user's classes run in one process; see docs/checks/latency.md
    if mode == "closed":
        workers = 0
    return Run(mode=mode, rate=rate, duration=duration, warmup=warmup, workers=workers, base_url=base_url,
               capped=capped), config


def _client_headers(ctx: AuditContext) -> dict[str, str]:
    """The audit's own request headers for the load traffic: its User-Agent and the --header credentials."""
    return {"User-Agent": ctx.http.user_agent, **ctx.http.supplied_headers()}

