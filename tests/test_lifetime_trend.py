"""The mean lifetime's trend after its path (``fleet.lifetime.mean_trend``) and a Weibull
shape path: applied by cohort and held after the last cohort; japan-2050's fitted lifetimes keep the
modelled stock and average age within stated tolerances of every observation through the
last observed year; bad trends are errors naming the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from evpath.analysis.calibration import WEIGHTS
from evpath.errors import ScenarioError
from evpath.model.fleet import expected_years_in_fleet, fleet_stock, lifetime_model, mean_by_cohort
from evpath.model.history_check import compare_with_observed
from evpath.scenario import load_scenario
from evpath.scenario.schema import Lifetime

COHORTS = np.arange(1995, 2021)


def lifetime(**fields: object) -> Lifetime:
    base: dict[str, object] = {
        "model": "weibull",
        "shape": 2.0,
        "mean": {2000: 10.0, 2010: 12.0},
        "note": "test",
    }
    return Lifetime.model_validate({**base, **fields})


def test_the_trend_runs_by_cohort_from_the_last_path_point_and_is_held_after_it():
    spec = lifetime(mean_trend={"slope": 0.2, "through": 2015})
    mean = mean_by_cohort(spec, COHORTS)
    expected = {1995: 10.0, 2000: 10.0, 2005: 11.0, 2010: 12.0, 2011: 12.2, 2015: 13.0}
    for cohort, value in expected.items():
        assert float(mean.sel(cohort=cohort)) == pytest.approx(value)
    np.testing.assert_allclose(mean.sel(cohort=slice(2015, None)), 13.0)
    # the distribution's own mean (Weibull scale from the mean) follows the same path
    np.testing.assert_allclose(expected_years_in_fleet(spec, COHORTS), mean, rtol=1e-12)
    model = lifetime_model(spec, COHORTS)
    np.testing.assert_allclose(model.mean_lifetime(), mean, rtol=1e-12)


def test_without_a_trend_or_with_one_ending_at_the_path_the_mean_stays_flat():
    flat = mean_by_cohort(lifetime(), COHORTS)
    ending = mean_by_cohort(lifetime(mean_trend={"slope": 0.5, "through": 2010}), COHORTS)
    np.testing.assert_allclose(flat.sel(cohort=slice(2010, None)), 12.0)
    xr.testing.assert_allclose(ending, flat)


def test_a_falling_trend_and_a_drawn_slope():
    falling = mean_by_cohort(lifetime(mean_trend={"slope": -0.1, "through": 2020}), COHORTS)
    assert float(falling.sel(cohort=2020)) == pytest.approx(11.0)
    spec = lifetime(mean_trend={"slope": 0.1, "through": 2020})
    slopes = xr.DataArray([0.0, 0.1, -0.1], dims="draw", coords={"draw": [0, 1, 2]})
    drawn = spec.model_copy(
        update={"mean_trend": spec.mean_trend.model_copy(update={"slope": slopes})}
    )
    mean = mean_by_cohort(drawn, COHORTS)
    np.testing.assert_allclose(mean.sel(cohort=2020), [12.0, 13.0, 11.0])
    np.testing.assert_allclose(mean.sel(cohort=2005), 11.0)


def test_japan_2050_and_its_descendants_carry_the_fitted_trend():
    japan = load_scenario("japan-2050")
    lifetimes = [japan.fleet.lifetime, japan.fleet.lifetime_by_segment["kei"]]
    assert all(lt.mean_trend is not None for lt in lifetimes)
    assert {(lt.mean_trend.slope, lt.mean_trend.through) for lt in lifetimes} == {(-0.05, 2024)}
    assert japan.fleet.lifetime.mean_trend.through == japan.years.history_end
    trends = load_scenario("japan-current-trends")
    assert trends.fleet == japan.fleet
    registered = mean_by_cohort(japan.fleet.lifetime, np.array([2009, 2010, 2024, 2050]))
    np.testing.assert_allclose(registered, [14.57, 14.52, 13.82, 13.82])


def test_a_shape_path_is_applied_by_cohort_with_the_mean_kept():
    spec = lifetime(shape={2000: 3.0, 2010: 1.5}, mean_trend={"slope": 0.1, "through": 2015})
    model = lifetime_model(spec, COHORTS)
    shape = model.shape.sel(cohort=[1995, 2000, 2004, 2010, 2020])
    np.testing.assert_allclose(shape, [3.0, 3.0, 2.4, 1.5, 1.5])
    # the scale follows each cohort's shape so that the mean stays the mean path
    np.testing.assert_allclose(model.mean_lifetime(), mean_by_cohort(spec, COHORTS), rtol=1e-12)
    # a lower shape spreads the lifetime: more of the cohort leaves young, more stays long
    ages = np.array([5.0, 25.0])

    def left(cohort: int) -> np.ndarray:
        k, s = (float(p.sel(cohort=cohort)) for p in (model.shape, model.scale))
        return np.exp(-((ages / s) ** k))

    early, late = left(2000), left(2010)
    assert late[0] < early[0]
    assert late[1] > early[1]


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (
            {1990: 2.9, 2009: 0.05},
            "fleet.lifetime.shape[2009]: allowed: 0.1 to 20 (dimensionless) (got 0.05)",
        ),
        ({1990: 2.9, 2009: "flat"}, "fleet.lifetime.shape[2009]"),
        ({"early": 2.9}, "fleet.lifetime.shape.early: allowed: a valid integer"),
    ],
)
def test_bad_shape_paths_name_the_field(
    write_scenario: Callable[[dict], Path], shape: dict, message: str
) -> None:
    path = write_scenario({"fleet": {"lifetime": {"shape": shape}}})
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert message in str(error.value)


STOCK_TOLERANCE = 0.011
"""Largest relative gap of the modelled stock to an observation from 2014 on."""
EARLY_STOCK_TOLERANCE = 0.03
"""... and before 2014 (the 1991-2002 sales are interpolated; docs/japan-data.md)."""
AGE_TOLERANCE = 0.065
"""Largest relative gap of the registered cars' modelled average age to AIRIA's figure."""


@pytest.fixture(scope="module")
def japan_gaps() -> pd.DataFrame:
    """japan-2050's fleet (the sales and fleet stages only, as the fit runs them) against
    the observed stock and average age."""
    from evpath.data.histories import HISTORIES
    from evpath.model.sales import new_sales

    scenario = load_scenario("japan-2050")
    history = HISTORIES[scenario.sales.history].load()
    years = np.arange(scenario.years.start, scenario.years.history_end + 1)
    fleet = fleet_stock(scenario, new_sales(scenario, history.sales, years))
    observed = history.observed
    observed = observed[observed["metric"].isin(WEIGHTS) & (observed["powertrain"] == "all")]
    modelled = xr.Dataset({"stock": fleet.stock, "average_age": fleet.average_age})
    return compare_with_observed(modelled, observed)


def test_japan_stock_and_age_stay_within_the_data_through_the_last_observed_year(japan_gaps):
    gaps = japan_gaps
    assert len(gaps) == 26
    last = gaps.groupby("metric")["year"].max()
    assert last.to_dict() == {"average_age": 2023, "stock": 2022}
    gap = gaps["relative_difference"].abs()
    stock = gaps["metric"] == "stock"
    assert gap[stock & (gaps["year"] >= 2014)].max() < STOCK_TOLERANCE
    assert gap[stock].max() < EARLY_STOCK_TOLERANCE
    assert gap[~stock].max() < AGE_TOLERANCE
    # the last observations themselves
    at = gaps.set_index(["metric", "segment", "year"])["relative_difference"]
    assert abs(at["stock", "all", 2021]) < 0.008
    assert abs(at["stock", "registered", 2022]) < 0.006
    assert at["average_age", "registered", 2023] == pytest.approx(-0.06, abs=0.002)


@pytest.mark.parametrize(
    ("trend", "message"),
    [
        (
            {"slope": 1.5, "through": 2024},
            "fleet.lifetime.mean_trend.slope: allowed: -1 to 1 years per cohort year",
        ),
        (
            {"slope": 0.1, "through": 2005},
            (
                "mean_trend.through: 2005 is before the last cohort of 'mean' (2009); "
                "allowed: a cohort year from 2009 on"
            ),
        ),
        (
            {"slope": -0.99, "through": 2024},
            (
                "mean_trend: the mean reaches -0.28 years at cohort 2024 (14.57 in 2009, "
                "-0.99 a year); allowed: 0.5 to 100 years"
            ),
        ),
        ({"slope": 0.1, "through": None}, "fleet.lifetime.mean_trend.through"),
        ({"slope": 0.1, "through": 2024, "until": 2030}, "fleet.lifetime.mean_trend.until"),
        ({"slope": "fast", "through": 2024}, "fleet.lifetime.mean_trend.slope"),
    ],
)
def test_bad_trends_name_the_field(
    write_scenario: Callable[[dict], Path], trend: dict, message: str
) -> None:
    path = write_scenario({"fleet": {"lifetime": {"mean_trend": trend}}})
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert message in str(error.value)


def test_a_trend_needs_a_mean_path(write_scenario: Callable[[dict], Path]) -> None:
    path = write_scenario({"fleet": {"lifetime": {"mean": 14.0}}})
    with pytest.raises(ScenarioError, match=r"fleet\.lifetime: .*mean_trend: the lifetime has one"):
        load_scenario(path)
    with pytest.raises(ValueError, match="mean_trend: the lifetime has no 'mean'"):
        lifetime(mean=None, scale=12.0, mean_trend={"slope": 0.1, "through": 2020})
    with pytest.raises(ValueError, match=r"mean_trend\.through\n  Field required"):
        lifetime(mean_trend={"slope": 0.1})
