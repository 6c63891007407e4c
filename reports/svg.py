"""Tiny inline-SVG charts for the HTML report: no dependency, no script, deterministic output.

Every function returns ``markupsafe.Markup`` (safe to drop into an autoescaped template) holding one
``<svg>`` element sized by its viewBox, so it scales with the page. Labels and units are escaped, control
characters removed, long labels truncated (the full text stays in a ``<title>`` tooltip). Colours come
from CSS classes (``bar``, ``over``, ``budget``, ``sev-high``...) with a ``fill`` fallback so a chart
is readable outside the report too.

Intended uses: latency percentiles per endpoint against the budget (``bar_chart(..., budget=100,
unit="ms")``), query counts per endpoint, coverage per file, latency or throughput over time
(``line_chart``), findings per section by severity (``stacked_bar_chart``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from reports.common import format_number, xml_safe

SVG_NS = "http://www.w3.org/2000/svg"
CHAR_W = 6.6         # approximate width of one 11px label character
ROW_H = 22
LABEL_MAX = 48       # characters of a label shown; the rest goes to the tooltip
DEFAULT_FILL = "#3f7fbf"
OVER_FILL = "#d23f31"


def _num(value: object) -> float:
    """A finite, non-negative float; anything else (None, NaN, text) is 0."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) and number > 0 else 0.0


def _f(x: float) -> str:
    """Coordinates with one decimal, without "-0.0", so output is byte-for-byte deterministic."""
    text = f"{x:.1f}"
    return "0.0" if text == "-0.0" else text


