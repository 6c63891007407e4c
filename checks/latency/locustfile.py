"""The load engine: locust FastHttpUser classes for the open model (arrival rate) and the closed model
(capacity ramp), plus the per-process recorder. Imports locust, so it only ever runs inside the load
subprocess (checks/latency/loadgen.py) or a remote `locust --worker` process:

    locust -f checks/latency/locustfile.py --worker --master-host AUDIT_HOST --master-port PORT

Why a scheduler instead of locust's users-with-wait-times: a closed model (each user waits for its
answer before the next request) slows down exactly when the server stalls and so hides the stall
(coordinated omission). Here one greenlet fires request i at t0 + i/rate whatever happened before, and
every latency is measured from that intended send time (wrk2, k6 constant-arrival-rate, vegeta).
"""

from __future__ import annotations

import resource
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event
import gevent.queue
from locust import FastHttpUser, User, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from checks.latency import hist
from checks.latency.schedule import smooth_mix
from checks.latency.sender import Sender

# Message types between the master and its workers (locust's custom messages).
PLAN_MESSAGE = "latency_plan"
RESULT_MESSAGE = "latency_result"
ERROR_SAMPLES = 3
# Requests due within this much of now leave together after one wake-up instead of one sleep each (a
# sleep costs tens of microseconds of hub work, the biggest per-request overhead at high rates). A
# request sent early is timed from its actual send, so early sending never flatters the latency.
DISPATCH_AHEAD_S = 0.001
TIMER_PROBE_S = 0.01


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class EndpointRecord:
    # One histogram per round (the endpoint's total is their sum, added once at the end rather than
    # recorded twice per request: a record costs microseconds of Python).
    rounds: list[Any] = field(default_factory=list)
    requests: int = 0       # answered or failed requests recorded (throttled ones excluded)
    errors: int = 0
    throttled: int = 0      # 429 answers: the service rate-limited the generator
    statuses: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)

    def round_histogram(self, index: int) -> Any:
        while len(self.rounds) <= index:
            self.rounds.append(hist.new())
        return self.rounds[index]

    @property
    def histogram(self) -> Any:
        total = hist.new()
        for part in self.rounds:
            total.add(part)
        return total

    def to_json(self, rounds: int) -> dict[str, Any]:
        row = {"hist": hist.encode(self.histogram), "requests": self.requests, "errors": self.errors,
               "throttled": self.throttled, "statuses": self.statuses, "error_samples": self.error_samples}
        if rounds > 1:
            row["rounds"] = [hist.encode(self.round_histogram(i)) for i in range(rounds)]
        return row


class Recorder:
    """Everything one process measured. Only requests whose intended send time falls in the measured
    window are recorded (warm-up excluded)."""

    def __init__(self, late_s: float) -> None:
        self.late_s = late_s
        self.reset()

    def reset(self) -> None:
        self.endpoints: dict[str, EndpointRecord] = {}
        self.lag = hist.new()
        self.timer_lag = hist.new()       # how late a 10 ms timer fired: the process's scheduling delay
        self.sent_series: dict[int, dict[str, Any]] = {}      # by second of intended send time
        self.done_series: dict[int, int] = {}                 # completions by second of finish time
        self.scheduled = self.sent = self.late = self.dropped = self.unfinished = 0
        self.window_start: float | None = None
        self.window_end: float | None = None
        self.rounds, self.round_s = 1, 0.0
        self.cpu_start = cpu_seconds()
        self.wall_start = time.monotonic()
        self.cpu_s: float | None = None
        self.wall_s: float | None = None

    def start_window(self, at: float, rounds: int = 1, duration: float = 0.0) -> None:
        """Measure from ``at`` (monotonic); ``rounds`` equal rounds over ``duration`` seconds."""
        self.window_start = at
        self.rounds = max(1, rounds)
        self.round_s = duration / self.rounds if duration > 0 else 0.0
        self.cpu_start = cpu_seconds()
        self.wall_start = time.monotonic()

    def close_window(self) -> None:
        if self.cpu_s is None:
            self.cpu_s = cpu_seconds() - self.cpu_start
            self.wall_s = time.monotonic() - self.wall_start
            self.window_end = time.monotonic()

    def round_of(self, intended: float) -> int:
        if self.rounds == 1 or self.window_start is None or self.round_s <= 0:
            return 0
        return min(self.rounds - 1, max(0, int((intended - self.window_start) / self.round_s)))

    def endpoint(self, name: str) -> EndpointRecord:
        if name not in self.endpoints:
            self.endpoints[name] = EndpointRecord()
        return self.endpoints[name]

    def record(self, name: str, intended: float, started: float, finished: float, status: int,
               error: str | None) -> None:
        record = self.endpoint(name)
        lag = max(0.0, started - intended)
        hist.record_s(self.lag, lag)
        if lag > self.late_s:
            self.late += 1
        key = str(status) if status else "no response"
        record.statuses[key] = record.statuses.get(key, 0) + 1
        if status == 429:
            record.throttled += 1
            return
        record.requests += 1
        failed = error is not None or not status or status >= 400
        if failed:
            record.errors += 1
            text = (f"HTTP {status}" if status else "no response") + (f": {error}" if error else "")
            text = text[:200]
            if text not in record.error_samples and len(record.error_samples) < ERROR_SAMPLES:
                record.error_samples.append(text)
        hist.record_s(record.round_histogram(self.round_of(intended)), finished - intended)
        base = self.window_start if self.window_start is not None else intended
        second = int(intended - base)
        bucket = self.sent_series.get(second)
        if bucket is None:  # (not setdefault: that would build a histogram on every call)
            bucket = self.sent_series[second] = {"hist": hist.new(hist.COARSE_FIGURES), "requests": 0, "errors": 0}
        bucket["requests"] += 1
        bucket["errors"] += int(failed)
        hist.record_s(bucket["hist"], finished - intended)
        done = int(finished - base)
        self.done_series[done] = self.done_series.get(done, 0) + 1

    def to_json(self, role: str, index: int) -> dict[str, Any]:
        self.close_window()
        return {
            "role": role, "index": index, "cpu_s": round(self.cpu_s or 0.0, 4),
            "wall_s": round(self.wall_s or 0.0, 4),
            "scheduled": self.scheduled, "sent": self.sent, "late": self.late, "dropped": self.dropped,
            "unfinished": self.unfinished, "lag": hist.encode(self.lag),
            "timer_lag": hist.encode(self.timer_lag), "rounds": self.rounds,
            "window_start_mono": self.window_start, "window_end_mono": self.window_end,
            "endpoints": {name: rec.to_json(self.rounds) for name, rec in self.endpoints.items()},
            "series": {str(s): {"hist": hist.encode(b["hist"]), "requests": b["requests"], "errors": b["errors"]}
                       for s, b in sorted(self.sent_series.items())},
            "completed_series": {str(s): n for s, n in sorted(self.done_series.items())},
        }


