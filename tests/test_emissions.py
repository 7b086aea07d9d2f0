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


@pytest.mark.long
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
    # the stages the target reads, as the solver runs them
    year = answer.phase_out_year
    on_time = run_pipeline(with_phase_out(scenario, year, base), inputs, target_only=True)
    late = run_pipeline(with_phase_out(scenario, year + 1, base), inputs, target_only=True)
    assert target_table(on_time, spec).loc["JPN", "met"]
    assert not target_table(late, spec).loc["JPN", "met"]


# ------------------------------------------------------- the grid a car actually uses


def _flat_world(scenario, inputs, grid=300.0):
    """``scenario`` with a constant grid (history and pathway), one hydrogen route, and
    distance that changes neither with age nor with the calendar; and its inputs."""
    import dataclasses

    import pandas as pd

    from evpath.scenario.emissions import Grid, GridPoint, Hydrogen

    emissions = scenario.emissions
    flat = emissions.model_copy(
        update={
            "activity": emissions.activity.model_copy(
                update={"age_decline": 0.0, "distance_trend": 0.0}
            ),
            "grid": Grid(pathway={2030: GridPoint(intensity=grid)}, note="test: flat"),
            "hydrogen": Hydrogen(
                routes={2024: {"steam_methane_reforming": 1.0}}, note="test: one route"
            ),
        }
    )
    history = inputs.use.grid_history["JPN"]
    use = dataclasses.replace(
        inputs.use, grid_history={"JPN": pd.Series(grid, index=history.index)}
    )
    return scenario.model_copy(update={"emissions": flat}), dataclasses.replace(inputs, use=use)


def test_on_a_constant_grid_without_ageing_the_lifetime_metric_is_the_at_sale_one(
    japan_2050, japan_2050_inputs
):
    """Each year's fuels and grid are the year of sale's, and a car drives as far every
    year: its mean yearly emissions over its life are those of its first year; and the
    fleet at the base year's grid is the fleet as modelled."""
    from evpath.model.pipeline import run_pipeline

    scenario, inputs = _flat_world(japan_2050.scenario, japan_2050_inputs)
    ds = run_pipeline(scenario, inputs).sel(region="JPN")
    assert float(ds["grid_intensity"].min()) == float(ds["grid_intensity"].max()) == 300.0
    np.testing.assert_allclose(ds["wtw_per_new_car_lifetime"], ds["wtw_per_new_car"], rtol=1e-12)
    wtw = ds["emissions"].sel(stage=WTW).sum(["segment", "powertrain", "stage"])
    np.testing.assert_allclose(ds["fleet_wtw_at_base_grid"], wtw, rtol=1e-12)


def test_lifetime_weights_on_a_hand_example():
    """Three model years; cars sold in 2002 are followed after 2002 with the survival of
    the latest cohort seen at each age, distance falling 10% a year of age, and the
    2002 grid held."""
    from evpath.model.activity import years_on_road
    from evpath.model.indicators import lifetime_per_new_car

    years = [2000, 2001, 2002]
    sales = xr.DataArray(
        [[[[10.0, 20.0, 40.0]]]],
        coords={"region": ["R"], "segment": ["s"], "powertrain": ["BEV"], "year": years},
    )
    on_road = [[10.0, 0.0, 0.0], [5.0, 20.0, 0.0], [2.0, 10.0, 40.0]]  # year × cohort
    stock = xr.DataArray(
        [[[on_road]]],
        coords={
            "region": ["R"],
            "segment": ["s"],
            "powertrain": ["BEV"],
            "year": years,
            "cohort": years,
        },
    )
    distance = xr.DataArray(
        np.full((1, 3, 3), 100.0),
        coords={"segment": ["s"], "year": years, "cohort": years},
    )
    life = years_on_road(sales, stock, distance, 0.1)
    survival = life["survival"].sel(segment="s")
    np.testing.assert_allclose(survival.sel(cohort=2000), [1.0, 0.5, 0.2])
    np.testing.assert_allclose(survival.sel(cohort=2002), [1.0, 0.5, 0.2])  # 2001, 2000 cohorts
    np.testing.assert_allclose(life["distance"].sel(segment="s", cohort=2002), [100, 90, 81])
    use = xr.DataArray(
        np.full((1, 1, 1, 3), 0.2),
        coords={"segment": ["s"], "powertrain": ["BEV"], "carrier": ["electricity"], "year": years},
    )
    grid = xr.DataArray(
        [[[0.5, 0.4, 0.3]]], coords={"carrier": ["electricity"], "region": ["R"], "year": years}
    )
    out = lifetime_per_new_car(sales, life, use, grid).sel(region="R")
    first = 100 * 0.2 * (1.0 * 0.5 + 0.5 * 0.4 + 0.2 * 0.3)  # 15.2 kg
    last = 0.2 * 0.3 * (1.0 * 100 + 0.5 * 90 + 0.2 * 81)  # 9.672 kg, 2002 grid held
    np.testing.assert_allclose(
        out["wtw_lifetime_per_new_car"].sel(year=[2000, 2002]) * 1000, [first, last]
    )
    np.testing.assert_allclose(
        out["wtw_per_new_car_lifetime"].sel(year=[2000, 2002]), [first / 1.7, last / 1.7]
    )


