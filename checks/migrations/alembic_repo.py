"""Alembic: find the script directories (alembic.ini's script_location, [tool.alembic] in pyproject.toml,
or a directory holding env.py and versions/) and read every revision file with ``ast``."""

from __future__ import annotations

import ast
import configparser
import os
import tomllib
from pathlib import Path

from checks.migrations import astutil
from checks.migrations.model import History, Migration, Op

SKIP_DIRS = {".git", ".hg", ".venv", "venv", "env", ".tox", ".nox", "node_modules", "__pycache__", "build", "dist",
             "site-packages", ".mypy_cache", ".pytest_cache", "htmlcov"}
MAX_DEPTH = 4
MAX_FILE_BYTES = 2 * 1024 * 1024
# Operations whose first positional argument is the table (on `op`); on a batch_op the table is the
# batch's and the first argument is the column (or index) instead.
_TABLE_FIRST = {"create_table", "drop_table", "add_column", "drop_column", "alter_column", "rename_table",
                "create_foreign_key", "drop_constraint", "create_unique_constraint", "create_check_constraint",
                "bulk_insert"}


def walk_dirs(repo: Path):  # noqa: ANN201 — a generator of (dir, depth)
    base_depth = len(repo.parts)
    for root, dirs, files in os.walk(repo):
        depth = len(Path(root).parts) - base_depth
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")
                         and not d.startswith(".") and depth < MAX_DEPTH)
        yield Path(root), files


def discover(repo: Path) -> list[tuple[Path, Path | None, str]]:
    """[(script directory, alembic.ini or None, sqlalchemy.url of the ini)], each script dir once."""
    found: dict[Path, tuple[Path, Path | None, str]] = {}
    for root, files in walk_dirs(repo):
        if "alembic.ini" in files:
            ini = root / "alembic.ini"
            location, url = _read_ini(ini)
            if location is not None and (location / "env.py").is_file():
                found.setdefault(location.resolve(), (location, ini, url))
        if "pyproject.toml" in files:
            location = _read_pyproject(root / "pyproject.toml")
            if location is not None and (location / "env.py").is_file():
                found.setdefault(location.resolve(), (location, None, ""))
    for root, files in walk_dirs(repo):
        if "env.py" in files and (root / "versions").is_dir() and root.resolve() not in found:
            text = _read(root / "env.py") or ""
            if "alembic" in text:
                # Flask-Migrate keeps an alembic.ini without script_location in the migrations directory
                # (it sets the location itself): its logging sections are what env.py's fileConfig reads.
                ini = root / "alembic.ini"
                found[root.resolve()] = (root, ini if ini.is_file() else None, "")
    return list(found.values())


def _read_ini(ini: Path) -> tuple[Path | None, str]:
    parser = configparser.ConfigParser(defaults={"here": str(ini.parent)})
    try:
        parser.read(ini, encoding="utf-8")
        location = parser.get("alembic", "script_location", fallback=None)
        url = parser.get("alembic", "sqlalchemy.url", fallback="")
    except (configparser.Error, UnicodeDecodeError):
        return None, ""
    return (_resolve_location(location, ini.parent) if location else None), url


