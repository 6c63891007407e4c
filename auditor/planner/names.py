"""Matching a parameter's name to the fields of live responses: ``user_id`` ↔ ``user.id`` ↔ ``userId``.

Names are compared in one normal form (lower case, letters and digits only), so snake, camel and kebab
case meet; a field is also known by its parent's name joined to its own (``author.username`` is
``authorusername`` as well as ``username``), with a plural parent made singular (``users[].id`` →
``userid``)."""

from __future__ import annotations

import re

# Names too generic to match a field found anywhere: {id} of /books/{id} must come from /books itself,
# never from the id of some other resource's list. Quantities are no identifiers at all: {count} of
# /scoreboard/top/{count} is not the ``ratings.count`` of some answer (seen on CTFd).
GENERIC = frozenset({"id", "uuid", "pk", "key", "slug", "name", "code", "ref", "type", "value", "number",
                     "count", "limit", "offset", "page", "size", "total", "max", "min", "n"})


def normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def singular(name: str) -> str:
    if name.endswith("ies") and len(name) > 4:
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss") and len(name) > 3:
        return name[:-1]
    return name


def field_names(path: tuple[str, ...]) -> set[str]:
    """The normal names a field at ``path`` answers to."""
    keys = [k for k in path if k != "[]"]
    if not keys:
        return set()
    own = normal(keys[-1])
    names = {own}
    if len(keys) >= 2:
        parent = normal(keys[-2])
        names |= {parent + own, singular(parent) + own}
    return names


def item_keys(param: str) -> list[str]:
    """Keys of a list item that hold the value of ``param`` for that item, most specific first: the name
    itself, its snake form, its suffix (``id`` of ``bookId``), then the usual identifiers."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", param).lower()
    stem = re.sub(r"_?(id|uuid|slug|key|name|username)$", "", snake)
    suffix = snake[len(stem):].lstrip("_") or "id"
    keys = [param, snake, suffix, f"{stem}_{suffix}" if stem else suffix, "id", "uuid", "slug"]
    return list(dict.fromkeys(keys))


def child_count_keys(child: str) -> set[str]:
    """Normal names of a parent item's field that counts its children: ``comments_count``,
    ``commentCount``, ``num_comments``, or the children themselves (``comments: [...]``)."""
    one, many = normal(singular(child)), normal(child)
    return {many, f"{many}count", f"{one}count", f"num{many}", f"n{many}", f"{many}total", f"total{many}"}