def test_years_on_road_sum_to_the_mean_lifetime(japan_2050):
    """Σ_k S(c, k) of a cohort is the mean of its lifetime distribution (the scenario's
    14.52 years for registered cars of the 2010 cohort, 13.82 from the 2024 cohort on),
    also for cohorts followed past the model's end: their survival past age 36 comes from
    cohorts before 2024, whose slightly longer lifetimes add 0.0006 years."""
    from evpath.model.activity import distance_per_car, years_on_road

    ds, spec = japan_2050.dataset, japan_2050.scenario.emissions
    offset = xr.DataArray([0.5, 0.5], coords={"segment": ["registered", "kei"]})
    distance = distance_per_car(ds["stock_by_cohort"], spec.activity, offset)
    life = years_on_road(ds["sales"], ds["stock_by_cohort"], distance, spec.activity.age_decline)
    total = life["survival"].sum("service_year").sel(segment="registered")
    np.testing.assert_allclose(total.sel(cohort=2010), 14.52, rtol=1e-5)
    np.testing.assert_allclose(total.sel(cohort=[2050, 2060]), 13.82, rtol=1e-4)


def test_the_break_even_grid_put_back_into_the_scenario_meets_the_target_exactly(
    japan_2050, japan_2050_inputs
):
    """With non-plug-in sales ended by 2040 the target is within the grid's reach: the
    break-even intensity, held from 2050 on (the years before kept as modelled), gives a
    reduction of exactly 90% for each per-new-car metric."""
    from evpath.analysis.reverse import with_phase_out
    from evpath.model.indicators import target_table
    from evpath.model.pipeline import run_pipeline
    from evpath.scenario.emissions import GridPoint

    scenario = with_phase_out(japan_2050.scenario, 2040, japan_2050.dataset)
    inputs = japan_2050_inputs
    ds = run_pipeline(scenario, inputs)
    spec = scenario.emissions.target
    before = float(ds["grid_intensity"].sel(region="JPN", year=spec.year - 1))
    for metric in ("wtw_per_new_car", "wtw_per_new_car_lifetime"):
        variable = "grid_break_even" + ("_lifetime" if "lifetime" in metric else "")
        limit = float(ds[variable].sel(region="JPN"))
        assert 0.0 < limit < 2000.0, metric
        pathway = {
            **scenario.emissions.grid.pathway,
            spec.year - 1: GridPoint(intensity=before),
            spec.year: GridPoint(intensity=limit),
        }
        grid = scenario.emissions.grid.model_copy(update={"pathway": pathway})
        changed = scenario.model_copy(
            update={"emissions": scenario.emissions.model_copy(update={"grid": grid})}
        )
        rerun = run_pipeline(changed, inputs, target_only=True)
        np.testing.assert_allclose(
            rerun["grid_intensity"].sel(year=slice(None, spec.year - 1)),
            ds["grid_intensity"].sel(year=slice(None, spec.year - 1)),
            rtol=1e-12,
        )
        at = target_table(rerun, spec.model_copy(update={"metric": metric})).loc["JPN"]
        assert at["reduction"] == pytest.approx(spec.reduction, abs=1e-10), metric


