"""Which target each scheduled request goes to. Pure and locust-free: the judging side and the tests
import it without pulling gevent's monkey-patching into the auditor's process."""

from __future__ import annotations


def smooth_mix(weights: list[int]) -> list[int]:
    """One cycle of smooth weighted round-robin (nginx): target indices in an order that spreads each
    target evenly, so every endpoint is sampled across the whole run, deterministically."""
    current = [0] * len(weights)
    total = sum(weights)
    order = []
    for _ in range(total):
        for i, w in enumerate(weights):
            current[i] += w
        best = max(range(len(weights)), key=lambda i: current[i])
        current[best] -= total
        order.append(best)
    return order
