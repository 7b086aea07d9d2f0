"""The bundled Japan scenarios end to end: invariants and agreement with history."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import evpath
from evpath.data.histories import HISTORIES
from evpath.scenario import ELECTRIFIED


@pytest.fixture
def target(japan_2050):
    return japan_2050


@pytest.fixture
def trends(japan_current_trends):
    return japan_current_trends


def test_sales_in_2010_and_2024_are_the_historical_data(target):
    history = HISTORIES["japan"].load().sales
    for year in (2010, 2024):
        xr.testing.assert_allclose(
            target.dataset["sales"].sel(year=year, drop=True),
            history.sel(year=year, drop=True),
            rtol=1e-12,
        )


def test_stock_balance_and_cohorts_add_up(target):
    ds = target.dataset
    xr.testing.assert_allclose(ds["stock_by_cohort"].sum("cohort"), ds["stock"], rtol=1e-10)
    change = ds["stock"].diff("year")
    flows = (ds["sales"] - ds["outflow"]).isel(year=slice(1, None))
    np.testing.assert_allclose(change, flows, atol=1e-6 * float(ds["stock"].max()))
    for name in ("sales", "stock", "outflow", "stock_by_cohort"):
        assert float(ds[name].min()) >= 0.0, name


def test_shares_sum_to_one_and_units_are_set(target):
    ds = target.dataset
    np.testing.assert_allclose(ds["sales_share"].sum("powertrain"), 1.0, atol=1e-12)
    np.testing.assert_allclose(ds["stock_share"].sum("powertrain"), 1.0, atol=1e-12)
    expected = {
        "sales": "vehicles/yr",
        "stock": "vehicles",
        "outflow": "vehicles/yr",
        "stock_by_cohort": "vehicles",
        "average_age": "years",
        "sales_share": "1",
    }
    for name, unit in expected.items():
        assert ds[name].attrs["units"] == unit, name


@pytest.mark.parametrize(
    ("metric", "segment", "powertrain", "years", "tolerance"),
    [
        ("stock", "all", "all", (2018, 2019, 2020, 2021), 0.02),  # AIRIA, March 2019-2022
        ("stock", "registered", "all", (2017,), 0.02),  # AIRIA, March 2018
        ("average_age", "registered", "all", (2009, 2010, 2013, 2017, 2021), 0.06),  # AIRIA
        ("stock", "all", "BEV", (2023, 2024), 0.10),  # IEA GEVO 2025
        ("stock", "all", "PHEV", (2023, 2024), 0.10),
    ],
)
def test_model_reproduces_observed_fleet(target, metric, segment, powertrain, years, tolerance):
    check = target.history_check()
    rows = check[
        (check.metric == metric)
        & (check.segment == segment)
        & (check.powertrain == powertrain)
        & check.year.isin(years)
    ]
    assert len(rows) == len(years)
    worst = rows.relative_difference.abs().max()
    assert worst <= tolerance, rows


def test_target_scenario_electrifies_all_sales_by_2050(target):
    verdict = target.target_verdict().loc["JPN"]
    assert verdict["met"]
    assert verdict["first_year_all_electrified"] <= 2050
    share = target.dataset["electrified_sales_share"].sel(region="JPN")
    assert float(share.sel(year=2049)) < 1.0  # the last gasoline cars go in the final years
    assert float(share.sel(year=2050)) == pytest.approx(1.0, abs=1e-12)


def test_current_trends_misses_the_target(trends):
    verdict = trends.target_verdict().loc["JPN"]
    assert not verdict["met"]
    assert np.isnan(verdict["first_year_all_electrified"])
    assert 0.4 < verdict["electrified_share"] < 1.0


def test_trends_and_target_share_the_same_history(target, trends):
    past = {"year": slice(None, 2024)}
    xr.testing.assert_equal(target.dataset["stock"].sel(past), trends.dataset["stock"].sel(past))


def test_electrified_stock_share_lags_sales(target):
    ds = target.dataset.sel(region="JPN")
    stock_share = ds["stock_share"].sel(powertrain=list(ELECTRIFIED)).sum("powertrain")
    assert float(stock_share.sel(year=2050)) < float(ds["electrified_sales_share"].sel(year=2050))
    assert float(stock_share.sel(year=2060)) > 0.9


def test_manifest_records_inputs_and_resolved_scenario(target):
    manifest = target.manifest
    assert manifest["scenario"]["name"] == "japan-2050"
    assert set(manifest["inputs"]) >= {"iea_gevo2025_ev_data", "japan_car_market_supplement"}
    assert all(len(entry["sha256"]) == 64 for entry in manifest["inputs"].values())
    again = evpath.run("japan-2050").manifest
    assert again["input_hash"] == manifest["input_hash"]
    assert again["run_id"] != manifest["run_id"]


@pytest.mark.parametrize(
    "lifetime",
    [
        {
            "model": "empirical",
            "survival": {0: 1.0, 5: 0.95, 15: 0.5, 25: 0.1, 35: 0.0},
            "note": "n",
        },
        {"model": "lognormal", "mean": 14.0, "std": 5.0, "note": "n"},
        {"model": "folded_normal", "mean": 14.0, "std": 6.0, "inflow_at": "start", "note": "n"},
        {"model": "fixed", "mean": {1990: 11.0, 2020: 14.0}, "inflow_at": "end", "note": "n"},
    ],
)
def test_every_lifetime_model_runs_and_balances(write_scenario, lifetime):
    path = write_scenario({"fleet": {"lifetime": lifetime, "lifetime_by_segment": None}})
    ds = evpath.run(path).dataset
    change = ds["stock"].diff("year")
    flows = (ds["sales"] - ds["outflow"]).isel(year=slice(1, None))
    np.testing.assert_allclose(change, flows, atol=1e-6 * float(ds["stock"].max()))
    assert float(ds["stock"].min()) >= 0.0


def test_the_summary_weighs_the_gap_to_observed_data_and_names_the_worst_year(japan_2050):
    """A 1,100-car gap in 2010 is the worst BEV year in relative terms, but the weighted
    gap over all years says how far the stock is off overall; both are printed."""
    from evpath.cli.console import console
    from evpath.cli.summary import print_summary

    with console.capture() as captured:
        print_summary(japan_2050)
    lines = [line for line in captured.get().splitlines() if line.strip().startswith("BEV stock")]
    assert len(lines) == 1
    check = japan_2050.history_check()
    bev = check[(check["metric"] == "stock") & (check["powertrain"] == "BEV")]
    weighted = (bev["model"] - bev["observed"]).abs().sum() / bev["observed"].sum()
    worst = bev.loc[bev["relative_difference"].abs().idxmax()]
    assert f"{100 * weighted:.1f}%" in lines[0]
    assert f"worst {100 * worst['relative_difference']:+.1f}% in {worst['year']}" in lines[0]
    assert weighted < abs(worst["relative_difference"])
