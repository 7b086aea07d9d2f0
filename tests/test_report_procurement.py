"""The report of a run that purchase plans were built on: one chart per alliance of the
plan stored by ``evpath procure ALLIANCE --run RUN_ID``, drawing the stored tonnes; runs
without a plan are drawn as before."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from evpath.cli.app import app
from evpath.errors import InputError
from evpath.io.store import ResultsStore
from evpath.report import charts
from evpath.report.html import report_html
from evpath.report.runs import (
    PROCUREMENT,
    procurement_plans,
    with_procurement,
)

if TYPE_CHECKING:
    from pathlib import Path

    import xarray as xr

runner = CliRunner()
ALLIANCE = "two-buyers"
SHARES = {"big": 0.6, "small": 0.3}


def _alliance(folder: Path) -> Path:
    """Two members sharing japan-2050's primary cobalt demand, three suppliers in two
    countries, three years: solved in well under a second."""
    supplier = {"tiers": [{"up_to": 40, "price": 34}, {"up_to": None, "price": 31}], "note": "t"}
    document = {
        "name": ALLIANCE,
        "metal": "cobalt",
        "years": [2030, 2031, 2032],
        "price_unit": "USD/kg",
        "members": [
            {
                "name": name,
                "share_of_run": {
                    "scenario": "japan-2050",
                    "variable": "metal_primary_demand",
                    "region": "JPN",
                    "share": share,
                },
                "note": "test share",
            }
            for name, share in SHARES.items()
        ],
        "suppliers": [
            {"name": "a1", "country": "A", "capacity": 5000, "fixed_cost": 50000, **supplier},
            {"name": "a2", "country": "A", "capacity": 5000, "min_order": 5, **supplier},
            {"name": "b1", "country": "B", "capacity": 5000, "fixed_cost": 20000, **supplier},
        ],
        "policy": {"country_cap": 0.7, "min_suppliers": 2, "note": "test rules"},
    }
    path = folder / "alliance.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def planned(stored_japan, tmp_path_factory) -> tuple[Path, str]:
    """A copy of the stored japan-2050 run's store, with the plan of ``two-buyers``
    solved on the run's demand and stored by ``evpath procure --run`` (given the start of
    the run id: the plan is stored under the whole id)."""
    folder = tmp_path_factory.mktemp("procurement")
    store = shutil.copy(stored_japan.store, folder / "evpath.duckdb")
    args = ["procure", str(_alliance(folder)), "--run", stored_japan.run_id[:-4]]
    result = runner.invoke(app, [*args, "--store", str(store), "--out", str(folder)])
    assert result.exit_code == 0, result.output
    return store, stored_japan.run_id


def _titles(page: str) -> list[str]:
    return [html.unescape(title) for title in re.findall(r"<h2>(.*?)</h2>", page)]


def _figure(page: str, title: str) -> dict[str, Any]:
    """The traces and layout of the figure under the section titled ``title``."""
    section = page.split(f"<h2>{html.escape(title)}</h2>", 1)[1]
    decoder = json.JSONDecoder()
    rest = section[section.index("Plotly.newPlot(") :]
    rest = rest[rest.index(",") + 1 :].lstrip()  # past the div id
    traces, end = decoder.raw_decode(rest)
    layout, _ = decoder.raw_decode(rest[end:].lstrip(" ,\n"))
    return {"data": traces, "layout": layout}


def _tonnes(traces: list[dict[str, Any]]) -> float:
    """Tonnes the bars add up to (numbers as a list or a base64 typed array)."""
    total = 0.0
    for trace in traces:
        y = trace["y"]
        if isinstance(y, dict):
            y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
        total += float(np.sum(y))
    return total


@pytest.fixture(scope="module")
def plain_titles(stored_japan) -> list[str]:
    """The section titles of the report of the stored run without a plan."""
    return _titles(report_html({"japan-2050": stored_japan.dataset}))


def test_report_draws_the_stored_plan(planned, plain_titles, tmp_path):
    store, run_id = planned
    stored = ResultsStore(store).table(PROCUREMENT, run_id)
    assert set(stored["alliance"]) == {ALLIANCE}
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", run_id[:8], "--store", str(store), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    title = f"Procurement plan of {ALLIANCE}, japan-2050"
    assert _titles(page) == [*plain_titles, title]
    caption = html.unescape(page.rsplit("<figcaption>", 1)[1])
    assert f"Alliance {ALLIANCE}, planned on the demand of run {run_id}" in caption
    costs = ResultsStore(store).table("procurement_costs", run_id).iloc[-1]
    assert costs["alliance"] == ALLIANCE
    assert costs["cost_alone"] - costs["cost_pooled"] == pytest.approx(costs["saving"])
    assert f"pooled {costs['cost_pooled'] / 1e6:,.1f} MUSD" in caption
    assert f"saving {costs['saving'] / 1e6:,.1f} MUSD" in caption

    figure = _figure(page, title)
    bars = figure["data"]
    assert {trace["type"] for trace in bars} == {"bar"}
    assert _tonnes(bars) == pytest.approx(stored["tonnes"].sum())
    pooled = [trace for trace in bars if trace["xaxis"] == "x2"]
    assert _tonnes(pooled) == pytest.approx(stored.loc[stored["plan"] == "pooled", "tonnes"].sum())
    assert {trace["name"] for trace in bars} == {"A", "B"}
    assert figure["layout"]["yaxis"]["title"]["text"] == "metal bought [t/yr]"
    assert figure["layout"]["barmode"] == "stack"


def test_one_chart_per_alliance_and_the_last_plan_stored(planned, stored_japan):
    store, run_id = planned
    rows = ResultsStore(store).table(PROCUREMENT, run_id)
    dataset = stored_japan.dataset
    again = pd.concat([rows, rows.assign(tonnes=2 * rows["tonnes"])])
    second = rows.assign(alliance="other")
    plans = procurement_plans(with_procurement(dataset, pd.concat([again, second])))
    assert list(plans) == [ALLIANCE, "other"]
    assert plans[ALLIANCE]["tonnes"].sum() == pytest.approx(2 * rows["tonnes"].sum())
    assert plans["other"]["tonnes"].sum() == pytest.approx(rows["tonnes"].sum())
    with pytest.raises(InputError, match=r"columns \['country'\] are missing"):
        with_procurement(dataset, rows.drop(columns="country"))


def test_a_run_without_a_plan_is_drawn_as_before(stored_japan, plain_titles):
    dataset: xr.Dataset = stored_japan.dataset
    assert PROCUREMENT not in dataset.attrs
    assert procurement_plans(dataset) == {}
    drawn = {"japan-2050": dataset}
    assert plain_titles == [c.title for c in charts.CHARTS if not charts.missing(c, drawn)]
