"""Judging a metrics exposition: pure functions over the raw text and its content type, no I/O.

prometheus_client's parsers decide whether the text parses at all; everything else (promtool's lint
rules, histogram consistency, duplicates, cardinality, RED metrics) is checked on the RAW lines,
because the parser is lenient: it strips ``_total`` from counter family names and checks neither
histogram buckets nor duplicate series.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

TEXT = "text"
OPENMETRICS = "openmetrics"

# Accepted (media type → versions); None stands for "no version parameter".
_ACCEPTED = {
    "text/plain": (TEXT, {None, "0.0.4", "1.0.0"}),
    "application/openmetrics-text": (OPENMETRICS, {None, "0.0.1", "1.0.0"}),
}


@dataclass(frozen=True)
class Problem:
    """One lint violation: the rule it breaks, the metric (family) it is about, and what is wrong."""

    rule_id: str
    metric: str
    message: str
    key: str = ""  # discriminator when one metric can break one rule several ways (label name...)


@dataclass
class Sample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: str
    line_no: int

    def label(self, name: str) -> str | None:
        for key, value in self.labels:
            if key == name:
                return value
        return None


@dataclass
class Family:
    name: str
    type: str = "untyped"
    help: str | None = None
    typed: bool = False  # a TYPE line declared it
    samples: list[Sample] = field(default_factory=list)

    @property
    def base_name(self) -> str:
        """The name without a counter's _total (text format counters carry it in the TYPE line)."""
        return self.name[:-6] if self.type == "counter" and self.name.endswith("_total") else self.name

    def label_names(self) -> set[str]:
        return {key for sample in self.samples for key, _ in sample.labels}


@dataclass
class Exposition:
    families: dict[str, Family]
    unreadable_lines: int = 0  # lines the raw scanner could not split (the parser's verdict decides)


# ----------------------------------------------------------------------------------------------------
# Content type and parsing


def judge_content_type(header: str) -> tuple[str | None, str]:
    """(format, problem) for a Content-Type header value. format is TEXT/OPENMETRICS when accepted,
    None otherwise; problem is "" when accepted."""
    media, params = _split_content_type(header)
    if not media:
        return None, "no Content-Type header"
    accepted = _ACCEPTED.get(media)
    if accepted is None:
        return None, f"Content-Type {header!r} is neither text/plain nor application/openmetrics-text"
    fmt, versions = accepted
    version = params.get("version")
    if version not in versions:
        known = ", ".join(sorted(v for v in versions if v))
        return None, f"Content-Type {header!r}: version {version} is not one Prometheus knows ({known})"
    return fmt, ""


def _split_content_type(header: str) -> tuple[str, dict[str, str]]:
    parts = [p.strip() for p in (header or "").split(";")]
    params = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return parts[0].lower(), params


def guess_format(text: str) -> str:
    """For a body with a wrong content type: OpenMetrics ends in "# EOF", the text format does not."""
    return OPENMETRICS if text.rstrip().endswith("# EOF") else TEXT


def parse_families(text: str, fmt: str) -> tuple[int, str | None]:
    """(number of metric families, parser error or None) with prometheus_client's own parser."""
    try:
        if fmt == OPENMETRICS:
            from prometheus_client.openmetrics.parser import text_string_to_metric_families
        else:
            from prometheus_client.parser import text_string_to_metric_families
        return sum(1 for _ in text_string_to_metric_families(text)), None
    except Exception as exc:  # noqa: BLE001 — the parsers raise ValueError, but also others on junk
        message = (str(exc).splitlines() or [""])[0] or type(exc).__name__
        return 0, f"{type(exc).__name__}: {message}"[:300]


# ----------------------------------------------------------------------------------------------------
# Raw scanning

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})\s*(?:\{{(.*?)\}})?\s+(\S+)(?:\s+\S+)?\s*(?:#.*)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_META = re.compile(rf"^#\s+(HELP|TYPE|UNIT)\s+({_NAME})(?:\s+(.*))?$")

# Sample-name suffixes each type owns: <family><suffix>.
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "summary": ("_count", "_sum", "_created"),
    "info": ("_info",),
}


def scan(text: str) -> Exposition:
    """Split the raw exposition into families and samples, keeping names exactly as written."""
    families: dict[str, Family] = {}
    unreadable = 0
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            meta = _META.match(line)
            if meta:
                kind, name, rest = meta.group(1), meta.group(2), (meta.group(3) or "").strip()
                family = families.setdefault(name, Family(name))
                if kind == "HELP":
                    family.help = rest
                elif kind == "TYPE":
                    family.type, family.typed = rest.lower() or "untyped", True
            continue
        match = _SAMPLE.match(line)
        labels = _parse_labels(match.group(2)) if match and match.group(2) is not None else ()
        if not match or labels is None:
            unreadable += 1
            continue
        sample = Sample(match.group(1), labels, match.group(3), line_no)
        _family_for(families, sample.name).samples.append(sample)
    return Exposition(families, unreadable)


