"""Sales stage: curves, projections, milestones and the history years."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from evpath.data.histories import HISTORIES
from evpath.model.sales import new_sales, path_through, progress, project_total
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


ANCHORS = {
    2024: xr.DataArray([0.2, 0.8], coords={"powertrain": ["BEV", "ICEV"]}),
    2030: xr.DataArray([0.6, 0.4], coords={"powertrain": ["BEV", "ICEV"]}),
    2040: xr.DataArray([1.0, 0.0], coords={"powertrain": ["BEV", "ICEV"]}),
}


def test_a_linear_path_is_numpys_interpolation_held_outside():
    years = np.arange(2020, 2046)
    path = path_through(ANCHORS, years, Curve(kind="linear"))
    for powertrain in ("BEV", "ICEV"):
        knots = [float(a.sel(powertrain=powertrain)) for a in ANCHORS.values()]
        expected = np.interp(years, list(ANCHORS), knots)
        np.testing.assert_allclose(path.sel(powertrain=powertrain).values, expected, atol=1e-15)


@pytest.mark.parametrize(
    ("kind", "parameter", "values"),
    [
        ("logistic", "steepness", [2.0, 8.0, 20.0]),
        ("bass", "q", [0.1, 0.38, 0.9]),
    ],
)
def test_a_drawn_curve_moves_each_member_along_its_own_curve(kind, parameter, values):
    years = np.arange(2024, 2046)
    drawn = xr.DataArray(values, coords={"draw": [0, 1, 2]})
    curve = Curve(kind=kind).model_copy(update={parameter: drawn})
    together = path_through(ANCHORS, years, curve)
    for draw, value in enumerate(values):
        alone = path_through(ANCHORS, years, Curve(kind=kind, **{parameter: value}))
        xr.testing.assert_allclose(together.sel(draw=draw, drop=True).transpose(*alone.dims), alone)


def test_anchors_with_other_labels_are_refused():
    anchors = {**ANCHORS, 2035: xr.DataArray([0.5, 0.5], coords={"powertrain": ["BEV", "HEV"]})}
    with pytest.raises(ValueError, match="the anchor of 2035 has dims"):
        path_through(anchors, np.arange(2024, 2041), Curve(kind="linear"))
