"""The stages after the fleet: each with the data it reads (a typed ``…Data`` that names
its bundled datasets and loads them through :mod:`evpath.data`), its function, and its
typed result. :mod:`evpath.model.pipeline` runs them in order.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.alignment import exact_dataset
from evpath.core.contraction import dot
from evpath.core.dims import LITHIUM_FREE, METALS, PLUG_IN
from evpath.data import batteries as battery_data
from evpath.data import connectors, grid, iea, usgs
from evpath.data.factors import DATASET as FACTORS
from evpath.data.factors import EmissionFactors, emission_factors
from evpath.model import checks
from evpath.model.activity import distance_per_car, vehicle_km_by_cohort, years_on_road
from evpath.model.battery import chemistry_mix, cumulative_world_demand, pack_kwh, pack_price
from evpath.model.charging import charging
from evpath.model.decomposition import lmdi
from evpath.model.emissions import (
    amortised_vehicle_cycle,
    carrier_factors,
    end_of_life_per_car,
    fleet_emissions,
    hydrogen_intensity,
    maintenance_per_km,
    manufacturing_per_car,
)
from evpath.model.energy import energy_by_carrier, intensity_per_km
from evpath.model.fleet import FleetResult
from evpath.model.grid import grid_intensity, pathway_points
from evpath.model.indicators import (
    FULL_GRID,
    at_sale_per_new_car,
    grid_break_even,
    lifetime_per_new_car,
    per_car_metrics,
    reduction,
)
from evpath.model.manufacturing import manufacturing
from evpath.model.materials import (
    LCE_PER_LI,
    capacity_leaving,
    export_shares,
    material_flows,
    retired_capacity,
    share_of_world_production,
    supply_indicators,
)
from evpath.scenario.batteries import Batteries
from evpath.scenario.charging import Charging
from evpath.scenario.emissions import Emissions
from evpath.scenario.schema import Scenario


def _at_sale(per_cohort: xr.DataArray, years: np.ndarray) -> xr.DataArray:
    """A (…, cohort) array taken for the cars sold in each year (…, year)."""
    return per_cohort.sel(cohort=xr.DataArray(years, dims="year")).drop_vars("cohort")


# --------------------------------------------------------------------------- batteries


@dataclass(frozen=True)
class BatteryData:
    """Data of the battery, plant and metal stages.

    Attributes
    ----------
    world_demand : Series (year) [GWh/yr]
        IEA world EV battery demand, every vehicle mode.
    price_anchors : DataFrame
        BNEF global average pack prices (year, value [USD/kWh]).
    intensity : DataArray (chemistry, metal) [kg/kWh]
    supply : DataFrame
        Per metal: world mine production [t/yr] and its concentration, from USGS
        (:func:`~evpath.model.materials.supply_indicators`).
    """

    DATASETS: ClassVar[tuple[str, ...]] = (
        iea.DATASET,
        battery_data.PRICES,
        battery_data.INTENSITY,
        battery_data.NIMH,
        *usgs.DATASETS,
    )

    world_demand: pd.Series
    price_anchors: pd.DataFrame
    intensity: xr.DataArray
    supply: pd.DataFrame

    @classmethod
    def load(cls) -> BatteryData:
        return cls(
            world_demand=iea.world_battery_demand(),
            price_anchors=battery_data.price_anchors(),
            intensity=battery_data.material_intensity(),
            supply=supply_indicators(usgs.mine_production()),
        )


@dataclass(frozen=True)
class BatteryResult:
    """Pack size of every cohort (segment, powertrain, cohort) [kWh/vehicle], which the
    vehicle cycle needs, and the battery, plant and metal variables of the run."""

    pack: xr.DataArray
    variables: xr.Dataset


def pack_sizes(spec: Batteries, fleet: FleetResult) -> xr.DataArray:
    """Pack size of every cohort of the fleet (segment, powertrain, cohort) [kWh/vehicle]."""
    return pack_kwh(spec.packs, fleet.segments, fleet.stock_by_cohort.cohort.values)


def battery_stage(
    spec: Batteries, data: BatteryData, sales: xr.DataArray, fleet: FleetResult
) -> BatteryResult:
    """GWh demand, pack price, cell plants, metal flows with recycling, supply shares."""
    years = sales.year.values
    pack = pack_sizes(spec, fleet)
    mix = chemistry_mix(spec.packs, fleet.stock_by_cohort.cohort.values)
    demand = (sales * _at_sale(pack, years)) / 1e6
    by_chemistry = dot(demand, _at_sale(mix, years), dim=["segment", "powertrain"])
    lithium_ion = by_chemistry.drop_sel(chemistry=list(LITHIUM_FREE)).sum("chemistry")
    own = lithium_ion.sum("region")
    cumulative = cumulative_world_demand(data.world_demand, spec.price, years, own)
    price = pack_price(data.price_anchors, cumulative, spec.price.learning_rate)
    plants = manufacturing(lithium_ion, spec.manufacturing)
    leaving = capacity_leaving(fleet.outflow_by_cohort, pack, mix, spec.packs.fade, fleet.entry_age)
    metals = material_flows(
        sales=sales,
        stock_by_cohort=fleet.stock_by_cohort,
        leaving=leaving["nameplate"],
        pack=pack,
        mix=mix,
        intensity=data.intensity,
        spec=spec.recycling,
    )
    checks.check_material_balance(metals)
    by_metal = data.supply.reindex(list(METALS))  # NaN for metals without production data
    retired = retired_capacity(leaving, export_shares(spec.recycling, fleet.segments, years))
    variables = exact_dataset(
        {
            "battery_demand": demand,
            "battery_demand_by_chemistry": by_chemistry.transpose(
                "region", "chemistry", "year", ...
            ),
            "world_battery_cumulative": cumulative,
            "pack_price": price,
            **plants.data_vars,
            **metals.data_vars,
            "lithium_carbonate_equivalent": (
                metals["metal_put_on_market"].sel(metal="lithium", drop=True) * LCE_PER_LI
            ),
            **retired.data_vars,
            "share_of_world_mine_production": share_of_world_production(
                metals["metal_primary_demand"], data.supply
            ).reindex(metal=list(METALS)),  # NaN for metals without production data
            "supply_hhi": xr.DataArray(by_metal["hhi"].to_numpy(), coords={"metal": list(METALS)}),
            "largest_producer_share": xr.DataArray(
                by_metal["largest_share"].to_numpy(), coords={"metal": list(METALS)}
            ),
        }
    )
    return BatteryResult(pack=pack, variables=variables)


# --------------------------------------------------------------------------- use phase


@dataclass(frozen=True)
class UseData:
    """Data of the activity, energy and emissions stages.

    Attributes
    ----------
    factors : EmissionFactors
    grid_history : dict of Series (year) [g CO2e/kWh]
        Historical grid intensity of each region.
    plant_grid_history : Series (year) [g CO2e/kWh] or None
        Grid of the battery plants when it is not each region's own.
    """

    DATASETS: ClassVar[tuple[str, ...]] = (grid.DATASET, FACTORS)

    factors: EmissionFactors
    grid_history: dict[str, pd.Series]
    plant_grid_history: pd.Series | None

    @classmethod
    def load(cls, spec: Emissions, country_names: dict[str, str]) -> UseData:
        """``country_names`` maps each region to its name in the grid data."""
        plant = spec.vehicle_cycle.battery_grid
        return cls(
            factors=emission_factors(),
            grid_history={r: grid.intensity_history(name) for r, name in country_names.items()},
            plant_grid_history=None if plant == "own" else grid.intensity_history(plant),
        )


def use_phase_stage(
    spec: Emissions,
    data: UseData,
    sales: xr.DataArray,
    fleet: FleetResult,
    pack: xr.DataArray,
    calibration_stock: xr.DataArray | None = None,
    *,
    target_only: bool = False,
) -> xr.Dataset:
    """Vehicle-km, energy by carrier, emissions by stage, grid and hydrogen intensity,
    per-car indicators (at sale and over a new car's life), the reduction against the
    base year, its decomposition and the grid dependence (:func:`_grid_dependence`).
    ``calibration_stock`` (stock by cohort): the fleet whose mean distance is the
    scenario's, when it is not ``fleet`` (see :func:`distance_per_car`). With
    ``target_only``, no decomposition and no grid dependence (the target's metrics are
    all there)."""
    years = sales.year.values
    regions = sales.region.values
    by_cohort = fleet.stock_by_cohort
    cohorts = by_cohort.cohort.values
    factors = data.factors

    distance = distance_per_car(by_cohort, spec.activity, fleet.entry_age, calibration_stock)
    intensity = intensity_per_km(spec.energy, fleet.segments, cohorts)
    km_by_cohort = vehicle_km_by_cohort(by_cohort, distance)
    energy = energy_by_carrier(km_by_cohort, intensity)

    points = pathway_points(spec.grid, factors.lifecycle_intensity)
    grid_by_region = xr.concat(
        [grid_intensity(data.grid_history[str(r)], points, years) for r in regions],
        dim=xr.DataArray(regions, dims="region"),
    )
    h2 = hydrogen_intensity(spec.hydrogen, factors, grid_by_region)
    per_unit = carrier_factors(factors, grid_by_region, h2)
    use = fleet_emissions(energy, per_unit)

    battery_grid = (
        grid_by_region
        if data.plant_grid_history is None
        else grid_intensity(data.plant_grid_history, {}, years).expand_dims(region=regions)
    )
    fleet_km = km_by_cohort.sum("cohort", skipna=False)
    new_car_km = _at_sale(distance, years)
    new_car_use = _at_sale(intensity, years)
    wtw_per_unit = per_unit.sum("stage")
    cycle_spec = spec.vehicle_cycle
    per_car = manufacturing_per_car(cycle_spec, factors, battery_grid, pack)
    scrapped = end_of_life_per_car(cycle_spec, factors, fleet.segments)
    serviced = maintenance_per_km(cycle_spec, factors, fleet.segments)
    life = fleet.mean_lifetime
    amortised = amortised_vehicle_cycle(by_cohort, {"making": per_car, "scrapping": scrapped}, life)
    making, scrapping = amortised["making"], amortised["scrapping"]
    servicing = fleet_km * serviced
    cycle = making + scrapping + servicing
    emissions = xr.concat([use, cycle.expand_dims(stage=["vehicle_cycle"])], dim="stage")
    wtw = use.sum("stage")

    metrics = per_car_metrics(
        sales=sales,
        stock=fleet.stock,
        vehicle_km=fleet_km,
        wtw=wtw,
        vehicle_cycle=cycle,
        new_car_km=new_car_km,
        new_car_wtw_per_km=dot(new_car_use, wtw_per_unit, dim="carrier"),
        new_car_cycle={
            "manufacturing": _at_sale(per_car / life, years),
            "maintenance": new_car_km * serviced,
            "end_of_life": _at_sale(scrapped / life, years),
        },
    )
    fleet_parts = ("region", "segment", "powertrain", "year", ...)
    content = xr.DataArray(
        [factors.energy_content[str(c)] for c in energy.carrier.values],
        coords={"carrier": energy.carrier},
    )
    energy_mj = energy * content
    physical = {
        f"{carrier}_use": energy.sel(carrier=carrier, drop=True).sum(["segment", "powertrain"])
        for carrier in energy.carrier.values
    }
    life_on_road = years_on_road(sales, by_cohort, distance, spec.activity.age_decline)
    lifetime = lifetime_per_new_car(sales, life_on_road, new_car_use, wtw_per_unit)
    target = spec.target
    decomposition = (
        {}
        if target_only
        else {
            "emission_change_factors": lmdi(
                fleet_km, energy_mj.sum("carrier"), wtw, target.base_year, target.year
            )
        }
    )
    grid_side = (
        {}
        if target_only
        else _grid_dependence(
            spec, factors, sales, life_on_road, new_car_km, new_car_use, energy, grid_by_region
        )
    )
    return exact_dataset(
        {
            "vehicle_km": fleet_km,
            "energy_use": energy_mj.transpose(
                "region", "segment", "powertrain", "carrier", "year", ...
            ),
            **physical,
            "grid_intensity": grid_by_region,
            "hydrogen_intensity": h2,
            "emissions": emissions.transpose(
                "region", "segment", "powertrain", "stage", "year", ...
            ),
            "manufacturing_per_car": _at_sale(per_car, years),
            "maintenance_emissions": servicing.transpose(*fleet_parts),
            "end_of_life_emissions": scrapping.transpose(*fleet_parts),
            **metrics.data_vars,
            "emission_reduction": reduction(
                {**metrics.data_vars, **lifetime.data_vars}[target.metric], target.base_year
            ),
            **decomposition,
            **lifetime.data_vars,
            **grid_side,
        }
    )


BREAK_EVEN = {
    "wtw_per_new_car": "grid_break_even",
    "wtw_per_new_car_lifetime": "grid_break_even_lifetime",
}
"""The per-new-car metrics whose grid break-even a run reports → the variable holding it
(one (region) variable each: a ``metric`` dimension would clash with a makers' scope's)."""


def _grid_dependence(
    spec: Emissions,
    factors: EmissionFactors,
    sales: xr.DataArray,
    life: xr.Dataset,
    new_km: xr.DataArray,
    new_use: xr.DataArray,
    energy: xr.DataArray,
    grid: xr.DataArray,
) -> dict[Hashable, xr.DataArray]:
    """What the use phase's well-to-wheel figures owe to the grid.

    * ``grid_break_even`` and ``grid_break_even_lifetime`` (region) [g CO2e/kWh]: the
      grid intensity held from the target year on at which ``wtw_per_new_car`` and
      ``wtw_per_new_car_lifetime`` just meet the target
      (:func:`~evpath.model.indicators.grid_break_even`);
    * ``fleet_wtw_at_base_grid`` (region, year) [kg CO2e/yr]: fleet well-to-wheel
      emissions with the target base year's grid intensity in every year (electricity and
      electrolytic hydrogen), everything else as modelled.

    ``life``: a new car's years on the road (:func:`~evpath.model.activity.years_on_road`);
    ``new_km`` (segment, year) [km/yr] and ``new_use`` (segment, powertrain, carrier,
    year) [carrier unit/km]: a new car's distance and energy use; ``energy`` (region,
    segment, powertrain, carrier, year) [carrier unit/yr]; ``grid`` (region, year)
    [g CO2e/kWh].
    """
    target = spec.target

    def factors_at(at: xr.DataArray) -> xr.DataArray:
        """Emissions per carrier unit (stage, carrier, region, year) on the grid ``at``."""
        return carrier_factors(factors, at, hydrogen_intensity(spec.hydrogen, factors, at))

    # both per-new-car metrics with the grid at 0 and at FULL_GRID from the target year
    # on, the two levels computed at once along a "level" dim
    levels = xr.DataArray([0.0, FULL_GRID], coords={"level": [0.0, FULL_GRID]})
    wtw = factors_at(xr.where(grid.year >= target.year, levels, grid)).sum("stage")
    at_levels = {
        "wtw_per_new_car": at_sale_per_new_car(sales, new_km, new_use, wtw),
        "wtw_per_new_car_lifetime": lifetime_per_new_car(sales, life, new_use, wtw)[
            "wtw_per_new_car_lifetime"
        ],
    }
    break_even: dict[Hashable, xr.DataArray] = {
        variable: grid_break_even(
            at_levels[metric].sel(level=0.0, drop=True),
            at_levels[metric].sel(level=FULL_GRID, drop=True),
            target,
        )
        for metric, variable in BREAK_EVEN.items()
    }
    base_grid = grid.sel(year=target.base_year, drop=True).broadcast_like(grid)
    at_base = fleet_emissions(energy, factors_at(base_grid))
    return {
        **break_even,
        "fleet_wtw_at_base_grid": at_base.sum(["segment", "powertrain", "stage"]),
    }


# --------------------------------------------------------------------------- charging


@dataclass(frozen=True)
class ChargingData:
    """Data of the charging stage.

    Attributes
    ----------
    observed : DataArray (region, charger_type, year) [chargers]
        IEA public charging points; NaN where missing.
    """

    DATASETS: ClassVar[tuple[str, ...]] = (iea.DATASET, connectors.DATASET)

    observed: xr.DataArray

    @classmethod
    def load(cls, scenario: Scenario, iea_names: dict[str, str]) -> ChargingData:
        """``iea_names`` maps each region to its name in the IEA data."""
        years = np.arange(scenario.years.start, scenario.years.end + 1)
        return cls(observed=iea.public_chargers(iea_names, years))


def charging_stage(
    spec: Charging,
    data: ChargingData,
    fleet: FleetResult,
    history_end: int,
    electricity_use: xr.DataArray | None,
) -> xr.Dataset:
    """Public chargers by type and standard, EV access, investment; with the fleet's
    electricity use [kWh/yr], the part charged in public."""
    plugged = fleet.stock_by_cohort.sel(powertrain=list(PLUG_IN)).sum(
        ["segment", "powertrain"], skipna=False
    )
    stations = charging(
        ev_stock_by_cohort=plugged,
        observed=data.observed,
        spec=spec,
        history_end=history_end,
        compatibility=connectors.compatibility(spec.adapters),
    )
    if electricity_use is not None:
        stations["public_charging_energy"] = electricity_use * spec.public_energy_share
    return stations
