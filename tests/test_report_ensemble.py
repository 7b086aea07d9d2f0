"""The report of ensemble runs: median lines over percentile bands, stacked medians, the
probability that each target is met and the Sobol' chart, stored or computed in Python,
alone or beside single runs (which are drawn as before)."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import yaml
from typer.testing import CliRunner

import evpath
from evpath.cli.app import app
from evpath.errors import InputError
from evpath.io.export import tidy
from evpath.io.store import ResultsStore
from evpath.report import charts
from evpath.report.runs import ensemble_dataset, ensemble_tables, manifest_of, stamp

if TYPE_CHECKING:
    from pathlib import Path

    import xarray as xr

    from evpath.analysis.ensemble import Ensemble

# one worker runs the ensemble once; together the tests take long
pytestmark = [pytest.mark.xdist_group("report-ensemble"), pytest.mark.long]

runner = CliRunner()
UNCERTAIN = "report-ensemble"
UNCERTAINTY = {
    "note": "Two ranges of japan-2050-uncertain: the fewest members that still rank inputs.",
    "parameters": {
        "emissions.energy.improvement.HEV.2025": {"distribution": "uniform", "low": 0.0, "high": 0.014},
        "batteries.packs.kwh.registered.BEV.2035": {
            "distribution": "triangular", "low": 55, "mode": 70, "high": 90
        },
    },
}  # fmt: skip
LINE_CHARTS = ("emissions_per_car", "batteries", "metals", "adoption")
STACKED_CHARTS = ("sales_mix", "fleet_mix", "chargers")
SINGLE = "median-as-a-single-run"


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory: pytest.TempPathFactory) -> Ensemble:
    """8 members of japan-2050 with two uncertain inputs on Saltelli's design (the fewest
    for two inputs), with their Sobol' indices."""
    path = tmp_path_factory.mktemp("scenario") / "uncertain.yaml"
    document = {"name": UNCERTAIN, "extends": "japan-2050", "uncertainty": UNCERTAINTY}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return evpath.ensemble(path, n=8, seed=1, sensitivity=True)


@pytest.fixture(scope="module")
def quantiles(ensemble: Ensemble) -> xr.Dataset:
    return ensemble.quantiles()


@pytest.fixture(scope="module")
def in_python(ensemble: Ensemble) -> xr.Dataset:
    """The ensemble as the report draws it, without the store."""
    return ensemble_dataset(ensemble)


@pytest.fixture(scope="module")
def single(quantiles: xr.Dataset, ensemble: Ensemble) -> xr.Dataset:
    """The ensemble's median as a single run (no quantile dim)."""
    median = quantiles.sel(quantile=0.5, drop=True)
    return stamp(median, {**ensemble.manifest, "run_id": SINGLE})


@pytest.fixture(scope="module")
def stored(ensemble: Ensemble, quantiles: xr.Dataset, single: xr.Dataset, tmp_path_factory) -> Path:
    """A results store holding the ensemble as one run, as ``write_ensemble`` stores it
    (without its files, which the report does not read), and its median as a single run."""
    store = tmp_path_factory.mktemp("store") / "evpath.duckdb"
    tables = {"ensemble_probability": ensemble.probability(), "ensemble_sobol": ensemble.sobol()}
    ResultsStore(store).write({**ensemble.manifest, "kind": "ensemble"}, tidy(quantiles), tables)
    ResultsStore(store).write(manifest_of(single), tidy(single))
    return store


def _values(array: Any) -> np.ndarray:
    """Numbers of a plotly figure's JSON: a list, or a base64 typed array."""
    if isinstance(array, dict):
        flat = np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
        return flat.reshape(array["shape"]) if "shape" in array else flat
    return np.asarray(array, dtype=float)


