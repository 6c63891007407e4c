"""Shared parts of the latency benchmarks: locust's own closed model run in a subprocess (locust
monkey-patches gevent, so never in this process), and a trivial HTTP server in its own process so its
CPU is not counted as the generator's."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Locust as people use it: FastHttpUser users, closed model; its own stats (rounded, from send time).
CLOSED_LOCUST = r'''
import locust, json, resource, sys, time
from locust import FastHttpUser, task, constant, constant_throughput
from locust.env import Environment
cfg = json.loads(sys.argv[1])

class U(FastHttpUser):
    host = cfg["host"]
    wait_time = constant_throughput(cfg["per_user_rate"]) if cfg["per_user_rate"] else constant(0)
    @task
    def t(self):
        self.client.get(cfg["path"])

env = Environment(user_classes=[U])
runner = env.create_local_runner()
runner.start(cfg["users"], spawn_rate=cfg["users"])
time.sleep(cfg["warmup"])
env.stats.reset_all()
u0 = resource.getrusage(resource.RUSAGE_SELF); t0 = time.monotonic()
time.sleep(cfg["duration"])
u1 = resource.getrusage(resource.RUSAGE_SELF); wall = time.monotonic() - t0
s = env.stats.total
out = {"requests": s.num_requests, "failures": s.num_failures, "wall_s": wall,
       "cpu_s": (u1.ru_utime + u1.ru_stime) - (u0.ru_utime + u0.ru_stime),
       "p50_ms": s.get_response_time_percentile(0.5), "p95_ms": s.get_response_time_percentile(0.95),
       "p99_ms": s.get_response_time_percentile(0.99)}
runner.quit()
print(json.dumps(out))
'''


def closed_locust(host: str, path: str, *, users: int, duration: float, warmup: float = 0.5,
                  per_user_rate: float = 0.0) -> dict:
    cfg = {"host": host, "path": path, "users": users, "duration": duration, "warmup": warmup,
           "per_user_rate": per_user_rate}
    proc = subprocess.run([sys.executable, "-c", CLOSED_LOCUST, json.dumps(cfg)], capture_output=True, text=True,
                          timeout=duration + warmup + 60)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(proc.stderr[-500:])
    return json.loads(lines[-1])


# A trivial keep-alive HTTP/1.1 server on asyncio, in its own process: 200 "ok" to every GET.
TRIVIAL_SERVER = r'''
import asyncio, sys
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(RESPONSE)
            await writer.drain()
    except Exception:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
'''


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TrivialServer:
    def __enter__(self) -> TrivialServer:
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-c", TRIVIAL_SERVER, str(self.port)], stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        self.proc.stdout.readline()
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def spec(self) -> dict:
        return {"openapi": "3.0.3", "info": {"title": "trivial", "version": "1"},
                "paths": {"/a": {"get": {"responses": {"200": {"description": "ok"}}}}}}

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()


def wait(seconds: float) -> None:
    time.sleep(seconds)