class State:
    """Per-process state shared by the user classes and the orchestration (loadgen.py)."""

    job: dict[str, Any] = {}
    index = 0
    count = 1
    t0_epoch: float | None = None
    recorder = Recorder(0.025)
    plan_ready = gevent.event.Event()
    done = gevent.event.Event()
    stop = threading.Event()        # set on SIGTERM: stop scheduling at once, report what was measured
    closed_cursor = 0


def configure(user_class: type[User], job: dict[str, Any]) -> None:
    user_class.host = job["host"]
    user_class.default_headers = dict(job.get("headers") or {})
    user_class.network_timeout = float(job["request_timeout"])
    user_class.connection_timeout = float(job["connect_timeout"])
    user_class.concurrency = int(job["max_in_flight"])


def probe_timer_lag(rec: Recorder, until: gevent.event.Event, period_s: float = TIMER_PROBE_S) -> None:
    """Sleep ``period_s`` over and over and record how late each wake-up came: the delay this process
    waited for a CPU (or behind its own busy hub). The machine-health verdict reads its p99."""
    while not until.is_set() and not State.stop.is_set():
        began = time.monotonic()
        gevent.sleep(period_s)
        hist.record_s(rec.timer_lag, max(0.0, time.monotonic() - began - period_s))


def run_open_schedule(user: User) -> None:
    """Fire this process's share of requests i = index, index+count, ... at t0 + i/rate.

    Requests are handed to persistent sender greenlets through a queue rather than one new greenlet
    each: spawning a greenlet costs tens of microseconds, a queue hand-off about one, and the
    generator's requests per CPU-second is what decides how much load one process can offer. At most
    max_in_flight senders exist; when all are busy, requests wait in the queue and count as late."""
    job, rec = State.job, State.recorder
    targets = job["targets"]
    mix = smooth_mix([int(t["weight"]) for t in targets])
    rate = float(job["rate"])
    warmup, duration = float(job["warmup"]), float(job["duration"])
    max_in_flight = int(job["max_in_flight"])
    client = Sender(job["host"], dict(job.get("headers") or {}), concurrency=max_in_flight,
                    connect_timeout=float(job["connect_timeout"]), network_timeout=float(job["request_timeout"]))
    heads = [client.head(t["path"], t.get("headers") or None) for t in targets]
    now_epoch, now = time.time(), time.monotonic()
    t0 = now + max(0.0, (State.t0_epoch or now_epoch) - now_epoch)
    window_start = t0 + warmup
    end = t0 + warmup + duration
    # Past this point requests not yet scheduled are dropped: the generator fell too far behind.
    hard_end = end + min(2.0, float(job["request_timeout"]))
    total = int(round(rate * (warmup + duration)))
    queue: gevent.queue.Queue = gevent.queue.Queue()
    senders: list[gevent.Greenlet] = []
    idle = [0]
    in_flight: dict[int, tuple[str, float]] = {}   # taken by a sender, not answered yet
    window_opened = False
    probe_done = gevent.event.Event()

    def one(i: int, index: int, intended: float, measured: bool) -> None:
        started = time.monotonic()
        name = targets[index]["name"]
        in_flight[i] = (name, intended)
        if measured:
            rec.sent += 1
        status, error = 0, None
        try:
            status = client.get(heads[index])
        except gevent.GreenletExit:
            raise
        except Exception as exc:  # noqa: BLE001 — any client failure is a failed request, not a crash
            error = _describe(exc)
        finally:
            in_flight.pop(i, None)
        if measured and not State.stop.is_set():
            # Sent early (within DISPATCH_AHEAD_S): timed from the actual send, never less than the truth.
            rec.record(name, min(intended, started), started, time.monotonic(), status, error)

    def sender() -> None:
        while True:
            item = queue.get()
            if item is None:
                return
            idle[0] -= 1
            try:
                one(*item)
            finally:
                idle[0] += 1

    try:
        for i in range(State.index, total, State.count):
            if State.stop.is_set():
                break
            intended = t0 + i / rate
            delay = intended - time.monotonic() - DISPATCH_AHEAD_S
            if delay > 0:
                gevent.sleep(delay)
            measured = intended >= window_start
            if measured and not window_opened:
                window_opened = True
                rec.start_window(window_start, int(job.get("rounds") or 1), duration)
                gevent.spawn(probe_timer_lag, rec, probe_done)
            if time.monotonic() > hard_end:
                rec.dropped += sum(1 for j in range(i, total, State.count) if t0 + j / rate >= window_start)
                break
            if measured:
                rec.scheduled += 1
            if idle[0] <= queue.qsize() and len(senders) < max_in_flight:
                idle[0] += 1
                senders.append(gevent.spawn(sender))
            queue.put((i, mix[i % len(mix)], intended, measured))
        probe_done.set()
        # Drain: queued requests still go out (late); answers outstanding after the request timeout are
        # failures at their full latency; requests never taken from the queue are dropped.
        for _ in senders:
            queue.put(None)
        if not State.stop.is_set():
            gevent.joinall(senders, timeout=float(job["request_timeout"]) + 0.5)
        while not queue.empty():
            item = queue.get_nowait()
            if item is not None and item[3]:
                rec.dropped += 1
        now = time.monotonic()
        for i, (name, intended) in list(in_flight.items()):
            if intended >= window_start and not State.stop.is_set():
                rec.unfinished += 1
                rec.record(name, intended, intended, now, 0, "no answer before the run ended")
        gevent.killall(senders, block=False)
        rec.close_window()
    finally:
        probe_done.set()
        client.close()


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


