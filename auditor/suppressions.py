"""Suppressions: accepted risks written down in an ignore file (default ``.audit-ignore.toml`` in the repo).

Each ``[[ignore]]`` entry selects findings by ``rule`` and/or ``fingerprint`` (optionally narrowed to a
``path`` glob or an ``endpoint``), says why (``reason``, required) and until when (``expires``). A
suppressed finding stays in every format, marked; only the gate ignores it. Expired entries stop
suppressing and are reported with the findings they would have matched; entries that matched nothing in
this run are reported as unused. Documented in docs/suppressions.md.

Globs are matched by the small matcher below, not fnmatch (its ``*`` crosses "/" and it has no ``**``)
nor pathlib (``full_match`` is 3.13+) nor wcmatch (not a dependency): ``*`` and ``?`` stay within one path
segment, ``**`` spans segments, everything else is literal. It simulates the pattern as a set of states,
so no pattern can make it backtrack for long.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from auditor.files import UnreadableFile, read_regular_file
from auditor.model import CheckResult, Finding

DEFAULT_IGNORE_FILE = ".audit-ignore.toml"
MAX_FILE_BYTES = 1024 * 1024   # an ignore file is a short list written by people
MAX_ENTRIES = 10_000
MAX_PATTERN = 1000             # characters of one path or endpoint pattern

KEYS = ("rule", "fingerprint", "path", "endpoint", "reason", "expires", "owner")
_RULE = re.compile(r"[A-Z]{3}[0-9]{3}")   # the report schema's rule id pattern
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class IgnoreFileError(Exception):
    """The ignore file cannot be used; the message is one line naming the file, the entry and the key."""


@dataclass(frozen=True)
class IgnoreEntry:
    index: int                      # 1-based position among the [[ignore]] entries
    rule: str | None
    fingerprint: str | None
    path: str | None
    endpoint: str | None
    reason: str
    expires: date | None
    owner: str | None = None

    def describe(self) -> dict[str, Any]:
        """The entry as report.json lists it (gate.suppressions.expired/unused); absent selectors omitted."""
        data: dict[str, Any] = {"entry": self.index}
        for key in ("rule", "fingerprint", "path", "endpoint"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        data["reason"] = self.reason
        data["expires"] = self.expires.isoformat() if self.expires else None
        if self.owner is not None:
            data["owner"] = self.owner
        return data

    def matches(self, finding: Finding) -> bool:
        if self.rule is not None and finding.rule_id != self.rule:
            return False
        if self.fingerprint is not None and finding.fingerprint != self.fingerprint:
            return False
        if self.path is not None:
            file = finding.location.get("file")
            return isinstance(file, str) and glob_match(self.path, _normal_path(file))
        if self.endpoint is not None:
            endpoint = finding.location.get("endpoint")
            return isinstance(endpoint, str) and glob_match(self.endpoint, _normal_endpoint(endpoint))
        return True

    def active_on(self, today: date) -> bool:
        """An entry suppresses through its expiry day, and no longer after it."""
        return self.expires is None or self.expires >= today


def default_ignore_file(repo: Path | None) -> Path:
    return (repo if repo is not None else Path(".")) / DEFAULT_IGNORE_FILE


def load_ignore_file(path: Path, *, required: bool) -> list[IgnoreEntry]:
    """Read and validate every entry; a missing file is [] unless it was asked for by name."""
    raw = _read(path, required=required)
    if raw is None:
        return []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise IgnoreFileError(f"ignore file {path}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise IgnoreFileError(f"ignore file {path}: not valid TOML: {_one_line(str(exc))}") from None
    except RecursionError:
        raise IgnoreFileError(f"ignore file {path}: not valid TOML: nested too deeply") from None
    unknown = sorted(set(data) - {"ignore"})
    if unknown:
        raise IgnoreFileError(f"ignore file {path}: unknown top-level key {unknown[0]!r} "
                              "(the file holds [[ignore]] entries only)")
    entries = data.get("ignore", [])
    if not isinstance(entries, list):
        raise IgnoreFileError(f"ignore file {path}: 'ignore' must be an array of tables: write [[ignore]]")
    if len(entries) > MAX_ENTRIES:
        raise IgnoreFileError(f"ignore file {path}: {len(entries)} entries, more than the limit of {MAX_ENTRIES}")
    return [_entry(path, number, item) for number, item in enumerate(entries, 1)]


def apply_suppressions(checks: list[CheckResult], entries: list[IgnoreEntry], *, today: date,
                       file: str | None) -> dict[str, Any]:
    """Mark the findings the active entries select; return report.json's gate["suppressions"].

    A finding its check already suppressed (``# nosec``...) is left as it is and counts as no entry's
    match. Suppressions of an earlier application are cleared first, so applying twice gives one result.
    The first matching entry is the one recorded on the finding; every entry that matches counts as used.
    """
    active = [e for e in entries if e.active_on(today)]
    expired = [e for e in entries if not e.active_on(today)]
    matches = {e.index: 0 for e in entries}
    applied = 0
    for check in checks:
        for finding in check.findings:
            if finding.suppression is not None:  # ours, from an earlier application
                finding.suppressed, finding.suppression = False, None
            if finding.suppressed:
                continue
            chosen: IgnoreEntry | None = None
            for entry in entries:
                if entry.matches(finding):
                    matches[entry.index] += 1
                    if chosen is None and entry.active_on(today):
                        chosen = entry
            if chosen is not None:
                finding.suppressed = True
                finding.suppression = _suppression(chosen, file)
                applied += 1
    return {
        "file": file,
        "applied": applied,
        "expired": [{**e.describe(), "matches": matches[e.index]} for e in expired],
        "unused": [e.describe() for e in active if matches[e.index] == 0],
    }


def _suppression(entry: IgnoreEntry, file: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"entry": entry.index, "reason": entry.reason,
                            "expires": entry.expires.isoformat() if entry.expires else None, "file": file}
    if entry.owner is not None:
        data["owner"] = entry.owner
    return data


# -- reading and validating -------------------------------------------------------------------------------

def _read(path: Path, *, required: bool) -> bytes | None:
    try:
        return read_regular_file(path, MAX_FILE_BYTES)
    except UnreadableFile as exc:
        if exc.missing and not required:
            return None
        raise IgnoreFileError(f"ignore file {path} {exc}") from None


def _entry(path: Path, number: int, item: Any) -> IgnoreEntry:
    where = f"ignore file {path}: [[ignore]] entry {number}"
    if not isinstance(item, dict):
        raise IgnoreFileError(f"{where}: must be a table, got {_type_name(item)}")
    unknown = sorted(set(item) - set(KEYS))
    if unknown:
        raise IgnoreFileError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")

    def text(key: str) -> str | None:
        if key not in item:
            return None
        value = item[key]
        if not isinstance(value, str):
            raise IgnoreFileError(f"{where}: {key} must be a string, got {_type_name(value)}")
        value = value.strip()
        if not value:
            raise IgnoreFileError(f"{where}: {key} must not be empty")
        if len(value) > MAX_PATTERN and key in ("path", "endpoint"):
            raise IgnoreFileError(f"{where}: {key} is longer than {MAX_PATTERN} characters")
        return value

    rule, fingerprint = text("rule"), text("fingerprint")
    path_glob, endpoint, owner = text("path"), text("endpoint"), text("owner")
    if "reason" not in item:
        raise IgnoreFileError(f"{where}: reason is required (why is this finding accepted?)")
    reason = text("reason") or ""  # text() refuses an empty reason
    if rule is None and fingerprint is None:
        raise IgnoreFileError(f"{where}: rule or fingerprint is required (path and endpoint only narrow them)")
    if rule is not None:
        rule = rule.upper()
        if not _RULE.fullmatch(rule):
            raise IgnoreFileError(f"{where}: rule {_short(rule)} is not a rule id like 'SEC101'")
    if path_glob is not None and endpoint is not None:
        raise IgnoreFileError(f"{where}: path and endpoint: give one (a finding is in a file or at an endpoint)")
    if path_glob is not None:
        path_glob = _normal_path(path_glob)
        if path_glob.endswith("/"):   # a directory: everything below it
            path_glob += "**"
    if endpoint is not None:
        parts = endpoint.split()
        if len(parts) != 2 or not parts[1].startswith(("/", "*")):
            raise IgnoreFileError(f"{where}: endpoint {_short(endpoint)} is not 'METHOD /path' "
                                  "(METHOD may be *), e.g. 'GET /books/{id}'")
        endpoint = _normal_endpoint(endpoint)
    return IgnoreEntry(index=number, rule=rule, fingerprint=fingerprint, path=path_glob, endpoint=endpoint,
                       reason=reason, expires=_expires(where, item.get("expires")), owner=owner)


def _expires(where: str, value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # a TOML date-time: a subclass of date, so test it first
        raise IgnoreFileError(f"{where}: expires must be a date (2025-06-30), not a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        if _DATE.fullmatch(value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise IgnoreFileError(f"{where}: expires {_short(value)} is not a date YYYY-MM-DD")
    raise IgnoreFileError(f"{where}: expires must be a date (2025-06-30), got {_type_name(value)}")


def _type_name(value: Any) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a float"}.get(type(value), type(value).__name__)


def _short(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _one_line(message: str) -> str:
    return " ".join(message.split())


# -- matching ---------------------------------------------------------------------------------------------

def _normal_path(value: str) -> str:
    value = value.replace("\\", "/")
    while value.startswith("./"):
        value = value[2:]
    return value


def _normal_endpoint(value: str) -> str:
    """ "get   /books/{id}" -> "GET /books/{id}", so entries and findings compare alike."""
    parts = value.split(None, 1)
    if len(parts) != 2:
        return value.strip()
    return f"{parts[0].upper()} {parts[1].strip()}"


def glob_match(pattern: str, text: str) -> bool:
    """Whole-string match: ``*`` any run within a segment, ``?`` one character but "/", ``**/`` zero or
    more whole segments, ``**`` elsewhere anything at all; other characters are literal."""
    if not any(c in pattern for c in "*?"):
        return pattern == text
    tokens = _tokens(pattern)
    states = _closure(tokens, {(0, False)})
    for char in text:
        states = _closure(tokens, _step(tokens, states, char))
        if not states:
            return False
    return (len(tokens), False) in states


def _tokens(pattern: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            j = i
            while j < len(pattern) and pattern[j] == "*":
                j += 1
            starts_segment = i == 0 or pattern[i - 1] == "/"
            if j - i >= 2 and starts_segment and j < len(pattern) and pattern[j] == "/":
                tokens.append(("dirs", ""))   # "**/": zero or more "segment/"
                j += 1
            else:
                tokens.append(("any", "") if j - i >= 2 else ("star", ""))
            i = j
        elif char == "?":
            tokens.append(("one", ""))
            i += 1
        else:
            tokens.append(("lit", char))
            i += 1
    return tokens


# A state is (token index, inside a "dirs" segment); one set of states per character read.
State = tuple[int, bool]


def _closure(tokens: list[tuple[str, str]], states: set[State]) -> set[State]:
    """Add the states reachable without reading: past any "*", "**" or "**/" that matches nothing."""
    out = set(states)
    stack = list(states)
    while stack:
        index, inside = stack.pop()
        if index < len(tokens) and not inside and tokens[index][0] in ("dirs", "any", "star"):
            nxt = (index + 1, False)
            if nxt not in out:
                out.add(nxt)
                stack.append(nxt)
    return out


def _step(tokens: list[tuple[str, str]], states: set[State], char: str) -> set[State]:
    out: set[State] = set()
    for index, _inside in states:
        if index >= len(tokens):
            continue
        kind, literal = tokens[index]
        if kind == "dirs":
            out.add((index, char != "/"))   # a "/" ends the segment: more may follow, or none
        elif kind == "any":
            out.add((index, False))
        elif kind == "star":
            if char != "/":
                out.add((index, False))
        elif kind == "one":
            if char != "/":
                out.add((index + 1, False))
        elif char == literal:
            out.add((index + 1, False))
    return out
