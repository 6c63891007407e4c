"""The revision graph: order from base to head, heads, and what is wrong with the chain (pure)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from checks.migrations.model import Migration


@dataclass
class Graph:
    ordered: list[Migration]
    heads: dict[str, list[str]]                       # per branch key ("" for Alembic, the app for Django)
    duplicates: list[tuple[str, list[Migration]]] = field(default_factory=list)
    missing_parents: list[tuple[Migration, str]] = field(default_factory=list)
    cycle: list[str] = field(default_factory=list)


def build(migrations: list[Migration]) -> Graph:
    by_id: dict[str, list[Migration]] = defaultdict(list)
    for m in migrations:
        by_id[m.id].append(m)
    duplicates = [(rid, ms) for rid, ms in by_id.items() if len(ms) > 1]
    unique = {rid: ms[0] for rid, ms in by_id.items()}
    missing: list[tuple[Migration, str]] = []
    children: dict[str, list[str]] = defaultdict(list)
    for m in unique.values():
        for parent in m.parents:
            if parent in unique:
                children[parent].append(m.id)
            elif m.framework == "alembic" or parent.split(".", 1)[0] == m.app:
                # Django dependencies on other apps' (or Django's own) migrations are outside the repo's view
                # unless they belong to the same app.
                missing.append((m, parent))
    # Kahn's algorithm, ties broken by file name so the order is stable.
    indegree = {rid: sum(1 for p in m.parents if p in unique) for rid, m in unique.items()}
    ready = sorted((rid for rid, n in indegree.items() if n == 0), key=lambda r: unique[r].file)
    ordered: list[Migration] = []
    while ready:
        rid = ready.pop(0)
        ordered.append(unique[rid])
        for child in children[rid]:
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
                ready.sort(key=lambda r: unique[r].file)
    cycle = sorted(rid for rid, n in indegree.items() if n > 0)
    ordered += [unique[rid] for rid in cycle]
    heads: dict[str, list[str]] = defaultdict(list)
    for m in ordered:
        # A Django migration is a head of its app when no migration of the same app depends on it.
        same_branch_children = [c for c in children[m.id] if unique[c].app == m.app]
        if not same_branch_children:
            heads[m.app or ""].append(m.id)
    return Graph(ordered=ordered, heads=dict(heads), duplicates=duplicates, missing_parents=missing, cycle=cycle)