def _text(value: object, limit: int = LABEL_MAX) -> str:
    text = " ".join(xml_safe(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _esc(value: object, limit: int = 10_000) -> Markup:
    return escape(_text(value, limit))


def _with_unit(value: float, unit: str) -> str:
    shown = format_number(round(value, 3))
    return f"{shown} {unit}".strip() if unit and unit != "%" else f"{shown}{unit}"


def _open(width: float, height: float, title: str, css_class: str) -> str:
    label = _esc(title, 200)
    return (f'<svg xmlns="{SVG_NS}" class="chart {escape(css_class)}" viewBox="0 0 {_f(width)} {_f(height)}" '
            f'width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-label="{label}">'
            + (f"<title>{label}</title>" if title else ""))


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10 ** exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


def bar_chart(labels: Sequence[object], values: Sequence[object], *, budget: float | None = None,
              unit: str = "", title: str = "", width: int = 640, max_value: float | None = None) -> Markup:
    """Horizontal bars, one per label, value printed at the bar's end. With ``budget`` a dashed vertical
    line marks it and bars above it get the ``over`` class (red). ``max_value`` fixes the scale
    (e.g. 100 for percentages)."""
    rows = [(_text(label), str(label), _num(value)) for label, value in zip(labels, values, strict=False)]
    label_w = min(LABEL_MAX, max((len(r[0]) for r in rows), default=4)) * CHAR_W + 12
    value_w = 80
    top = 18 if budget is not None else 6
    height = top + ROW_H * max(1, len(rows)) + 6
    plot_x, plot_w = label_w, max(60.0, width - label_w - value_w)
    peak = max([r[2] for r in rows] + [_num(budget)] + [0.0])
    scale_max = _num(max_value) or _nice_max(peak)

    def x_of(v: float) -> float:
        return plot_x + plot_w * min(v, scale_max) / scale_max

    parts = [_open(width, height, title, "bar-chart")]
    if not rows:
        parts.append(f'<text x="4" y="{_f(top + 14)}" class="muted" font-size="11">no data</text>')
    for i, (shown, full, value) in enumerate(rows):
        y = top + i * ROW_H
        over = budget is not None and value > _num(budget)
        css, fill = ("bar over", OVER_FILL) if over else ("bar", DEFAULT_FILL)
        parts.append(
            f'<g><title>{_esc(full, 500)}: {_esc(_with_unit(value, unit))}</title>'
            f'<text x="{_f(label_w - 6)}" y="{_f(y + 15)}" text-anchor="end" font-size="11" class="label">'
            f'{escape(shown)}</text>'
            f'<rect x="{_f(plot_x)}" y="{_f(y + 4)}" width="{_f(max(x_of(value) - plot_x, 0.0))}" height="14" '
            f'class="{css}" fill="{fill}"/>'
            f'<text x="{_f(x_of(value) + 4)}" y="{_f(y + 15)}" font-size="11" class="value">'
            f'{_esc(_with_unit(value, unit))}</text></g>')
    if budget is not None:
        parts.append(_budget_marker(x_of(_num(budget)), top, height, _num(budget), unit))
    parts.append("</svg>")
    return Markup("".join(parts))


def _budget_marker(bx: float, top: float, height: float, budget: float, unit: str) -> str:
    """The dashed vertical budget line of a horizontal chart, labelled above the rows."""
    return (f'<line x1="{_f(bx)}" y1="{_f(top - 4)}" x2="{_f(bx)}" y2="{_f(height - 4)}" class="budget" '
            f'stroke="#555" stroke-dasharray="4 3"/>'
            f'<text x="{_f(bx)}" y="11" text-anchor="middle" font-size="10" class="budget-label">'
            f'budget {_esc(_with_unit(budget, unit))}</text>')


def stacked_bar_chart(labels: Sequence[object], series: Sequence[tuple[str, Sequence[object]]], *,
                      colours: Mapping[str, str] | None = None, unit: str = "", title: str = "",
                      width: int = 640) -> Markup:
    """Horizontal stacked bars: ``series`` is [(name, values per label)], drawn left to right in that
    order, with a legend on top. Each segment has class ``seg-<name>`` (e.g. ``seg-high``)."""
    colours = colours or {}
    names = [str(name) for name, _ in series]
    label_texts = [_text(label) for label in labels]
    totals = [sum(_num(vals[i]) if i < len(vals) else 0.0 for _, vals in series) for i in range(len(labels))]
    label_w = min(LABEL_MAX, max((len(t) for t in label_texts), default=4)) * CHAR_W + 12
    value_w = 60
    legend_h = 20
    height = legend_h + ROW_H * max(1, len(labels)) + 6
    plot_x, plot_w = label_w, max(60.0, width - label_w - value_w)
    scale_max = _nice_max(max(totals, default=0.0))
    parts = [_open(width, height, title, "stacked-chart")]
    lx = 4.0
    for name in names:
        safe = _esc(name, 30)
        parts.append(f'<rect x="{_f(lx)}" y="4" width="10" height="10" class="seg-{_css_token(name)}" '
                     f'fill="{escape(colours.get(name, DEFAULT_FILL))}"/>'
                     f'<text x="{_f(lx + 14)}" y="13" font-size="10" class="label">{safe}</text>')
        lx += 14 + len(str(safe)) * 6.0 + 14
    for i, shown in enumerate(label_texts):
        y = legend_h + i * ROW_H
        parts.append(f'<g><title>{_esc(labels[i], 500)}: {_esc(_with_unit(totals[i], unit))}</title>'
                     f'<text x="{_f(label_w - 6)}" y="{_f(y + 15)}" text-anchor="end" font-size="11" '
                     f'class="label">{escape(shown)}</text>')
        x = plot_x
        for name, vals in series:
            value = _num(vals[i]) if i < len(vals) else 0.0
            if value <= 0:
                continue
            w = plot_w * value / scale_max
            parts.append(f'<rect x="{_f(x)}" y="{_f(y + 4)}" width="{_f(w)}" height="14" '
                         f'class="seg-{_css_token(name)}" fill="{escape(colours.get(str(name), DEFAULT_FILL))}">'
                         f'<title>{_esc(name, 30)}: {_esc(_with_unit(value, unit))}</title></rect>')
            x += w
        parts.append(f'<text x="{_f(x + 4)}" y="{_f(y + 15)}" font-size="11" class="value">'
                     f'{_esc(_with_unit(totals[i], unit))}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(points: Sequence[tuple[object, object]], *, unit: str = "", x_unit: str = "",
               budget: float | None = None, title: str = "", width: int = 640, height: int = 180) -> Markup:
    """A line through (x, y) points in the given order (e.g. seconds into the run, p95 ms), with the y
    range labelled and an optional dashed budget line."""
    pts = [(_num(x), _num(y)) for x, y in points]
    pad_l, pad_r, pad_t, pad_b = 56.0, 12.0, 10.0, 22.0
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    x_min = min((p[0] for p in pts), default=0.0)
    x_max = max((p[0] for p in pts), default=1.0)
    if x_max <= x_min:
        x_max = x_min + 1.0
    y_max = _nice_max(max([p[1] for p in pts] + [_num(budget)] + [0.0]))

    def xy(x: float, y: float) -> str:
        return f"{_f(pad_l + plot_w * (x - x_min) / (x_max - x_min))},{_f(pad_t + plot_h * (1 - y / y_max))}"

    bottom, right = pad_t + plot_h, pad_l + plot_w
    parts = [_open(width, height, title, "line-chart"),
             _line(pad_l, bottom, right, bottom, "axis", 'stroke="#888"'),
             _line(pad_l, pad_t, pad_l, bottom, "axis", 'stroke="#888"'),
             _label(pad_l - 4, pad_t + 8, _with_unit(y_max, unit), "end"),
             _label(pad_l - 4, bottom, _with_unit(0.0, unit), "end"),
             _label(pad_l, height - 6, _with_unit(x_min, x_unit), "start"),
             _label(right, height - 6, _with_unit(x_max, x_unit), "end")]
    if budget is not None:
        by = pad_t + plot_h * (1 - _num(budget) / y_max)
        parts.append(_line(pad_l, by, right, by, "budget", 'stroke="#555" stroke-dasharray="4 3"',
                           f"<title>budget {_esc(_with_unit(_num(budget), unit))}</title>"))
    if pts:
        parts.append(f'<polyline points="{" ".join(xy(x, y) for x, y in pts)}" class="line" fill="none" '
                     f'stroke="{DEFAULT_FILL}" stroke-width="2"/>')
    else:
        parts.append(f'<text x="{_f(pad_l + 8)}" y="{_f(pad_t + plot_h / 2)}" font-size="11" class="muted">'
                     "no data</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def interval_chart(labels: Sequence[object], points: Sequence[object], lows: Sequence[object],
                   highs: Sequence[object], *, marks: Sequence[Sequence[object]] | None = None,
                   budget: float | None = None, unit: str = "", title: str = "", width: int = 640) -> Markup:
    """One row per label: a dot at the point estimate, a whisker over its confidence interval (``highs``
    None: no upper end, drawn to the edge and labelled "unbounded"), optional small hollow ``marks`` per
    row (e.g. each round's value), and a dashed budget line. A row whose lower end is over the budget is
    ``over`` (red); one whose interval straddles it ``straddles``."""
    rows = []
    for i, label in enumerate(labels):
        high = highs[i] if i < len(highs) else None
        rows.append((_text(label), str(label), _num(points[i] if i < len(points) else 0),
                     _num(lows[i] if i < len(lows) else 0), None if high is None else _num(high),
                     [_num(m) for m in ((marks[i] if marks and i < len(marks) else None) or [])]))
    label_w = min(LABEL_MAX, max((len(r[0]) for r in rows), default=4)) * CHAR_W + 12
    value_w = 150
    top = 18 if budget is not None else 6
    height = top + ROW_H * max(1, len(rows)) + 6
    plot_x, plot_w = label_w, max(60.0, width - label_w - value_w)
    peak = max([max([r[2], r[3], r[4] or 0.0] + r[5]) for r in rows] + [_num(budget), 0.0])
    scale_max = _nice_max(peak)

    def x_of(v: float) -> float:
        return plot_x + plot_w * min(v, scale_max) / scale_max

    parts = [_open(width, height, title, "interval-chart")]
    if not rows:
        parts.append(f'<text x="4" y="{_f(top + 14)}" class="muted" font-size="11">no data</text>')
    for i, (shown, full, point, low, high, row_marks) in enumerate(rows):
        y = top + i * ROW_H + 11
        over = budget is not None and low > _num(budget)
        straddles = budget is not None and not over and (high is None or high > _num(budget))
        css, fill = ("over", OVER_FILL) if over else (("straddles", "#b8860b") if straddles else ("bar", DEFAULT_FILL))
        right = x_of(high) if high is not None else plot_x + plot_w
        upper = _with_unit(high, unit) if high is not None else "unbounded"
        text = f"{_with_unit(point, unit)} [{_with_unit(low, unit)}–{upper}]"
        parts.append(
            f'<g><title>{_esc(full, 500)}: {_esc(text)}</title>'
            f'<text x="{_f(label_w - 6)}" y="{_f(y + 4)}" text-anchor="end" font-size="11" class="label">'
            f'{escape(shown)}</text>'
            # The whisker is a thin bar (not a line) so it has area even when the interval is one value.
            + f'<rect x="{_f(x_of(low))}" y="{_f(y - 1)}" width="{_f(max(right - x_of(low), 0.0))}" height="2" '
              f'class="whisker {css}" fill="{fill}"/>'
            + _line(x_of(low), y - 5, x_of(low), y + 5, f"whisker {css}", f'stroke="{fill}" stroke-width="2"')
            + (_line(right, y - 5, right, y + 5, f"whisker {css}", f'stroke="{fill}" stroke-width="2"')
               if high is not None else "")
            + "".join(f'<circle cx="{_f(x_of(m))}" cy="{_f(y)}" r="2.5" class="mark" fill="none" stroke="#555"/>'
                      for m in row_marks)
            + f'<circle cx="{_f(x_of(point))}" cy="{_f(y)}" r="4" class="point {css}" fill="{fill}"/>'
            f'<text x="{_f(plot_x + plot_w + 6)}" y="{_f(y + 4)}" font-size="11" class="value">{_esc(text)}</text></g>')
    if budget is not None:
        parts.append(_budget_marker(x_of(_num(budget)), top, height, _num(budget), unit))
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(values: Sequence[object], *, width: int = 120, height: int = 24, title: str = "") -> Markup:
    """A tiny trend line of ``values`` (evenly spaced), for a table cell or a tile."""
    ys = [_num(v) for v in values]
    top = max(ys, default=0.0) or 1.0
    step = width / max(1, len(ys) - 1)
    points = " ".join(f"{_f(i * step)},{_f(height - 2 - (height - 4) * y / top)}" for i, y in enumerate(ys))
    body = (f'<polyline points="{points}" class="line" fill="none" stroke="{DEFAULT_FILL}" stroke-width="1.5"/>'
            if len(ys) > 1 else "")
    return Markup(_open(width, height, title, "sparkline") + body + "</svg>")


def _line(x1: float, y1: float, x2: float, y2: float, css: str, attrs: str = "", body: str = "") -> str:
    head = f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" class="{css}" {attrs}'.rstrip()
    return f"{head}>{body}</line>" if body else f"{head}/>"


def _label(x: float, y: float, text: str, anchor: str) -> str:
    return (f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" font-size="10" class="label">'
            f"{_esc(text)}</text>")


def _css_token(name: object) -> str:
    """A class-name-safe token: letters, digits and '-' only."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch == "-") else "-" for ch in str(name).lower())[:30] or "x"
