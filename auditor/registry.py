"""Discovery of checks and renderers through entry points: built-ins and plugins alike."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from auditor.interface import NEEDS, Check, CheckConfig

CHECKS_GROUP = "auditor.checks"
REPORTS_GROUP = "auditor.reports"

# Order of the built-in checks in the report and in `audit checks`; plugins follow, by id.
PREFERRED_ORDER = ("health", "openapi", "latency", "nplusone", "security", "dependencies", "coverage",
                   "migrations", "deployment")


class PluginError(Exception):
    """An entry point that does not load or does not implement its interface."""


def _load(group: str) -> dict[str, Any]:
    loaded: dict[str, Any] = {}
    for ep in entry_points(group=group):
        try:
            loaded[ep.name] = ep.load()
        except Exception as exc:  # a broken plugin is named, never a traceback
            raise PluginError(f"plugin {ep.name!r} ({ep.value}) in {group} failed to load: {exc}") from exc
    return loaded


def load_checks() -> dict[str, type[Check]]:
    checks: dict[str, type[Check]] = {}
    for name, cls in _load(CHECKS_GROUP).items():
        missing = [a for a in ("id", "title", "section", "needs", "safety", "run") if not hasattr(cls, a)]
        if missing:
            raise PluginError(f"check plugin {name!r} lacks {', '.join(missing)}")
        if cls.id != name:
            raise PluginError(f"check plugin {name!r} declares id {cls.id!r}; they must match")
        if not set(cls.needs) <= NEEDS:
            raise PluginError(f"check {name!r} needs unknown {sorted(set(cls.needs) - NEEDS)}")
        if not hasattr(cls, "config_model"):
            cls.config_model = CheckConfig
        checks[name] = cls
    rank = {cid: i for i, cid in enumerate(PREFERRED_ORDER)}
    return dict(sorted(checks.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def load_renderers() -> dict[str, Any]:
    renderers = _load(REPORTS_GROUP)
    for name, cls in renderers.items():
        if not all(hasattr(cls, a) for a in ("format", "filename", "render")):
            raise PluginError(f"report plugin {name!r} lacks format, filename or render")
    return renderers
