"""Orchestration config: Kubernetes manifests and compose files, read with yaml.safe_load_all (several
documents per file), judged for probes / healthchecks and non-root security contexts. Helm templates
({{ ... }}) are not YAML until rendered: they are only searched as text for probe keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditor.model import Finding
from checks.deployment.repo_files import RepoFiles, read_text
from checks.deployment.rules import make_finding

WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod", "Job", "CronJob",
                       "ReplicationController"})
# Batch workloads run to completion: probes are not expected there.
LONG_RUNNING = WORKLOADS - {"Job", "CronJob"}
MAX_YAML_FILES = 500
MAX_YAML_BYTES = 1_000_000


@dataclass
class Manifests:
    k8s_files: list[str] = field(default_factory=list)
    compose_files: list[str] = field(default_factory=list)
    helm_templates: list[str] = field(default_factory=list)
    workloads: int = 0
    containers: int = 0
    probed_containers: int = 0            # with a liveness or readiness probe
    compose_services: int = 0
    compose_healthchecks: int = 0
    helm_probes: int = 0                  # templates that mention livenessProbe/readinessProbe
    non_root_containers: int = 0          # runAsNonRoot true or runAsUser > 0 (pod or container level)
    findings: list[Finding] = field(default_factory=list)

    @property
    def has_probes(self) -> bool:
        return bool(self.probed_containers or self.compose_healthchecks or self.helm_probes)

    @property
    def all_non_root(self) -> bool:
        return self.containers > 0 and self.non_root_containers == self.containers


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"line {mark.line + 1}: {problem}" if mark is not None else str(problem)


def _line_of(exc: yaml.YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else 1


def gather(files: RepoFiles) -> Manifests:
    found = Manifests()
    for path in files.compose_files[:MAX_YAML_FILES]:
        _compose(path, files, found)
    for path in files.yaml_files[:MAX_YAML_FILES]:
        _maybe_k8s(path, files, found)
    return found


def _load(path: Path) -> tuple[str, list[Any]]:
    """Text and documents; raises yaml.YAMLError or OSError."""
    text = read_text(path, MAX_YAML_BYTES)
    try:
        return text, [d for d in yaml.safe_load_all(text) if d is not None]
    except RecursionError:  # absurdly deep nesting: as good as unparsable
        raise yaml.YAMLError("nesting too deep") from None


def _compose(path: Path, files: RepoFiles, found: Manifests) -> None:
    rel = files.rel(path)
    try:
        _text, docs = _load(path)
    except OSError:
        return
    except yaml.YAMLError as exc:
        found.findings.append(make_finding("DPL016", f"Compose file {rel} does not parse: {_yaml_error(exc)}",
                                           {"file": rel, "line": _line_of(exc)}))
        return
    found.compose_files.append(rel)
    for doc in docs:
        services = doc.get("services") if isinstance(doc, dict) else None
        if not isinstance(services, dict):
            continue
        for service in services.values():
            if not isinstance(service, dict):
                continue
            found.compose_services += 1
            check = service.get("healthcheck")
            if isinstance(check, dict) and not check.get("disable") and check.get("test") not in (None, ["NONE"]):
                found.compose_healthchecks += 1


def _maybe_k8s(path: Path, files: RepoFiles, found: Manifests) -> None:
    rel = files.rel(path)
    try:
        text, docs = _load(path)
    except OSError:
        return
    except yaml.YAMLError as exc:
        try:
            text = read_text(path, MAX_YAML_BYTES)
        except OSError:
            return
        if "{{" in text:
            found.helm_templates.append(rel)
            if "livenessProbe" in text or "readinessProbe" in text:
                found.helm_probes += 1
            return
        # Only YAML that looks like a manifest is worth a finding; any other broken YAML is not ours.
        if "apiVersion" in text and "kind" in text:
            found.findings.append(make_finding("DPL016", f"Kubernetes manifest {rel} does not parse: "
                                               f"{_yaml_error(exc)}", {"file": rel, "line": _line_of(exc)}))
        return
    is_k8s = False
    for doc in docs:
        for item in _objects(doc):
            kind = item.get("kind")
            if kind not in WORKLOADS:
                if isinstance(kind, str) and "apiVersion" in item:
                    is_k8s = True
                continue
            is_k8s = True
            _workload(item, rel, text, found)
    if is_k8s:
        found.k8s_files.append(rel)


def _objects(doc: Any) -> list[dict[str, Any]]:
    """A document, or the items of a List."""
    if not isinstance(doc, dict):
        return []
    if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        return [i for i in doc["items"] if isinstance(i, dict)]
    return [doc]


def _pod_spec(item: dict[str, Any]) -> dict[str, Any]:
    spec = item.get("spec") if isinstance(item.get("spec"), dict) else {}
    kind = item.get("kind")
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = _dig(spec, "jobTemplate", "spec")
    return _dig(spec, "template", "spec")


def _dig(value: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def _non_root(context: dict[str, Any]) -> bool | None:
    if context.get("runAsNonRoot") is True:
        return True
    user = context.get("runAsUser")
    if isinstance(user, int):
        return user > 0
    return None


def _workload(item: dict[str, Any], rel: str, text: str, found: Manifests) -> None:
    found.workloads += 1
    pod = _pod_spec(item)
    pod_non_root = _non_root(_dig(pod, "securityContext"))
    name = _dig(item, "metadata").get("name", "?")
    containers = pod.get("containers") if isinstance(pod.get("containers"), list) else []
    for container in containers:
        if not isinstance(container, dict):
            continue
        found.containers += 1
        own = _non_root(_dig(container, "securityContext"))
        if own or (own is None and pod_non_root):
            found.non_root_containers += 1
        has = [p for p in ("livenessProbe", "readinessProbe") if isinstance(container.get(p), dict)]
        if has:
            found.probed_containers += 1
        if item.get("kind") in LONG_RUNNING and len(has) < 2:
            missing = [p for p in ("readinessProbe", "livenessProbe") if p not in has]
            cname = container.get("name", "?")
            found.findings.append(make_finding(
                "DPL015", f"Container {cname} of {item.get('kind')} {name} in {rel} has no "
                f"{' and no '.join(missing)}.", {"file": rel, "line": _find_line(text, f"- name: {cname}", f"name: {cname}")},
                key=f"{item.get('kind')}/{name}/{cname}"))


def _find_line(text: str, *needles: str) -> int:
    """The first line holding the first needle that occurs (a container is usually "- name: x")."""
    for needle in needles:
        for number, line in enumerate(text.splitlines(), start=1):
            if needle in line:
                return number
    return 1
