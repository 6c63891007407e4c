import xml.etree.ElementTree as ET

from markupsafe import Markup

from reports.svg import bar_chart, line_chart, sparkline, stacked_bar_chart

NS = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert(1)</script>"&\x1b'


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    root = ET.fromstring(str(svg))
    assert root.tag == f"{NS}svg" and root.get("viewBox").startswith("0 0 ")
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{NS}text")] + [t.text or "" for t in root.iter(f"{NS}title")]


def test_bar_chart_escapes_labels_and_draws_the_budget():
    svg = bar_chart([EVIL, "GET /items", "GET /search"], [84, 120.5, None], budget=100, unit="ms", title=EVIL)
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "\x1b" not in svg
    root = parse(svg)
    assert any("<script>alert(1)</script>" in t for t in texts(root))  # escaped, so parsed back as text
    rects = root.findall(f".//{NS}rect")
    assert [r.get("class") for r in rects] == ["bar", "bar over", "bar"]
    assert root.find(f".//{NS}line").get("class") == "budget"
    assert "budget 100 ms" in texts(root) and "120.5 ms" in texts(root)


def test_bar_chart_scale_and_edge_cases():
    root = parse(bar_chart(["a", "b"], [50, 100], max_value=100, unit="%"))
    widths = [float(r.get("width")) for r in root.findall(f".//{NS}rect")]
    assert widths[1] == 2 * widths[0] and "100%" in texts(root)
    parse(bar_chart([], []))
    parse(bar_chart(["nan", "neg", "text"], [float("nan"), -5, "x"]))


def test_stacked_bar_chart():
    svg = stacked_bar_chart(["Security", EVIL], [("high", [2, 1]), ("low", [1, 0])],
                            colours={"high": "#f00", "low": "#00f"}, title="findings")
    root = parse(svg)
    classes = [r.get("class") for r in root.findall(f".//{NS}rect")]
    assert classes.count("seg-high") == 3 and classes.count("seg-low") == 2  # legend + segments
    assert "&lt;script&gt;" in svg and "<script>" not in svg


def test_line_chart_and_sparkline():
    root = parse(line_chart([(0, 10), (5, 40), (10, 25)], unit="ms", x_unit="s", budget=30, title=EVIL))
    points = root.find(f"{NS}polyline").get("points").split()
    assert len(points) == 3
    assert "10 s" in texts(root) and "0 s" in texts(root)
    parse(line_chart([]))
    spark = parse(sparkline([1, 3, 2, 5]))
    assert len(spark.find(f"{NS}polyline").get("points").split()) == 4
    parse(sparkline([]))


def test_output_is_deterministic():
    args = (["a", "b"], [1.23456, 7.5])
    assert bar_chart(*args, budget=5) == bar_chart(*args, budget=5)
    assert line_chart([(0, 1), (1, 2)]) == line_chart([(0, 1), (1, 2)])
