"""bandit on the repository's Python files: run it (a bounded subprocess, JSON into a file the auditor
owns), then judge its report in pure functions.

Why a subprocess and not bandit's Python API: the API is undocumented and bandit configures global
logging; the CLI with `-f json` is its stable interface. The file list is ours (repo_files: no symlink
followed, size-capped), passed explicitly, so bandit never walks the repository on its own.

The repo's own config is honoured: `[tool.bandit]` in pyproject.toml through `-c pyproject.toml`, and a
top-level `.bandit` INI whose exclude / skips / tests / configfile keys are passed on the command line
(bandit would also take output file, format and baseline from it; those are the auditor's business).

`# nosec` suppressions: bandit drops them from `results` and only counts them. When it counted any, a
second run with `--ignore-nosec` yields them, and the difference is reported as suppressed findings.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import re
import sys
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.model import Finding, Severity
from auditor.repo_context import FileContext

from auditor.proc import run_bounded
from checks.security.rules import make_finding
from checks.security.secrets_scan import MASK

# bandit's hard-coded-password heuristics (B105 string, B106 funcarg, B107 default) are the secret
# scanner's job here (detect-secrets, with entropy and allow-list filters): one problem, one finding.
SECRET_TESTS = frozenset({"B105", "B106", "B107"})
# Their issue text quotes the string: "Possible hardcoded password: 'hunter'" (bandit 1.7-1.9).
_PASSWORD_TEXT = re.compile(r"Possible hardcoded password: '(.*)'\s*\Z", re.DOTALL)
MIN_BARE_MASK = 4
MAX_ARGS_CHARS = 100_000  # split very long file lists into several bandit runs (ARG_MAX is far above)

# bandit severity × confidence → finding severity. High severity with high confidence is a real defect
# (shell injection, disabled TLS verification); low confidence halves the trust.
_MATRIX = {
    ("HIGH", "HIGH"): Severity.HIGH, ("HIGH", "MEDIUM"): Severity.HIGH, ("HIGH", "LOW"): Severity.MEDIUM,
    ("MEDIUM", "HIGH"): Severity.MEDIUM, ("MEDIUM", "MEDIUM"): Severity.MEDIUM, ("MEDIUM", "LOW"): Severity.LOW,
    ("LOW", "HIGH"): Severity.LOW, ("LOW", "MEDIUM"): Severity.LOW, ("LOW", "LOW"): Severity.INFO,
}


class BanditFailed(Exception):
    """bandit could not run or gave no usable report (one line)."""


def severity_of(bandit_severity: str, confidence: str) -> Severity:
    sev = bandit_severity.upper() if bandit_severity.upper() in ("HIGH", "MEDIUM", "LOW") else "LOW"
    conf = confidence.upper() if confidence.upper() in ("HIGH", "MEDIUM", "LOW") else "LOW"
    return _MATRIX[(sev, conf)]


def config_args(repo: Path) -> tuple[list[str], list[str]]:
    """bandit arguments for the repo's own config, and a note per source honoured (for the metrics)."""
    args: list[str] = []
    sources: list[str] = []
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file() and not pyproject.is_symlink():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8", errors="replace"))
        except (tomllib.TOMLDecodeError, OSError):
            data = {}
        if isinstance(data.get("tool"), dict) and isinstance(data["tool"].get("bandit"), dict):
            args += ["-c", "pyproject.toml"]
            sources.append("pyproject.toml [tool.bandit]")
    ini = repo / ".bandit"
    if ini.is_file() and not ini.is_symlink():
        parser = configparser.ConfigParser()
        try:
            parser.read_string(ini.read_text(encoding="utf-8", errors="replace"))
        except (configparser.Error, OSError):
            parser = configparser.ConfigParser()
        if parser.has_section("bandit"):
            section = parser["bandit"]
            for key, flag in (("exclude", "-x"), ("skips", "-s"), ("tests", "-t")):
                if section.get(key, "").strip():
                    args += [flag, section[key].strip()]
            configfile = section.get("configfile", "").strip()
            if configfile and "-c" not in args:
                target = Path(os.path.realpath(repo / configfile))
                if target.is_file() and Path(os.path.realpath(repo)) in target.parents:
                    args += ["-c", str(target)]
            sources.append(".bandit")
    return args, sources


