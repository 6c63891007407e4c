"""Committed secrets: detect-secrets' plugins (cloud and service tokens, private keys, keyword
assignments, high-entropy strings, with its false-positive filters and `# pragma: allowlist secret`)
over the repository's files, plus two things it does not cover: committed .env files (judged as one
finding per file, not per line) and binary key stores (.p12/.pfx/.jks).

The secret itself never leaves this module: evidence is the flagged line with every found secret value
replaced by a mask, and ``mask_all`` scrubs the other findings (bandit quotes code lines too).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from auditor.model import Finding, Severity
from auditor.repo_context import FileContext, classify
from auditor.defects import committed_env_defect
from auditor.repofiles import ENV_LINE, env_keys, is_env_file

from checks.security.repo_files import RepoFile
from checks.security.rules import make_finding

MASK = "********"
LINE_LIMIT = 200
KEYSTORE_SUFFIXES = (".p12", ".pfx", ".jks", ".keystore")
# Keys of a .env file whose non-empty value is a credential.
SENSITIVE_KEY = re.compile(r"SECRET|TOKEN|PASSW|PWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH|ACCESS_KEY", re.IGNORECASE)
# Keys that name a connection: a credential only when the value carries one (user:password@ in the URL).
CONNECTION_KEY = re.compile(r"DSN|DATABASE_URL|_URI$|_URL$", re.IGNORECASE)
URL_USERINFO = re.compile(r"://[^/@\s:]*:[^/@\s]+@")
# detect-secrets types → rule; anything not listed is a provider token (SEC013).
_TYPE_RULES = {"Private Key": "SEC011", "Secret Keyword": "SEC010", "Basic Auth Credentials": "SEC010",
               "JSON Web Token": "SEC010", "Base64 High Entropy String": "SEC014",
               "Hex High Entropy String": "SEC014"}
_NOT_SECRETS = ("Public IP",)  # IPPublicDetector: an address is not a credential
# Detectors whose reported value is only the token's prefix ("ghp"): see full_tokens.
_PREFIX_GROUP_TYPES = frozenset({"GitHub Token", "GitLab Token"})
# Values of keyword assignments that read as placeholders or demo values rather than credentials (the
# idea of gitleaks' stop words): still reported, at low severity, with the reason.
PLACEHOLDER = re.compile(r"example|sample|dummy|fake|placeholder|changeme|change[-_]?(?:me|this|it)|replace[-_]?me|"
                         r"your[-_]?(?:password|secret|key|token)|test|demo|pass|pwd|"
                         r"secret|token|credential|invalid|bogus|redacted|your[-_]|xxx|\*\*\*|<[^>]*>|\$\{|\{\{",
                         re.IGNORECASE)
# Found values are masked in their own finding always, and across every other finding of the check
# when they cannot be an ordinary word: a keyword hit such as `password = "token"` must not mask the
# word "token" in every title and message.
MIN_GLOBAL_MASK = 6
WEAK_TYPES = frozenset({"Secret Keyword", "Basic Auth Credentials", "JSON Web Token"})
MIN_JWT_SIGNATURE_BYTES = 16  # HS256 signs with 32 bytes, RS256 256, ES256 64: shorter is a made-up example


@dataclass
class Hit:
    rel: str
    line: int
    type: str
    value: str
    hashed: str = ""  # detect-secrets' digest of the value (SHA-1 hex): the fingerprint key, never the value


@dataclass
class SecretScan:
    hits: list[Hit] = field(default_factory=list)
    # (rel, [(key, has a value)], the keys whose value is a credential)
    env_files: list[tuple[str, list[tuple[str, bool]], list[str]]] = field(default_factory=list)
    keystores: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    partial: bool = False  # the time budget ran out before every file was scanned
    scanned: int = 0
    transcoded: int = 0   # non-UTF-8 files scanned from a UTF-8 copy
    dropped: int = 0      # hits that are identifier shapes (revision ids, lock-file hashes, UUIDs), not secrets

    def values(self) -> list[str]:
        """Values to mask across every finding of the check (long enough not to be ordinary words)."""
        return [h.value for h in self.hits
                if len(h.value) >= MIN_GLOBAL_MASK and (not h.value.replace("-", "").replace("_", "").isalpha()
                                                        or len(h.value) >= 16)]


def scan(files: Iterable[RepoFile], *, work_dir: Path, should_stop: Callable[[], bool],
         deadline: float | None = None) -> SecretScan:
    """detect-secrets over the files, one by one (about 0.7 ms per line: a time budget matters on big
    repositories). Files left when ``deadline`` (time.monotonic()) passes are listed as not scanned."""
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    result = SecretScan()
    with default_settings():
        pending = list(files)
        for index, repo_file in enumerate(pending):
            if should_stop():
                break
            if deadline is not None and time.monotonic() >= deadline:
                result.partial = True
                result.skipped += [(f.rel, "not scanned for secrets: time budget spent (secrets_timeout_s)")
                                   for f in pending[index:]]
                break
            rel = repo_file.rel
            if rel.lower().endswith(KEYSTORE_SUFFIXES):
                result.keystores.append(rel)
                continue
            try:
                data = repo_file.path.read_bytes()
            except OSError as exc:
                result.skipped.append((rel, f"unreadable ({exc.strerror or exc})"))
                continue
            if b"\0" in data[:8192]:
                continue  # binary: no text secret to find
            if is_env_file(rel):
                text = data.decode("utf-8", errors="replace")
                result.env_files.append((rel, env_keys(text), credential_keys(text)))
                continue
            target = repo_file.path
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                # detect-secrets silently skips files that are not UTF-8: scan a UTF-8 copy (undecodable
                # bytes replaced), under the same relative name so its filename filters still apply.
                target = work_dir / "transcoded" / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(data.decode("utf-8", errors="replace"), encoding="utf-8")
                result.transcoded += 1
            collection = SecretsCollection()
            collection.scan_file(str(target))
            result.scanned += 1
            lines: list[str] | None = None
            for _filename, secret in collection:
                if secret.type.startswith(_NOT_SECRETS):
                    continue
                number, value = int(secret.line_number or 0), secret.secret_value or ""
                if secret.type in _PREFIX_GROUP_TYPES:
                    if lines is None:
                        lines = data.decode("utf-8", errors="replace").splitlines()
                    line = lines[number - 1] if 0 < number <= len(lines) else ""
                    for full in full_tokens(secret.type, value, line):
                        result.hits.append(Hit(rel, number, secret.type, full, _hash_secret(full)))
                    continue
                result.hits.append(Hit(rel, number, secret.type, value, secret.secret_hash))
    result.hits = _one_per_line(result.hits)
    return result


def credential_keys(text: str) -> list[str]:
    """The keys of a .env file whose value is a credential: a non-empty, non-placeholder value under a
    credential name, or a URL carrying a password (VITE_API_URL=https://api... is none)."""
    out = []
    for line in text.splitlines():
        match = ENV_LINE.match(line)
        if not match or line.lstrip().startswith("#"):
            continue
        key, value = match.group(1), match.group(2).split(" #")[0].strip().strip("'\"")
        if not value or NOT_A_VALUE.match(value):
            continue
        if SENSITIVE_KEY.search(key) or (CONNECTION_KEY.search(key) and URL_USERINFO.search(value)):
            out.append(key)
    return out


def _hash_secret(value: str) -> str:
    from detect_secrets.core.potential_secret import PotentialSecret

    return PotentialSecret.hash_secret(value)


def full_tokens(secret_type: str, value: str, line: str) -> list[str]:
    """The whole tokens a prefix-only hit stands for on its line (``[value]`` when none is found).

    detect-secrets reports a regex detector's first capture group as the secret, and in the GitHub
    and GitLab patterns, ``(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}``, that group is the prefix: its value
    is "ghp", and masking it left the 36 characters that are the credential in plain sight (GitLab's
    glcbt- pattern captures an inner part alike). Every match of the detector's patterns on the line
    with a group equal to the reported value is a token to mask."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    plugin = get_mapping_from_secret_type_to_class().get(secret_type)
    tokens: set[str] = set()
    for regex in getattr(plugin, "denylist", ()) if plugin is not None else ():
        for match in regex.finditer(line):
            # Their patterns match the token alone (no surrounding context), so the whole match is it.
            if any(match.group(i) == value for i in range(1, regex.groups + 1)):
                tokens.add(match.group(0))
    return sorted(tokens) or [value]


def _one_per_line(hits: list[Hit]) -> list[Hit]:
    """One problem, one finding: on a line a specific detector explains (a provider token, a private key),
    a keyword or high-entropy hit is the same secret seen again; on a line a keyword detector explains, a
    high-entropy hit is."""
    rules: dict[tuple[str, int], set[str]] = {}
    for h in hits:
        rules.setdefault((h.rel, h.line), set()).add(_TYPE_RULES.get(h.type, "SEC013"))

    def redundant(h: Hit) -> bool:
        rule, on_line = _TYPE_RULES.get(h.type, "SEC013"), rules[(h.rel, h.line)]
        if rule == "SEC014":
            return bool(on_line - {"SEC014"})
        return rule == "SEC010" and bool(on_line & {"SEC011", "SEC013"})

    return sorted((h for h in hits if not redundant(h)), key=lambda h: (h.rel, h.line, h.type))


# A path or file name around a match ("versions/ae1027a6acf1_add.py", "keys/ab12.pem"): the value is part of
# a name there, not the secret quoted.
_PATH_TOKEN = re.compile(r"[^\s\"'`(),;=]*[/\\][^\s\"'`(),;=]*|[^\s\"'`(),;=/\\]+\.[A-Za-z][A-Za-z0-9]{0,7}(?::\d+)?")


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret value replaced where it stands as a value of its own: not inside a longer
    word (a hex revision id inside "ae1027a6acf1_add_users") and not inside a path or file name, which
    stay intact (the location names the same file unmasked anyway)."""
    values = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not values or not text:
        return text
    pattern = re.compile("|".join(rf"(?<![A-Za-z0-9_]){re.escape(v)}(?![A-Za-z0-9_])" for v in values))
    protected = [m.span() for m in _PATH_TOKEN.finditer(text)
                 if not any(v in m.group(0) and not _names_a_path(m.group(0), v) for v in values)]

    def replace(match: re.Match[str]) -> str:
        start, end = match.span()
        if any(a <= start and end <= b for a, b in protected):
            return match.group(0)
        return MASK

    return pattern.sub(replace, text)


def _names_a_path(token: str, value: str) -> bool:
    """The value sits in the token's path or file-name part: not in a URL's credentials or host, not in
    its query."""
    before = token.split(value, 1)[0]
    if "?" in before or "=" in before:
        return False
    scheme, sep, rest = before.partition("://")
    return not sep or "/" in rest  # after the netloc, or no URL at all


def mask_finding(finding: Finding, secrets: list[str]) -> Finding:
    if secrets:
        finding.message = mask(finding.message, secrets)
        finding.evidence = mask(finding.evidence, secrets)
    return finding


def _line(files: dict[str, RepoFile], rel: str, number: int) -> str:
    repo_file = files.get(rel)
    if repo_file is None or number < 1:
        return ""
    try:
        lines = repo_file.path.read_bytes().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return lines[number - 1] if number <= len(lines) else ""


# Shapes that are identifiers, not secrets, whatever their entropy: never a secret finding.
LOCK_FILES = re.compile(r"(^|/)(package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.ya?ml|[\w.-]+\.lock|"
                        r"go\.sum|Gemfile\.lock|composer\.lock|Cargo\.lock)$")
REVISION_LINE = re.compile(r"^\s*(?:down_revision|revision|branch_labels|depends_on)\s*[:=]|Revision ID:|Revises:",
                           re.IGNORECASE)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
INTEGRITY = re.compile(r"^(sha1|sha256|sha384|sha512)-[A-Za-z0-9+/=]+$")
# A hex digest assigned to a key that names it as one ("file_hash": "214c...", etag = "...", "sha256": ...):
# content fingerprints (Wagtail's image fixtures, caches), not secrets. A key naming a secret is never one.
DIGEST_KEY = re.compile(r"[\"']?\b[\w.-]*(?:hash|checksum|digest|etag|sha1|sha256|sha512|md5|fingerprint)[\w.-]*\b[\"']?"
                        r"\s*[:=]\s*[\"']?([0-9a-fA-F]{16,128})\b", re.IGNORECASE)
SECRET_KEY_NAME = re.compile(r"secret|passw|token|api_?key|private|credential|salt|hmac", re.IGNORECASE)
NOT_A_VALUE = re.compile(r"^(true|false|yes|no|on|off|none|null|nil|undefined|\*+)$", re.IGNORECASE)
URL_WITHOUT_CREDENTIALS = re.compile(r"^[a-z][a-z0-9+.-]*://[^@/\s]+(/|$)", re.IGNORECASE)
# The last word of a key that names something about a credential, not the credential: a status or a
# label shown in a form (`email_password_status = "success"`, `token_type = "bearer"`, `api_key_header =
# "X-Api-Key"`). A URL-valued key is left to URL_WITHOUT_CREDENTIALS (its value may carry a password).
NOT_A_CREDENTIAL_WORD = frozenset({
    "status", "state", "type", "kind", "field", "fields", "label", "title", "name", "names", "header",
    "param", "column", "length", "len", "count", "policy", "hint", "message", "msg", "prompt", "error",
    "errors", "help", "text", "placeholder", "format", "mode", "method", "icon", "template", "widget",
    "form", "input", "button", "link", "display", "class", "css"})
_KEY_BEFORE = re.compile(r"([A-Za-z_][\w-]*)[\"'\]\s]*(?:[:=]{1,2}|=>)\s*[\[(]?\s*[fbrFBR]?$")


def keyword_key(line: str, value: str) -> str | None:
    """The key a detect-secrets keyword hit's quoted ``value`` is assigned to on ``line`` (`key = "v"`,
    `"key": "v"`, `d["key"] = "v"`), or None when it cannot be told."""
    for quote in ('"', "'"):
        quoted = f"{quote}{value}{quote}"
        at = line.find(quoted)
        while at >= 0:  # the occurrence after a key and an operator (not the key itself: `"v": "v" in d`)
            match = _KEY_BEFORE.search(line[:at].rstrip())
            if match:
                return match.group(1)
            at = line.find(quoted, at + 1)
    return None


def _key_words(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key)
    return [w for w in re.split(r"[_\-.]+", spaced.lower()) if w]


def keyword_not_a_credential(hit: Hit, line: str) -> str | None:
    """Why a "Secret Keyword" hit is no credential by the key it is assigned to, or None: the value is the
    key's own name (`"show_api_keys": "show_api_keys" in request.GET`, a flag looked up by name), or the
    key names a status, label or field of the credential (`ctx["email_password_status"] = "success"`)."""
    if hit.type != "Secret Keyword" or not hit.value:
        return None
    key = keyword_key(line, hit.value)
    if key is None:
        return None
    words = _key_words(key)
    if len(words) < 2:
        return None  # `password = "password"` is a weak password, not a name
    if key.lower() == hit.value.lower():
        return "the value is its key's own name (a flag or a lookup by name), not a credential"
    if words[-1] in NOT_A_CREDENTIAL_WORD:
        return f"the key names the credential's {words[-1]} ({key}), not the credential"
    return None


# Detectors whose hits outside production code are still verified credentials: medium, not low.
VERIFIED_RULES = frozenset({"SEC011", "SEC013"})


def identifier_reason(hit: Hit, line: str) -> str | None:
    """Why a hit is an identifier shape and no secret at all (dropped), or None."""
    rule_id = _TYPE_RULES.get(hit.type, "SEC013")
    if rule_id == "SEC014" and LOCK_FILES.search(hit.rel):
        return "a hash in a lock file"
    if rule_id == "SEC014" and REVISION_LINE.search(line):
        return "a migration revision id"
    if UUID.match(hit.value) or INTEGRITY.match(hit.value):
        return "a UUID or an integrity hash"
    if rule_id == "SEC014":
        for digest in DIGEST_KEY.finditer(line):
            key = digest.group(0)[:digest.start(1) - digest.start(0)]
            if digest.group(1) == hit.value and not SECRET_KEY_NAME.search(key):
                return "a content hash under a key that names it (file_hash, checksum, etag)"
    if rule_id in ("SEC010", "SEC014") and (NOT_A_VALUE.match(hit.value) or URL_WITHOUT_CREDENTIALS.match(hit.value)):
        return "not a credential value (a boolean, a placeholder mask or a URL without credentials)"
    return keyword_not_a_credential(hit, line)


def weak_reason(hit: Hit) -> str | None:
    """Why a keyword/JWT hit is probably not a live credential, or None. Provider tokens and private
    keys are never weakened by their value: their format is verified and a test key is often a real one."""
    if hit.type not in WEAK_TYPES:
        return None
    if hit.type == "JSON Web Token":
        signature = hit.value.rsplit(".", 1)[-1] if hit.value.count(".") == 2 else ""
        if len(signature) * 3 // 4 < MIN_JWT_SIGNATURE_BYTES:
            return "a JWT whose signature is too short to be real (a documentation example)"
    if PLACEHOLDER.search(hit.value):
        return "the value reads as a placeholder or demo value"
    return None


def context_severity(rule_id: str, context: FileContext, placeholder: bool) -> tuple[Severity | None, str | None]:
    """(severity, why) for a secret by where it sits: production code keeps the rule's severity (low for a
    placeholder); elsewhere (tests, fixtures, docs, CI, dev compose, migrations, seed scripts) at most low,
    info for a placeholder, medium for a verified provider token or private key."""
    if context is FileContext.PRODUCTION:
        return (Severity.LOW, None) if placeholder else (None, None)
    where = f"in {context} (not deployed code)"
    if placeholder:
        return Severity.INFO, where
    return (Severity.MEDIUM if rule_id in VERIFIED_RULES else Severity.LOW), where


def judge(found: SecretScan, files: dict[str, RepoFile], context: Callable[[str], FileContext] = classify,
          ) -> list[Finding]:
    """Findings of the secret scan, judged by where each hit sits (auditor.repo_context); identifier shapes
    (migration revision ids, lock-file hashes, UUIDs) are dropped and counted in ``found.dropped``."""
    findings: list[Finding] = []
    values = found.values()
    for hit in found.hits:
        rule_id = _TYPE_RULES.get(hit.type, "SEC013")
        raw_line = _line(files, hit.rel, hit.line)
        if identifier_reason(hit, raw_line):
            found.dropped += 1
            continue
        line = mask(raw_line, [*values, hit.value]).strip()
        if hit.value and hit.value in line:  # never: mask() replaced it; belt and braces
            line = ""
        if len(line) > LINE_LIMIT:
            line = line[:LINE_LIMIT] + "…"
        evidence = f"{hit.rel}:{hit.line}: {line}" if line else f"{hit.rel}:{hit.line} ({hit.type}, value not shown)"
        # The fingerprint keys on the file and the detector, plus detect-secrets' hash of the secret (stable
        # when lines move or the line is reformatted, distinct for two secrets in one file); never on the
        # secret itself.
        digest = hit.hashed or hashlib.sha1(hit.value.encode("utf-8", errors="replace")).hexdigest()
        weak = weak_reason(hit)
        severity, where = context_severity(rule_id, context(hit.rel), weak is not None)
        reasons = "; ".join(r for r in (where, weak) if r)
        findings.append(make_finding(
            rule_id, f"{hit.type} in {hit.rel} line {hit.line} (found by detect-secrets; the value is masked)."
                     + (f" {severity.value.capitalize()} severity: {reasons}." if reasons and severity else ""),
            {"file": hit.rel, "line": hit.line}, evidence=evidence, title=f"{RULE_TITLES[rule_id]}: {hit.type}",
            severity=severity, stable_location={"file": hit.rel}, key=f"{hit.type}:{digest}"))
    for rel, keys, sensitive in found.env_files:
        filled = [k for k, has_value in keys if has_value]
        if not sensitive:
            continue  # no credential in it (a template, or public build-time settings): not a secret problem
        production = context(rel) is FileContext.PRODUCTION
        severity = Severity.HIGH if sensitive and production else Severity.LOW
        shown = ", ".join(f"{k}={MASK}" for k in filled[:20]) + (" …" if len(filled) > 20 else "")
        what = (f"{len(sensitive)} credential-like value{'s' if len(sensitive) != 1 else ''} "
                f"({', '.join(sensitive[:10])})" if sensitive else "no credential-like key")
        finding = make_finding(
            "SEC012", f"{rel} is committed with {len(filled)} non-empty value{'s' if len(filled) != 1 else ''}, "
                      f"{what}." + ("" if production else f" Low severity: a {context(rel)} environment file."),
            {"file": rel}, evidence=shown, severity=severity)
        if rel in files:
            finding.defect = committed_env_defect(files[rel].path)  # the deployment check's DPL020 too
        findings.append(finding)
    for rel in found.keystores:
        findings.append(make_finding("SEC011", f"{rel} is a binary key store (PKCS#12 / Java key store) committed "
                                               "to the repository.", {"file": rel},
                                     evidence=f"{rel} (binary, not shown)", title="Key store committed"))
    return findings


RULE_TITLES = {"SEC010": "Secret committed", "SEC011": "Private key committed",
               "SEC013": "Access token committed", "SEC014": "Possible secret"}


def skip_findings(skipped: list[tuple[str, str]]) -> list[Finding]:
    """One SEC003 finding listing every file left out (at most 20 named)."""
    if not skipped:
        return []
    listed = "\n".join(f"{rel}: {reason}" for rel, reason in skipped[:20])
    more = f"\n… and {len(skipped) - 20} more" if len(skipped) > 20 else ""
    return [make_finding("SEC003", f"{len(skipped)} file{'s' if len(skipped) != 1 else ''} of the repository "
                                   "could not be scanned (see evidence).", {}, evidence=listed + more,
                         stable_location={"files": sorted(rel for rel, _ in skipped)})]
