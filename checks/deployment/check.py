"""The deployment check: gather (one bounded walk of the repo, the parsed Dockerfiles and manifests, the
service's captured output, and — when --serve started the service and no later check needs it — a
measured SIGTERM with requests in flight), then judge each checklist item in the pure modules
(dockerfile, dockerignore, manifests, repo_facts, logs, shutdown) and lay out the checklist."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from auditor.interface import AuditContext, CheckError, Safety
from auditor.model import Finding, Outcome, Section
from checks.deployment import checklist, dockerignore, logs, manifests, repo_facts, shutdown
from checks.deployment.checklist import Item, judged, not_checked
from checks.deployment.config import DeploymentConfig
from checks.deployment.dockerfile import (DockerfileError, ParsedDockerfile, final_user, healthcheck,
                                          judge_base_images, judge_pid1, judge_secrets, judge_user, parse)
from checks.deployment.repo_files import RepoFiles, read_bytes, walk
from checks.deployment.rules import make_finding
from checks.deployment.secrets import mask_line

MAX_DOCKERFILES = 20
MAX_DOCKERFILE_BYTES = 1_000_000
MAX_SKIPPED_SHOWN = 20


class DeploymentCheck:
    id: ClassVar[str] = "deployment"
    title: ClassVar[str] = "Deployment checklist"
    section: ClassVar[Section] = Section.DEPLOYMENT
    needs: ClassVar[frozenset[str]] = frozenset({"repo"})
    safety: ClassVar[Safety] = Safety.PASSIVE
    config_model: ClassVar[type[DeploymentConfig]] = DeploymentConfig

    def run(self, ctx: AuditContext) -> Outcome:
        config = ctx.config if isinstance(ctx.config, DeploymentConfig) else DeploymentConfig.model_validate(
            ctx.config.model_dump())
        repo = ctx.target.repo
        if repo is None or not Path(repo).is_dir():
            raise CheckError(f"repo {repo} is not a directory")
        fail_on = str(ctx.settings.get("fail_on") or "high")
        ctx.progress(f"walking {repo}")
        files = walk(Path(repo), should_stop=ctx.should_stop)
        items: dict[str, Item] = {}
        parsed, docker_items = _container_items(files, config, fail_on)
        items.update(docker_items)
        found = manifests.gather(files)
        items["healthcheck"] = _healthcheck_item(parsed, found, fail_on)
        if parsed and found.all_non_root and items["non_root"].status != checklist.PASS:
            # Re-judge with the manifests' securityContext in mind (a softer finding).
            findings = [f for df, _ in parsed for f in judge_user(df, runs_as_non_root_elsewhere=True)]
            items["non_root"] = judged("non_root", findings, items["non_root"].detail, fail_on)
        repo_items, runbook, ci_files = _repo_items(files, config, fail_on)
        items.update(repo_items)
        items["health_metrics"] = _health_item(ctx)

        measured = None
        static_pid1 = [f for df, _ in parsed for f in judge_pid1(df)]
        why_not = _why_not_measure(ctx, config)
        if why_not is None:
            path = config.shutdown_path or _probe_path(ctx)
            ctx.progress(f"SIGTERM with {config.shutdown_requests} GET {path} in flight")
            measured = shutdown.measure(ctx.artifacts.service, ctx.target.url or ctx.http.base_url, path,
                                        config.shutdown_requests)
            why_not = f"not measured: {measured.problem}" if measured.problem else None
        hints = repo_facts.shutdown_hints(files) if measured is None or measured.problem else []
        items["graceful_shutdown"] = _shutdown_item(measured, why_not, static_pid1, parsed, hints, fail_on)
        items["json_logs"] = _logs_item(ctx, config, fail_on)

        rows = checklist.ordered(items)
        tally = checklist.counts(rows)
        findings: list[Finding] = [f for item in rows for f in item.findings]
        truncated_note = (" (the repository walk stopped at its bound: some files were not looked at)"
                          if files.truncated else "")
        if files.skipped:
            truncated_note += (f"; {len(files.skipped)} file{'s' if len(files.skipped) != 1 else ''} not read "
                               "(symlinks out of the repository, FIFOs, sockets or devices: see skipped_files)")
        # The health/metrics item mirrors the health check, whose findings stay there: say so, so that
        # "1 fail" beside a passing deployment status does not read as a contradiction.
        mirrored = items["health_metrics"].status in (checklist.FAIL, checklist.WARN) \
            and not items["health_metrics"].findings
        summary = (f"{len(rows)} items: {tally['pass']} pass, {tally['warn']} warn, {tally['fail']} fail"
                   f"{' (health/metrics: see the health check)' if mirrored else ''}, "
                   f"{tally['not checked']} not checked{truncated_note}")
        if measured and not measured.problem:
            summary += f"; graceful shutdown measured ({items['graceful_shutdown'].status})"
        if files.from_parents:
            summary += f"; from up to the git root: {', '.join(files.from_parents[:3])}"
        metrics: dict[str, Any] = {
            "method": "Static review of the repository (Dockerfiles parsed with dockerfile-parse, Kubernetes and "
                      "compose YAML with PyYAML, .dockerignore matched with Docker's rules, git-tracked .env "
                      "files, environment reads in the Python sources, runbook and CI files up to the git root); "
                      "the --serve'd service's output for JSON logs; the health check's result for health and "
                      "metrics; and, when this audit started the service and no later check needs it, SIGTERM "
                      "sent with requests in flight to measure graceful shutdown.",
            "checklist": [item.row() for item in rows],
            "items_passed": tally["pass"],
            "items_warned": tally["warn"],
            "items_failed": tally["fail"],
            "items_not_checked": tally["not checked"],
            "dockerfiles": [df.path for df, _ in parsed],
            "kubernetes_manifests": found.k8s_files,
            "compose_files": found.compose_files,
            "ci_files": ci_files,
            "runbook": runbook,
            "shutdown": measured.to_metrics() if measured else None,
            "skipped_files": [f"{rel}: {reason}" for rel, reason in files.skipped[:MAX_SKIPPED_SHOWN]],
            "scope": files.scope.describe() if files.scope else None,
            "from_parent_dirs": files.from_parents,
        }
        if files.scope is not None and files.scope.is_subdirectory:
            metrics["method"] += (f" Scope: {files.scope.sentence()}; compose and .env files there counted: "
                                  f"{', '.join(files.from_parents) or 'none found'}.")
        return Outcome(summary=summary, metrics=metrics, findings=findings)


def _repo_items(files: RepoFiles, config: DeploymentConfig,
                fail_on: str) -> tuple[dict[str, Item], str | None, list[str]]:
    """Configuration from the environment, committed .env files, runbook, CI: all static."""
    config_findings, config_detail = repo_facts.judge_config(repo_facts.config_from_env(files))
    env_findings, env_detail = repo_facts.judge_env_files(files)
    items = {"config_env": judged("config_env", config_findings + env_findings, f"{config_detail}; {env_detail}",
                                  fail_on)}
    runbook = repo_facts.find_runbook(files, config.runbook_paths)
    items["runbook"] = judged("runbook", [] if runbook else [make_finding(
        "DPL040", "No runbook or operations doc in the repository or up to its git root (looked for "
        "RUNBOOK/OPERATIONS/deploy docs, runbooks/ or ops/ directories, and README sections about "
        "deployment or operations).", {"file": ".", "line": 1})], runbook or "none found", fail_on)
    ci_files = repo_facts.find_ci(files)
    items["ci"] = judged("ci", [] if ci_files else [make_finding(
        "DPL041", "No CI configuration in the repository or up to its git root.", {"file": ".", "line": 1})],
        ", ".join(ci_files[:3]) or "none found", fail_on)
    return items, runbook, ci_files


def _container_items(files: RepoFiles, config: DeploymentConfig,
                     fail_on: str) -> tuple[list[tuple[ParsedDockerfile, Path]], dict[str, Item]]:
    items: dict[str, Item] = {}
    parsed: list[tuple[ParsedDockerfile, Path]] = []
    parse_findings: list[Finding] = []
    for path in files.dockerfiles[:MAX_DOCKERFILES]:
        rel = files.rel(path)
        try:
            data = read_bytes(path, MAX_DOCKERFILE_BYTES)
        except OSError as exc:
            parse_findings.append(make_finding("DPL002", f"{rel} cannot be read: {exc.strerror or exc}",
                                               {"file": rel, "line": 1}))
            continue
        try:
            parsed.append((parse(data, rel), path))
        except DockerfileError as exc:
            parse_findings.append(make_finding("DPL002", f"{rel} does not parse: {exc}",
                                               {"file": rel, "line": exc.line}))
    if not files.dockerfiles:
        if config.require_dockerfile:
            items["dockerfile"] = judged("dockerfile", [make_finding(
                "DPL001", "No Dockerfile or Containerfile in the repository.", {"file": ".", "line": 1})],
                "none found", fail_on)
        else:
            items["dockerfile"] = not_checked("dockerfile", "none found (not required: require_dockerfile = false)")
    else:
        names = ", ".join(files.rel(p) for p in files.dockerfiles[:5])
        more = f" and {len(files.dockerfiles) - 5} more" if len(files.dockerfiles) > 5 else ""
        items["dockerfile"] = judged("dockerfile", parse_findings, names + more, fail_on)
    if not parsed:
        reason = "no Dockerfile that parses" if files.dockerfiles else "no Dockerfile"
        for key in ("base_image", "non_root", "no_secrets", "dockerignore"):
            items[key] = not_checked(key, reason)
        return parsed, items

    base_findings: list[Finding] = []
    notes: list[str] = []
    for df, _ in parsed:
        found, pinned = judge_base_images(df)
        base_findings += found
        notes += pinned
    items["base_image"] = judged("base_image", base_findings, "; ".join(dict.fromkeys(notes)) or "not pinned",
                                 fail_on)
    user_findings = [f for df, _ in parsed for f in judge_user(df)]
    users = [f"{df.path}: USER {u.value}" for df, _ in parsed if (u := final_user(df.final))]
    items["non_root"] = judged("non_root", user_findings, "; ".join(users) or "no USER instruction", fail_on)
    secret_findings = [f for df, _ in parsed for f in judge_secrets(df)]
    items["no_secrets"] = judged("no_secrets", secret_findings,
                                 f"{len(secret_findings)} secret-like ENV/ARG" if secret_findings
                                 else "no secret-like ENV or ARG", fail_on)
    ignore_findings: list[Finding] = []
    ignore_details: list[str] = []
    for df, path in parsed:
        build = dockerignore.locate(path, df, files)
        found_here, detail = dockerignore.judge(build, df, files)
        ignore_findings += found_here
        ignore_details.append(detail)
    items["dockerignore"] = judged("dockerignore", ignore_findings, "; ".join(dict.fromkeys(ignore_details)), fail_on)
    return parsed, items


def _healthcheck_item(parsed: list[tuple[ParsedDockerfile, Path]], found: manifests.Manifests,
                      fail_on: str) -> Item:
    sources: list[str] = [f"HEALTHCHECK in {df.path}" for df, _ in parsed if healthcheck(df)]
    if found.probed_containers:
        sources.append(f"probes on {found.probed_containers} of {found.containers} Kubernetes containers")
    if found.compose_healthchecks:
        sources.append(f"healthcheck on {found.compose_healthchecks} of {found.compose_services} compose services")
    if found.helm_probes:
        sources.append(f"probes in {found.helm_probes} Helm templates")
    findings = list(found.findings)
    if not sources:
        location = {"file": parsed[0][0].path, "line": parsed[0][0].final.line} if parsed else {"file": ".", "line": 1}
        looked = "the Dockerfiles' final stages" if parsed else "the repository (no Dockerfile)"
        findings.insert(0, make_finding(
            "DPL007", f"No HEALTHCHECK in {looked}, no compose healthcheck and no Kubernetes liveness/readiness "
            "probe: nothing tells the orchestrator how to probe the service.", location))
    return judged("healthcheck", findings, "; ".join(sources) or "none found", fail_on)


def _later_checks_needing_service(ctx: AuditContext) -> list[str]:
    """Selected checks that run after this one and need the service (stopping it would starve them)."""
    from auditor.registry import load_checks

    try:
        registry = load_checks()
    except Exception:  # noqa: BLE001 — when the checks cannot be listed, assume the worst
        return ["(the registered checks could not be listed)"]
    order = list(registry)
    if DeploymentCheck.id not in order:
        return []
    selected = ctx.settings.get("checks") or order
    skipped = ctx.settings.get("skip") or []
    after = order[order.index(DeploymentCheck.id) + 1:]
    return [cid for cid in after if cid in selected and cid not in skipped and "service" in registry[cid].needs]


def _why_not_measure(ctx: AuditContext, config: DeploymentConfig) -> str | None:
    if not config.measure_shutdown:
        return "not measured (measure_shutdown = false)"
    if ctx.artifacts.service is None:
        return "not measured: the audit did not start the service (--serve / audit demo)"
    if not (ctx.target.url or ctx.http.base_url):
        return "not measured: no service URL"
    later = _later_checks_needing_service(ctx)
    if later:
        return f"not measured: {', '.join(later)} still need the service after this check"
    if ctx.should_stop():
        return "not measured: the audit was stopping"
    return None


def _probe_path(ctx: AuditContext) -> str:
    health = ctx.earlier.get("health")
    if health is not None:
        for key in ("readiness_path", "liveness_path"):
            path = health.metrics.get(key)
            if isinstance(path, str) and path.startswith("/"):
                return path
    return "/"


def _shutdown_item(measured: shutdown.Measurement | None, why_not: str | None, static_pid1: list[Finding],
                   parsed: list[tuple[ParsedDockerfile, Path]], hints: list[str], fail_on: str) -> Item:
    if measured is not None and not measured.problem:
        findings, detail, _conclusive = shutdown.judge(measured)
        return judged("graceful_shutdown", static_pid1 + findings, detail, fail_on)
    seen = f"; shutdown handling seen in {', '.join(hints)}" if hints else ""
    if static_pid1:
        return judged("graceful_shutdown", static_pid1, f"{why_not}; statically: shell-form CMD/ENTRYPOINT{seen}",
                      fail_on)
    if parsed:
        # Exec form and shutdown settings do not prove the service handles SIGTERM: only a measurement does.
        return not_checked("graceful_shutdown", f"{why_not}; statically: exec-form CMD/ENTRYPOINT (SIGTERM reaches "
                                                f"the service){seen}")
    return not_checked("graceful_shutdown", f"{why_not or 'not measured'}{seen}")


def _logs_item(ctx: AuditContext, config: DeploymentConfig, fail_on: str) -> Item:
    log_path = ctx.artifacts.service_log
    if log_path is None:
        return not_checked("json_logs", "not checked: the service's output was not captured (start it with --serve)")
    try:
        facts = logs.read(Path(log_path))
    except OSError as exc:
        return not_checked("json_logs", f"not checked: the service log cannot be read ({exc.strerror or exc})")
    if not facts.lines:
        return not_checked("json_logs", "not checked: the service wrote no output")
    findings, detail = logs.judge(facts, config.json_log_min_share, Path(log_path).name, mask_line)
    return judged("json_logs", findings, detail, fail_on)


def _health_item(ctx: AuditContext) -> Item:
    """Mirrors the health check's result without repeating its findings (they are in its own section)."""
    health = ctx.earlier.get("health")
    if health is None:
        return not_checked("health_metrics", "not checked: the health check did not run in this audit")
    status = str(health.status)
    if status in (checklist.PASS, checklist.WARN, checklist.FAIL):
        rules = sorted({f.rule_id for f in health.findings if not f.suppressed})
        detail = f"health check: {health.summary}" + (f" (findings {', '.join(rules[:6])}, counted there)"
                                                      if rules else "")
        return Item("health_metrics", status, detail)
    return not_checked("health_metrics", f"not checked: the health check is {status} ({health.summary})")