def _read_pyproject(path: Path) -> Path | None:
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("alembic", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return None
    location = table.get("script_location")
    if not isinstance(location, str):
        return None
    return _resolve_location(location.replace("%(here)s", str(path.parent)), path.parent)


def _resolve_location(location: str, base: Path) -> Path:
    if ":" in location and not Path(location).is_absolute() and not (len(location) > 1 and location[1] == ":"):
        package, _, sub = location.partition(":")  # "myapp:migrations": a package resource
        return base / package.replace(".", "/") / sub
    path = Path(location)
    return path if path.is_absolute() else base / path


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def version_files(location: Path) -> list[Path]:
    versions = location / "versions"
    if not versions.is_dir():
        return []
    return sorted(p for p in versions.rglob("*.py") if p.name != "__init__.py" and "__pycache__" not in p.parts)


def load(repo: Path, location: Path, ini: Path | None, url: str) -> History:
    history = History(framework="alembic", location=_rel(location, repo), ini=_rel(ini, repo) if ini else None,
                      script_location=str(location.resolve()), url_hint=url,
                      flask="current_app" in (_read(location / "env.py") or ""))
    for path in version_files(location):
        text = _read(path)
        rel = _rel(path, repo)
        if text is None:
            history.problems.append((rel, 1, "unreadable or larger than 2 MiB"))
            continue
        try:
            tree = ast.parse(text, filename=rel)
        except SyntaxError as exc:
            history.problems.append((rel, exc.lineno or 1, f"syntax error: {exc.msg}"))
            continue
        migration = parse_script(tree, rel)
        if migration is None:
            history.problems.append((rel, 1, "no `revision = \"...\"` assignment: not an Alembic revision"))
            continue
        history.migrations.append(migration)
    return history


def _rel(path: Path, repo: Path) -> str:
    try:
        return path.resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def parse_script(tree: ast.Module, rel: str) -> Migration | None:
    assigned: dict[str, object] = {}
    functions: dict[str, ast.FunctionDef] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            assigned[stmt.targets[0].id] = astutil.value(stmt.value)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            assigned[stmt.target.id] = astutil.value(stmt.value)
        elif isinstance(stmt, ast.FunctionDef):
            functions[stmt.name] = stmt
    revision = assigned.get("revision")
    if not isinstance(revision, str):
        return None
    down = assigned.get("down_revision")
    parents = [down] if isinstance(down, str) else [d for d in down if isinstance(d, str)] \
        if isinstance(down, (tuple, list)) else []
    labels = assigned.get("branch_labels")
    message, create_date = _docstring(ast.get_docstring(tree) or "")
    migration = Migration(framework="alembic", id=revision, parents=parents, file=rel, message=message,
                          create_date=create_date,
                          labels=[labels] if isinstance(labels, str) else list(labels or []) if isinstance(labels, (list, tuple)) else [])
    upgrade = functions.get("upgrade")
    if upgrade is not None:
        migration.upgrade = operations(upgrade)
        migration.upgrade_line = upgrade.lineno
    downgrade = functions.get("downgrade")
    if downgrade is None:
        migration.irreversible_reason = "it has no downgrade() function"
    else:
        migration.downgrade = operations(downgrade)
        migration.downgrade_line = downgrade.lineno
        raised = astutil.raises_only(downgrade.body)
        if raised:
            migration.irreversible_reason = f"downgrade() raises {raised}"
        elif astutil.is_empty_body(downgrade.body) and migration.upgrade:
            migration.irreversible_reason = "downgrade() is empty while upgrade() changes the schema"
    return migration


def _docstring(doc: str) -> tuple[str, str]:
    """Alembic's template: the message on the first line, then "Revision ID:", "Create Date:"."""
    lines = [line.strip() for line in doc.splitlines()]
    message = next((line for line in lines if line and not line.startswith(("Revision ID:", "Revises:"))), "")
    date = next((line.partition(":")[2].strip() for line in lines if line.startswith("Create Date:")), "")
    return message[:200], date


def operations(func: ast.FunctionDef) -> list[Op]:
    """Every op.* call (and batch_op.* inside `with op.batch_alter_table(t) as batch_op`), in source order.
    Each batch_op call belongs to the `with` block it is in: autogenerate writes one block per table, all
    binding the same name `batch_op`."""
    batch_of_call: dict[int, str | None] = {}
    batch_names: set[str] = set()
    for node in ast.walk(func):  # outer blocks first, so an inner block's table wins for its calls
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                call = item.context_expr
                if isinstance(call, ast.Call) and astutil.callee(call)[1] == "batch_alter_table" \
                        and isinstance(item.optional_vars, ast.Name):
                    table = astutil.value(call.args[0]) if call.args else astutil.value(
                        astutil.kwarg_node(call, "table_name"))
                    name = item.optional_vars.id
                    batch_names.add(name)
                    for inner in (n for stmt in node.body for n in ast.walk(stmt)):
                        if isinstance(inner, ast.Call) and astutil.callee(inner)[0] == name:
                            batch_of_call[id(inner)] = table if isinstance(table, str) else None
    ops: list[Op] = []
    for node in ast.walk(func):
        if not isinstance(node, ast.Call):
            continue
        receiver, method = astutil.callee(node)
        if receiver == "op" and method != "batch_alter_table":
            ops.append(_op(node, method, table=None, batch=False))
        elif receiver in batch_names:
            ops.append(_op(node, method, table=batch_of_call.get(id(node)), batch=True))
        elif method == "execute" and node.args:
            # SQL run on the migration's connection (op.get_bind().execute(sa.text("UPDATE ..."))): a
            # backfill or destructive statement as much as op.execute's.
            ops.append(_op(node, method, table=None, batch=False))
    ops.sort(key=lambda o: o.line)
    return ops


def _op(node: ast.Call, method: str, *, table: str | None, batch: bool) -> Op:
    args = list(node.args)
    kw = astutil.kwargs(node)
    op = Op(name=method, line=node.lineno, table=table, kwargs=kw, source=astutil.source(node))
    if not batch and method in _TABLE_FIRST and args:
        first = astutil.value(args.pop(0))
        op.table = first if isinstance(first, str) else None
    elif not batch and method in ("create_index", "drop_index"):
        table_node = args[1] if len(args) > 1 else astutil.kwarg_node(node, "table_name")
        value = astutil.value(table_node)
        op.table = value if isinstance(value, str) else None
    if method in ("create_index", "drop_index"):
        name = astutil.value(args[0] if args else astutil.kwarg_node(node, "index_name"))
        op.index = name if isinstance(name, str) else None
    if not batch and op.table is None and isinstance(kw.get("table_name"), str):
        op.table = kw["table_name"]
    if method in ("drop_column", "alter_column") and args:
        column = astutil.value(args[0])
        op.column = column if isinstance(column, str) else None
    elif method == "add_column" and args and isinstance(args[0], ast.Call):
        column_call = args[0]
        name = astutil.value(column_call.args[0]) if column_call.args else None
        op.column = name if isinstance(name, str) else None
        op.column_kwargs = astutil.kwargs(column_call)
    if method == "alter_column":
        new, old = astutil.kwarg_node(node, "type_"), astutil.kwarg_node(node, "existing_type")
        op.type_new = astutil.source(new) if new is not None else None
        op.type_old = astutil.source(old) if old is not None else None
    if method == "execute" and node.args:
        sql = astutil.value(node.args[0])
        if isinstance(sql, str):
            op.sql = sql
        elif isinstance(node.args[0], ast.Call) and node.args[0].args:  # op.execute(sa.text("..."))
            inner = astutil.value(node.args[0].args[0])
            op.sql = inner if isinstance(inner, str) else None
    return op
