"""Sales stage: curves, projections, milestones and the history years."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from evpath.data.histories import HISTORIES
from evpath.model.sales import new_sales, progress, project_total
from evpath.scenario import POWERTRAINS, load_scenario
from evpath.scenario.schema import Curve, TotalSales


@pytest.mark.parametrize(
    "curve",
    [
        Curve(kind="linear"),
        Curve(kind="logistic"),
        Curve(kind="logistic", steepness=20),
        Curve(kind="bass"),
        Curve(kind="bass", p=0.01, q=0.9),
    ],
)
def test_curves_run_from_zero_to_one_monotonically(curve):
    tau = np.linspace(0, 1, 101)
    f = progress(tau, curve, interval_years=15)
    assert f[0] == pytest.approx(0.0, abs=1e-12)
    assert f[-1] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(f) >= -1e-15)


def test_growth_projection_compounds_from_last_history_year():
    history = xr.DataArray([[100.0, 110.0]], coords={"region": ["A"], "year": [2023, 2024]})
    years = np.arange(2023, 2028)
    total = project_total(history, years, TotalSales(method="growth", rate=0.1, note="n"))
    np.testing.assert_allclose(total.sel(region="A").values, [100, 110, 121, 133.1, 146.41])


def test_path_projection_starts_from_last_history_value():
    history = xr.DataArray([[100.0]], coords={"region": ["A"], "year": [2024]})
    years = np.arange(2024, 2030)
    spec = TotalSales(method="path", path={2026: 80.0, 2028: 60.0}, note="n")
    total = project_total(history, years, spec)
    np.testing.assert_allclose(total.sel(region="A").values, [100, 90, 80, 70, 60, 60])


@pytest.fixture(scope="module")
def japan_sales():
    scenario = load_scenario("japan-2050")
    history = HISTORIES["japan"].load()
    years = np.arange(scenario.years.start, scenario.years.end + 1)
    return scenario, history, new_sales(scenario, history.sales, years)


def test_history_years_are_the_history(japan_sales):
    scenario, history, sales = japan_sales
    past = sales.sel(year=slice(None, scenario.years.history_end))
    xr.testing.assert_equal(past, history.sales)


def test_milestones_are_reached_exactly_and_shares_sum_to_one(japan_sales):
    scenario, _, sales = japan_sales
    shares = sales / sales.sum("powertrain")
    np.testing.assert_allclose(shares.sum("powertrain"), 1.0, atol=1e-12)
    assert float(shares.min()) >= 0.0
    for milestone in scenario.sales.milestones:
        reached = shares.sel(region="JPN", segment=milestone.segment, year=milestone.year)
        expected = [milestone.shares.get(p, 0.0) for p in POWERTRAINS]
        np.testing.assert_allclose(reached.sel(powertrain=list(POWERTRAINS)), expected, atol=1e-12)


def test_mix_is_held_after_the_last_milestone(japan_sales):
    _, _, sales = japan_sales
    shares = sales / sales.sum("powertrain")
    xr.testing.assert_allclose(shares.sel(year=2050, drop=True), shares.sel(year=2060, drop=True))


def test_total_follows_the_growth_rate(japan_sales):
    scenario, _, sales = japan_sales
    total = sales.sum(["segment", "powertrain"]).sel(region="JPN")
    rate = scenario.sales.total.rate
    np.testing.assert_allclose(total.sel(year=2060) / total.sel(year=2024), (1 + rate) ** 36)
