"""`audit init`: a commented [tool.auditor] block with every option, generated from the pydantic models.

Every line comes from auditor.config.Settings and each registered check's ``config_model``: field names,
defaults, Literal choices and bounds, descriptions (the field's ``description``, else the comment on its
source line, else the `audit run` option's help), so the block cannot drift from what the loader accepts.
Options are written as dotted keys under one active ``[tool.auditor]`` header (``# http.timeout = 10.0``,
``# latency.rate = 40.0``): removing the leading "# " of any one line sets exactly that option, whatever
else is uncommented. Lines starting with "##" are explanations, never options. Documented in docs/init.md.
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import math
import re
import textwrap
import tokenize
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

import pydantic
from annotated_types import Ge, Gt, Le, Lt

from auditor.config import PRESETS, Settings
from auditor.files import UnreadableFile, read_regular_file
from auditor.interface import Check

AUDIT_TOML = "audit.toml"           # where --force writes when pyproject.toml already has [tool.auditor]
MAX_PYPROJECT_BYTES = 10 * 1024 * 1024
LINE_WIDTH = 110                    # longer option lines get their description on "##" lines above
_SKIP = {"check_sections"}          # internal: filled by the loader from the check tables
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

# Examples for the core options that are unset by default (no TOML value means "unset"): the line shows
# one a user can edit. Regression bands show the default preset's values, which is what unset means.
_CORE_EXAMPLES: dict[str, Any] = {
    "url": "http://127.0.0.1:8000",
    "spec": "openapi.yaml",
    "repo": ".",
    "serve": "uvicorn app.main:app --port {port}",
    "baseline": "previous/report.json",
    "ignore_file": ".audit-ignore.toml",
    "load_duration": 5.0,
    "load_rate": 40.0,
    "load_workers": 0,
    "locustfile": "locustfile.py",
    "db_url": "postgresql://app@127.0.0.1:5432/app",
    "scratch_db_url": "postgresql://postgres@127.0.0.1:5432/postgres",
    "db_log": "postgresql.log",
    "sql_log": "sql.log",
    "vuln_db": "osv-advisories",
    "base_ref": "origin/main",
    "python": ".venv/bin/python",
    **{f"policy.regressions.{k}": v for k, v in PRESETS["default"].regressions.model_dump().items()},
}
# What the models cannot say: where a core option's default really comes from, and secrets.
_CORE_NOTES: dict[str, str] = {
    "fail_on": "unset = the preset's threshold (policy.preset); setting it here overrides the preset",
    "headers": "give them with --header or AUDIT_HEADERS in CI, not in a committed file",
    "db_url": "a URL with a password belongs in AUDIT_DB_URL, not in a committed file",
    "scratch_db_url": "its role needs CREATEDB; a password belongs in AUDIT_SCRATCH_DB_URL",
}


class InitError(Exception):
    """`audit init` cannot write; the message is one line."""


# -- rendering --------------------------------------------------------------------------------------------

def render_init_block(registry: Mapping[str, type[Check]], *, formats: Sequence[str] | None = None) -> str:
    """The [tool.auditor] block: the header active, every option commented out with its default."""
    if formats is None:
        formats = _available_formats()
    examples = dict(_CORE_EXAMPLES, checks=list(registry))
    if formats:
        examples["format"] = list(formats)
    lines = [
        "[tool.auditor]",
        "## backend-auditor, written by `audit init`. Every option is listed with its default, commented",
        "## out: delete the leading \"# \" of a line to set it; lines starting with \"##\" explain. [unset]:",
        "## the option has no default value and the one shown is an example. Precedence: defaults < this",
        "## table < AUDIT_* environment < command-line flags. Paths are relative to this file (output_dir:",
        "## to the working directory). Docs: docs/init.md, docs/user-guide.md, docs/gating.md, docs/checks/.",
        f"## Registered checks: {', '.join(registry) or 'none'}.",
    ]
    lines += _render_model(Settings, "", examples, _CORE_NOTES, _cli_help())
    for check_id, cls in registry.items():
        model = getattr(cls, "config_model", None)
        needs = ", ".join(sorted(getattr(cls, "needs", ()))) or "nothing"
        lines += ["", f"## ---- [tool.auditor.{check_id}]: {getattr(cls, 'title', check_id)} "
                      f"(section {_text(getattr(cls, 'section', '?'))}; needs {needs}; "
                      f"safety {_text(getattr(cls, 'safety', '?'))}) ----"]
        if model is None or not model.model_fields:
            lines.append("## (this check has no options)")
            continue
        lines += _doc_lines(model)
        lines += _render_model(model, _key(check_id) + ".", {}, {}, {})
    return "\n".join(lines) + "\n"


def _render_model(model: type[pydantic.BaseModel], prefix: str, examples: Mapping[str, Any],
                  notes: Mapping[str, str], cli_help: Mapping[str, str]) -> list[str]:
    comments = _source_comments(model)
    lines: list[str] = []
    for name, field in model.model_fields.items():
        if not prefix and name in _SKIP:
            continue
        key = prefix + _key(name)
        path = prefix.replace('"', "") + name  # how _CORE_EXAMPLES and _CORE_NOTES name it
        above, trailing = comments.get(name, ([], ""))
        default = field.get_default(call_default_factory=True)
        if isinstance(default, pydantic.BaseModel):  # a nested table: its options as dotted keys
            lines += ["", f"## ---- [tool.auditor.{key}] ----"]
            lines += [f"## {_human(c)}" for c in above] + _doc_lines(type(default))
            lines += _render_model(type(default), key + ".", examples, notes, {})
            continue
        description = field.description or trailing or cli_help.get(name, "")
        description = _human(description)
        parts = [description] if description else []
        parts += _constraints(field, description)
        if path in notes:
            parts.append(notes[path])
        value: Any = default
        text = "; ".join(parts)
        if default is None:  # the header explains: no default value, the one shown is an example
            value = examples.get(path, _derived_example(model, name, field.annotation))
            text = f"[unset] {text}".rstrip()
        lines += [f"## {_human(c)}" for c in above]
        lines += _option_lines(key, value, text, field.annotation)
    return lines


def _option_lines(key: str, value: Any, description: str, annotation: Any = str) -> list[str]:
    try:
        rendered = _toml_value(value) if value is not _NO_EXAMPLE else None
    except ValueError:
        rendered = None
    if rendered is None:  # no default and no safe example: listed as an explanation with a placeholder
        placeholder = f"## {key} = \"<{_kind_name(annotation)}>\""
        return [f"{placeholder}  {description}" if description else placeholder]
    option = f"# {key} = {rendered}"
    if not description:
        return [option]
    if len(option) + len(description) + 4 <= LINE_WIDTH:
        return [f"{option}  # {description}"]
    wrapped = textwrap.wrap(description, LINE_WIDTH - 3, break_on_hyphens=False)
    return [f"## {line}" for line in wrapped] + [option]


class _NoExample:
    def __repr__(self) -> str:
        return "<no example>"


_NO_EXAMPLE: Any = _NoExample()


def _derived_example(model: type[pydantic.BaseModel], name: str, annotation: Any) -> Any:
    """An editable value for an option that is unset by default, checked against the model; strings and
    paths get none (an empty one would be a wrong value, not an example)."""
    kind = _unwrap_optional(annotation)
    choices = _literal_choices(kind)
    origin = typing.get_origin(kind)
    if choices and origin is typing.Literal:
        candidate: Any = choices[0]
    elif kind is bool:
        candidate = False
    elif kind in (int, float):
        field = model.model_fields[name]
        low = next((m.ge for m in field.metadata if isinstance(m, Ge)), None)
        above = next((m.gt for m in field.metadata if isinstance(m, Gt)), None)
        candidate = low if low is not None else (above + 1 if above is not None else 0)
        candidate = kind(candidate)
    elif origin in (list, tuple, set, frozenset):
        candidate = []
    elif origin is dict:
        candidate = {}
    else:
        return _NO_EXAMPLE
    try:
        model.model_validate({name: candidate})
    except pydantic.ValidationError as exc:
        if any(err["loc"][:1] == (name,) for err in exc.errors()):
            return _NO_EXAMPLE
    return candidate


def _kind_name(annotation: Any) -> str:
    kind = _unwrap_optional(annotation)
    if isinstance(kind, type) and issubclass(kind, PurePath):
        return "path"
    return {str: "string", int: "integer", float: "number"}.get(kind, getattr(kind, "__name__", "value"))


def _constraints(field: Any, description: str) -> list[str]:
    bounds = []
    for meta in field.metadata:
        for kind, symbol in ((Gt, ">"), (Ge, ">="), (Lt, "<"), (Le, "<=")):
            if isinstance(meta, kind):
                bounds.append(f"{symbol} {_number(getattr(meta, kind.__name__.lower()))}")
        pattern = getattr(meta, "pattern", None)
        if isinstance(pattern, str):
            bounds.append(f"matches {pattern}")
    choices = [str(c) for c in _literal_choices(field.annotation)]
    named = choices and all(re.search(rf"\b{re.escape(c)}\b", description) for c in choices)
    out = [f"one of: {' | '.join(choices)}"] if choices and not named else []
    if bounds:
        out.append(", ".join(bounds))
    return out


def _literal_choices(annotation: Any) -> list[Any]:
    """The Literal values anywhere in an annotation (Optional[Literal], list[Literal], dict[str, Literal])."""
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    for arg in typing.get_args(annotation):
        found = _literal_choices(arg)
        if found:
            return found
    return []


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _doc_lines(model: type) -> list[str]:
    doc = model.__dict__.get("__doc__")
    if not doc:
        return []
    return [f"## {line}" for line in textwrap.wrap(_human(inspect.cleandoc(doc)), LINE_WIDTH - 3)]


def _source_comments(model: type) -> dict[str, tuple[list[str], str]]:
    """Per field: the comment lines right above it and the comment on its own line(s), from the source of
    the model and its bases. A model whose source cannot be read simply has none."""
    found: dict[str, tuple[list[str], str]] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, pydantic.BaseModel)) or cls is pydantic.BaseModel:
            continue
        try:
            found.update(_class_comments(cls))
        except (OSError, TypeError, SyntaxError, tokenize.TokenError, IndentationError):
            continue
    return found


def _class_comments(cls: type) -> dict[str, tuple[list[str], str]]:
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
    own_line = {n for n in comments if lines[n - 1].lstrip().startswith("#")}
    body = ast.parse(source).body
    if not body or not isinstance(body[0], ast.ClassDef):
        return {}
    out: dict[str, tuple[list[str], str]] = {}
    for stmt in body[0].body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        end = stmt.end_lineno or stmt.lineno
        trailing = " ".join(comments[n] for n in range(stmt.lineno, end + 1) if n in comments and n not in own_line)
        above: list[str] = []
        number = stmt.lineno - 1
        while number in own_line:
            above.insert(0, comments[number])
            number -= 1
        out[stmt.target.id] = ([a for a in above if a], trailing)
    return out


def _cli_help() -> dict[str, str]:
    """`audit run`'s option help by Settings field name: the words a user already knows from --help."""
    try:
        import typer.main

        from auditor.cli import app

        command = typer.main.get_command(app)
        run = command.commands["run"]  # type: ignore[attr-defined]
    except Exception:  # the CLI is optional here: the block is complete without its help texts
        return {}
    helps: dict[str, str] = {}
    for param in run.params:
        text = getattr(param, "help", None)
        if param.name and text:
            name = "headers" if param.name == "header" else param.name
            # "[default]" at the end of a help is shown as the value here already.
            helps[name] = re.sub(r"\s*\[[^\]]*\]\.?$", "", text).rstrip(".")
    return helps