def _parse_labels(text: str) -> tuple[tuple[str, str], ...] | None:
    labels = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _LABEL.match(text, pos)
        if not match:
            return None
        labels.append((match.group(1), _unescape(match.group(2))))
        pos = match.end()
    return tuple(labels)


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def _family_for(families: dict[str, Family], name: str) -> Family:
    if name in families and families[name].type in ("untyped", "unknown", "gauge", "stateset", "counter"):
        return families[name]
    for family in families.values():
        for suffix in _SUFFIXES.get(family.type, ()):
            if name == family.name + suffix:
                return family
    return families.setdefault(name, Family(name))


# ----------------------------------------------------------------------------------------------------
# promtool's lint rules, plus consistency and cardinality

_UNIT_PREFIXES = ("pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega",
                  "mebi", "giga", "gibi", "tera", "tebi", "peta", "pebi")
_BASE_UNITS = ("seconds", "bytes", "meters", "metres", "grams", "amperes", "volts", "joules", "kelvin",
               "celsius", "bits")
_TIME_UNITS = ("minutes", "hours", "days", "weeks")
# promtool's list (lintUnitAbbreviations).
_ABBREVIATIONS = ("s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d")
_TYPE_WORDS = ("counter", "gauge", "histogram", "summary")
_CAMEL = re.compile(r"[a-z][A-Z]")


def lint(exposition: Exposition) -> list[Problem]:
    """Every lint problem, in exposition order."""
    problems: list[Problem] = []
    for family in exposition.families.values():
        if not family.samples:
            continue  # HELP/TYPE without samples (e.g. a labelled metric never observed): nothing to judge
        problems += _lint_family(family)
    problems += _duplicates(exposition)
    return problems


def _lint_family(family: Family) -> list[Problem]:
    out: list[Problem] = []
    name, kind = family.name, family.type
    parts = family.base_name.lower().split("_")
    if family.help is None or not family.help.strip():
        out.append(Problem("HLT030", name, f"{name} has no HELP text"))
    if kind == "counter":
        bad = sorted({s.name for s in family.samples if not s.name.endswith(("_total", "_created"))})
        if bad:
            out.append(Problem("HLT031", name, f"counter {name}: sample name {bad[0]} does not end in _total"))
    elif name.endswith("_total") and kind not in ("untyped", "unknown"):
        out.append(Problem("HLT032", name, f"{name} is a {kind}, but only counters end in _total"))
    for part in parts[1:]:
        base = _non_base_unit(part)
        if base:
            out.append(Problem("HLT033", name, f"{name} uses {part}; use the base unit {base}", key=part))
    for part in parts[1:]:
        if part in _ABBREVIATIONS:
            out.append(Problem("HLT034", name, f"{name} contains the abbreviated unit _{part}", key=part))
    for word in _TYPE_WORDS:
        if word in parts[1:]:
            out.append(Problem("HLT035", name, f"{name} includes the type word {word!r}", key=word))
    if ":" in name:
        out.append(Problem("HLT036", name, f"{name} contains ':' (reserved for recording rules)"))
    if _CAMEL.search(name):
        out.append(Problem("HLT037", name, f"metric name {name} is camelCase, not snake_case"))
    for label in sorted(family.label_names()):
        if _CAMEL.search(label):
            out.append(Problem("HLT037", name, f"{name}: label {label} is camelCase, not snake_case", key=label))
    out += _reserved(family)
    if kind == "histogram":
        out += _histogram(family)
    out += _cardinality(family)
    return out


def _non_base_unit(part: str) -> str | None:
    if part in _TIME_UNITS:
        return "seconds"
    for prefix in _UNIT_PREFIXES:
        if part.startswith(prefix) and part[len(prefix):] in _BASE_UNITS:
            return part[len(prefix):]
    return None


def _reserved(family: Family) -> list[Problem]:
    out = []
    name, kind = family.name, family.type
    histogram_like = kind in ("histogram", "gaugehistogram")
    names = {s.name for s in family.samples}
    labels = family.label_names()
    if not histogram_like:
        if any(n.endswith("_bucket") for n in names):
            out.append(Problem("HLT038", name, f"{name} is a {kind} but has a _bucket suffix", key="_bucket"))
        if "le" in labels:
            out.append(Problem("HLT038", name, f"{name} is a {kind} but has the label le", key="le"))
    if not histogram_like and kind != "summary":
        for suffix in ("_count", "_sum"):
            if any(n.endswith(suffix) for n in names):
                out.append(Problem("HLT038", name, f"{name} is a {kind} but has a {suffix} suffix", key=suffix))
    if kind != "summary" and "quantile" in labels:
        out.append(Problem("HLT038", name, f"{name} is a {kind} but has the label quantile", key="quantile"))
    return out


