"""The `audit` command line (typer): run, demo, checks, report, compare, init.

Errors are one line on stderr and exit code 2; a traceback only with --verbose. The exit code of
`run` and `demo` is the gate's: 0 pass, 1 fail, 2 the audit could not be trusted.
"""

import inspect
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from auditor.config import ConfigError, load_settings
from auditor.gate import EXIT_UNTRUSTED, FAIL_ON_CHOICES, regate, verdict
from auditor.policy import GatePolicy
from auditor.redact import Redactor, url_passwords
from auditor.registry import PluginError, load_checks, load_renderers
from auditor.reporting import (OutputError, check_formats, headline_figures, prepare_output_dir, summary_lines,
                               write_reports)
from auditor.runner import ServeSpec, TargetUnreachable, run_audit
from auditor.service import ServiceError
from auditor.ui import ConsoleUI

app = typer.Typer(
    name="audit",
    help="Production-readiness auditor for backend services: one report, one exit code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts hold literal [tool.auditor] and [defaults]
)


def _csv(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


# --- options shared by `run` and `demo` (demo takes all but the target ones) -------------------------
UrlOpt = Annotated[str | None, typer.Option("--url", help="Base URL of the running service.")]
SpecOpt = Annotated[str | None, typer.Option("--spec", help="OpenAPI document: URL or file.")]
RepoOpt = Annotated[Path | None, typer.Option("--repo", help="Source repository of the service.")]
ServeOpt = Annotated[str | None, typer.Option(
    "--serve", help='Start the service yourself: a command with {port}, e.g. "uvicorn app:app --port {port}".')]
ChecksOpt = Annotated[str | None, typer.Option("--checks", help="Only these check ids (comma-separated).")]
SkipOpt = Annotated[str | None, typer.Option("--skip", help="Leave out these check ids (comma-separated).")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML config file ([tool.auditor]).")]
OutputDirOpt = Annotated[Path | None, typer.Option("--output-dir", help="Where reports go [audit-report].")]
FormatOpt = Annotated[str | None, typer.Option(
    "--format", help="Formats to write, comma-separated (html,json,md,junit,...) [all].")]
FailOnOpt = Annotated[str | None, typer.Option(
    "--fail-on", help="Fail at findings of this severity or worse: critical|high|medium|low|never [high].")]
HeaderOpt = Annotated[list[str] | None, typer.Option(
    "--header", help='Header sent with every request, "Name: value" (repeatable; value masked in output).')]
ReadOnlyOpt = Annotated[bool | None, typer.Option(
    "--read-only/--no-read-only", help="Only GET/HEAD/OPTIONS reach the service (always so for non-loopback).",
    show_default=False)]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Seed for generated inputs [0].")]
BaselineOpt = Annotated[Path | None, typer.Option(
    "--baseline", help="A previous report.json: only new findings and metric regressions gate (openapi: "
                       "or an older OpenAPI document, for breaking changes).")]
IgnoreFileOpt = Annotated[Path | None, typer.Option(
    "--ignore-file", help="Suppressions with reason and expiry [.audit-ignore.toml in the repo].")]
LoadDurationOpt = Annotated[float | None, typer.Option("--load-duration", help="Seconds of measured load (latency).")]
LoadRateOpt = Annotated[float | None, typer.Option("--load-rate", help="Requests per second to schedule (latency).")]
LoadWorkersOpt = Annotated[int | None, typer.Option(
    "--load-workers", help="Local locust worker processes; 0 runs the load in one process (latency).")]
LocustfileOpt = Annotated[Path | None, typer.Option("--locustfile", help="Your own locustfile (latency).")]
DbUrlOpt = Annotated[str | None, typer.Option(
    "--db-url", help="Database URL for live SQL capture (nplusone; password masked in output).")]
DbLogOpt = Annotated[Path | None, typer.Option("--db-log", help="The database server's log file (nplusone).")]
SqlLogOpt = Annotated[Path | None, typer.Option("--sql-log", help="A file of the service's SQL log lines (nplusone).")]
VulnDbOpt = Annotated[Path | None, typer.Option(
    "--vuln-db", help="Offline OSV advisory directory (dependencies).")]
BaseRefOpt = Annotated[str | None, typer.Option(
    "--base-ref", help="Git ref to compare against: diff coverage, migrations since (coverage, migrations).")]
PythonOpt = Annotated[Path | None, typer.Option("--python", help="The repo's Python interpreter (coverage).")]
OtlpOpt = Annotated[int | None, typer.Option(
    "--otlp", help="Receive OpenTelemetry traces on this loopback port (0: any free port) for SQL per request "
                   "(nplusone); point the service's OTEL_EXPORTER_OTLP_ENDPOINT at the URL printed.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output; errors and the verdict only.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Debug lines and tracebacks.")]
DefectsOpt = Annotated[str | None, typer.Option(
    "--defects", help="Seeded defects to switch on in the sample service (comma-separated; see docs).")]

TARGET_OPTIONS = ("url", "spec", "repo", "serve")
_FLAG_CONVERTERS: dict[str, Callable[[Any], Any]] = {"checks": _csv, "skip": _csv, "format": _csv}
# Flags whose setting has another name.
_FLAG_KEYS = {"header": "headers", "otlp": "otlp_port"}


@app.command()
def run(url: UrlOpt = None, spec: SpecOpt = None, repo: RepoOpt = None, serve: ServeOpt = None,
        checks: ChecksOpt = None, skip: SkipOpt = None, config: ConfigOpt = None,
        output_dir: OutputDirOpt = None, format: FormatOpt = None, fail_on: FailOnOpt = None,
        header: HeaderOpt = None, read_only: ReadOnlyOpt = None, seed: SeedOpt = None,
        baseline: BaselineOpt = None, ignore_file: IgnoreFileOpt = None, load_duration: LoadDurationOpt = None,
        load_rate: LoadRateOpt = None,
        load_workers: LoadWorkersOpt = None, locustfile: LocustfileOpt = None, db_url: DbUrlOpt = None,
        db_log: DbLogOpt = None, sql_log: SqlLogOpt = None, vuln_db: VulnDbOpt = None,
        base_ref: BaseRefOpt = None, python: PythonOpt = None, otlp: OtlpOpt = None,
        quiet: QuietOpt = False, verbose: VerboseOpt = False) -> None:
    """Audit a running service (--url or --serve) and/or its repo (--repo); write the report set."""
    options = {k: v for k, v in locals().items() if k not in ("quiet", "verbose")}
    _audit(options, quiet=quiet, verbose=verbose, serve=None)


def demo(defects: DefectsOpt = None, **options: Any) -> None:
    """Start the bundled sample service on SQLite and audit it with every registered check."""
    from auditor.demo import DemoError, demo_serve_spec

    quiet, verbose = options.pop("quiet", False), options.pop("verbose", False)
    ui = ConsoleUI(quiet=quiet, verbose=verbose)
    try:
        serve, repo = demo_serve_spec(_csv(defects) or [])
    except DemoError as exc:
        _fail(ui, exc)
    _audit({**options, "repo": repo}, quiet=quiet, verbose=verbose, serve=serve, ui=ui)


# `demo` takes every option of `run` but the target ones: its signature is built from run's, so the
# two can never drift apart (typer reads the parameters from __signature__).
_run_signature = inspect.signature(run, eval_str=True)
demo.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.signature(demo, eval_str=True).parameters["defects"]]
    + [p for name, p in _run_signature.parameters.items() if name not in TARGET_OPTIONS])
