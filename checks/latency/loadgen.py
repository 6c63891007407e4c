"""The load subprocess. Never imported by the auditor itself: locust monkey-patches the whole process
with gevent on import, so the check starts this module with ``python -m`` and talks JSON to it.

    python -m checks.latency.loadgen < job.json          # runs the job, writes job["result_path"]
    python -m checks.latency.loadgen --worker HOST PORT   # one local locust worker (spawned by the above)

The job (stdin, so header secrets never reach argv) names the mode: "open" (arrival rate, the default;
in-process or as a locust master with N local worker processes), "closed" (capacity ramp) or
"locustfile" (the user's own locustfile, closed model). The result is one JSON file with a record per
process (encoded HdrHistograms); the parent merges them exactly. SIGTERM stops the load at once and
still writes what was measured.
"""

from __future__ import annotations

import locust  # noqa: F401 — first import on purpose: gevent must patch before anything opens sockets

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.event
from locust.env import Environment

from checks.latency import hist
from checks.latency.locustfile import (PLAN_MESSAGE, RESULT_MESSAGE, ClosedModelUser, OpenModelUser, Recorder,
                                       State, configure, probe_timer_lag)

WORKER_CONNECT_S = 30.0   # default wait for the workers to report ready (the job may say otherwise)
POLL_S = 0.05


