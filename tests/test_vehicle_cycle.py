"""The vehicle cycle: making a car (chassis and drive parts on the body path, the fuel-cell
system of FCEVs, the battery), servicing it per km and scrapping it, in the per-car, per
new car and fleet figures."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from evpath.core.dims import POWERTRAINS
from evpath.data.factors import emission_factors
from evpath.errors import ScenarioError
from evpath.model.activity import distance_per_car
from evpath.model.emissions import (
    end_of_life_per_car,
    fuel_cell_per_car,
    maintenance_per_km,
    manufacturing_per_car,
)
from evpath.model.fleet import fleet_stock
from evpath.scenario.emissions import VehicleCycle
from evpath.scenario.loader import resolve_scenario

JAPAN = "JPN"
PARTS = ("maintenance_emissions", "end_of_life_emissions")
PER_NEW_CAR = ("manufacturing_per_new_car", "maintenance_per_new_car", "end_of_life_per_new_car")


def _spec(**changes: object) -> VehicleCycle:
    document = {
        "kei_scale": 0.5,
        "fuel_cell": {"stack_kw": {2019: 114, 2020: 128}, "hydrogen_kg": {2019: 5.0, 2020: 5.6}},
        "note": "test",
    }
    return VehicleCycle.model_validate(document | changes)


def test_body_emissions_follow_the_path_and_packs_do_not(japan_2050):
    made = japan_2050.dataset["manufacturing_per_car"].sel(region=JAPAN)
    spec = japan_2050.scenario.emissions.vehicle_cycle
    assert spec.body_path == {2024: 1.0, 2050: 0.5}
    gasoline = made.sel(powertrain="ICEV_gasoline")  # no pack: body only
    for segment in ("registered", "kei"):
        at = gasoline.sel(segment=segment)
        assert float(at.sel(year=2050)) == pytest.approx(0.5 * float(at.sel(year=2024)))
        assert float(at.sel(year=2037)) == pytest.approx(0.75 * float(at.sel(year=2024)))
        assert float(at.sel(year=2010)) == pytest.approx(float(at.sel(year=2024)))
    kei, registered = gasoline.sel(segment="kei"), gasoline.sel(segment="registered")
    np.testing.assert_allclose(kei, spec.kei_scale * registered, rtol=1e-12)
    assert bool((made >= 0).all())


def test_making_a_fuel_cell_car_adds_its_stack_and_tanks_by_model_year():
    """Without packs, an FCEV is chassis + electric drive + stack kW × factor + hydrogen kg
    × factor (the Mirai's 114 kW and 5.0 kg up to 2019, 128 kW and 5.6 kg from 2020); a
    mild hybrid is made like a gasoline car (its starter-generator counts as the engine);
    an FCEV costs more to make than a full hybrid, even a registered one against a kei."""
    factors = emission_factors()
    parts = factors.manufacturing
    cohorts = np.array([2015, 2019, 2020, 2024])
    pack = xr.DataArray(
        np.zeros((2, len(POWERTRAINS), len(cohorts))),
        coords={
            "segment": ["registered", "kei"],
            "powertrain": list(POWERTRAINS),
            "cohort": cohorts,
        },
    )
    grid = xr.DataArray(np.full(21, 500.0), coords={"year": np.arange(2010, 2031)})
    made = manufacturing_per_car(_spec(), factors, grid, pack).sel(segment="registered")
    fuel_cell = fuel_cell_per_car(_spec().fuel_cell, factors, cohorts)
    expected = np.array([114 * 24.17 + 5.0 * 353] * 2 + [128 * 24.17 + 5.6 * 353] * 2)
    np.testing.assert_allclose(fuel_cell, expected, rtol=1e-12)
    body = parts["chassis"] + parts["electric_drive"]
    np.testing.assert_allclose(made.sel(powertrain="FCEV"), body + expected, rtol=1e-12)
    np.testing.assert_allclose(made.sel(powertrain="BEV"), body, rtol=1e-12)
    gasoline = parts["chassis"] + parts["engine"]
    np.testing.assert_allclose(made.sel(powertrain="ICEV_gasoline"), gasoline, rtol=1e-12)
    if "MHEV" in POWERTRAINS:
        np.testing.assert_allclose(made.sel(powertrain="MHEV"), gasoline, rtol=1e-12)
    assert bool((made.sel(powertrain="FCEV") > made.sel(powertrain="HEV") + 3_000).all())


def test_a_fuel_cell_car_costs_more_to_make_than_a_hybrid_in_japan_2050(japan_2050):
    made = japan_2050.dataset["manufacturing_per_car"].sel(region=JAPAN, segment="registered")
    for year in (2015, 2024, 2050):
        at = made.sel(year=year)
        assert float(at.sel(powertrain="FCEV")) > float(at.sel(powertrain="HEV")), year


def test_servicing_and_scrapping_per_car_follow_the_factors_and_the_kei_scale():
    factors = emission_factors()
    spec = _spec(maintenance_by_powertrain={"BEV": 0.8})
    scrapped = end_of_life_per_car(spec, factors, ["registered", "kei"])
    np.testing.assert_allclose(scrapped, [300.0, 150.0])
    serviced = maintenance_per_km(spec, factors, ["registered", "kei"])
    assert float(serviced.sel(segment="registered", powertrain="HEV")) == pytest.approx(0.003)
    assert float(serviced.sel(segment="kei", powertrain="HEV")) == pytest.approx(0.0015)
    assert float(serviced.sel(segment="registered", powertrain="BEV")) == pytest.approx(0.0024)


def test_the_fleet_vehicle_cycle_is_every_cohort_times_its_per_car_amounts(japan_2050):
    """stage=vehicle_cycle = making + scrapping, both spread as Σ_c stock(t, c) · M_c / L_c,
    + servicing, the km driven × the factor per km. Every car of a cohort that leaves the
    fleet within the run is scrapped once in total."""
    ds, scenario = japan_2050.dataset, japan_2050.scenario
    spec, factors = scenario.emissions.vehicle_cycle, emission_factors()
    segments = [str(s) for s in ds.segment.values]
    life = fleet_stock(scenario, ds["sales"]).mean_lifetime
    by_cohort = ds["stock_by_cohort"]
    scrapped = end_of_life_per_car(spec, factors, segments)
    spread = xr.dot(by_cohort, scrapped / life, dim="cohort")
    np.testing.assert_allclose(
        ds["end_of_life_emissions"], spread.transpose(*ds["end_of_life_emissions"].dims), rtol=1e-10
    )
    serviced = ds["vehicle_km"] * maintenance_per_km(spec, factors, segments)
    np.testing.assert_allclose(
        ds["maintenance_emissions"],
        serviced.transpose(*ds["maintenance_emissions"].dims),
        rtol=1e-10,
    )

    cycle = ds["emissions"].sel(stage="vehicle_cycle")
    making = cycle - ds["maintenance_emissions"] - ds["end_of_life_emissions"]
    # cars older than the first model year were made like its cars (paths held flat)
    made = ds["manufacturing_per_car"].rename(year="cohort")
    made = made.reindex(cohort=by_cohort.cohort, method="bfill")
    made_spread = xr.dot(by_cohort, made / life, dim="cohort")
    np.testing.assert_allclose(making, made_spread.transpose(*making.dims), rtol=1e-10)
    every = ["segment", "powertrain"]
    fleet = ds["emissions"].sum([*every, "stage"])
    per_car = ds["lifecycle_per_car"] * ds["stock"].sum(every)
    np.testing.assert_allclose(per_car, fleet.transpose(*per_car.dims), rtol=1e-10)

    cohort = by_cohort.sel(cohort=2010, region=JAPAN, segment="registered").sum("powertrain")
    sold = float(ds["sales"].sel(year=2010, region=JAPAN, segment="registered").sum())
    booked = float(
        (cohort * scrapped.sel(segment="registered")).sum()
        / life.sel(segment="registered", cohort=2010)
    )
    assert booked == pytest.approx(sold * 300.0, rel=1e-3)


def test_the_per_new_car_life_cycle_adds_every_part_of_the_vehicle_cycle(japan_2050):
    """lifecycle_per_new_car = wtw_per_new_car + making and scrapping spread over the
    expected years in the fleet + servicing the first year's km, each sales-weighted."""
    ds, scenario = japan_2050.dataset, japan_2050.scenario
    spec, factors = scenario.emissions.vehicle_cycle, emission_factors()
    segments = [str(s) for s in ds.segment.values]
    at = {"region": JAPAN}
    parts = sum(ds[name].sel(at) for name in PER_NEW_CAR)
    np.testing.assert_allclose(
        ds["lifecycle_per_new_car"].sel(at), ds["wtw_per_new_car"].sel(at) + parts, rtol=1e-12
    )
    sales = ds["sales"].sel(at)
    years = sales.year.values
    life = fleet_stock(scenario, ds["sales"]).mean_lifetime.sel(cohort=years).rename(cohort="year")
    scrapped = (sales * end_of_life_per_car(spec, factors, segments) / life).sum(
        ["segment", "powertrain"]
    )
    np.testing.assert_allclose(
        ds["end_of_life_per_new_car"].sel(at),
        scrapped / sales.sum(["segment", "powertrain"]),
        rtol=1e-10,
    )
    offset = xr.DataArray([0.5, 0.5], coords={"segment": ["registered", "kei"]})
    distance = distance_per_car(ds["stock_by_cohort"], scenario.emissions.activity, offset)
    first_year = distance.sel(cohort=xr.DataArray(years, dims="year")).drop_vars("cohort")
    serviced = (sales * first_year * maintenance_per_km(spec, factors, segments)).sum(
        ["segment", "powertrain"]
    )
    np.testing.assert_allclose(
        ds["maintenance_per_new_car"].sel(at),
        serviced / sales.sum(["segment", "powertrain"]),
        rtol=1e-10,
    )
    # servicing and scrapping add 40-50 kg CO2e a year to a new car, about 5% in 2050
    added = ds["maintenance_per_new_car"].sel(at) + ds["end_of_life_per_new_car"].sel(at)
    assert 40.0 < float(added.sel(year=2050)) < 50.0


def test_no_part_of_the_vehicle_cycle_is_negative(japan_2050):
    ds = japan_2050.dataset
    for name in ("manufacturing_per_car", "emissions", *PARTS, *PER_NEW_CAR):
        assert bool((ds[name] >= 0).all()), name


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"stack_kw": -5}, "emissions.vehicle_cycle.fuel_cell.stack_kw"),
        ({"hydrogen_kg": {2020: 500}}, "emissions.vehicle_cycle.fuel_cell.hydrogen_kg"),
        ({"stack_kw": {}}, "emissions.vehicle_cycle.fuel_cell.stack_kw"),
        ({"tank_kg": 5}, "emissions.vehicle_cycle.fuel_cell.tank_kg"),
    ],
)
def test_a_bad_fuel_cell_is_named(japan_2050, change, expected):
    document = japan_2050.scenario.model_dump(warnings=False)
    document["emissions"]["vehicle_cycle"]["fuel_cell"].update(change)
    with pytest.raises(ScenarioError) as error:
        resolve_scenario(document)
    assert expected in str(error.value)


def test_a_missing_fuel_cell_or_bad_maintenance_scale_is_named(japan_2050):
    document = japan_2050.scenario.model_dump(warnings=False)
    del document["emissions"]["vehicle_cycle"]["fuel_cell"]
    with pytest.raises(ScenarioError, match=r"emissions\.vehicle_cycle\.fuel_cell"):
        resolve_scenario(document)
    document = japan_2050.scenario.model_dump(warnings=False)
    document["emissions"]["vehicle_cycle"]["maintenance_by_powertrain"] = {"BEV": 0.0}
    with pytest.raises(ScenarioError, match=r"maintenance_by_powertrain\.BEV"):
        resolve_scenario(document)
    document["emissions"]["vehicle_cycle"]["maintenance_by_powertrain"] = {"Steam": 0.5}
    with pytest.raises(ScenarioError, match=r"maintenance_by_powertrain"):
        resolve_scenario(document)