@dataclass
class BanditReport:
    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    nosec: int = 0             # lines bandit skipped for `# nosec`
    skipped_tests: int = 0     # tests bandit skipped for `# nosec BXXX`
    loc: int = 0
    redundant: int = 0         # results judge() dropped as repeating another (redundant_results)


def run(repo: Path, rel_files: list[str], extra_args: list[str], *, out_dir: Path, timeout_s: float,
        should_stop: Callable[[], bool], ignore_nosec: bool = False) -> BanditReport:
    """bandit over ``rel_files`` (run from the repo root, so filenames come back repo-relative)."""
    merged = BanditReport()
    deadline = time.monotonic() + timeout_s
    for index, chunk in enumerate(_chunks(rel_files)):
        out = out_dir / f"bandit-{'all' if ignore_nosec else 'std'}-{index}.json"
        # -I: isolated mode. Run from the repo root, plain `python -m` would put the repo first on
        # sys.path and import ITS modules (a logging.py there shadows the stdlib): code execution.
        command = [sys.executable, "-I", "-m", "bandit", "-f", "json", "-q", "-o", str(out), *extra_args]
        if ignore_nosec:
            command.append("--ignore-nosec")
        # "./"-prefixed, as bandit's own walk names them, so that exclude patterns written for a
        # `bandit -r .` run (e.g. "./legacy") match.
        command += ["--", *(f"./{name}" for name in chunk)]
        stderr = _run_bounded(command, repo, deadline, should_stop, out.with_suffix(".log"))
        part = parse(_read_json(out, stderr))
        merged.results += part.results
        merged.errors += part.errors
        merged.nosec += part.nosec
        merged.skipped_tests += part.skipped_tests
        merged.loc += part.loc
    return merged


def _chunks(files: list[str]) -> list[list[str]]:
    chunks: list[list[str]] = [[]]
    size = 0
    for name in files:
        if size + len(name) + 1 > MAX_ARGS_CHARS and chunks[-1]:
            chunks.append([])
            size = 0
        chunks[-1].append(name)
        size += len(name) + 1
    return chunks


def _run_bounded(command: list[str], cwd: Path, deadline: float, should_stop: Callable[[], bool],
                 log_path: Path) -> str:
    """bandit to completion within the deadline; its output (stderr: warnings, errors) goes to a file,
    never a pipe — a bandit logging more than a pipe holds (64 KB of "Test in comment: ... ignoring"
    warnings) would otherwise block on the write while we wait for it to exit. Returns the output's
    tail."""
    result = run_bounded(command, cwd=cwd, env={**os.environ, "PYTHONWARNINGS": "ignore"},
                         timeout_s=max(deadline - time.monotonic(), 0.0), log_path=log_path,
                         should_stop=should_stop)
    if result.stopped:
        raise BanditFailed("bandit stopped: the audit was interrupted or ran out of time")
    if result.timed_out:
        raise BanditFailed("bandit timed out (raise [tool.auditor.security] bandit_timeout_s)")
    # 0: no issues, 1: issues found; anything else is bandit failing (bad config, usage, not started).
    if result.returncode not in (0, 1):
        raise BanditFailed(f"bandit failed (exit {result.returncode}): {_last_line(result.output)}")
    return result.output


def _last_line(text: str) -> str:
    last = next((line for line in reversed(text.strip().splitlines()) if line.strip()), "")
    return last.strip()[:300] or "no message"


def _read_json(path: Path, stderr: str = "") -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        reason = _last_line(stderr) if stderr.strip() else str(exc)
        raise BanditFailed(f"bandit gave no JSON report: {reason}") from exc
    if not isinstance(data, dict):
        raise BanditFailed("bandit's report is not a JSON object")
    return data


def parse(data: dict[str, Any]) -> BanditReport:
    totals = (data.get("metrics") or {}).get("_totals") or {}
    return BanditReport(
        results=[r for r in data.get("results") or [] if isinstance(r, dict)],
        errors=[e for e in data.get("errors") or [] if isinstance(e, dict)],
        nosec=int(totals.get("nosec") or 0),
        skipped_tests=int(totals.get("skipped_tests") or 0),
        loc=int(totals.get("loc") or 0),
    )