def main(argv: list[str]) -> int:
    if argv[:1] == ["--worker"]:
        return run_worker(argv[1], int(argv[2]))
    job = json.load(sys.stdin)
    gevent.signal_handler(signal.SIGTERM, State.stop.set)
    gevent.signal_handler(signal.SIGINT, State.stop.set)
    gevent.spawn(_watch_parent, os.getppid())
    result: dict[str, Any] = {"mode": job["mode"], "error": None, "interrupted": False, "processes": [],
                              "steps": [], "workers": int(job.get("workers") or 0)}
    started = time.monotonic()
    try:
        if job["mode"] == "open" and int(job.get("workers") or 0) + int(job.get("remote_workers") or 0) > 0:
            run_distributed(job, result)
        elif job["mode"] == "open":
            run_local_open(job, result)
        elif job["mode"] == "closed":
            run_closed_ramp(job, result)
        elif job["mode"] == "locustfile":
            run_locustfile(job, result)
        else:
            result["error"] = f"unknown mode {job['mode']!r}"
    except Exception as exc:  # noqa: BLE001 — reported to the parent as one line, never a traceback
        result["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
    result["interrupted"] = State.stop.is_set()
    result["elapsed_s"] = round(time.monotonic() - started, 3)
    path = Path(job["result_path"])
    tmp = path.with_suffix(".partial")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    os.replace(tmp, path)  # the parent never reads half a file
    return 0


def _watch_parent(parent: int) -> None:
    """Stop when the process that started this one is gone (killed without a chance to stop us):
    load must never outlive the audit."""
    while not State.stop.is_set():
        if os.getppid() != parent:
            State.stop.set()
            return
        gevent.sleep(0.2)


def _wait(event: Any, timeout: float) -> bool:
    """Wait for a gevent event, interruptible by the stop flag; True if it was set."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and not State.stop.is_set():
        if event.wait(timeout=POLL_S):
            return True
    return bool(event.is_set())


def _sleep(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not State.stop.is_set():
        gevent.sleep(min(POLL_S, max(0.0, end - time.monotonic())))


def _run_budget(job: dict[str, Any]) -> float:
    return float(job["warmup"]) + float(job["duration"]) + float(job["request_timeout"]) + 5.0


def run_local_open(job: dict[str, Any], result: dict[str, Any]) -> None:
    configure(OpenModelUser, job)
    State.job, State.index, State.count = job, 0, 1
    State.recorder = Recorder(float(job["late_ms"]) / 1000)
    State.t0_epoch = time.time() + 0.05
    env = Environment(user_classes=[OpenModelUser], host=job["host"])
    runner = env.create_local_runner()
    State.plan_ready.set()
    runner.start(1, spawn_rate=1)
    _wait(State.done, _run_budget(job))
    # On stop the schedule ends within one poll; give it that moment to close its window.
    State.done.wait(timeout=0.5)
    runner.quit()
    result["processes"].append(State.recorder.to_json("local", 0))


def run_distributed(job: dict[str, Any], result: dict[str, Any]) -> None:
    """A locust master on 127.0.0.1 and N local worker processes; each worker fires its share of the
    global schedule and sends its encoded histograms back (merged exactly by the parent)."""
    local = int(job["workers"])
    workers = local + int(job.get("remote_workers") or 0)
    configure(OpenModelUser, job)
    env = Environment(user_classes=[OpenModelUser], host=job["host"])
    master = env.create_master_runner(job.get("master_bind") or "127.0.0.1", int(job.get("master_port") or 0))
    results: dict[str, dict[str, Any]] = {}
    got_all = gevent.event.Event()

    def on_result(environment: Any = None, msg: Any = None, **_kw: Any) -> None:
        results[msg.node_id] = msg.data
        if len(results) >= workers:
            got_all.set()

    master.register_message(RESULT_MESSAGE, on_result)
    cpu0, wall0 = _cpu(), time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "checks.latency.loadgen", "--worker", "127.0.0.1",
                               str(master.server.port)], stdin=subprocess.DEVNULL)
             for _ in range(local)]
    try:
        connect_s = float(job.get("worker_connect_s") or WORKER_CONNECT_S)
        end = time.monotonic() + connect_s
        while len(master.clients.ready) < workers and time.monotonic() < end and not State.stop.is_set():
            gevent.sleep(POLL_S)
            if any(p.poll() is not None for p in procs) and not State.stop.is_set():
                raise RuntimeError("a locust worker process exited before the load started")
        if State.stop.is_set():
            return
        if len(master.clients.ready) < workers:
            raise RuntimeError(f"only {len(master.clients.ready)} of {workers} locust workers connected "
                               f"within {connect_s:.0f} s")
        t0_epoch = time.time() + 0.5
        for index, client_id in enumerate(sorted(c.id for c in master.clients.ready)):
            master.send_message(PLAN_MESSAGE, {"job": job, "index": index, "count": workers,
                                               "t0_epoch": t0_epoch}, client_id=client_id)
        master.start(workers, spawn_rate=workers)
        _wait(got_all, _run_budget(job) + 1.0)
        if State.stop.is_set():
            got_all.wait(timeout=1.0)  # workers stop on their own SIGTERM and report what they have
    finally:
        master.quit()
        for proc in procs:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
    result["processes"].extend(sorted(results.values(), key=lambda p: int(p.get("index", 0))))
    result["master"] = {"cpu_s": round(_cpu() - cpu0, 4), "wall_s": round(time.monotonic() - wall0, 4)}
    if len(results) < workers and not State.stop.is_set():
        result["error"] = f"only {len(results)} of {workers} locust workers reported results"


def run_worker(host: str, port: int) -> int:
    gevent.signal_handler(signal.SIGTERM, State.stop.set)
    gevent.signal_handler(signal.SIGINT, State.stop.set)
    gevent.spawn(_watch_parent, os.getppid())
    env = Environment(user_classes=[OpenModelUser], events=locust.events)
    runner = env.create_worker_runner(host, port)
    env.events.init.fire(environment=env, runner=runner, web_ui=None)
    runner.greenlet.join()
    return 0


def run_closed_ramp(job: dict[str, Any], result: dict[str, Any]) -> None:
    """Closed model, users doubling each step until p95 or the error rate breaks its budget: the
    capacity probe. Each step's own warm-up is excluded."""
    closed = job["closed"]
    configure(ClosedModelUser, {**job, "max_in_flight": 1})
    State.job = job
    State.recorder = Recorder(float(job["late_ms"]) / 1000)
    env = Environment(user_classes=[ClosedModelUser], host=job["host"])
    runner = env.create_local_runner()
    end = time.monotonic() + float(job["warmup"]) + float(job["duration"])
    step_s, settle_s = float(closed["step_duration"]), float(closed["step_warmup"])
    users = 1
    try:
        while users <= int(closed["max_users"]) and not State.stop.is_set():
            if time.monotonic() + settle_s + step_s > end:
                break
            runner.start(users, spawn_rate=max(users, 100))
            job["_measuring"] = False
            _sleep(settle_s)
            State.recorder.reset()
            State.recorder.start_window(time.monotonic())
            job["_measuring"] = True
            _sleep(step_s)
            job["_measuring"] = False
            State.recorder.close_window()
            step = State.recorder.to_json("local", 0)
            step["users"] = users
            result["steps"].append(step)
            if _breached(step, float(closed["budget_ms"]), float(closed["error_budget"])):
                break
            users *= 2
    finally:
        runner.quit()


def _breached(step: dict[str, Any], budget_ms: float, error_budget: float) -> bool:
    histogram = hist.merge([e["hist"] for e in step["endpoints"].values()])
    requests = sum(e["requests"] for e in step["endpoints"].values())
    errors = sum(e["errors"] for e in step["endpoints"].values())
    p95 = hist.summary_ms(histogram)["p95_ms"]
    return (p95 is not None and p95 > budget_ms) or (requests > 0 and errors / requests > error_budget)


def run_locustfile(job: dict[str, Any], result: dict[str, Any]) -> None:
    """The user's own locustfile, closed model as they wrote it; every request their users make is
    recorded from locust's request event (the raw float, not locust's rounded stats)."""
    from locust.util.load_locustfile import load_locustfile

    if job.get("read_only"):
        _refuse_writes()
    loaded = load_locustfile(job["locustfile"])
    classes = [c for c in loaded[0].values() if not getattr(c, "abstract", False)]
    if not classes:
        raise RuntimeError(f"no User class in {job['locustfile']}")
    for cls in classes:
        cls.host = job["host"]  # load goes to the audited target only, whatever the file says
    State.recorder = Recorder(float(job["late_ms"]) / 1000)
    env = Environment(user_classes=classes, host=job["host"])
    measuring = {"on": False}

    def on_request(request_type: str, name: str, response_time: float, response_length: int = 0,
                   exception: Any = None, response: Any = None, **_kw: Any) -> None:
        if not measuring["on"] or State.stop.is_set():
            return
        now = time.monotonic()
        sent = now - (response_time or 0.0) / 1000
        status = int(getattr(response, "status_code", 0) or 0)
        error = None if exception is None or status else f"{type(exception).__name__}: {exception}"[:200]
        State.recorder.record(f"{request_type} {name}", sent, sent, now, status, error)

    env.events.request.add_listener(on_request)
    runner = env.create_local_runner()
    users = int(job["locust_users"])
    runner.start(users, spawn_rate=max(users, 10))
    _sleep(float(job["warmup"]))
    State.recorder.reset()
    State.recorder.start_window(time.monotonic(), int(job.get("rounds") or 1), float(job["duration"]))
    probe_done = gevent.event.Event()
    gevent.spawn(probe_timer_lag, State.recorder, probe_done)
    measuring["on"] = True
    _sleep(float(job["duration"]))
    measuring["on"] = False
    probe_done.set()
    State.recorder.close_window()
    runner.quit()
    result["processes"].append(State.recorder.to_json("local", 0))


def _refuse_writes() -> None:
    """The audit is read-only against this target: a locustfile's writes are refused, not sent."""
    from locust.clients import HttpSession
    from locust.contrib.fasthttp import FastHttpSession

    for session in (HttpSession, FastHttpSession):
        original = session.request

        def guarded(self: Any, method: str, url: str, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            if method.upper() not in ("GET", "HEAD", "OPTIONS"):
                refused = PermissionError(f"{method.upper()} refused: the audit is read-only against this target")
                # Recorded as a failed request (so the report shows it), then raised to end the task.
                self.request_event.fire(request_type=method.upper(), name=kwargs.get("name") or url,
                                        response_time=0.0, response_length=0, exception=refused, context={},
                                        response=None)
                raise refused
            return _original(self, method, url, *args, **kwargs)

        session.request = guarded  # type: ignore[method-assign]


def _cpu() -> float:
    from checks.latency.locustfile import cpu_seconds

    return cpu_seconds()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
