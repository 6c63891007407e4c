"""report.html under the gate's policy (schema 1.1): the gate block near the verdict, known / new /
suppressed badges on every finding card, and nothing hidden."""

from __future__ import annotations

import re

from auditor.model import Finding, Severity
from reports.html import HtmlRenderer
from tests.reports.conftest import BASELINE_PATH, GATE_REASON, IGNORE_FILE, sample_report
from tests.reports.test_html import section, text_of


def render(report) -> str:
    return HtmlRenderer().render(report)


def gate_block(html: str) -> str:
    match = re.search(r'<aside class="gate[^"]*" id="gate".*?</aside>', html, re.S)
    assert match, "no gate block"
    return match.group(0)


def card(html: str, rule_id: str, where: str = "") -> str:
    """The first finding card of ``rule_id`` in ``where`` (a section's markup) or the whole page."""
    for match in re.finditer(r"<article class=\"finding.*?</article>", where or html, re.S):
        if f">{rule_id}</a>" in match.group(0):
            return match.group(0)
    raise AssertionError(f"no card for {rule_id}")


def test_gate_block_sits_between_the_verdict_and_the_tiles(gated):
    html = render(gated)
    assert html.index('<div class="verdict') < html.index('<aside class="gate') < html.index('<nav class="tiles"')
    block = gate_block(html)
    assert "has-warnings" in block.split(">", 1)[0]  # a regression and an expired entry
    assert len(re.findall(r"<h2>(.*?)</h2>", html, re.S)) == 9  # still nine report sections


def test_gate_block_lists_policy_baseline_regressions_and_ignore_file(gated):
    text = text_of(gate_block(render(gated)))
    assert "Fails on high or worse, with this policy:" in text
    assert "levels openapi warn" in text and "fail on, per check security low" in text
    assert f"Compared with {BASELINE_PATH} : 4 new (these gate), 5 known" in text and "1 fixed since" in text
    assert "1 finding fixed since the baseline health HLT099 Old health problem — GET /old" in text
    assert "Metric regressions (1)" in text
    assert "latency LAT900 p95_ms — 60 → 84 +10 % and +5 ms" in text
    assert f"{IGNORE_FILE} : 1 finding suppressed" in text
    assert "1 expired entry: no longer suppresses anything" in text
    assert "2 rule OAS020 examples come later 2020-01-31 — 1" in text  # entry, selector, reason, date, owner, matches
    assert "1 unused entry: matched no finding in this run" in text and "3 rule DPL001 legacy image never" in text


def test_verdict_banner_counts_known_and_points_at_the_gate_warnings(gated):
    banner = re.search(r'<div class="verdict.*?</header>', render(gated), re.S).group(0)
    text = text_of(banner)
    assert "4 known · 2 suppressed" in text  # HLT030 is known and suppressed: counted once, as suppressed
    assert "▲ 2 gate warnings: 1 regression, 1 expired ignore entry" in text
    assert 'href="#gate"' in banner


def test_no_gate_block_or_new_badges_without_policy_baseline_or_ignore_file(report):
    html = render(report)
    assert '<aside class="gate' not in html and "gate warning" not in html
    assert "badge new" not in html and "badge known" not in html
    report.gate["preset"] = "default"  # the default preset is no policy worth a block
    assert '<aside class="gate' not in render(report)
    report.gate["preset"] = "strict"
    text = text_of(gate_block(render(report)))
    assert "preset strict" in text and "Baseline" not in text and "Ignore file" not in text


