"""Emissions stage: well-to-wheel emissions of fuels and electricity, the vehicle cycle,
and emissions per car and per km.

Stages: ``tank_to_wheel`` (fuel burnt in the car) and ``well_to_tank`` (fuel supply,
electricity generation and hydrogen production). Well-to-wheel is their sum; life-cycle
adds the vehicle cycle: making the car (chassis, drive parts, fuel-cell system, battery)
and scrapping it, spread evenly over the expected years a car spends in the fleet, and
servicing it (tyres, fluids, 12 V batteries, parts), booked per km in the year driven.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from evpath.core.contraction import dot
from evpath.core.dims import CARRIERS, POWERTRAINS
from evpath.core.drawn import labelled_array, path_array
from evpath.data.factors import EmissionFactors
from evpath.scenario.emissions import FuelCell, Hydrogen, VehicleCycle

STAGES = ("tank_to_wheel", "well_to_tank")


def hydrogen_intensity(
    spec: Hydrogen, factors: EmissionFactors, grid: xr.DataArray
) -> xr.DataArray:
    """Emissions of hydrogen supply (year) [kg CO2e/kg H2]: route mix × route factors,
    electrolysis at the year's grid intensity."""
    years = grid.year.values
    total = xr.zeros_like(grid)
    routes = {r for shares in spec.routes.values() for r in shares}
    for route in sorted(routes):
        share = path_array({y: s.get(route, 0.0) for y, s in spec.routes.items()}, years)
        per_kg = factors.hydrogen_routes[route] + (
            factors.electrolysis_kwh_per_kg * grid / 1000.0 if route == "electrolysis" else 0.0
        )
        total = total + share * per_kg
    return total


def carrier_factors(
    factors: EmissionFactors, grid: xr.DataArray, hydrogen: xr.DataArray
) -> xr.DataArray:
    """Emissions per unit of each carrier (stage, carrier, [region,] year)
    [kg CO2e per carrier unit].

    Gasoline and diesel: combustion (tank-to-wheel) and supply (well-to-tank) per L;
    electricity: grid intensity per kWh drawn; hydrogen: supply per kg.
    """
    grid, hydrogen = xr.broadcast(grid, hydrogen)
    per_kwh = grid.values / 1000.0
    per_kg = hydrogen.transpose(*grid.dims).values
    zero = np.zeros_like(per_kwh)
    ttw, wtt = [], []
    for carrier in CARRIERS:
        if carrier in factors.tank_to_wheel:
            ttw.append(np.full_like(per_kwh, factors.tank_to_wheel[carrier]))
            wtt.append(np.full_like(per_kwh, factors.well_to_tank[carrier]))
        elif carrier == "electricity":
            ttw.append(zero)
            wtt.append(per_kwh)
        else:
            ttw.append(zero)
            wtt.append(per_kg)
    return xr.DataArray(
        np.stack([np.stack(ttw), np.stack(wtt)]),
        coords={"stage": list(STAGES), "carrier": list(CARRIERS), **grid.coords},
        dims=("stage", "carrier", *grid.dims),
    )


def fleet_emissions(energy: xr.DataArray, per_unit: xr.DataArray) -> xr.DataArray:
    """Use-phase emissions (region, segment, powertrain, stage, year) [kg CO2e/yr]."""
    return dot(energy, per_unit, dim="carrier").transpose(
        "region", "segment", "powertrain", "stage", "year", ...
    )


ENGINE = ("ICEV_gasoline", "ICEV_diesel", "MHEV", "HEV", "PHEV")
"""Powertrains with a combustion engine (a mild hybrid's starter-generator is part of it)."""
ELECTRIC_DRIVE = ("HEV", "PHEV", "BEV", "FCEV")
"""Powertrains with a traction motor and inverter that can drive the car."""
FUEL_CELL = ("FCEV",)
"""Powertrains with a fuel-cell stack and hydrogen tanks."""


def _fitted(parts: tuple[str, ...]) -> xr.DataArray:
    """1 for the powertrains that have ``parts``, 0 for the others (powertrain)."""
    return labelled_array([float(p in parts) for p in POWERTRAINS], "powertrain", POWERTRAINS)


