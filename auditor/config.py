"""Settings: defaults < config file < AUDIT_* environment < command-line flags.

The config file is ``--config FILE`` (a TOML file: either a pyproject.toml with [tool.auditor] or a
file whose top level is the auditor table), else the audited repo's pyproject.toml, else
./pyproject.toml when it has a [tool.auditor] table. Every check's own section ([tool.auditor.<id>])
is validated by that check's config model. Errors are one line naming the key and where it came from.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic

from auditor.interface import CheckConfig

FailOn = Literal["critical", "high", "medium", "low", "never"]
ENV_PREFIX = "AUDIT_"


class ConfigError(Exception):
    """Bad configuration; the message is one line naming the key."""


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class HttpSettings(_Strict):
    timeout: float = pydantic.Field(10.0, gt=0, le=300, description="seconds per request")
    max_bytes: int = pydantic.Field(2 * 1024 * 1024, gt=0, description="response bodies are cut here")
    max_redirects: int = pydantic.Field(5, ge=0, le=20)


class SafetySettings(_Strict):
    allow_writes: bool = False        # writes/fuzzing against a non-loopback host
    allow_remote_load: bool = False   # load tests against a non-loopback host
    allow_load_read_only: bool = False  # load tests (GET only) under --read-only


Level = Literal["off", "warn", "error"]
Preset = Literal["strict", "default", "lenient"]


class RegressionSettings(_Strict):
    """When a metric is worse than in the --baseline report (None: the preset's value). A timing must be
    worse by the ratio AND by the noise band: p95s of a few ms jitter by more than 10 % run to run."""

    p95_ratio: float | None = pydantic.Field(None, ge=0, description="p95 may grow by this fraction")
    p95_noise_ms: float | None = pydantic.Field(None, ge=0, description="...and by this many ms")
    coverage_drop: float | None = pydantic.Field(None, ge=0, description="percentage points coverage may drop")
    nplusone_increase: int | None = pydantic.Field(None, ge=0, description="extra N+1 findings tolerated")
    completeness_drop: float | None = pydantic.Field(None, ge=0,
                                                     description="percentage points OpenAPI completeness may drop")


class PresetValues(pydantic.BaseModel):
    fail_on: str
    regressions: RegressionSettings


# strict gates on medium findings and any measurable regression; lenient only on critical ones and
# clear regressions. default is the contract's --fail-on high.
PRESETS: dict[str, PresetValues] = {
    "strict": PresetValues(fail_on="medium", regressions=RegressionSettings(
        p95_ratio=0.05, p95_noise_ms=2.0, coverage_drop=0.0, nplusone_increase=0, completeness_drop=0.0)),
    "default": PresetValues(fail_on="high", regressions=RegressionSettings(
        p95_ratio=0.10, p95_noise_ms=5.0, coverage_drop=0.0, nplusone_increase=0, completeness_drop=0.0)),
    "lenient": PresetValues(fail_on="critical", regressions=RegressionSettings(
        p95_ratio=0.25, p95_noise_ms=20.0, coverage_drop=1.0, nplusone_increase=0, completeness_drop=5.0)),
}


class PolicySettings(_Strict):
    """[tool.auditor.policy]: how findings gate (Lighthouse CI's off/warn/error levels, per check)."""

    preset: Preset = "default"
    levels: dict[str, Level] = {}       # check id -> off (not run) | warn (never fails) | error (gates)
    fail_on: dict[str, FailOn] = {}     # check id -> its own threshold (over the global fail_on)
    regressions: RegressionSettings = RegressionSettings()

    def regression_limits(self) -> RegressionSettings:
        """The regression bands with the preset's value wherever none is set."""
        base = PRESETS[self.preset].regressions.model_dump()
        return RegressionSettings(**{k: v if v is not None else base[k]
                                     for k, v in self.regressions.model_dump().items()})


class Settings(_Strict):
    url: str | None = None
    spec: str | None = None
    repo: Path | None = None
    serve: str | None = None
    checks: list[str] | None = None   # None = every registered check
    skip: list[str] = []
    output_dir: Path = Path("audit-report")
    format: list[str] | None = None   # None = every available format
    fail_on: FailOn = "high"
    headers: list[str] = []           # "Name: value"; values are secrets, masked everywhere
    read_only: bool = False
    seed: int = 0
    # Options of particular checks (they read them from AuditContext.settings; None = the check's default).
    baseline: Path | None = None          # a previous report.json (the gate; openapi: or an older spec)
    ignore_file: Path | None = None       # suppressions; None = .audit-ignore.toml in the repo (or here)
    load_duration: float | None = pydantic.Field(None, gt=0)
    load_rate: float | None = pydantic.Field(None, gt=0)
    load_workers: int | None = pydantic.Field(None, ge=0)
    locustfile: Path | None = None
    db_url: str | None = None             # may hold a password: masked in every output
    # A PostgreSQL or MariaDB/MySQL server on which the repo's tests and migrations get a scratch database
    # (created for the run, dropped after it); None: the --db-url server, if any.
    scratch_db_url: str | None = None     # may hold a password: masked in every output
    db_log: Path | None = None
    sql_log: Path | None = None
    vuln_db: Path | None = None
    base_ref: str | None = None           # coverage/migrations: git ref to diff against
    python: Path | None = None            # coverage: the repo's interpreter
    # nplusone: receive OpenTelemetry traces on this loopback port (0: any free one) from a service the
    # auditor did not start; a --serve'd Python service is traced without it ([tool.auditor.nplusone] instrument).
    otlp_port: int | None = pydantic.Field(None, ge=0, le=65535)
    check_timeout: float = pydantic.Field(600.0, gt=0, description="deadline per check, seconds")
    serve_timeout: float = pydantic.Field(30.0, gt=0, description="how long --serve waits for the service")
    http: HttpSettings = HttpSettings()
    safety: SafetySettings = SafetySettings()
    policy: PolicySettings = PolicySettings()
    # [tool.auditor.<check id>] tables, validated per check (see validate_check_sections).
    check_sections: dict[str, dict[str, Any]] = {}

    @pydantic.field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    def header_dict(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for number, raw in enumerate(self.headers, 1):
            name, sep, value = raw.partition(":")
            if not sep or not name.strip():
                # Never echo the value: a header without its colon is most likely a bare token.
                raise ConfigError(f"header #{number}: expected 'Name: value'")
            headers[name.strip()] = value.strip()
        return headers


# Keys whose file values are paths relative to the config file's directory.
_FILE_RELATIVE = ("spec", "repo", "baseline", "ignore_file", "locustfile", "db_log", "sql_log", "vuln_db", "python")
# Environment values that are lists: split on commas (headers on newlines: values may hold commas).
_LIST_SEPARATORS = {"checks": ",", "skip": ",", "format": ",", "headers": "\n"}


def load_settings(flags: Mapping[str, Any], *, check_ids: set[str],
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Merge every source and validate once; ``flags`` holds only options the user gave."""
    environ = os.environ if environ is None else environ
    env_values = _from_env(environ)
    config_path = flags.get("config") or env_values.pop("config", None)
    repo_hint = flags.get("repo") or env_values.get("repo")
    file_values, file_name = _from_file(config_path, repo_hint)

    # Paths given on the command line or in AUDIT_* variables are relative to the working directory the
    # audit started in (config-file paths to the file's directory, above), whatever directory a check
    # later runs a program from.
    cwd = Path.cwd()
    flags = {k: (_absolute(v, cwd) if k in _FILE_RELATIVE and isinstance(v, (str, Path)) and v
                 and not str(v).startswith(("http://", "https://")) else v) for k, v in flags.items()}
    env_values = {k: (_absolute(v, cwd) if k in _FILE_RELATIVE and isinstance(v, str) and v
                      and not v.startswith(("http://", "https://")) else v) for k, v in env_values.items()}
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source, values in ((file_name, file_values), ("environment", env_values), ("flag", flags)):
        for key, value in values.items():
            if key == "config":
                continue
            merged[key] = value
            origin[key] = _origin_label(source, key)

    # Tables named after a check id are that check's section; anything else unknown is an error.
    sections = {k: merged.pop(k) for k in list(merged) if k in check_ids and isinstance(merged[k], dict)}
    merged["check_sections"] = sections
    try:
        settings = Settings.model_validate(merged)
    except pydantic.ValidationError as exc:
        raise ConfigError(_one_line(exc, origin)) from None
    for table in ("levels", "fail_on"):
        unknown = sorted(set(getattr(settings.policy, table)) - check_ids)
        if unknown:
            raise ConfigError(f"config policy.{table}.{unknown[0]} (from {origin.get('policy', 'config')}): "
                              f"unknown check id (known: {', '.join(sorted(check_ids))})")
    if "fail_on" not in merged:  # the preset's threshold unless one was given anywhere
        settings = settings.model_copy(update={"fail_on": PRESETS[settings.policy.preset].fail_on})
    return settings


def validate_check_section(check_id: str, model: type[CheckConfig], values: dict[str, Any]) -> CheckConfig:
    try:
        return model.model_validate(values)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"config [tool.auditor.{check_id}] {key}: {_message(first)}") from None


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX):].lower()
        if key not in Settings.model_fields and key != "config" or key == "check_sections":
            continue  # AUDIT_* variables we do not own are ignored, as other tools' are
        if key in _LIST_SEPARATORS:
            values[key] = [part.strip() for part in raw.split(_LIST_SEPARATORS[key]) if part.strip()]
        else:
            values[key] = raw
    return values


def _from_file(config_path: str | Path | None, repo: str | Path | None) -> tuple[dict[str, Any], str]:
    if config_path:
        path = Path(config_path)
        table = _read_toml(path, required=True)
        if "tool" in table and isinstance(table["tool"], dict):
            table = table["tool"].get("auditor", {})
    else:
        candidates = [Path(repo) / "pyproject.toml"] if repo else []
        candidates.append(Path("pyproject.toml"))
        for path in candidates:
            table = _read_toml(path, required=False).get("tool", {}).get("auditor")
            if table is not None:
                break
        else:
            return {}, "defaults"
    if not isinstance(table, dict):
        raise ConfigError(f"config {path}: [tool.auditor] must be a table")
    table = dict(table)
    for key in _FILE_RELATIVE:
        value = table.get(key)
        if isinstance(value, str) and not value.startswith(("http://", "https://")):
            table[key] = _absolute(value, path.parent.absolute())
    return table, str(path)


def _absolute(value: str | Path, base: Path) -> str:
    """``value`` made absolute against ``base``, symlinks NOT resolved: a virtualenv's bin/python is a
    symlink to the base interpreter, and following it would lose the virtualenv's packages."""
    path = Path(value).expanduser()
    return os.path.normpath(path if path.is_absolute() else base / path)


def _read_toml(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file {path} does not exist") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _origin_label(source: str, key: str) -> str:
    if source == "environment":
        return f"{ENV_PREFIX}{key.upper()}"
    if source == "flag":
        return f"--{key.replace('_', '-')}"
    return source


def _one_line(exc: pydantic.ValidationError, origin: dict[str, str]) -> str:
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"]]
    if loc and loc[0] == "check_sections":
        loc = loc[1:]
    key = ".".join(loc) or "config"
    where = origin.get(loc[0]) if loc else None
    return f"config {key}{f' (from {where})' if where else ''}: {_message(first)}"


def _message(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    return str(error["msg"])