app.command(name="demo")(demo)


@app.command(name="checks")
def list_checks() -> None:
    """List the registered checks: id, title, section, needs, safety."""
    ui = ConsoleUI()
    try:
        registry = load_checks()
    except PluginError as exc:
        _fail(ui, exc)
    from rich.table import Table

    table = Table("id", "title", "section", "needs", "safety", box=None, pad_edge=False)
    for check_id, cls in registry.items():
        table.add_row(check_id, cls.title, str(cls.section), ", ".join(sorted(cls.needs)) or "-", str(cls.safety))
    ui.out.print(table)


@app.command(name="report")
def rerender(
    report_file: Annotated[Path, typer.Argument(metavar="REPORT.json", help="A saved report.json.")],
    format: FormatOpt = None,
    output_dir: OutputDirOpt = None,
    fail_on: FailOnOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Re-render a saved report.json without the target (optionally re-gated with --fail-on)."""
    from auditor.report_file import ReportLoadError, load_report

    ui = ConsoleUI(quiet=quiet, verbose=verbose)
    try:
        report = load_report(report_file)
        if fail_on is not None:
            if fail_on not in FAIL_ON_CHOICES:
                raise ConfigError(f"--fail-on: expected one of {', '.join(FAIL_ON_CHOICES)}, got {fail_on!r}")
            gate = report.gate
            regate(report.checks, fail_on, levels=gate.get("levels"), fail_on_by_check=gate.get("fail_on_by_check"))
            report.verdict = verdict(report.checks)
            report.gate = {**report.gate, "fail_on": fail_on}
        written = write_reports(report, output_dir or report_file.parent, _csv(format), load_renderers(),
                                on_warning=ui.info)
    except (ReportLoadError, ConfigError, OutputError, PluginError) as exc:
        _fail(ui, exc)
    for path in written:
        ui.info(f"wrote {path}")


@app.command(name="compare")
def compare_reports(
    old: Annotated[Path, typer.Argument(metavar="OLD.json", help="The earlier report.json (e.g. main's).")],
    new: Annotated[Path, typer.Argument(metavar="NEW.json", help="The later report.json (e.g. the branch's).")],
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", help="Also write compare.md, compare.html and compare.json here.")] = None,
    format: FormatOpt = None,
    fail_on: FailOnOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """What changed between two saved reports: new and fixed findings, regressed and improved metrics.
    Exit 1 when a new finding at or above --fail-on or a metric regression appears, else 0."""
    from auditor.baseline import BaselineError
    from auditor.compare import FORMATS, run_compare

    ui = ConsoleUI(quiet=quiet, verbose=verbose)
    try:
        flags = {k: v for k, v in (("config", config), ("fail_on", fail_on)) if v is not None}
        settings = load_settings(flags, check_ids=set(load_checks()))
        if output_dir is not None:
            prepare_output_dir(output_dir)
        code, lines, written = run_compare(old, new, renderers=load_renderers(), output_dir=output_dir,
                                           formats=_csv(format) or FORMATS,
                                           limits=settings.policy.regression_limits(), fail_on=settings.fail_on,
                                           fail_on_by_check=settings.policy.fail_on)
    except (BaselineError, ConfigError, OutputError, PluginError) as exc:
        _fail(ui, exc)
    for line in lines:
        ui.result(line)
    for path in written:
        ui.info(f"wrote {path}")
    raise typer.Exit(code)


@app.command(name="init")
def init(
    repo: Annotated[Path, typer.Option("--repo", help="The repo whose pyproject.toml gets the block.")] = Path("."),
    stdout: Annotated[bool, typer.Option("--stdout", help="Print the block instead of writing it.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Write even where a [tool.auditor] table exists.")] = False,
) -> None:
    """Write a commented [tool.auditor] block with every option (and every check's section)."""
    from auditor.init_config import InitError, render_init_block, write_init

    ui = ConsoleUI()
    try:
        registry = load_checks()
        if stdout:
            ui.out.print(render_init_block(registry), markup=False, highlight=False, soft_wrap=True)
            return
        path = write_init(repo, force=force, registry=registry)
    except (InitError, PluginError) as exc:
        _fail(ui, exc)
    ui.result(f"wrote the [tool.auditor] block to {path}")


def _audit(options: dict[str, Any], *, quiet: bool, verbose: bool, serve: ServeSpec | None,
           ui: ConsoleUI | None = None) -> NoReturn:
    ui = ui or ConsoleUI(quiet=quiet, verbose=verbose)
    flags = {_FLAG_KEYS.get(k, k): _FLAG_CONVERTERS.get(k, lambda v: v)(v) for k, v in options.items() if v is not None}
    try:
        registry = load_checks()
        settings = load_settings(flags, check_ids=set(registry))
        if serve:  # demo: the sample service is the target, whatever a config file says
            settings = settings.model_copy(update={"url": None, "serve": None, "spec": None})
        elif settings.serve and settings.url:
            raise ConfigError("give either --url or --serve, not both")
        elif settings.serve:
            # The service runs from --repo when one is given (its relative paths, .env, app module).
            serve = ServeSpec(settings.serve, env={}, cwd=settings.repo)
        elif not (settings.url or settings.repo):
            raise ConfigError("nothing to audit: give --url, --serve or --repo")
        ui.redactor = Redactor(list(settings.header_dict().values()) + url_passwords(settings.db_url)
                               + url_passwords(settings.scratch_db_url) + url_passwords(settings.url)
                               + url_passwords(settings.spec))
        renderers = load_renderers()
        check_formats(settings.format, renderers)
        prepare_output_dir(settings.output_dir)
        policy = GatePolicy.load(settings)  # before the audit: a bad baseline or ignore file costs nothing
        report = run_audit(settings, registry, ui, serve=serve)
        policy.apply(report)
        written = write_reports(report, settings.output_dir, settings.format, renderers, on_warning=ui.info)
    except (ConfigError, PluginError, ServiceError, TargetUnreachable, OutputError) as exc:
        _fail(ui, exc)
    for line in summary_lines(report, written, headline_figures(report, renderers)):
        ui.result(line)
    raise typer.Exit(report.gate["exit_code"])


def _fail(ui: ConsoleUI, exc: BaseException) -> NoReturn:
    if ui.verbose:
        ui.err.print(traceback.format_exc())
    ui.error(str(exc))
    raise typer.Exit(EXIT_UNTRUSTED)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _interrupted() -> NoReturn:
    print("error: interrupted", file=sys.stderr)
    sys.exit(EXIT_UNTRUSTED)


def main() -> None:
    """Console-script entry: usage errors also exit 2 (click's default), and nothing escapes as a
    traceback unless --verbose."""
    # SIGTERM (CI cancelling a job, `kill`) is handled like Ctrl-C: the load stops, the service the audit
    # started is stopped and the report of what was measured is still written.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app()
    except KeyboardInterrupt:
        _interrupted()
    except SystemExit as exc:
        if exc.code == 130:  # click turns a KeyboardInterrupt outside our handlers into exit 130
            _interrupted()
        raise
    except Exception as exc:  # a bug in the auditor itself: still one line unless --verbose
        if "--verbose" in sys.argv or "-v" in sys.argv:
            raise
        print(f"error: internal error: {type(exc).__name__}: {exc} (rerun with --verbose)", file=sys.stderr)
        sys.exit(EXIT_UNTRUSTED)
