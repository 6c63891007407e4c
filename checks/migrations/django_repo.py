"""Django: migrations/ packages whose modules define `class Migration(migrations.Migration)`, read with
``ast``: dependencies (the graph), operations (RemoveField, AddField, RunPython, ...)."""

from __future__ import annotations

import ast
from pathlib import Path

from checks.migrations import astutil
from checks.migrations.alembic_repo import MAX_FILE_BYTES, _rel, walk_dirs
from checks.migrations.model import History, Migration, Op


def discover(repo: Path) -> list[Path]:
    """migrations/ directories that hold Django migration modules."""
    found = []
    for root, files in walk_dirs(repo):
        if root.name != "migrations" or (root / "env.py").is_file():
            continue
        for name in sorted(files):
            if name.endswith(".py") and name != "__init__.py" and name[:1].isdigit():
                try:
                    text = (root / name).read_text(encoding="utf-8", errors="replace")[:MAX_FILE_BYTES]
                except OSError:
                    continue
                if "class Migration(" in text and "migrations" in text:
                    found.append(root)
                    break
    return found


def load(repo: Path, dirs: list[Path]) -> History:
    history = History(framework="django", location=", ".join(_rel(d, repo) for d in dirs))
    for directory in dirs:
        app = directory.parent.name
        for path in sorted(directory.glob("*.py")):
            if path.name == "__init__.py":
                continue
            rel = _rel(path, repo)
            try:
                if path.stat().st_size > MAX_FILE_BYTES:
                    history.problems.append((rel, 1, "larger than 2 MiB"))
                    continue
                tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=rel)
            except SyntaxError as exc:
                history.problems.append((rel, exc.lineno or 1, f"syntax error: {exc.msg}"))
                continue
            except OSError:
                history.problems.append((rel, 1, "unreadable"))
                continue
            migration = parse_module(tree, app, path.stem, rel)
            if migration is not None:
                history.migrations.append(migration)
    return history


def parse_module(tree: ast.Module, app: str, name: str, rel: str) -> Migration | None:
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Migration"), None)
    if cls is None:
        return None
    migration = Migration(framework="django", id=f"{app}.{name}", parents=[], file=rel, app=app,
                          message=(ast.get_docstring(tree) or "").strip().split("\n")[0][:200],
                          upgrade_line=cls.lineno)
    for stmt in cls.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            continue
        target = stmt.targets[0].id
        if target == "dependencies" and isinstance(stmt.value, (ast.List, ast.Tuple)):
            for element in stmt.value.elts:
                dep = astutil.value(element)
                if isinstance(dep, (tuple, list)) and len(dep) == 2 and all(isinstance(x, str) for x in dep):
                    migration.parents.append(f"{dep[0]}.{dep[1]}")
        elif target == "operations" and isinstance(stmt.value, (ast.List, ast.Tuple)):
            for element in stmt.value.elts:
                if isinstance(element, ast.Call):
                    migration.upgrade.append(_operation(element))
    # Django reverses operations itself; only RunPython/RunSQL without a reverse make it irreversible.
    migration.downgrade = []
    for op in migration.upgrade:
        if op.name == "RunPython" and not op.kwargs.get("reverse_code") and op.kwargs.get("_positional", 0) < 2:
            migration.irreversible_reason = f"RunPython at line {op.line} has no reverse_code"
            migration.downgrade_line = op.line
            break
        if op.name == "RunSQL" and not op.kwargs.get("reverse_sql") and op.kwargs.get("_positional", 0) < 2:
            migration.irreversible_reason = f"RunSQL at line {op.line} has no reverse_sql"
            migration.downgrade_line = op.line
            break
    return migration


def _operation(node: ast.Call) -> Op:
    _, method = astutil.callee(node)
    kw = astutil.kwargs(node)
    kw["_positional"] = len(node.args)
    op = Op(name=method, line=node.lineno, kwargs=kw, source=astutil.source(node))
    positional = [astutil.value(a) for a in node.args]
    model = kw.get("model_name", kw.get("name") if method in ("CreateModel", "DeleteModel", "AlterModelTable") else None)
    if model is None and positional and isinstance(positional[0], str):
        model = positional[0]
    op.table = model if isinstance(model, str) else None
    if method in ("AddField", "RemoveField", "AlterField", "RenameField"):
        field_name = kw.get("name", positional[1] if len(positional) > 1 else None)
        op.column = field_name if isinstance(field_name, str) else None
    if method in ("AddField", "AlterField"):
        field_node = astutil.kwarg_node(node, "field") or (node.args[2] if len(node.args) > 2 else None)
        if isinstance(field_node, ast.Call):
            op.column_kwargs = astutil.kwargs(field_node)
            op.type_new = astutil.type_name(field_node)
    if method == "RunSQL":
        sql = kw.get("sql", positional[0] if positional else None)
        op.sql = sql if isinstance(sql, str) else None
    return op