def test_grid_dependence_of_japan_2050(japan_2050):
    """At 50 g/kWh in 2050 no grid meets -90% (hybrids keep burning gasoline): the
    break-even is negative; the grid's fall from 447 g/kWh cuts the 2050 fleet's WTW by
    far more than the LMDI carbon-intensity factor shows."""
    table = japan_2050.grid_break_even().loc["JPN"]
    assert list(table.index) == ["wtw_per_new_car", "wtw_per_new_car_lifetime"]
    assert (table["break_even"] < 0).all()
    assert not table["met"].any()
    assert table.loc["wtw_per_new_car", "reduction"] == pytest.approx(
        japan_2050.emissions_target().loc["JPN", "reduction"]
    )
    part = japan_2050.grid_contribution().loc["JPN"]
    assert part["target"] - part["at_base_grid"] == pytest.approx(part["grid"])
    assert part["grid"] < 10 * part["lmdi_carbon"] < 0  # the grid's part is > 10× LMDI's
    ds = japan_2050.dataset.sel(region="JPN")
    base = ds["emissions"].sel(stage=WTW, year=2010).sum()
    assert float(ds["fleet_wtw_at_base_grid"].sel(year=2010)) == pytest.approx(float(base))


def test_verdict_under_each_bundled_grid_pathway(japan_2050, japan_2050_inputs):
    """The three bundled Japanese grids, each run once; a dirtier 2050 grid gives a
    smaller cut; the scenario's own pathway gives its own verdict."""
    from evpath.analysis.reverse import grid_pathway_verdicts

    table = grid_pathway_verdicts(japan_2050.scenario, japan_2050_inputs)
    at_sale = table.xs(("JPN", "wtw_per_new_car"), level=("region", "metric"))
    assert list(at_sale.index) == [
        "japan-2050",
        "japan-2050-no-nuclear-restart",
        "japan-2050-slow-grid",
    ]
    assert at_sale.loc["japan-2050", "reduction"] == pytest.approx(
        japan_2050.emissions_target().loc["JPN", "reduction"], rel=1e-12
    )
    assert at_sale.loc["japan-2050-no-nuclear-restart", "grid"] == pytest.approx(150.0)
    ordered = at_sale.sort_values("grid")
    assert bool((ordered["reduction"].diff().dropna() < 0).all())


def test_a_target_only_run_is_the_full_run_without_the_other_stages(japan_2050, japan_2050_inputs):
    """What the questions that re-run the model read is the same as in a full run."""
    from evpath.model.pipeline import run_pipeline

    short = run_pipeline(japan_2050.scenario, japan_2050_inputs, target_only=True)
    full = japan_2050.dataset
    assert {"wtw_per_new_car", "wtw_per_new_car_lifetime", "sales_share"} <= set(short.data_vars)
    assert not {"battery_demand", "grid_break_even", "emission_change_factors"} & set(short)
    for name in short.data_vars:
        xr.testing.assert_identical(
            short[name], full[name].sel({d: short[d] for d in short[name].dims})
        )


@pytest.mark.parametrize("target_only", [True, False])
def test_a_target_on_the_lifetime_metric_is_measured_on_it(
    japan_2050, japan_2050_inputs, target_only
):
    from evpath.model.pipeline import run_pipeline

    scenario = japan_2050.scenario
    target = scenario.emissions.target.model_copy(update={"metric": "wtw_per_new_car_lifetime"})
    lifetime = scenario.model_copy(
        update={"emissions": scenario.emissions.model_copy(update={"target": target})}
    )
    ds = run_pipeline(lifetime, japan_2050_inputs, target_only=target_only)
    metric = ds["wtw_per_new_car_lifetime"]
    expected = 1.0 - metric / metric.sel(year=target.base_year)
    np.testing.assert_allclose(
        ds["emission_reduction"], expected.transpose(*ds["emission_reduction"].dims)
    )
