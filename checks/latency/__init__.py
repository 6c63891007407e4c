"""latency: latency under load, open-model arrival rate, exact percentiles (HdrHistogram), locust engine.

The package import is lazy on purpose: the load subprocess (``python -m checks.latency.loadgen``) must
import locust — which monkey-patches the process with gevent — before anything imports ssl or socket
(httpx, via the auditor core). Only ``LatencyCheck`` (the entry point) pulls in the core.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LatencyCheck"]


def __getattr__(name: str) -> Any:
    if name == "LatencyCheck":
        from checks.latency.check import LatencyCheck

        return LatencyCheck
    raise AttributeError(name)