def _norm(filename: str) -> str:
    name = str(filename).replace(os.sep, "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def _key(result: dict[str, Any]) -> tuple[str, str, int, int]:
    return (_norm(result.get("filename", "")), str(result.get("test_id", "")), int(result.get("line_number") or 0),
            int(result.get("col_offset") or 0))


def password_literal(result: dict[str, Any]) -> str | None:
    """The string a hardcoded-password result (B105/B106/B107) quotes in its issue text, else None."""
    if str(result.get("test_id")) not in SECRET_TESTS:
        return None
    match = _PASSWORD_TEXT.search(str(result.get("issue_text", "")))
    return match.group(1) if match and match.group(1) else None


def password_literals(*reports: BanditReport | None) -> dict[str, set[str]]:
    """file → the strings bandit's hardcoded-password tests flagged in it. Those results are not
    reported (the secret scanner's job) but their literals are masked in every other bandit finding of
    the file: bandit's `code` quotes the lines around an issue, and detect-secrets may not have flagged
    that string (``auth_token = "abcd"``)."""
    found: dict[str, set[str]] = {}
    for report in reports:
        for result in report.results if report is not None else []:
            literal = password_literal(result)
            if literal is not None:
                found.setdefault(_norm(result.get("filename", "")), set()).add(literal)
    return found


def mask_literals(text: str, literals: Iterable[str]) -> str:
    """Every quoted occurrence of each literal replaced by the mask, quotes kept ('x' → '********'); a
    literal of MIN_BARE_MASK characters or more also where it stands unquoted. Shorter ones are masked
    only quoted so that a one-letter password does not blank every "a" of the evidence."""
    for literal in sorted({lit for lit in literals if lit}, key=len, reverse=True):
        for quote in ('"', "'"):
            text = text.replace(f"{quote}{literal}{quote}", f"{quote}{MASK}{quote}")
        if len(literal) >= MIN_BARE_MASK:
            text = text.replace(literal, MASK)
    return text


class SourceLines:
    """The repo's files by line number, read once each, for the fingerprint keys. Line breaks as Python
    counts them (\\n, \\r\\n, \\r; not form feed or the other breaks str.splitlines knows), so that the
    number bandit reports finds its line."""

    def __init__(self, repo: Path | None) -> None:
        self.repo = repo
        self._files: dict[str, list[str]] = {}
        self._trees: dict[str, ast.Module | None] = {}

    def line(self, rel: str, number: int) -> str | None:
        if self.repo is None or number < 1:
            return None
        if rel not in self._files:
            path = self.repo / rel
            try:
                # Only files bandit was given (listed by repo_files: regular, inside the repo, size-capped).
                data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
            except OSError:
                data = b""
            text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
            self._files[rel] = text.split("\n") if data else []
        lines = self._files[rel]
        return lines[number - 1] if number <= len(lines) else None

    def literal_call(self, rel: str, number: int, name: str) -> bool:
        """Whether every call of ``name`` (a function or method of that name) starting on line ``number``
        takes only string literals (and there is at least one). False when the file does not parse."""
        if self.line(rel, number) is None:
            return False
        if rel not in self._trees:
            try:
                self._trees[rel] = ast.parse("\n".join(self._files[rel]))
            except (SyntaxError, ValueError):
                self._trees[rel] = None
        tree = self._trees[rel]
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and node.lineno == number
                 and (getattr(node.func, "id", None) == name or getattr(node.func, "attr", None) == name)
                 ] if tree is not None else []
        return bool(calls) and all(
            (node.args or node.keywords) and all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                                 for a in [*node.args, *(k.value for k in node.keywords)])
            for node in calls)


