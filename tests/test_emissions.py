"""Activity, energy and emissions: accounting, physics, the target and its decomposition."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import evpath
from evpath.data.factors import emission_factors
from evpath.model.activity import distance_per_car
from evpath.model.decomposition import lmdi
from evpath.model.energy import intensity_per_km

WTW = ["tank_to_wheel", "well_to_tank"]


@pytest.fixture
def japan(japan_2050):
    return japan_2050


def test_fleet_energy_is_the_sum_over_cohorts_of_per_car_use_times_stock(japan):
    """Recompute gasoline use cohort by cohort, with plain loops, and compare."""
    ds, spec = japan.dataset, japan.scenario.emissions
    by_cohort = ds["stock_by_cohort"].sel(region="JPN")
    offset = xr.DataArray([0.5, 0.5], coords={"segment": ["registered", "kei"]})
    distance = distance_per_car(ds["stock_by_cohort"], spec.activity, offset)
    intensity = intensity_per_km(spec.energy, ["registered", "kei"], by_cohort.cohort.values)
    year = 2030
    for segment in ("registered", "kei"):
        for powertrain in ("ICEV_gasoline", "HEV", "PHEV"):
            litres = 0.0
            for cohort in by_cohort.cohort.values:
                cars = float(
                    by_cohort.sel(segment=segment, powertrain=powertrain, year=year, cohort=cohort)
                )
                km = float(distance.sel(segment=segment, year=year, cohort=cohort))
                per_km = float(
                    intensity.sel(
                        segment=segment, powertrain=powertrain, carrier="gasoline", cohort=cohort
                    )
                )
                litres += cars * km * per_km
            modelled = float(
                ds["energy_use"].sel(
                    region="JPN",
                    segment=segment,
                    powertrain=powertrain,
                    carrier="gasoline",
                    year=year,
                )
            )
            mj_per_l = emission_factors().energy_content["gasoline"]
            assert modelled == pytest.approx(litres * mj_per_l, rel=1e-10)


def test_tank_to_wheel_is_fuel_times_carbon_content(japan):
    ds = japan.dataset.sel(region="JPN")
    factors = emission_factors()
    ttw = ds["emissions"].sel(stage="tank_to_wheel").sum(["segment", "powertrain"])
    expected = (
        ds["gasoline_use"] * factors.tank_to_wheel["gasoline"]
        + ds["diesel_use"] * factors.tank_to_wheel["diesel"]
    )
    np.testing.assert_allclose(ttw, expected, rtol=1e-10)


def test_electricity_emissions_follow_the_grid(japan):
    ds = japan.dataset.sel(region="JPN")
    bev = ds["emissions"].sel(powertrain="BEV", stage="well_to_tank").sum("segment")
    bev_kwh = ds["energy_use"].sel(powertrain="BEV", carrier="electricity").sum("segment") / 3.6
    np.testing.assert_allclose(bev, bev_kwh * ds["grid_intensity"] / 1000.0, rtol=1e-10)
    assert float(ds["emissions"].sel(powertrain="BEV", stage="tank_to_wheel").sum()) == 0.0


def test_decomposition_adds_up_to_the_change(japan):
    ds = japan.dataset.sel(region="JPN")
    wtw = ds["emissions"].sel(stage=WTW).sum(["segment", "powertrain", "stage"])
    change = float(wtw.sel(year=2050) - wtw.sel(year=2010))
    parts = ds["emission_change_factors"]
    assert float(parts.sum()) == pytest.approx(change, rel=1e-9)
    assert float(parts.sel(factor="mix")) < 0  # electrification lowers emissions


def test_lmdi_on_a_hand_example():
    coords = {"region": ["R"], "segment": ["s"], "powertrain": ["a", "b"], "year": [0, 1]}
    km = xr.DataArray([[[[100.0, 120.0], [0.0, 30.0]]]], coords=coords)
    mj = km * xr.DataArray([2.0, 1.0], coords={"powertrain": ["a", "b"]})
    kg = mj * xr.DataArray(
        [[0.07, 0.07], [0.0, 0.05]], coords={"powertrain": ["a", "b"], "year": [0, 1]}
    )
    parts = lmdi(km, mj, kg, 0, 1).sel(region="R")
    total = float(kg.sel(year=1).sum() - kg.sel(year=0).sum())
    assert float(parts.sum()) == pytest.approx(total, rel=1e-12)
    assert float(parts.sel(factor="energy_intensity")) == pytest.approx(0.0, abs=1e-9)


def test_all_bev_sales_on_a_zero_carbon_grid_drive_emissions_to_zero(write_scenario):
    zero = write_scenario(
        {
            "sales": {
                "milestones": [
                    {"year": 2025, "shares": {"BEV": 1.0}, "note": "test: all BEV from 2025"},
                ]
            },
            "emissions": {
                "grid": {"pathway": {2025: {"intensity": 0.0}}, "note": "test"},
                "hydrogen": {"routes": {2024: {"electrolysis": 1.0}}, "note": "test"},
            },
        }
    )
    ds = evpath.run(zero).dataset.sel(region="JPN")
    wtw = ds["emissions"].sel(stage=WTW).sum(["segment", "powertrain", "stage"])
    after = wtw.sel(year=slice(2025, None))
    assert bool((after.diff("year") <= 0).all())  # falls every year as old cars retire
    assert float(after.sel(year=2060)) < 0.05 * float(wtw.sel(year=2024))
    assert float(ds["wtw_per_new_car"].sel(year=2030)) == 0.0


def test_japan_fleet_matches_published_fuel_and_economy_figures(japan):
    check = japan.history_check()
    use = check[check.metric.isin(["in_use_fuel_economy", "gasoline_use", "vehicle_km"])]
    assert len(use) == 8
    assert use.relative_difference.abs().max() < 0.02


def test_target_verdict_and_units(japan):
    table = japan.emissions_target().loc["JPN"]
    assert table["metric"] == "wtw_per_new_car"
    assert table["base_year"] == 2010
    assert 0.0 < table["reduction"] < 1.0
    assert table["met"] == (table["reduction"] >= 0.9)
    assert table["gap"] == pytest.approx(max(0.9 - table["reduction"], 0.0))
    ds = japan.dataset
    assert ds["wtw_per_new_car"].attrs["units"] == "kg CO2e/vehicle/yr"
    assert ds["grid_intensity"].attrs["units"] == "g CO2e/kWh"
    reduction = ds["emission_reduction"].sel(region="JPN")
    assert float(reduction.sel(year=2010)) == 0.0


def test_reverse_answers_meet_the_target_exactly_where_they_say(
    japan_2050, japan_2050_inputs, reverse_answers
):
    scenario, inputs = japan_2050.scenario, japan_2050_inputs
    answer = reverse_answers("wtw_per_car")
    assert answer.phase_out_year is not None
    assert answer.plug_in_shift is not None
    from evpath.analysis.reverse import with_phase_out
    from evpath.model.indicators import target_table
    from evpath.model.pipeline import run_pipeline

    spec = scenario.emissions.target.model_copy(update={"metric": "wtw_per_car"})
    base = japan_2050.dataset  # run_pipeline(scenario, inputs), as evpath.run computes it
    on_time = run_pipeline(with_phase_out(scenario, answer.phase_out_year, base), inputs)
    late = run_pipeline(with_phase_out(scenario, answer.phase_out_year + 1, base), inputs)
    assert target_table(on_time, spec).loc["JPN", "met"]
    assert not target_table(late, spec).loc["JPN", "met"]
