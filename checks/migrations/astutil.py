"""Small helpers to read Python source with ``ast`` without executing it."""

from __future__ import annotations

import ast
from typing import Any

SOURCE_LIMIT = 160


class Opaque:
    """A value that is not a literal; keeps its source text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def value(node: ast.AST | None) -> Any:
    """The literal value of a node, else an Opaque with its source text."""
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return Opaque(source(node))


def source(node: ast.AST, limit: int = SOURCE_LIMIT) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001 — unparse of exotic nodes; a placeholder is enough for a report
        text = "<expr>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def callee(node: ast.Call) -> tuple[str | None, str]:
    """(receiver name, method) for `recv.method(...)`, (None, name) for `name(...)`."""
    func = node.func
    if isinstance(func, ast.Attribute):
        recv = func.value
        if isinstance(recv, ast.Name):
            return recv.id, func.attr
        if isinstance(recv, ast.Attribute):
            return recv.attr, func.attr
        return None, func.attr
    if isinstance(func, ast.Name):
        return None, func.id
    return None, ""


def type_name(node: ast.AST | None) -> str:
    """sa.String(100) -> "String", postgresql.VARCHAR -> "VARCHAR"."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def kwargs(node: ast.Call) -> dict[str, Any]:
    return {k.arg: value(k.value) for k in node.keywords if k.arg}


def kwarg_node(node: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def is_empty_body(body: list[ast.stmt]) -> bool:
    """Only pass, `...` or a docstring."""
    for stmt in body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        return False
    return True


def raises_only(body: list[ast.stmt]) -> str | None:
    """The exception a body raises unconditionally at top level (`raise NotImplementedError()`), if any."""
    for stmt in body:
        if isinstance(stmt, ast.Raise):
            return source(stmt.exc) if stmt.exc is not None else "raise"
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if isinstance(stmt, ast.Pass):
            continue
        return None
    return None