class OpenModelUser(User):
    """One per process: its only task runs the arrival-rate schedule (requests through sender.py's pool,
    not a locust client), then idles until quit."""

    host = "http://127.0.0.1"
    wait_time = constant(3600)

    @task
    def schedule(self) -> None:
        State.plan_ready.wait()
        try:
            run_open_schedule(self)
        finally:
            State.done.set()
            runner = self.environment.runner
            if isinstance(runner, WorkerRunner):
                runner.send_message(RESULT_MESSAGE, State.recorder.to_json("worker", State.index))


class ClosedModelUser(FastHttpUser):
    """Closed model: each user sends its next request as soon as the previous one answered. Used only
    for the capacity ramp, where "how much throughput before p95 breaks" is the question."""

    host = "http://127.0.0.1"
    wait_time = constant(0)

    @task
    def next_request(self) -> None:
        if State.stop.is_set():
            gevent.sleep(0.05)
            return
        targets = State.job["targets"]
        mix = State.job.setdefault("_mix", smooth_mix([int(t["weight"]) for t in targets]))
        target = targets[mix[State.closed_cursor % len(mix)]]
        State.closed_cursor += 1
        started = time.monotonic()
        status, error = 0, None
        try:
            response = self.client.get(target["path"], name=target["name"], headers=target.get("headers") or None)
            status = int(response.status_code or 0)
            failure = getattr(response, "error", None)  # FastResponse has it only on failure
            if failure is not None and not status:
                error = _describe(failure)
        except gevent.GreenletExit:
            raise
        except Exception as exc:  # noqa: BLE001
            error = _describe(exc)
        if State.job.get("_measuring"):
            State.recorder.record(target["name"], started, started, time.monotonic(), status, error)


@events.init.add_listener
def _on_init(environment: Any, **_kwargs: Any) -> None:
    """Workers (ours or a remote `locust --worker -f this file`) take their plan from the master."""
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        def on_plan(environment: Any = None, msg: Any = None, **_kw: Any) -> None:
            data = msg.data
            State.job = data["job"]
            State.index, State.count = int(data["index"]), int(data["count"])
            State.t0_epoch = float(data["t0_epoch"])
            State.recorder = Recorder(float(State.job["late_ms"]) / 1000)
            configure(OpenModelUser, State.job)
            State.plan_ready.set()

        runner.register_message(PLAN_MESSAGE, on_plan)
    elif isinstance(runner, MasterRunner):
        pass  # the master's handlers are registered by loadgen.py, which owns the results


__all__ = ["ClosedModelUser", "OpenModelUser", "Recorder", "State", "configure", "smooth_mix"]
