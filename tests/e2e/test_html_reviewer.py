"""The reviewer's minute (issue 19), asserted from the page Chromium renders: a real-looking audit (105
findings across every section, a failed gate, known and suppressed findings, a metric regression, a
skipped check) shows the findings that fail the gate in the first screen at 1280×800 without scrolling,
each linking to an existing card; tile texts fit their tiles; low and info findings are folded; nothing
errs in the console. Full-page screenshots are kept as artifacts; the Markdown report leads with the
same list.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reports.html import HtmlRenderer
from reports.markdown import MarkdownRenderer
from tests.e2e.browser_helpers import launch_chromium, open_report
from tests.reports.realistic import GATING_RULES, finding_count, realistic_report
from tests.services import require_chromium

pytestmark = pytest.mark.timeout(180)

FIRST_SCREEN = {"width": 1280, "height": 800}
MAX_TILE_RATIO = 1.6   # no tile taller than its row's shortest by more than this


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright, chromium = launch_chromium(require_chromium())
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@pytest.fixture(scope="module")
def page_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = realistic_report()
    assert finding_count(report) >= 100
    path = tmp_path_factory.mktemp("reviewer") / "report.html"
    path.write_text(HtmlRenderer().render(report), encoding="utf-8")
    return path


def _artifacts(tmp_path: Path) -> Path:
    configured = os.environ.get("AUDIT_TEST_ARTIFACTS")
    path = Path(configured) / "html-reviewer" if configured else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_the_findings_that_fail_the_gate_are_in_the_first_screen_and_link_to_their_cards(browser, page_path,
                                                                                          tmp_path):
    context, page, load = open_report(browser, page_path)
    try:
        page.set_viewport_size(FIRST_SCREEN)
        page.evaluate("window.scrollTo(0, 0)")
        items = page.eval_on_selector_all("#why ol.gating > li", """els => els.map(li => {
            const r = li.getBoundingClientRect();
            const link = li.querySelector('a.rule');
            return {top: r.top, bottom: r.bottom, height: r.height, rule: link.textContent.trim(),
                    href: link.getAttribute('href'),
                    target: !!document.getElementById(link.getAttribute('href').slice(1))};
        })""")
        assert sorted({i["rule"] for i in items}) == sorted(GATING_RULES)
        for item in items:
            assert item["bottom"] <= FIRST_SCREEN["height"], f"{item['rule']} is below the first screen"
            assert item["height"] < 40, f"{item['rule']} takes more than one line"
            assert item["target"], f"{item['rule']} links to {item['href']}, which does not exist"
        # The first item is the widest high cause (LAT001, 3 places); its card says so.
        assert items[0]["rule"] == "LAT001"
        card = page.inner_text(items[0]["href"])
        assert "3 places" in card and "fails the gate" in card
        sentence = page.inner_text("#why .why-sentence")
        assert sentence.startswith("NOT READY: 13 findings (8 causes)")
        page.screenshot(path=str(_artifacts(tmp_path) / "first-screen.png"))
        page.screenshot(path=str(_artifacts(tmp_path) / "full-page.png"), full_page=True)
        assert load.console_of("error", "warning") == [] and load.page_errors == []
        assert load.foreign_requests() == []
    finally:
        context.close()


def test_tiles_can_be_read_at_a_glance(browser, page_path):
    context, page, _load = open_report(browser, page_path)
    try:
        page.set_viewport_size(FIRST_SCREEN)
        tiles = page.eval_on_selector_all("nav.tiles > .tile", """els => els.map(t => {
            const r = t.getBoundingClientRect();
            return {top: Math.round(r.top), height: r.height, headline: t.querySelector('.headline').innerText,
                    more: t.querySelector('details.tile-more') ? (t.querySelector('details.tile-more').open ? 'open' : 'closed')
                          : 'none'};
        })""")
        assert len(tiles) == 7
        rows: dict[int, list[float]] = {}
        for tile in tiles:
            rows.setdefault(tile["top"], []).append(tile["height"])
            assert len(tile["headline"]) <= 70, tile["headline"]  # one figure per check, at most two checks
        for heights in rows.values():
            assert max(heights) / min(heights) <= MAX_TILE_RATIO, heights
        headlines = [t["headline"] for t in tiles]
        assert "coverage 71.4 %" in headlines and "completeness 63.5 %" in headlines
        assert any(h.startswith("p95 184 ms of 100") for h in headlines)
        # The run-on summary is one click away, folded.
        assert [t["more"] for t in tiles].count("closed") >= 5 and "open" not in [t["more"] for t in tiles]
    finally:
        context.close()


def test_low_and_info_findings_are_folded_with_their_counts(browser, page_path):
    context, page, _load = open_report(browser, page_path)
    try:
        folded = page.eval_on_selector_all("#s-concerns details.folded", """els => els.map(d => ({
            open: d.open, summary: d.querySelector('summary').innerText,
            visibleCards: [...d.querySelectorAll('article.finding')].filter(a => a.checkVisibility()).length,
            cards: d.querySelectorAll('article.finding').length}))""")
        assert [f["summary"].split()[0:3] for f in folded] == [["LOW", "50", "low"], ["INFO", "8", "info"]]
        assert all(not f["open"] and f["visibleCards"] == 0 and f["cards"] > 0 for f in folded), folded
        # High and medium causes are cards in plain sight, one per root cause: 25 undocumented operations
        # are one card with 25 places.
        oas020 = page.locator("#s-concerns article.finding", has_text="Operation without description")
        assert oas020.count() == 1 and "25 places" in oas020.inner_text()
    finally:
        context.close()


def test_the_markdown_report_leads_with_the_same_list():
    md = MarkdownRenderer().render(realistic_report())
    why = md.split("### Why it is not ready", 1)[1].split("###", 1)[0]
    assert md.index("### Why it is not ready") < md.index("| Status | Check |")
    numbered = [line for line in why.splitlines() if line[:2].rstrip(".").isdigit()]
    assert [line.split("**")[1] for line in numbered] == ["LAT001", "OAS101", "SEC010", "DEP001", "LAT900", "SEC020",
                                                          "COV001", "DPL007"]
    assert "Not verified — migrations" in why