class _Page(HTMLParser):
    """The section titles (h2), table rows and plotly figures (as JSON) of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, dict[str, Any]] = {}
        self.rows: list[list[str]] = []
        self._title = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in = tag
        if tag == "tr":
            self.rows.append([])

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "h2":
            self._title = data
        elif self._in in ("td", "th"):
            self.rows[-1].append(data)
        elif self._in == "script" and "Plotly.newPlot(" in data:
            decoder = json.JSONDecoder()
            rest = data[data.index("Plotly.newPlot(") :]
            rest = rest[rest.index(",") + 1 :].lstrip()  # past the div id
            traces, end = decoder.raw_decode(rest)
            layout, _ = decoder.raw_decode(rest[end:].lstrip(" ,\n"))
            self.figures[self._title] = {"data": traces, "layout": layout}


def _page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def _json(traces: Any) -> list[dict[str, Any]]:
    """Traces as the page embeds them."""
    return json.loads(go.Figure(data=list(traces)).to_json())["data"]


def _by_name(traces: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {trace["name"]: trace for trace in traces}


def _chart(key: str) -> charts.Chart:
    return next(chart for chart in charts.CHARTS if chart.key == key)


def test_a_stored_ensemble_is_reported_beside_a_single_run(ensemble, quantiles, stored, tmp_path):
    out = tmp_path / "report.html"
    arguments = ["report", ensemble.run_id[:30], SINGLE, "--store", str(stored), "--out", str(out)]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    page = _page(out.read_text(encoding="utf-8"))
    label = f"{UNCERTAIN} ({ensemble.run_id})"  # two runs of one scenario: named by run id

    per_car = _by_name(page.figures["Greenhouse gases per car against the target"]["data"])
    wtw = quantiles["wtw_per_new_car"].sel(region="JPN")
    for what, level in (("median", 0.5), ("5th percentile", 0.05), ("25th percentile", 0.25),
                        ("75th percentile", 0.75), ("95th percentile", 0.95)):  # fmt: skip
        trace = per_car[f"{label} ({what})"]
        assert _values(trace["y"]) == pytest.approx(wtw.sel(quantile=level).values), what
        assert _values(trace["x"]).tolist() == wtw["year"].values.tolist()
        assert trace.get("fill") == ("tonexty" if level > 0.5 else None)
    base = float(wtw.sel(quantile=0.5, year=2010))
    assert per_car[f"{UNCERTAIN} ({SINGLE})"]["y"] == per_car[f"{label} (median)"]["y"]
    assert _values(per_car[f"{label}: −90% target"]["y"]) == pytest.approx([0.1 * base] * 2)

    expected = [
        [label, row.meaning, row.region, f"{100 * row.probability:.1f}",
         f"{row.members_met} of {row.members}"]
        for row in ensemble.probability().itertuples()
    ]  # fmt: skip
    assert page.rows[1:] == expected

    assert f"Sobol' indices, {UNCERTAIN} ({SINGLE})" not in "".join(page.figures)
    sobol = page.figures[f"What moves each answer: Sobol' indices, {label}"]["data"]
    indices = ensemble.sobol()
    facets = indices.groupby(["output", "region"], sort=True)
    assert len(sobol) == 2 * len(facets)
    for position, (_, rows) in enumerate(facets):
        for trace, index in zip(sobol[2 * position : 2 * position + 2], ("S1", "ST"), strict=True):
            assert trace["y"] == list(rows["input"])  # one bar per input, ranked by ST
            assert _values(trace["x"]) == pytest.approx(rows[index].to_numpy())
            assert _values(trace["error_x"]["array"]) == pytest.approx(rows[f"{index}_conf"])


def test_every_line_chart_draws_the_median_over_both_bands(in_python, quantiles):
    datasets = {"uncertain": in_python}
    for key in LINE_CHARTS:
        figure = _chart(key).draw(datasets)
        medians = [trace for trace in figure.data if trace.name.endswith("(median)")]
        assert medians, key
        for median in medians:
            group = [
                trace
                for trace in figure.data
                if (trace.legendgroup, trace.xaxis) == (median.legendgroup, median.xaxis)
            ]
            assert [trace.fill for trace in group] == [None, "tonexty", None, "tonexty", None]
            assert [trace.showlegend for trace in group[:4]] == [False] * 4
    traces = _json(_chart("batteries").draw(datasets).data)
    battery = _by_name([trace for trace in traces if trace["yaxis"] == "y"])  # the upper chart
    total = quantiles["battery_demand"].sum(["segment", "powertrain"]).sel(region="JPN")
    for what, level in (("median", 0.5), ("5th percentile", 0.05), ("95th percentile", 0.95)):
        drawn = _values(battery[f"uncertain ({what})"]["y"])
        assert drawn == pytest.approx(total.sel(quantile=level).values), what
    captions = {title: caption for title, _, caption in charts.figures(datasets)}
    assert "ensemble: median of 8 members, each area" in captions["New car sales by powertrain"]
    assert "5–95% (lighter) bands" in captions["Adoption: the electrified share"]


def _old_line(series: xr.DataArray, **style: Any) -> go.Scatter:
    """A single run's line as the report drew it before it drew ensembles."""
    years = [int(y) for y in series["year"].values]
    return go.Scatter(x=years, y=series.values, mode="lines", **style)


