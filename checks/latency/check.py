"""The latency check: plan the traffic from the spec (traffic.py) and size the run for enough samples
(sizing.py), time fresh against kept-alive connections (conncost.py), run the load in a subprocess on
locust (launcher.py → loadgen.py) while sampling the machine and the service (health.py), then judge the
saved result (judge.py, pure functions)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

from auditor.interface import AuditContext, CheckError, CheckSkipped, Safety
from auditor.model import Outcome, Section
from auditor.planner import summarise

from checks.latency import conncost, health, sizing, traffic
from checks.latency.config import MAX_DURATION_S, MAX_RATE, MAX_WORKERS, LatencyConfig
from checks.latency.judge import Run, judge
from checks.latency.launcher import LoadFailed, run_load
from checks.latency.observed import Observed
from checks.latency.serviceproc import ServiceRef, find_service

# Time the subprocess may need beyond warm-up + duration + request timeout: interpreter and locust
# start-up (about a second each, more for every worker on a busy machine) and writing the result.
STARTUP_S = 10.0
PER_WORKER_S = 4.0
REMOTE_CONNECT_S = 30.0
LOCUSTFILE_S = 10.0       # a --locustfile run without a duration: its endpoints are unknown, nothing to size


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
            "rate": run.rate, "warmup": run.warmup, "workers": run.workers,
            "request_timeout": config.request_timeout, "connect_timeout": config.connect_timeout,
            "max_in_flight": config.max_in_flight, "late_ms": config.late_ms,
            "master_port": config.master_port, "master_bind": config.master_bind,
            "remote_workers": config.remote_workers if run.mode == "open" else 0,
            "locust_users": config.locust_users,
            "closed": {"max_users": config.max_users, "step_duration": config.step_duration,
                       "step_warmup": config.step_warmup, "budget_ms": config.p95_ms,
                       "error_budget": config.error_rate},
        }
        targets: list[traffic.Target] = []
        if run.mode == "locustfile":
            job["locustfile"] = str(config.locustfile)
            job["targets"] = []
            run.duration = run.duration or min(LOCUSTFILE_S, config.duration_budget)
        else:
            planned = self._traffic(ctx, config)
            targets = planned.targets
            run.excluded = [e.to_dict() for e in planned.excluded]
            run.excluded_note = summarise(planned.excluded)
            run.probes = [{"endpoint": t.name, "request": t.path, "probe": t.probe} for t in planned.targets]
            job["targets"] = [t.to_job() for t in planned.targets]
            if run.mode == "closed":
                steps = int(math.log2(config.max_users)) + 1
                run.duration = run.duration or min(config.duration_budget,
                                                   steps * (config.step_duration + config.step_warmup))
            else:
                _size(run, config, [t.weight for t in targets])
        connection_s = config.connection_budget if run.mode == "open" and config.connection_pairs else 0.0
        _fit_deadline(ctx, run, config, connection_s)
        job["duration"], job["rounds"] = run.duration, run.rounds
        # Workers have this long to connect to the master: start-up for local ones, longer for remote
        # machines (started by hand); the wall-time cap of the whole load includes it.
        remote = config.remote_workers if run.mode == "open" else 0
        job["worker_connect_s"] = PER_WORKER_S * run.workers + (REMOTE_CONNECT_S if remote else 5.0)
        budget = run.warmup + run.duration + config.request_timeout + STARTUP_S
        if run.workers or remote:
            budget += job["worker_connect_s"]
        observed = Observed(service=_service(base_url, ctx))
        if connection_s and targets:
            self._connection_cost(ctx, config, base_url, targets, observed)
        if ctx.should_stop():
            raise CheckError("stopped before the load started")
        length = f"{run.duration:g} s" + (f" (sized: {config.min_samples} samples per endpoint)"
                                          if run.duration_source == "sized" else "")
        ctx.progress(f"{run.mode} load: {run.rate:g} req/s for {length} after {run.warmup:g} s warm-up, "
                     f"{run.rounds} round{'s' if run.rounds != 1 else ''}")
        load_budget = min(budget, ctx.remaining())
        try:
            with health.Sampler(observed.service, max_s=load_budget + 5.0) as sampler:
                result = run_load(job, ctx.tmp_dir, should_stop=ctx.should_stop, budget_s=load_budget)
        except LoadFailed as exc:
            raise CheckError(str(exc)) from None
        observed.samples = sampler.samples
        if result.get("error") and not result.get("interrupted") and not result.get("processes") \
                and not result.get("steps"):
            raise CheckError(f"load generator: {result['error']}")
        outcome = judge(result, config, run, observed)
        if run.probes:
            outcome.metrics["traffic"] = run.probes
        if result.get("error") and not result.get("interrupted"):
            outcome.summary += f" (load generator: {result['error']})"
        return outcome

    def _connection_cost(self, ctx: AuditContext, config: LatencyConfig, base_url: str,
                         targets: list[traffic.Target], observed: Observed) -> None:
        ctx.progress(f"connection cost: {config.connection_pairs} fresh/kept-alive pairs per endpoint")
        headers = _client_headers(ctx)
        costs = conncost.measure(base_url, [(t.name, t.path) for t in targets], headers,
                                 pairs=config.connection_pairs, budget_s=min(config.connection_budget, ctx.remaining()),
                                 timeout_s=min(config.request_timeout, 10.0), should_stop=ctx.should_stop,
                                 extra_headers={t.name: t.headers for t in targets if t.headers})
        observed.connection = [cost.row() for cost in costs]

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

    rate = float(pick("load_rate", config.rate))
    duration = float(pick("load_duration", config.duration) or 0.0)   # 0: not given, sized once planned
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
    rounds = config.rounds if mode == "open" else 1
    return Run(mode=mode, rate=rate, duration=duration, warmup=warmup, workers=workers, base_url=base_url,
               capped=capped, rounds=rounds), config


def _size(run: Run, config: LatencyConfig, weights: list[int]) -> None:
    """The measured duration: the user's, or sized for min_samples per endpoint within duration_budget."""
    given = run.duration if run.duration else None
    plan = sizing.plan(weights, run.rate, config.min_samples, config.duration_budget, given,
                       floor_s=float(run.rounds))
    run.duration, run.duration_source, run.needed_s = plan.duration, plan.source, plan.needed_s
    if plan.capped:
        run.capped.append(f"duration {math.ceil(plan.needed_s)} → {plan.duration:g} s (duration_budget; "
                          f"{config.min_samples} samples per endpoint would need {math.ceil(plan.needed_s)} s)")


def _fit_deadline(ctx: AuditContext, run: Run, config: LatencyConfig, connection_s: float) -> None:
    """Never plan a run the deadline would cut: shrink the measured duration to what is left."""
    spare = ctx.remaining() - (run.warmup + config.request_timeout + STARTUP_S + PER_WORKER_S * run.workers
                               + connection_s)
    if spare < run.duration:
        if spare < 1.0:
            raise CheckError(f"not enough time left for a load run ({ctx.remaining():.0f} s before the deadline)")
        run.capped.append(f"duration {run.duration:g} → {spare:.0f} s (check deadline)")
        run.duration = float(int(spare))


def _service(base_url: str, ctx: AuditContext) -> ServiceRef:
    try:
        return find_service(base_url, served=bool(ctx.settings.get("serve")))
    except Exception as exc:  # noqa: BLE001 — psutil on an odd platform: the cost is missing, the check runs
        return ServiceRef(unseen=f"could not look for its processes ({type(exc).__name__})")


def _client_headers(ctx: AuditContext) -> dict[str, str]:
    """The audit's own request headers for the load traffic: its User-Agent and the --header credentials."""
    return {"User-Agent": ctx.http.user_agent, **ctx.http.supplied_headers()}