def _histogram(family: Family) -> list[Problem]:
    buckets: dict[tuple, list[tuple[float, float, str]]] = defaultdict(list)
    counts: dict[tuple, float] = {}
    for sample in family.samples:
        series = tuple(sorted((k, v) for k, v in sample.labels if k != "le"))
        value = _float(sample.value)
        if sample.name == family.name + "_bucket":
            le = sample.label("le")
            bound = _float(le) if le is not None else None
            if bound is not None and value is not None:
                buckets[series].append((bound, value, le or ""))
        elif sample.name == family.name + "_count" and value is not None:
            counts[series] = value
    problems = []
    for series in sorted(set(buckets) | set(counts)):
        where = _series_text(family.name, series)
        rows = buckets.get(series, [])
        reasons = []
        if not any(math.isinf(bound) and bound > 0 for bound, _, _ in rows):
            reasons.append("no le=\"+Inf\" bucket")
        else:
            inf = next(value for bound, value, _ in rows if math.isinf(bound) and bound > 0)
            if series in counts and counts[series] != inf:
                reasons.append(f"+Inf bucket {_num(inf)} differs from _count {_num(counts[series])}")
        bounds = [bound for bound, _, _ in rows]
        if any(earlier >= later for earlier, later in zip(bounds, bounds[1:])):
            reasons.append("le bounds not in ascending order (" + ", ".join(le for _, _, le in rows) + ")")
        ordered = sorted(rows)
        if any(later < earlier for (_, earlier, _), (_, later, _) in zip(ordered, ordered[1:])):
            reasons.append("bucket counts decrease (" + ", ".join(
                f"le={le}: {_num(v)}" for _, v, le in ordered) + ")")
        if reasons:
            problems.append(Problem("HLT039", family.name, f"histogram {where}: " + "; ".join(reasons),
                                    key=repr(series)))
    return problems


def _duplicates(exposition: Exposition) -> list[Problem]:
    seen: dict[tuple, int] = {}
    problems = []
    for family in exposition.families.values():
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels)))
            if key in seen:
                problems.append(Problem("HLT040", family.name,
                                        f"{_series_text(sample.name, key[1])} appears on lines {seen[key]} "
                                        f"and {sample.line_no}", key=repr(key)))
            else:
                seen[key] = sample.line_no
    return problems


_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_HEX = re.compile(r"^(?=.*\d)[0-9a-f]{16,}$", re.I)
_LONG_NUMBER = re.compile(r"^\d{6,}$")
_DIGITS = re.compile(r"^\d+$")


def id_like(value: str) -> bool:
    """A whole label value that looks like an identifier: UUID, 16+ hex digits, 6+ digit number."""
    return bool(_UUID.match(value) or _HEX.match(value) or _LONG_NUMBER.match(value))


def _template(value: str) -> str:
    """The value with identifiers replaced by {id}: whole values, or path segments of a raw path."""
    if id_like(value):
        return "{id}"
    if value.startswith("/"):
        return "/".join("{id}" if seg and (id_like(seg) or _DIGITS.match(seg)) else seg
                        for seg in value.split("/"))
    return value


def _cardinality(family: Family) -> list[Problem]:
    """Flag a label when at least two distinct values collapse to one template with {id}: one build
    hash or instance id per process is bounded, ids per request are not."""
    by_label: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for sample in family.samples:
        for key, value in sample.labels:
            if key in ("le", "quantile"):
                continue
            template = _template(value)
            if "{id}" in template:
                by_label[key][template].add(value)
    problems = []
    for label, templates in sorted(by_label.items()):
        template, values = max(templates.items(), key=lambda tv: len(tv[1]))
        total = sum(len(v) for v in templates.values())
        if len(values) >= 2:
            examples = ", ".join(repr(v) for v in sorted(values)[:3])
            problems.append(Problem("HLT041", family.name,
                                    f"{family.name}: label {label} has {total} ID-like values "
                                    f"(e.g. {examples}), one series per id", key=label))
    return problems


def _series_text(name: str, labels: tuple) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels)
    return f"{name}{{{inner}}}" if inner else name


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _num(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


# ----------------------------------------------------------------------------------------------------
# RED metrics

STATUS_LABELS = ("status", "code", "status_code", "http_status", "http_status_code", "response_code",
                 "http_response_status_code", "status_class")


@dataclass
class RedMetrics:
    request_counter: str | None  # family that counts requests by status
    duration_histogram: str | None  # histogram of request duration in seconds
    near_misses: list[str] = field(default_factory=list)  # why close candidates did not count


def red_metrics(exposition: Exposition) -> RedMetrics:
    counter = histogram = None
    near: list[str] = []
    for family in exposition.families.values():
        base = family.base_name.lower()
        has_status = bool(family.label_names() & set(STATUS_LABELS))
        requestish = "request" in base
        durationish = any(w in base for w in ("request", "duration", "latency"))
        if family.type == "counter" and requestish:
            if has_status:
                counter = counter or family.name
            else:
                near.append(f"counter {family.name} has no status label ({'/'.join(STATUS_LABELS[:3])})")
        if family.type == "histogram" and durationish:
            if base.endswith("_seconds"):
                histogram = histogram or family.name
                if has_status and requestish:
                    counter = counter or family.name  # its _count counts requests by status
            else:
                near.append(f"histogram {family.name} is not in seconds")
        if family.type == "summary" and durationish:
            near.append(f"{family.name} is a summary; summaries cannot be aggregated across instances")
            if has_status and requestish:
                counter = counter or family.name
    return RedMetrics(counter, histogram, near)
