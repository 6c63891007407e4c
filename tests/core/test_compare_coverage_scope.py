"""audit compare compares coverage like with like: the application's figure (tests excluded, issue 14) is
never read against a figure that counted the tests, which showed a -3.2-point "regression" when only the
measured file set had changed."""

from auditor.compare import run_compare
from auditor.registry import load_renderers
from tests.core.gating_helpers import check, report, save


def compare_files(tmp_path, old, new):
    return run_compare(save(old, tmp_path / "old" / "report.json"), save(new, tmp_path / "new" / "report.json"),
                       renderers=load_renderers())


def test_an_older_whole_repo_figure_is_compared_with_the_figure_that_counts_tests(tmp_path):
    old = report(check("coverage", percent_covered=99.1))  # before issue 14: no scope, tests counted
    new = report(check("coverage", percent_covered=95.9, percent_covered_with_tests=99.1, scope="application"))
    code, lines, _ = compare_files(tmp_path, old, new)
    assert code == 0, lines
    assert not any("test coverage" in line and "regress" in line.lower() for line in lines)
    # The same new report against an old one that really measured more: a regression, of the like figure.
    code, lines, _ = compare_files(tmp_path, report(check("coverage", percent_covered=99.8)), new)
    assert code == 1 and any("from 99.8 % to 99.1 %" in line for line in lines), lines


def test_same_scope_compares_the_headline_figure_and_different_scopes_nothing(tmp_path):
    old = report(check("coverage", percent_covered=90.0, percent_covered_with_tests=95.0, scope="application"))
    new = report(check("coverage", percent_covered=85.0, percent_covered_with_tests=94.0, scope="application"))
    code, lines, _ = compare_files(tmp_path, old, new)
    assert code == 1 and any("from 90 % to 85 %" in line for line in lines), lines
    config = report(check("coverage", percent_covered=70.0, scope="repo-config"))
    code, lines, _ = compare_files(tmp_path, old, config)
    assert code == 0 and not any("test coverage" in line for line in lines), lines