def test_single_runs_are_drawn_as_before_alone_and_beside_an_ensemble(single, in_python):
    colour = charts.RUN_COLOURS[0]
    shares = single[["electrified_sales_share", "electrified_stock_share"]].sel(region="JPN")
    expected = [
        _old_line(shares["electrified_sales_share"] * 100.0, name="run: new sales",
                  legendgroup="run: new sales", showlegend=True,
                  line={"color": colour, "dash": None}),
        _old_line(shares["electrified_stock_share"] * 100.0, name="run: on the road",
                  legendgroup="run: on the road", showlegend=True,
                  line={"color": colour, "dash": "dash"}),
    ]  # fmt: skip
    assert _json(charts.adoption({"run": single}).data) == _json(expected)
    per_car = charts.emissions_per_car({"run": single})
    line = _old_line(
        single["wtw_per_new_car"].sel(region="JPN"), name="run", line={"color": colour}
    )
    assert _json(per_car.data[:1]) == _json([line])
    assert [t.name for t in per_car.data] == ["run", "run: 2010 baseline", "run: −90% target"]

    both = {"run": single, "uncertain": in_python}
    alone = {title: figure for title, figure, _ in charts.figures({"run": single})}
    beside = {title: figure for title, figure, _ in charts.figures(both)}
    assert list(beside) == list(alone)
    stacked = {_chart(key).title for key in STACKED_CHARTS}
    for title, figure in alone.items():
        drawn = _json(figure.data)
        ours = [t for t in _json(beside[title].data) if not t["name"].startswith("uncertain")]
        if title in stacked:  # one column each, the run's first
            ours, medians = ours[: len(drawn)], ours[len(drawn) :]
            for run, median in zip(drawn, medians, strict=True):  # the run is the median
                assert _values(median["y"]) == pytest.approx(_values(run["y"])), title
        assert ours == drawn, title


def test_the_sobol_chart_ranks_every_input_by_total_index(ensemble):
    table = ensemble.sobol()
    figure = charts.sobol_chart(table)
    facets = table.groupby(["output", "region"], sort=True)
    assert [a.text for a in figure.layout.annotations] == [f"{o} ({r})" for (o, r), _ in facets]
    for position, (_, rows) in enumerate(facets):
        ranked = rows.sort_values("ST", ascending=False, kind="stable")
        assert list(ranked["ST"]) == sorted(ranked["ST"], reverse=True)
        for trace, index in zip(
            figure.data[2 * position : 2 * position + 2], ("S1", "ST"), strict=True
        ):
            assert list(trace.y) == list(ranked["input"])
            assert list(trace.x) == pytest.approx(list(ranked[index]))
            assert list(trace.error_x.array) == pytest.approx(list(ranked[f"{index}_conf"]))
            assert trace.orientation == "h"
    x_titles = {axis.title.text for axis in figure.select_xaxes()}
    assert x_titles == {"Sobol' index [share of the output's variance]"}
    with pytest.raises(InputError, match="--sobol"):
        charts.sobol_chart(table.iloc[:0])


