"""The charts and the self-contained HTML report of stored runs and scenarios."""

from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from typer.testing import CliRunner

import evpath.api
from evpath.cli.app import app
from evpath.errors import InputError
from evpath.io.store import ResultsStore
from evpath.report import charts
from evpath.report.html import report_html
from evpath.report.runs import stored_results

runner = CliRunner()


class _Page(HTMLParser):
    """The scripts, links and chart titles of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.inline_scripts = 0
        self.titles: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("src", "href"):
            if values.get(key):
                self.references.append(str(values[key]))
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1
        self._in_title = tag == "h2"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.titles.append(data)
            self._in_title = False


def _traced_values(figure) -> list[float]:
    values = []
    for trace in figure.data:
        values += [float(v) for v in np.asarray(trace.y, dtype=float)]
    return values


def test_every_chart_has_data_units_and_sources(stored_japan):
    drawn = charts.figures({"japan-2050": stored_japan.dataset})
    assert [title for title, _, _ in drawn] == [chart.title for chart in charts.CHARTS]
    for title, figure, caption in drawn:
        values = _traced_values(figure)
        assert values, title
        assert np.isfinite(values).all(), title
        assert any(v != 0 for v in values), title
        y_titles = [axis.title.text for axis in figure.select_yaxes() if axis.title.text]
        assert y_titles, title
        assert all(re.search(r"\[.+\]|/yr|GWh", t) for t in y_titles), (title, y_titles)
        assert stored_japan.run_id in caption
        assert "Data —" in caption
    captions = {title: caption for title, _, caption in drawn}
    assert "BatPaC" in captions["Batteries and equipment investment"]
    assert "Our World in Data" in captions["Greenhouse gases per car against the target"]


def test_the_target_chart_draws_the_baseline_and_the_90_percent_target(stored_japan):
    figure = charts.emissions_per_car({"run": stored_japan.dataset})
    base = float(stored_japan.dataset["wtw_per_new_car"].sel(region="JPN", year=2010))
    levels = {trace.name: trace.y for trace in figure.data}
    assert levels["run: 2010 baseline"] == pytest.approx((base, base))
    assert levels["run: −90% target"] == pytest.approx((0.1 * base, 0.1 * base))


def test_two_runs_are_drawn_side_by_side(stored_japan):
    one = charts.sales_mix({"a": stored_japan.dataset})
    two = charts.sales_mix({"a": stored_japan.dataset, "b": stored_japan.dataset})
    assert len(two.data) == 2 * len(one.data)
    assert [a.text for a in two.layout.annotations] == ["a", "b"]
    lines = charts.adoption({"a": stored_japan.dataset, "b": stored_japan.dataset})
    assert len({trace.line.color for trace in lines.data}) == 2


def test_an_ensemble_dimension_is_refused_not_added_up(stored_japan):
    ensemble = stored_japan.dataset.expand_dims(draw=2)
    with pytest.raises(InputError, match="draw"):
        charts.sales_mix({"ensemble": ensemble})


def test_a_chart_the_runs_cannot_draw_is_left_out_and_named(stored_japan):
    without = stored_japan.dataset.drop_vars("fast_chargers_by_standard")
    titles = [title for title, _, _ in charts.figures({"no-charging": without})]
    assert "Public fast chargers by connector standard" not in titles
    page = report_html({"no-charging": without})
    assert (
        "Left out: Public fast chargers by connector standard (not computed by no-charging)" in page
    )


def test_the_report_is_one_offline_page_with_every_chart(stored_japan, monkeypatch, tmp_path):
    ran = []

    def run(scenario, progress=None):
        ran.append(scenario)
        results = stored_results(ResultsStore(stored_japan.store), stored_japan.run_id)
        return dataclasses.replace(results, manifest={**results.manifest, "run_id": "fresh"})

    monkeypatch.setattr(evpath.api, "run", run)
    out = tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            *("report", stored_japan.run_id[:18], "japan-faster.yaml"),
            *("--out", str(out), "--store", str(stored_japan.store)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert ran == ["japan-faster.yaml"]
    page = out.read_text(encoding="utf-8")
    parsed = _Page()
    parsed.feed(page)
    assert parsed.references == []
    # plotly.js holds map-tile and logo addresses in its code; the page itself none
    outside_scripts = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    assert "http" not in outside_scripts
    assert page.count("Plotly.newPlot(") == len(charts.CHARTS)
    assert parsed.titles == [chart.title for chart in charts.CHARTS]
    head = page[: page.index("</head>")]
    assert "plotly.js" in head
    assert page.count("plotly.js v") == 1
    # two runs of one scenario: each labelled by its run id, one column each
    figures = re.findall(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", page, re.S)
    sales = json.loads(figures[0])
    assert {trace["xaxis"] for trace in sales} == {"x", "x2"}
    assert all(trace["y"] for trace in sales)
