import re
from html import unescape

import pytest
from jinja2 import ChoiceLoader, DictLoader

from auditor.model import OUTLINE, CheckResult, Report, Section, Status, Verdict
from reports.common import CATALOGUE_BASE
from reports.html import TABLE_VISIBLE_ROWS, HtmlRenderer
from tests.reports.conftest import XSS_EVIDENCE, XSS_TITLE, sample_report


@pytest.fixture
def html(report) -> str:
    return HtmlRenderer().render(report)


def text_of(markup: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_untrusted_text_is_escaped(html):
    assert XSS_TITLE not in html and XSS_EVIDENCE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html


def test_hostile_text_everywhere_stays_inert():
    evil = '"><script>alert(1)</script><a href="javascript:x">'
    report = sample_report()
    report.target = {"url": evil, "spec": evil, "repo": evil, "commit": evil}
    report.tool = {"name": evil, "version": evil}
    report.service = {evil: evil}
    check = report.checks[0]
    check.title = check.summary = evil
    check.metrics = {evil: evil, "method": evil, "rows": [{evil: evil}], "nested": {evil: evil}}
    check.findings[0].location = {"endpoint": evil, "file": evil, "line": evil, evil: evil}
    check.findings[0].remediation = evil
    html = HtmlRenderer().render(report)
    assert "<script" not in html and "<a href=\"javascript" not in html
    assert "&lt;script&gt;" in html and "&#34;&gt;" in html
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.startswith(("#", CATALOGUE_BASE)), href


def test_nine_sections_in_outline_order(html):
    positions = [html.find(f"{heading}") for _, heading in OUTLINE]
    headings = re.findall(r"<h2>(.*?)</h2>", html, re.S)
    assert len(headings) == 9
    for (_, heading), h2 in zip(OUTLINE, headings, strict=True):
        assert heading in h2
    assert all(p >= 0 for p in positions)


@pytest.mark.parametrize("verdict, code, word", [
    (Verdict.PASS, 0, "READY"), (Verdict.FAIL, 1, "NOT READY"), (Verdict.ERROR, 2, "INCOMPLETE")])
def test_verdict_banner(verdict, code, word):
    html = HtmlRenderer().render(sample_report(verdict, code))
    banner = re.search(r'<div class="verdict verdict-(\w+)".*?</div>\s*</header>', html, re.S)
    assert banner and banner.group(1) == str(verdict)
    words = text_of(banner.group(0))
    assert f" {word}" in words and f"CI exit code {code}" in words and "fails on high or worse" in words
    for other in {"READY", "NOT READY", "INCOMPLETE"} - {word}:
        assert f"! {other}" not in words and f"✖ {other}" not in words and f"✔ {other} " not in words


def test_self_contained_without_script_or_external_requests(html):
    lowered = html.lower()
    assert "<script" not in lowered and "<link" not in lowered and "@import" not in lowered
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', lowered)
    assert "url(" not in lowered
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.startswith(("#", CATALOGUE_BASE)), href
    assert "<style>" in html and "<svg" in html


def tiles(html: str) -> list[tuple[str, str, str]]:
    """(status, section key, tile markup) of each summary tile, in order."""
    nav = re.search(r'<nav class="tiles"[^>]*>(.*?)</nav>', html, re.S)
    assert nav
    return [(m.group(1), m.group(2), m.group(3)) for part in nav.group(1).split('<div class="tile st-')[1:]
            if (m := re.match(r'(\w+)">\s*<a class="name" href="#s-(\w+)">(.*)', part, re.S))]


def test_summary_tiles_for_the_seven_sections(html):
    found = tiles(html)
    assert [key for _, key, _ in found] == [str(k) for k, _ in OUTLINE[:7]]
    by_key = {key: (status, text_of(body)) for status, key, body in found}
    # section 1 has no check of its own: it shows the openapi check's inventory (test_endpoints_section.py)
    assert by_key["endpoints"][0] == "pass" and "30 operations documented (no baseline)" in by_key["endpoints"][1]
    assert by_key["performance"][0] == "pass" and "✔ pass" in by_key["performance"][1]
    # One figure per check at a glance, the run-on summary only on expansion.
    headline = re.search(r'<div class="headline">(.*?)</div>', dict((k, b) for _, k, b in found)["performance"], re.S)
    assert headline and text_of(headline.group(1)) == "p95 84 ms"
    assert "p95 84 ms at 40 req/s" in by_key["performance"][1]  # the summary, one click away
    assert by_key["deployment"][0] == "fail" and "✖ fail" in by_key["deployment"][1]
    assert by_key["coverage"][0] == "error" and "could not finish" in by_key["coverage"][1]
    assert "pytest crashed" in by_key["coverage"][1]  # the summary, folded in the tile
    assert "skipped" in by_key["migrations"][1]
    assert "1 critical, 1 high" in by_key["deployment"][1]  # unsuppressed findings by severity


def section(html: str, key: str) -> str:
    match = re.search(rf'<section id="s-{key}">(.*?)</section>', html, re.S)
    assert match, key
    return match.group(1)


def test_sections_without_checks_say_so(html):
    report = sample_report()
    report.checks = [c for c in report.checks if c.id != "openapi"]  # nothing left to feed section 1
    assert "Not audited: no check" in section(HtmlRenderer().render(report), "endpoints")
    migrations = text_of(section(html, "migrations"))
    assert "skipped" in migrations and "no repository (give --repo PATH)" in migrations


def test_check_metrics_render_generically(html):
    perf = section(html, "performance")
    text = text_of(perf)
    assert "How it was measured: Open-model load at 40 req/s" in text
    assert "<dt>p95_ms</dt><dd>84</dd>" in perf and "<dt>p99_ms</dt><dd>130.2</dd>" in perf
    assert "<dt>method</dt>" not in perf
    deployment = section(html, "deployment")
    assert "<dt>healthy</dt><dd>yes</dd>" in deployment
    assert "<dt>paths</dt><dd>/health, /ready, /metrics</dd>" in deployment
    assert '<th scope="row">server</th><td>uvicorn</td>' in deployment
    error = text_of(section(html, "coverage"))
    assert "could not finish" in error and "ModuleNotFoundError" in error


def test_long_table_shows_twenty_rows_then_show_all(html):
    openapi = section(html, "openapi")
    assert "<summary>show all 30 rows (10 more)</summary>" in openapi
    visible, hidden = openapi.split("<summary>show all", 1)
    assert visible.count("get_item_") == TABLE_VISIBLE_ROWS and hidden.count("get_item_") == 30 - TABLE_VISIBLE_ROWS
    header = re.search(r"<thead><tr>(.*?)</tr></thead>", openapi).group(1)
    assert re.findall(r"<th>(\w+)</th>", header) == ["method", "path", "operation_id", "secured", "deprecated"]


def test_findings_are_listed_in_their_check_and_shown_once_as_cards_in_section_8(html):
    security = section(html, "security")
    assert "<article" not in security  # one line per cause, linked to its card
    item = re.search(r'<a class="rule mono" href="#(g\d+)">SEC101</a>', security)
    assert item
    concerns = section(html, "concerns")
    card = re.search(rf'<article class="finding sev-high" id="{item.group(1)}">(.*?)</article>', concerns, re.S)
    assert card, "the link lands on SEC101's card"
    card = card.group(1)
    assert f'href="{CATALOGUE_BASE}security.md#sec101"' in card
    assert "app/main.py:42" in card and "How to fix:" in card and "fails the gate" in card
    low = re.search(r'<article class="finding sev-low" id="g\d+">((?:(?!</article>).)*SEC200.*?)</article>', concerns, re.S)
    assert low and '<details class="evidence"><summary>Evidence (5000 characters, first 4000 shown)' in low.group(1)
    assert "[truncated, 1000 more characters]" in low.group(1) and "x" * 5000 not in concerns
    deployment = section(html, "deployment")
    assert "1 suppressed" in deployment and "end of section 8" in deployment


def test_concerns_group_by_root_cause_worst_first_and_fold_low_and_info(html):
    concerns = section(html, "concerns")
    main, suppressed = concerns.split("Suppressed findings (1)")
    assert "HLT030" not in main and "HLT030" in suppressed and "suppressed" in suppressed
    ranks = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
    card_sevs = re.findall(r'<article class="finding sev-(\w+)', main)
    # 8 findings, the two OAS010 (one rule, one remedy, two operations) are one card with both places
    assert len(card_sevs) == 7 and [ranks[s] for s in card_sevs] == sorted((ranks[s] for s in card_sevs), reverse=True)
    oas010 = re.search(r'<article[^>]*>(?:(?!</article>).)*OAS010.*?</article>', main, re.S).group(0)
    assert "2 places" in text_of(oas010) and "GET /items/{id}" in oas010 and "GET /items<" in oas010
    folded = re.findall(r'<details class="folded sev-group">(.*?)</details>\s*(?=<details class="folded|<h3|\Z)', main, re.S)
    assert [re.search(r'class="sev sev-(\w+)"', f).group(1) for f in folded] == ["low", "info"]
    assert "<svg" in main


def test_next_steps_dedupe_by_rule_and_count_places(html):
    steps = section(html, "next_steps")
    items = re.findall(r"<li>(.*?)</li>", steps, re.S)
    rules = [re.search(r'class="rule mono"[^>]*>(\w+)<', item).group(1) for item in items
             if 'class="rule mono"' in item]
    assert rules == ["HLT001", "HLT020", "SEC101", "OAS010", "OAS020", "SEC200", "LAT900"]
    oas = next(text_of(i) for i in items if "OAS010" in i)
    assert "applies to 2 places" in oas and "Describe every operation." in oas
    assert "could not finish" in steps and "coverage" in steps  # errored check: make the audit complete


def test_pass_report_without_findings():
    check = CheckResult(id="health", title="Health", section=Section.DEPLOYMENT, status=Status.PASS,
                        summary="all probes answered")
    report = Report(tool={"name": "backend-auditor", "version": "1"}, target={"url": None, "spec": None, "repo": "r"},
                    started_at="2025-01-01T00:00:00Z", duration_s=1, verdict=Verdict.PASS, checks=[check],
                    gate={"fail_on": "never", "exit_code": 0})
    html = HtmlRenderer().render(report)
    assert "READY" in html and "never fails on findings" in html
    assert "Nothing to fix" in section(html, "next_steps")
    assert "No unsuppressed findings" in section(html, "concerns")


def test_custom_check_template_hook(report):
    renderer = HtmlRenderer()
    renderer.env.loader = ChoiceLoader([
        DictLoader({"checks/latency.html.j2":
                    '<div class="custom">{{ check.id }} p95={{ metrics.p95_ms }} '
                    '{{ svg.bar_chart(["GET /a"], [metrics.p95_ms], budget=100, unit="ms") }}</div>'}),
        renderer.env.loader])
    html = renderer.render(report)
    perf = section(html, "performance")
    assert '<div class="custom">latency p95=84.0 <svg' in perf
    assert "budget 100 ms" in perf
    assert '<div class="custom">' not in section(html, "security")


def test_rendering_is_deterministic(report):
    assert HtmlRenderer().render(report) == HtmlRenderer().render(report)


def test_metrics_a_check_template_draws_are_not_repeated_in_the_generic_block():
    checklist = [{"item": "Dockerfile-present-marker", "status": "pass", "detail": "Dockerfile", "rules": []}]
    check = CheckResult(id="deployment", title="Deployment checklist", section=Section.DEPLOYMENT,
                        status=Status.PASS, summary="1 item", metrics={"checklist": checklist, "dockerfiles": 1})
    report = Report(tool={"name": "backend-auditor", "version": "0"}, target={"url": None, "spec": None, "repo": "."},
                    started_at="2026-01-01T00:00:00+00:00", duration_s=1.0, verdict=Verdict.PASS, checks=[check],
                    gate={"fail_on": "high", "exit_code": 0})
    page = HtmlRenderer().render(report)
    assert page.count("Dockerfile-present-marker") == 1     # the template's table only
    assert "dockerfiles" in page                           # undeclared keys still in the generic block
