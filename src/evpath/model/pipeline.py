"""The pipeline: the stages in order, from a scenario and its history to one Dataset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.dims import ELECTRIFIED, METALS
from evpath.core.tolerances import FULL_SHARE_TOLERANCE
from evpath.core.variables import annotate
from evpath.data.factors import EmissionFactors
from evpath.data.history import History
from evpath.data.iea import public_chargers, world_battery_demand
from evpath.data.usgs import mine_production
from evpath.model import checks
from evpath.model.activity import distance_per_car, vehicle_km
from evpath.model.battery import (
    chemistry_mix,
    cumulative_world_demand,
    pack_kwh,
    pack_price,
    price_anchors,
)
from evpath.model.charging import charging
from evpath.model.decomposition import lmdi
from evpath.model.emissions import (
    amortised_vehicle_cycle,
    carrier_factors,
    expected_years_in_fleet,
    fleet_emissions,
    hydrogen_intensity,
    manufacturing_per_car,
)
from evpath.model.energy import energy_by_carrier, intensity_per_km
from evpath.model.fleet import fleet_stock
from evpath.model.grid import grid_intensity, intensity_history, pathway_points
from evpath.model.indicators import per_car_metrics, reduction
from evpath.model.manufacturing import manufacturing
from evpath.model.materials import (
    LCE_PER_LI,
    material_flows,
    material_intensity,
    retired_capacity,
    share_of_world_production,
    supply_indicators,
)
from evpath.model.sales import new_sales
from evpath.model.survival import INFLOW_AT_AGE_OFFSET
from evpath.scenario.batteries import Batteries
from evpath.scenario.emissions import CARRIER_UNITS, Emissions
from evpath.scenario.schema import Scenario

GRID = "owid_electricity_mix_carbon_intensity"
IEA = "iea_gevo2025_ev_data"
PRICES = "battery_pack_price_bnef_anchor_points"
INTENSITY = "battery_material_intensity_batpac"
USGS = "usgs_mcs_cobalt_nickel_graphite_production"
LITHIUM = "usgs_mcs2024_lithium_production_and_reserves"
COMPATIBILITY = "connector_compatibility"
TABLES = (GRID, IEA, PRICES, INTENSITY, USGS, LITHIUM, COMPATIBILITY)
"""Bundled datasets the stages after the fleet read."""


@dataclass(frozen=True)
class Inputs:
    """The data a run reads, loaded once before the pipeline starts.

    Attributes
    ----------
    history : History
        Sales history and observed fleet figures.
    tables : dict of DataFrame
        Bundled datasets by name (grid intensity, IEA EV data, battery material
        intensity, pack prices, mine production).
    factors : EmissionFactors
    country_names : dict
        Name of each region in the grid data.
    iea_names : dict
        Name of each region in the IEA data.
    """

    history: History
    tables: dict[str, pd.DataFrame]
    factors: EmissionFactors
    country_names: dict[str, str]
    iea_names: dict[str, str]


def run_pipeline(scenario: Scenario, inputs: Inputs) -> xr.Dataset:
    """Every stage of the model for one scenario.

    Returns
    -------
    Dataset
        sales, stock, outflow (region, segment, powertrain, year); stock_by_cohort
        (… , cohort); average_age (region, segment, year); shares and the
        electrification indicators; with an ``emissions`` block, vehicle-km, energy,
        emissions by stage, grid intensity, per-car indicators, the reduction against
        the base year and its decomposition. Units in attrs; see ``variables.csv``.
    """
    history = inputs.history
    years = np.arange(scenario.years.start, scenario.years.end + 1)
    sales = new_sales(scenario, history.sales.sel(region=scenario.regions), years)
    fleet = fleet_stock(scenario, sales)

    checks.check_non_negative(sales, "sales")
    checks.check_non_negative(fleet.stock, "stock")
    checks.check_non_negative(fleet.outflow, "outflow")
    stock_before = fleet.initial_stock
    checks.check_stock_balance(fleet.stock, sales, fleet.outflow, stock_before)

    sales_share = _share(sales.sum("segment"), "powertrain")
    stock_share = _share(fleet.stock.sum("segment"), "powertrain")
    checks.check_shares(sales_share, "powertrain", "sales_share")
    checks.check_shares(stock_share, "powertrain", "stock_share")
    electrified = sales_share.sel(powertrain=list(ELECTRIFIED)).sum("powertrain")
    electrified.attrs["units"] = "1"

    dataset = xr.Dataset(
        {
            "sales": sales,
            "stock": fleet.stock.assign_attrs(units="vehicles"),
            "outflow": fleet.outflow.assign_attrs(units="vehicles/yr"),
            "stock_by_cohort": fleet.stock_by_cohort.assign_attrs(units="vehicles"),
            "average_age": fleet.average_age,
            "sales_share": sales_share,
            "stock_share": stock_share,
            "electrified_sales_share": electrified,
            "electrified_stock_share": stock_share.sel(powertrain=list(ELECTRIFIED))
            .sum("powertrain")
            .assign_attrs(units="1"),
        }
    )
    pack = None
    if scenario.batteries is not None:
        batteries = _batteries(scenario, scenario.batteries, inputs, sales, fleet)
        pack = batteries.attrs.pop("pack")
        dataset = dataset.merge(batteries)
    if scenario.emissions is not None:
        assert pack is not None
        dataset = dataset.merge(
            _use_phase(scenario, scenario.emissions, inputs, sales, fleet, pack)
        )
    if scenario.charging is not None:
        plugged = fleet.stock_by_cohort.sel(powertrain=["BEV", "PHEV"]).sum(
            ["segment", "powertrain"]
        )
        observed = public_chargers(inputs.iea_names, years)
        stations = charging(
            ev_stock_by_cohort=plugged,
            observed=observed,
            spec=scenario.charging,
            history_end=scenario.years.history_end,
            table=inputs.tables[COMPATIBILITY],
        )
        if "electricity_use" in dataset:
            stations["public_charging_energy"] = (
                dataset["electricity_use"] * scenario.charging.public_energy_share
            ).assign_attrs(units="kWh/yr")
        dataset = dataset.merge(stations)
    return annotate(dataset.transpose("region", "segment", "powertrain", "year", ...))


def _age_offset(scenario: Scenario, segments: list[str]) -> xr.DataArray:
    """Age at the end of the entry year by segment (from each segment's ``inflow_at``)."""
    lifetimes = [
        scenario.fleet.lifetime_by_segment.get(s, scenario.fleet.lifetime) for s in segments
    ]
    return xr.DataArray(
        [INFLOW_AT_AGE_OFFSET[lt.inflow_at] for lt in lifetimes], coords={"segment": segments}
    )


def _batteries(
    scenario: Scenario, spec: Batteries, inputs: Inputs, sales: xr.DataArray, fleet: xr.Dataset
) -> xr.Dataset:
    """Battery, manufacturing and materials stages; the pack array rides in ``attrs``."""
    years = sales.year.values
    at_sale = {"cohort": xr.DataArray(years, dims="year")}
    segments = [str(s) for s in sales.segment.values]
    cohorts = fleet.stock_by_cohort.cohort.values
    pack = pack_kwh(spec.packs, segments, cohorts)
    mix = chemistry_mix(spec.packs, cohorts)
    demand = (sales * pack.sel(at_sale).drop_vars("cohort")) / 1e6
    by_chemistry = demand.sum(["segment", "powertrain"]) * mix.sel(at_sale).drop_vars("cohort")
    cumulative = cumulative_world_demand(world_battery_demand(), spec.price, years)
    price = pack_price(price_anchors(inputs.tables[PRICES]), cumulative, spec.price.learning_rate)
    plants = manufacturing(demand.sum(["segment", "powertrain"]), spec.manufacturing)
    intensity = material_intensity(inputs.tables[INTENSITY])
    metals = material_flows(
        sales=sales,
        stock_by_cohort=fleet.stock_by_cohort,
        outflow_by_cohort=fleet.outflow_by_cohort,
        pack=pack,
        mix=mix,
        intensity=intensity,
        spec=spec.recycling,
    )
    checks.check_material_balance(metals)
    supply = supply_indicators(mine_production())
    by_metal = supply.reindex(list(METALS))  # NaN for metals without production data
    retired = retired_capacity(
        fleet.outflow_by_cohort, pack, mix, spec.packs.fade, _age_offset(scenario, segments)
    )
    result = xr.Dataset(
        {
            "battery_demand": demand.assign_attrs(units="GWh/yr"),
            "battery_demand_by_chemistry": by_chemistry.transpose(
                "region", "chemistry", "year"
            ).assign_attrs(units="GWh/yr"),
            "world_battery_cumulative": cumulative,
            "pack_price": price,
            **plants.data_vars,
            **metals.data_vars,
            "lithium_carbonate_equivalent": (
                metals["metal_put_on_market"].sel(metal="lithium", drop=True) * LCE_PER_LI
            ).assign_attrs(units="t/yr"),
            **retired.data_vars,
            "share_of_world_mine_production": share_of_world_production(
                metals["metal_primary_demand"], supply
            ),
            "supply_hhi": xr.DataArray(
                by_metal["hhi"].to_numpy(), coords={"metal": list(METALS)}, attrs={"units": "1"}
            ),
            "largest_producer_share": xr.DataArray(
                by_metal["largest_share"].to_numpy(),
                coords={"metal": list(METALS)},
                attrs={"units": "1"},
            ),
        }
    )
    result.attrs["pack"] = pack
    return result


def _use_phase(
    scenario: Scenario,
    spec: Emissions,
    inputs: Inputs,
    sales: xr.DataArray,
    fleet: xr.Dataset,
    pack: xr.DataArray,
) -> xr.Dataset:
    """Activity, energy and emissions stages, and the per-car indicators."""
    years = sales.year.values
    at_sale = {"cohort": xr.DataArray(years, dims="year")}
    segments = [str(s) for s in sales.segment.values]
    lifetimes = [
        scenario.fleet.lifetime_by_segment.get(s, scenario.fleet.lifetime) for s in segments
    ]
    offset = xr.DataArray(
        [INFLOW_AT_AGE_OFFSET[lt.inflow_at] for lt in lifetimes], coords={"segment": segments}
    )
    by_cohort = fleet.stock_by_cohort
    cohorts = by_cohort.cohort.values
    factors = inputs.factors

    distance = distance_per_car(by_cohort, spec.activity, offset)
    km_by_cohort = vehicle_km(by_cohort, distance)
    intensity = intensity_per_km(spec.energy, segments, cohorts)
    energy = energy_by_carrier(km_by_cohort, intensity)

    points = pathway_points(spec.grid, factors.lifecycle_intensity)
    region_dim = xr.DataArray(sales.region.values, dims="region")
    grid = xr.concat(
        [
            grid_intensity(
                intensity_history(inputs.tables[GRID], inputs.country_names[str(r)]), points, years
            )
            for r in sales.region.values
        ],
        dim=region_dim,
    )
    h2 = hydrogen_intensity(spec.hydrogen, factors, grid)
    per_unit = carrier_factors(factors, grid, h2)
    use = fleet_emissions(energy, per_unit)

    plant = spec.vehicle_cycle.battery_grid
    battery_grid = (
        grid
        if plant == "own"
        else grid_intensity(intensity_history(inputs.tables[GRID], plant), {}, years).expand_dims(
            region=sales.region.values
        )
    )
    per_car = manufacturing_per_car(spec.vehicle_cycle, factors, battery_grid, pack)
    life = xr.concat([expected_years_in_fleet(lt, cohorts) for lt in lifetimes], dim=offset.segment)
    cycle = amortised_vehicle_cycle(by_cohort, per_car, life)
    emissions = xr.concat([use, cycle.expand_dims(stage=["vehicle_cycle"])], dim="stage")
    wtw = use.sum("stage")

    fleet_km = km_by_cohort.sum("cohort").assign_attrs(units="km/yr")
    metrics = per_car_metrics(
        sales=sales,
        stock=fleet.stock,
        vehicle_km=fleet_km,
        wtw=wtw,
        vehicle_cycle=cycle,
        new_car_km=distance.sel(at_sale).drop_vars("cohort"),
        new_car_wtw_per_km=xr.dot(
            intensity.sel(at_sale).drop_vars("cohort"), per_unit.sum("stage"), dim="carrier"
        ),
        new_car_manufacturing_per_year=(per_car / life).sel(at_sale).drop_vars("cohort"),
    )
    content = xr.DataArray(
        [factors.energy_content[str(c)] for c in energy.carrier.values],
        coords={"carrier": energy.carrier},
    )
    energy_mj = energy * content
    physical = {
        f"{carrier}_use": energy.sel(carrier=carrier, drop=True)
        .sum(["segment", "powertrain"])
        .assign_attrs(units=f"{CARRIER_UNITS[str(carrier)]}/yr")
        for carrier in energy.carrier.values
    }
    target = spec.target
    return xr.Dataset(
        {
            "vehicle_km": fleet_km,
            "energy_use": energy_mj.transpose(
                "region", "segment", "powertrain", "carrier", "year"
            ).assign_attrs(units="MJ/yr"),
            **physical,
            "grid_intensity": grid,
            "hydrogen_intensity": h2,
            "emissions": emissions.transpose(
                "region", "segment", "powertrain", "stage", "year"
            ).assign_attrs(units="kg CO2e/yr"),
            "manufacturing_per_car": per_car.sel(at_sale)
            .drop_vars("cohort")
            .assign_attrs(units="kg CO2e/vehicle"),
            **metrics.data_vars,
            "emission_reduction": reduction(metrics[target.metric], target.base_year),
            "emission_change_factors": lmdi(
                fleet_km, energy_mj.sum("carrier"), wtw, target.base_year, target.year
            ),
        }
    )


def _share(values: xr.DataArray, dim: str) -> xr.DataArray:
    share = values / values.sum(dim)
    share.attrs["units"] = "1"
    return share


def first_year_fully_electrified(electrified_share: xr.DataArray) -> xr.DataArray:
    """First year (region) from which every new car is electrified; NaN if never."""
    full = electrified_share >= 1.0 - FULL_SHARE_TOLERANCE
    stays = full.isel(year=slice(None, None, -1)).cumprod("year").isel(year=slice(None, None, -1))
    first = stays.year.where(stays.astype(bool)).min("year")
    return first