def test_an_ensembles_tables_travel_with_its_dataset(ensemble, in_python):
    tables = ensemble_tables(in_python)
    assert tables["ensemble_probability"].equals(ensemble.probability())
    assert tables["ensemble_sobol"].equals(ensemble.sobol().reset_index(drop=True))
    assert ensemble_tables(in_python.drop_attrs()) == {}


def test_every_member_or_other_percentiles_are_refused(ensemble):
    members = stamp(ensemble.draws.drop_vars("target_met"), ensemble.manifest)
    with pytest.raises(InputError, match=r"dims \['draw'\] are not drawn"):
        charts.batteries({"members": members})
    deciles = stamp(ensemble.quantiles((0.1, 0.5, 0.9)), ensemble.manifest)
    with pytest.raises(InputError, match=r"missing \[0.05, 0.25, 0.75, 0.95\]"):
        charts.adoption({"deciles": deciles})


def test_an_ensemble_run_exports_one_iamc_scenario_per_percentile_and_shows_its_median(
    stored: Path, ensemble: Ensemble, quantiles: xr.Dataset, tmp_path: Path
):
    from evpath.cli.app import app

    runner = CliRunner()
    out = tmp_path / "ensemble.iamc.csv"
    exported = runner.invoke(
        app,
        ["export", ensemble.run_id, "--format", "iamc", "--out", str(out), "--store", str(stored)],
    )
    assert exported.exit_code == 0, exported.output
    table = pd.read_csv(out)
    name = ensemble.scenario.name
    assert sorted(table["scenario"].unique()) == [
        f"{name} p{p}" for p in ("05", "25", "50", "75", "95")
    ]
    sales = table[(table["variable"] == "Sales|Transportation|Light-Duty Vehicle")]
    median = sales[sales["scenario"] == f"{name} p50"]["2030"].item()
    expected = float(quantiles["sales"].sel(quantile=0.5, year=2030).sum()) / 1e6
    assert median == pytest.approx(expected, rel=1e-6)

    shown = runner.invoke(
        app, ["show", ensemble.run_id, "--store", str(stored)], terminal_width=200
    )
    assert shown.exit_code == 0, shown.output
    assert "an ensemble of" in shown.output
    assert "Probability that each target is met" in shown.output
    assert "New sales mix" in shown.output


def test_procuring_on_an_ensemble_run_plans_for_its_median(stored: Path, ensemble: Ensemble):
    """``evpath procure --run`` on an ensemble run: the members' demand is the median,
    the same as on the median stored as a single run."""
    from evpath.cli.procure import stored_demand
    from evpath.procurement import load_alliance
    from evpath.procurement.instance import resolve

    alliance = load_alliance("japan-cobalt")
    on_median = stored_demand(ResultsStore(stored), ensemble.run_id)
    assert "quantile" not in on_median.dims
    demand = resolve(alliance, run_data=on_median).demand
    single = resolve(alliance, run_data=stored_demand(ResultsStore(stored), SINGLE)).demand
    assert demand.sum() > 0
    np.testing.assert_array_equal(demand, single)


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_the_dashboard_api_summarises_and_draws_an_ensemble_run(stored: Path, ensemble: Ensemble):
    from fastapi.testclient import TestClient

    from evpath.web.app import create_app

    client = TestClient(create_app(stored, None))
    summary = client.get(f"/api/runs/{ensemble.run_id}")
    assert summary.status_code == 200, summary.text
    assert summary.json()["ensemble_members"] == ensemble.size
    rows = client.get(
        f"/api/runs/{ensemble.run_id}/variables", params={"variable": "wtw_per_new_car"}
    )
    assert rows.status_code == 200
    assert {row["quantile"] for row in rows.json()} == {0.05, 0.25, 0.5, 0.75, 0.95}
    assert client.get("/api/compare", params={"run": ensemble.run_id}).status_code == 200
