"""The deployment check's rule catalogue: every rule id, its title, default severity and remediation.
Findings are built from it and docs/checks/deployment.md mirrors it (a test keeps them in step).

Rule ids are stable: never renumber, only add.
"""

from __future__ import annotations

from auditor.catalogue import Catalogue, Rule
from auditor.model import Severity

DOCS = "docs/checks/deployment.md"


_RULES = (
    # Container image (Dockerfile).
    # Severities: what the readiness checklist names (verified container images, configuration from the
    # environment, health checks, graceful shutdown, runbooks) is high when breached; the rest lower.
    Rule("DPL001", "No Dockerfile", Severity.HIGH,
         "Add a Dockerfile (or Containerfile) that builds the service's image, so what runs in production is "
         "a reviewed, reproducible artifact. If the service is deliberately not containerised, set "
         "[tool.auditor.deployment] require_dockerfile = false."),
    Rule("DPL002", "Dockerfile does not parse", Severity.MEDIUM,
         "Fix the line named in the message: every instruction must be a Dockerfile instruction "
         "(FROM, RUN, COPY, ...), the first one after ARGs must be FROM, and the file must be UTF-8."),
    Rule("DPL003", "Base image not pinned", Severity.HIGH,
         "Pin every FROM to an explicit version tag (python:3.12.8-slim), best with its digest "
         "(python:3.12.8-slim@sha256:...), and update it deliberately (Dependabot/Renovate). `latest` or no "
         "tag at all gives a different image on every build."),
    Rule("DPL004", "Container runs as root", Severity.HIGH,
         "Create an unprivileged user in the final stage and switch to it: "
         "RUN useradd --system --uid 10001 app && USER 10001. A process that runs as root in the container "
         "turns any code-execution bug into root on the container and a step closer to the host."),
    Rule("DPL005", "Secret value in ENV or ARG", Severity.HIGH,
         "Remove the value from the Dockerfile and rotate it: ENV and ARG values are stored in the image "
         "config and its history, readable by anyone who can pull the image. Pass secrets at run time "
         "(orchestrator secrets as environment variables or files) and at build time with BuildKit secret "
         "mounts (RUN --mount=type=secret,id=...)."),
    Rule("DPL006", "Secret-named ENV or ARG", Severity.MEDIUM,
         "A build argument or ENV named like a secret has its value recorded in the image history or "
         "config when it is set (docker build --build-arg TOKEN=...). Use a BuildKit secret mount for build "
         "time and the runtime environment for run time (Docker's SecretsUsedInArgOrEnv build check)."),
    Rule("DPL007", "No HEALTHCHECK or probe configuration", Severity.HIGH,
         "Tell the orchestrator how to probe the service: a HEALTHCHECK in the Dockerfile (Docker, Compose, "
         "ECS), a healthcheck in the compose file, or livenessProbe/readinessProbe on the Kubernetes "
         "containers, pointing at the service's liveness/readiness endpoints."),
    Rule("DPL008", "PID 1 is a shell (shell-form CMD/ENTRYPOINT)", Severity.MEDIUM,
         "Use the exec form (CMD [\"python\", \"-m\", \"app\"]) or `exec` in the entrypoint script: with the "
         "shell form /bin/sh is PID 1 and does not forward SIGTERM, so the service never shuts down "
         "gracefully and is killed after the grace period."),
    # Build context.
    Rule("DPL010", "No .dockerignore", Severity.MEDIUM,
         "Add a .dockerignore (or <Dockerfile>.dockerignore next to the Dockerfile for BuildKit) that "
         "excludes .git, .env files, virtualenvs, caches and local data, so they are neither sent to the "
         "builder nor copied into the image."),
    Rule("DPL011", ".env files not excluded from the build context", Severity.LOW,
         "Add `**/.env` and `**/.env.*` (with `!**/.env.example` if you keep an example) to the ignore file: "
         "a developer's local .env in a copied directory is otherwise baked into the image with its secrets. "
         "Medium when such a file exists in the context right now."),
    Rule("DPL012", ".git not excluded from the build context", Severity.LOW,
         "Add `.git` to the ignore file: the repository history (with any secret ever committed) is "
         "otherwise sent to the builder and lands in the image with COPY . ."),
    # Orchestration manifests.
    Rule("DPL015", "Kubernetes container without probes", Severity.MEDIUM,
         "Give every long-running container a readinessProbe (traffic only when ready) and a livenessProbe "
         "(restart when hung), pointing at the service's /readyz and /livez."),
    Rule("DPL016", "Manifest does not parse", Severity.LOW,
         "Fix the YAML named in the message (yaml.safe_load error shown); an orchestrator rejects it too. "
         "Helm templates ({{ ... }}) are recognised and not reported."),
    # Configuration.
    Rule("DPL020", "Committed .env file", Severity.HIGH,
         "Remove the file from the repository (git rm --cached), add it to .gitignore, rotate every secret it "
         "held, and commit a .env.example with placeholder values instead. High when a secret-named key has a "
         "value, medium otherwise."),
    Rule("DPL021", "Configuration not read from the environment", Severity.HIGH,
         "Read deployment-specific settings (database URL, secrets, log level) from environment variables "
         "(os.environ, pydantic-settings BaseSettings, django-environ), as the twelve-factor app does, so one "
         "image runs in every environment."),
    # Runtime behaviour, measured on the --serve'd service.
    Rule("DPL030", "In-flight request dropped at shutdown", Severity.HIGH,
         "On SIGTERM, stop accepting new connections, finish the requests in flight, then exit "
         "(uvicorn: timeout_graceful_shutdown; gunicorn: graceful_timeout; Python's default SIGTERM action "
         "kills the process at once). Rolling deployments send SIGTERM to every old instance."),
    Rule("DPL031", "Service did not exit in time after SIGTERM", Severity.HIGH,
         "Exit within the grace period (10 s here; Kubernetes' default terminationGracePeriodSeconds is "
         "30 s): bound the wait for in-flight requests and close pools and background tasks on shutdown. "
         "A process that has to be killed loses its in-flight work."),
    Rule("DPL032", "Non-zero exit code after SIGTERM", Severity.LOW,
         "Exit 0 after a completed graceful shutdown (or 128+15, the conventional SIGTERM code); other codes "
         "make orchestrators and process supervisors report a crash."),
    Rule("DPL033", "Logs are not structured JSON", Severity.MEDIUM,
         "Write one JSON object per line to stdout (python-json-logger, structlog's JSONRenderer, or a "
         "logging.Formatter that json.dumps the record), including the server's own lines, so the log "
         "pipeline can index fields such as level, request id and status."),
    # Operations.
    Rule("DPL040", "No runbook or operations docs", Severity.HIGH,
         "Add a RUNBOOK.md (or docs/runbook.md / docs/operations.md) saying how to deploy and roll back, "
         "which settings and dependencies the service needs, its health and metrics endpoints, and what to "
         "do for its usual alerts."),
    Rule("DPL041", "No CI configuration", Severity.MEDIUM,
         "Run the tests and build the image on every change: add a workflow (.github/workflows/*.yml, "
         ".gitlab-ci.yml, Jenkinsfile, ...) at the repository root."),
)

CATALOGUE: Catalogue[Rule] = Catalogue(DOCS, _RULES)
RULES: dict[str, Rule] = CATALOGUE.rules
make_finding = CATALOGUE.finding
