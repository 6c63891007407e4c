"""Untrusted documents: the whole check (file spec, no service) on a few hundred random corruptions of a
valid document never raises anything but a clear CheckError — every other outcome is an Outcome.
Deterministic (fixed seed); the corruptions replace random subtrees with wrongly-typed values."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

from auditor.interface import CheckError
from auditor.model import Outcome
from tests.checks.openapi_helpers import minimal_spec, run_check, writable_spec, write_spec

JUNK: list[Any] = [None, 0, -5, 2.5, True, "x", "", [], {}, [1, "a"], {"a": 1}, {"$ref": "#/nope"}, {"$ref": 5},
                   ["$ref"], {"type": ["string", 5]}, {"enum": 3}, {"required": "name"}, {"properties": []},
                   {"type": {"a": 1}}, {"name": ["x"]}, {"$ref": "#/components/schemas/Item"}]
ROUNDS = 120


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _set(document: Any, path: tuple, value: Any) -> None:
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def test_random_corruptions_never_crash_the_check(tmp_path):
    rng = random.Random(20261128)
    bases = [minimal_spec(), writable_spec()]
    outcomes = errors = 0
    for round_ in range(ROUNDS):
        base = bases[round_ % 2]
        document = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            paths = list(_paths(document))
            _set(document, rng.choice(paths), copy.deepcopy(rng.choice(JUNK)))
        baseline = write_spec(tmp_path, base, "baseline.json")
        spec = write_spec(tmp_path, document, f"spec{round_}.json")
        try:
            result = run_check(None, tmp_path, spec=str(spec), settings={"baseline": str(baseline)})
        except CheckError as exc:
            assert "\n" not in str(exc)
            errors += 1
            continue
        assert isinstance(result, Outcome) and 0 <= result.metrics["completeness_percent"] <= 100
        outcomes += 1
    assert outcomes > ROUNDS // 2  # most corruptions still leave a document to judge