def test_finding_cards_say_known_new_and_suppressed_with_reason_expiry_owner(gated):
    html = render(gated)
    concerns = section(html, "concerns")
    main, suppressed_list = concerns.split("Suppressed findings (2)")
    known = card(html, "HLT001", main)
    assert "known (in baseline)" in known and "badge new" not in known and "fails the gate" not in known
    new = card(html, "HLT020", main)
    assert '<span class="badge new">new</span>' in new and "fails the gate" in new
    # The check's own section lists both, linked to their cards, and says where the suppressed ones are.
    deployment = section(html, "deployment")
    assert re.search(r'href="#g\d+">HLT001</a>', deployment) and "end of section 8" in deployment
    items = re.findall(r"<li>(.*?)</li>", suppressed_list, re.S)
    suppressed = next(i for i in items if ">SEC200<" in i)
    assert '<span class="badge suppressed">suppressed</span>' in suppressed
    note = text_of(re.search(r'<p class="suppression">.*?</p>', suppressed, re.S).group(0))
    assert note == (f"Suppressed: {GATE_REASON} · expires 2099-12-31 · owner team-api · entry 1 of {IGNORE_FILE}")
    assert "<b>bold</b>" not in suppressed and "&lt;b&gt;bold&lt;/b&gt;" in suppressed
    in_source = next(i for i in items if ">HLT030<" in i)
    assert "Suppressed in the audited code" in text_of(in_source) and "known (in baseline)" in in_source


def test_concerns_keep_known_findings_marked_and_list_suppressed_ones_with_their_reason(gated):
    concerns = section(render(gated), "concerns")
    main, suppressed = concerns.split("Suppressed findings (2)")
    assert "known (in baseline)" in card(main, "OAS010") and "HLT001" in main
    assert "SEC200" not in main and "HLT030" not in main
    items = re.findall(r"<li>(.*?)</li>", suppressed, re.S)
    sec200 = text_of(next(i for i in items if ">SEC200<" in i))
    assert GATE_REASON in sec200 and "expires 2099-12-31" in sec200 and "owner team-api" in sec200
    assert "no expiry" not in sec200
    assert "Suppressed in the audited code" in text_of(next(i for i in items if ">HLT030<" in i))


def test_next_steps_count_known_places(gated):
    steps = section(render(gated), "next_steps")
    items = [text_of(i) for i in re.findall(r"<li>(.*?)</li>", steps, re.S)]
    assert any("OAS010" in i and "applies to 2 places (all known from the baseline)" in i for i in items)
    assert any("HLT001" in i and "applies to 1 place (it is known from the baseline)" in i for i in items)
    assert any("HLT020" in i and "known" not in i for i in items)


def test_hostile_and_malformed_gate_values_stay_inert():
    evil = '"><script>alert(1)</script><a href="javascript:x">'
    report = sample_report()
    report.checks[0].findings[0].suppressed = True
    report.checks[0].findings[0].suppression = {"entry": 1, "reason": evil, "expires": evil, "owner": evil,
                                                "file": evil}
    report.gate = {
        "fail_on": "high", "exit_code": 1, "preset": evil, "levels": {evil: evil}, "fail_on_by_check": {evil: "low"},
        "baseline": {"path": evil, "new": "many", "known": -3,
                     "fixed": [{"check": evil, "rule_id": evil, "fingerprint": "x", "title": evil, "location": evil},
                               "not a dict"]},
        "regressions": [{"check": evil, "metric": evil, "endpoint": evil, "baseline": evil, "current": [1],
                         "limit": evil}, 7],
        "suppressions": {"file": evil, "applied": None,
                         "expired": [{"entry": "one", "rule": evil, "reason": evil, "expires": evil, "matches": evil}],
                         "unused": [{"entry": 2, "path": evil, "reason": evil, "owner": evil}, None]},
    }
    html = render(report)
    block = gate_block(html)
    assert "<script" not in html and 'href="javascript' not in html
    assert block.count("&lt;script&gt;") >= 8
    text = text_of(block)
    assert ": 0 new (these gate), 0 known" in text  # non-counts read as 0, never raise
    assert "Metric regressions (1)" in text and "expired entry" in text and "1 unused entry" in text


def test_a_warn_level_check_and_a_known_finding_never_fail_the_gate(gated):
    html = render(gated)
    openapi = section(html, "openapi")  # level warn: its check is warn, nothing fails
    assert "fails the gate" not in openapi
    gated.checks[5].findings.append(Finding(rule_id="SEC300", severity=Severity.LOW, title="low but gated",
                                            message="m"))  # security gates on low
    assert "fails the gate" in card(render(gated), "SEC300", section(render(gated), "concerns"))