def _kei_scaled(spec: VehicleCycle, segments: list[str]) -> xr.DataArray:
    """``kei_scale`` for kei cars, 1 for the others (segment)."""
    return labelled_array(
        [spec.kei_scale if s == "kei" else 1.0 for s in segments], "segment", segments
    )


def fuel_cell_per_car(
    spec: FuelCell, factors: EmissionFactors, cohorts: np.ndarray
) -> xr.DataArray:
    """Emissions of making an FCEV's fuel-cell stack and hydrogen tanks (cohort)
    [kg CO2e/vehicle]: stack kW × factor per kW + hydrogen kg × factor per kg stored,
    with the stack power and tank size of the model year."""
    stack = path_array(spec.stack_kw, cohorts, dim="cohort")
    tanks = path_array(spec.hydrogen_kg, cohorts, dim="cohort")
    return factors.fuel_cell_stack * stack + factors.hydrogen_tank * tanks


def manufacturing_per_car(
    spec: VehicleCycle,
    factors: EmissionFactors,
    battery_grid: xr.DataArray,
    pack: xr.DataArray,
) -> xr.DataArray:
    """Emissions of making one car ([region,] segment, powertrain, cohort) [kg CO2e/vehicle].

    (chassis + engine + electric drive, as fitted) × kei scale × the body path of the
    model year + fuel-cell stack and tanks (FCEVs) + pack kWh × (battery_other +
    battery_electricity × grid / 1000), with the grid of the battery plant in the car's
    model year (held outside the modelled years).

    ``pack`` : DataArray (segment, powertrain, cohort) [kWh/vehicle].
    """
    segments = [str(s) for s in pack.segment.values]
    cohorts = pack.cohort.values
    parts = factors.manufacturing
    body = (
        parts["chassis"]
        + parts["engine"] * _fitted(ENGINE)
        + parts["electric_drive"] * _fitted(ELECTRIC_DRIVE)
    )
    scale = _kei_scaled(spec, segments) * path_array(spec.body_path or 1.0, cohorts, dim="cohort")
    fuel_cell = fuel_cell_per_car(spec.fuel_cell, factors, cohorts) * _fitted(FUEL_CELL)
    first, last = int(battery_grid.year[0]), int(battery_grid.year[-1])
    grid_at = (
        battery_grid.rename(year="cohort")
        .sel(cohort=np.clip(cohorts, first, last))
        .assign_coords(cohort=cohorts)
    )
    per_kwh = factors.battery_other + factors.battery_electricity * grid_at / 1000.0
    return body * scale + fuel_cell + pack * per_kwh


def end_of_life_per_car(
    spec: VehicleCycle, factors: EmissionFactors, segments: list[str]
) -> xr.DataArray:
    """Emissions of scrapping one car (segment) [kg CO2e/vehicle]: dismantling, shredding
    and residue treatment, × ``kei_scale`` for kei cars (lighter cars, less to shred)."""
    return factors.end_of_life * _kei_scaled(spec, segments)


def maintenance_per_km(
    spec: VehicleCycle, factors: EmissionFactors, segments: list[str]
) -> xr.DataArray:
    """Emissions of servicing a car per km driven (segment, powertrain) [kg CO2e/km]:
    the bundled factor × ``kei_scale`` for kei cars × ``maintenance_by_powertrain``."""
    relative = labelled_array(
        [spec.maintenance_by_powertrain.get(p, 1.0) for p in POWERTRAINS],
        "powertrain",
        POWERTRAINS,
    )
    return factors.maintenance * _kei_scaled(spec, segments) * relative


def amortised_vehicle_cycle(
    stock_by_cohort: xr.DataArray, per_car: Mapping[str, xr.DataArray], years_in_fleet: xr.DataArray
) -> dict[str, xr.DataArray]:
    """Vehicle-cycle emissions spread over the fleet (region, segment, powertrain, year)
    [kg CO2e/yr], for each part of the cycle (name → emissions per car M [kg CO2e] by
    cohort): Σ_c stock(t, c) · M_c / L_c. The parts are stacked so that the cohort-sized
    stock is read once."""
    parts = list(per_car)
    stacked = xr.concat(xr.broadcast(*(per_car[p] / years_in_fleet for p in parts)), dim="part")
    summed = dot(stock_by_cohort, stacked, dim="cohort")
    return {p: summed.isel(part=i) for i, p in enumerate(parts)}