def _available_formats() -> list[str]:
    try:
        from auditor.registry import load_renderers

        return [str(cls.format) for cls in load_renderers().values()]
    except Exception:  # a broken report plugin is `audit run`'s error to report, not init's
        return []


def _human(text: str) -> str:
    """Python words in source comments, as a config file reads them."""
    text = re.sub(r"\bNone\b", "unset", " ".join(text.split()))
    return text.replace("True", "true").replace("False", "false")


def _text(value: Any) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, PurePath):
        value = value.as_posix()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, pydantic.BaseModel):
        value = value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_key(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ValueError(f"no TOML value for {type(value).__name__}")


# -- writing ----------------------------------------------------------------------------------------------

def write_init(repo: Path, *, force: bool, registry: Mapping[str, type[Check]] | None = None) -> Path:
    """Append the block to repo/pyproject.toml (created if missing). Where it already has [tool.auditor],
    refuse, or with ``force`` write repo/audit.toml (never an existing one): an existing table is the
    user's and is never edited."""
    if not repo.is_dir():
        raise InitError(f"init: {repo} is not a directory")
    if registry is None:
        from auditor.registry import load_checks

        registry = load_checks()
    block = render_init_block(registry)
    pyproject = repo / "pyproject.toml"
    existing = _read_pyproject(pyproject)
    if existing is not None and _has_auditor_table(existing):
        if not force:
            raise InitError(f"{pyproject} already has a [tool.auditor] table; edit it, print every option with "
                            f"`audit init --stdout`, or write them to {AUDIT_TOML} with --force")
        target = repo / AUDIT_TOML
        note = (f"## Read only with --config {AUDIT_TOML} (AUDIT_CONFIG): then it replaces the [tool.auditor] "
                "table of pyproject.toml.\n")
        try:
            with target.open("x", encoding="utf-8") as fh:
                fh.write(block.replace("\n", "\n" + note, 1))
        except FileExistsError:
            raise InitError(f"{target} exists too; remove it or use `audit init --stdout`") from None
        except OSError as exc:
            raise InitError(f"cannot write {target}: {exc.strerror or exc}") from None
        return target
    newline = "\r\n" if existing and "\r\n" in existing else "\n"
    separator = "" if not existing else ("" if existing.endswith("\n") else newline) + newline
    addition = separator + block.replace("\n", newline)
    try:  # never leave a pyproject.toml that no longer parses
        tomllib.loads((existing or "") + addition)
    except tomllib.TOMLDecodeError as exc:
        raise InitError(f"{pyproject}: the block cannot be appended ({exc}); nothing was written") from None
    try:
        with pyproject.open("a" if existing is not None else "x", encoding="utf-8", newline="") as fh:
            fh.write(addition)
    except OSError as exc:
        raise InitError(f"cannot write {pyproject}: {exc.strerror or exc}") from None
    return pyproject


def _read_pyproject(path: Path) -> str | None:
    try:
        raw = read_regular_file(path, MAX_PYPROJECT_BYTES)
    except UnreadableFile as exc:
        if exc.missing:
            return None
        raise InitError(f"{path} {exc}") from None
    try:
        text = raw.decode("utf-8")
        tomllib.loads(text)
    except UnicodeDecodeError:
        raise InitError(f"{path} is not UTF-8 text; nothing was written") from None
    except tomllib.TOMLDecodeError as exc:
        raise InitError(f"{path} is not valid TOML ({exc}); fix it first, nothing was written") from None
    return text


def _has_auditor_table(text: str) -> bool:
    tool = tomllib.loads(text).get("tool")
    return isinstance(tool, dict) and "auditor" in tool