def judge(standard: BanditReport, with_nosec: BanditReport | None, repo: Path | None = None) -> list[Finding]:
    """SEC001 per issue (suppressed ones from the --ignore-nosec run that the standard run dropped),
    SEC002 per file bandit could not scan. ``repo``: where the flagged lines are read for the
    fingerprints (without it, from bandit's quoted code)."""
    findings: list[Finding] = []
    literals = password_literals(standard, with_nosec)
    source = SourceLines(repo)
    kept = {_key(r) for r in standard.results}
    redundant = redundant_results(standard.results, source)
    standard.redundant = len(redundant)
    for result in standard.results:
        if str(result.get("test_id")) not in SECRET_TESTS and _key(result) not in redundant:
            findings.append(issue_finding(result, suppressed=False, source=source,
                                          literals=literals.get(_norm(result.get("filename", "")), ())))
    if with_nosec is not None:
        redundant |= redundant_results(with_nosec.results, source)
        for result in with_nosec.results:
            if _key(result) not in kept and str(result.get("test_id")) not in SECRET_TESTS \
                    and _key(result) not in redundant:
                findings.append(issue_finding(result, suppressed=True, source=source,
                                              literals=literals.get(_norm(result.get("filename", "")), ())))
    seen: set[str] = set()
    for error in standard.errors:
        name = _norm(error.get("filename", ""))
        if name in seen:
            continue
        seen.add(name)
        reason = " ".join(str(error.get("reason", "unknown error")).split())[:300]
        findings.append(make_finding("SEC002", f"bandit could not scan {name}: {reason}.", {"file": name},
                                     evidence=reason))
    return findings


# bandit reports Django's mark_safe twice: B308 (the call blacklist: any mark_safe) and B703 (django_mark_safe,
# which reads the argument and stays silent on a string literal). One call, one finding: B308 is dropped where
# B703 reports the same line, and where the argument is a string literal (no input reaches it, B703 agrees).
MARK_SAFE_BLACKLIST, MARK_SAFE_TEST = "B308", "B703"


def redundant_results(results: list[dict[str, Any]], source: SourceLines | None) -> set[tuple[str, str, int, int]]:
    """Keys of the results that repeat another one or claim what their own line disproves (see above)."""
    b703 = {(_norm(r.get("filename", "")), int(r.get("line_number") or 0))
            for r in results if str(r.get("test_id")) == MARK_SAFE_TEST}
    out: set[tuple[str, str, int, int]] = set()
    for result in results:
        if str(result.get("test_id")) != MARK_SAFE_BLACKLIST:
            continue
        where = (_norm(result.get("filename", "")), int(result.get("line_number") or 0))
        if where in b703 or (source is not None and source.literal_call(*where, "mark_safe")):
            out.add(_key(result))
    return out


# bandit's import blacklist (B401-B413: "consider possible security implications of importing subprocess,
# pickle, xml...") is advice about a module, not a defect: info. A dangerous call of that module is a
# finding of its own (B602 shell=True, B301 pickle.loads, B314 xml parsing...).
ADVISORY_IMPORTS = frozenset(f"B4{n:02d}" for n in range(1, 14))

# bandit tests that mean nothing where a file sits (docs/checks/security.md has the table): an assert in a
# test is the test, random in a seed script seeds data, subprocess in CI tooling is its job. Their
# findings there are not reported (counted in the metrics as bandit_not_applicable).
NOT_APPLICABLE: dict[FileContext, frozenset[str]] = {
    FileContext.TEST: frozenset({"B101", "B105", "B106", "B107", "B108", "B110", "B112", "B113", "B311", "B404",
                                 "B603", "B607"}),
    FileContext.SEED: frozenset({"B101", "B105", "B106", "B107", "B311", "B404", "B603", "B607"}),
    FileContext.TOOLING: frozenset({"B101", "B311", "B404", "B603", "B607"}),
    FileContext.EXAMPLE: frozenset({"B101", "B105", "B106", "B107", "B311"}),
    FileContext.MIGRATION: frozenset({"B101", "B608"}),
}


def by_context(findings: list[Finding], context: Callable[[str], FileContext]) -> tuple[list[Finding], int]:
    """(the findings that mean something where they are, how many were left out)."""
    kept = [f for f in findings
            if f.rule_id != "SEC001" or f.title.split()[0] not in NOT_APPLICABLE.get(context(f.location.get("file", "")),
                                                                                  frozenset())]
    return kept, len(findings) - len(kept)


# MD5/SHA1 (B303, B324) where the code around names what the digest is for, and it is not security: an
# avatar URL (Gravatar's API is MD5 by definition), an ETag, a cache key, a checksum, a content fingerprint,
# the name of a rate-limit bucket (a hashed e-mail or phone number as the counter's key), a unique key.
WEAK_HASH_TESTS = frozenset({"B303", "B324"})
_NON_SECURITY_USE = re.compile(r"(?i)gravatar|avatar|identicon|etag|cache[_-]?key|\bcache\b|checksum|"
                               r"content[_-]?hash|file[_-]?hash|fingerprint|dedup|rate[_ -]?limit|throttl|"
                               r"token[_-]?bucket|unique[_-]?(?:key|id)\b")
# The lines read around the flagged one: the three before (the name it is assigned to, a comment) and the
# four after (where the digest goes: a URL, a cache or bucket key).
_BEFORE, _AFTER = 3, 4


def non_security_hash(result: dict[str, Any], source: SourceLines | None) -> str | None:
    """The word that says a weak hash is not used for security, in the flagged line or the lines around."""
    if source is None:
        return None
    number = int(result.get("line_number") or 0)
    name = _norm(result.get("filename", ""))
    lines = [source.line(name, n) or "" for n in range(max(1, number - _BEFORE), number + _AFTER + 1)]
    match = _NON_SECURITY_USE.search("\n".join(lines))
    return match.group(0) if match else None


def flagged_line(result: dict[str, Any], source: SourceLines | None = None) -> str:
    """The text of the line bandit flagged: read from the file, else taken from bandit's `code` (lines
    of context, each prefixed with its number and a space)."""
    number = int(result.get("line_number") or 0)
    line = source.line(_norm(result.get("filename", "")), number) if source is not None else None
    if line is not None:
        return line
    for quoted in str(result.get("code", "")).splitlines():
        prefix, _, text = quoted.partition(" ")
        if prefix == str(number):
            return text
    return ""


def fingerprint_key(result: dict[str, Any], source: SourceLines | None = None) -> str:
    """The test id and the flagged line with all whitespace removed: the same after lines are added
    above it or it is reformatted (re-indented, spaces around operators), distinct for two issues of
    one test in one file. Never shown: the fingerprint is a digest of it."""
    return f"{result.get('test_id', 'B???')}:{''.join(flagged_line(result, source).split())}"


def issue_finding(result: dict[str, Any], *, suppressed: bool, literals: Iterable[str] = (),
                  source: SourceLines | None = None) -> Finding:
    """SEC001 for one bandit result, with ``literals`` (the file's flagged password strings) and, for a
    hardcoded-password result itself, its own string masked in the message and the evidence."""
    own = password_literal(result)
    literals = [*literals, *([own] if own else [])]
    test_id = str(result.get("test_id", "B???"))
    test_name = str(result.get("test_name", ""))
    name = _norm(result.get("filename", ""))
    line = int(result.get("line_number") or 0)
    sev, conf = str(result.get("issue_severity", "LOW")), str(result.get("issue_confidence", "LOW"))
    text = " ".join(str(result.get("issue_text", "")).split())
    cwe = result.get("issue_cwe") or {}
    cwe_text = f" (CWE-{cwe['id']})" if isinstance(cwe, dict) and cwe.get("id") else ""
    more = str(result.get("more_info", ""))
    message = (f"{test_id} {test_name}: {text}{cwe_text} — bandit severity {sev.lower()}, confidence "
               f"{conf.lower()}." + (f" {more}" if more else "")
               + (" Suppressed in the code with `# nosec`." if suppressed else ""))
    code = mask_literals(str(result.get("code", "")).rstrip(), literals)
    message = mask_literals(message, literals)
    # The fingerprint leaves the line number out (it moves with every edit above) and keys on the test
    # and the whitespace-free text of the flagged line instead.
    severity = Severity.INFO if test_id in ADVISORY_IMPORTS else severity_of(sev, conf)
    why = non_security_hash(result, source) if test_id in WEAK_HASH_TESTS else None
    if why:
        severity = Severity.LOW
        message += (f" Low severity: the code around it reads as a non-security use ({why}); say so with "
                    "usedforsecurity=False.")
    return make_finding("SEC001", message, {"file": name, "line": line}, evidence=code[:1000],
                        severity=severity, title=f"{test_id} {test_name}".strip(),
                        stable_location={"file": name}, key=fingerprint_key(result, source),
                        suppressed=suppressed)
