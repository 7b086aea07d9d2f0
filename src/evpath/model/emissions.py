"""Emissions stage: well-to-wheel emissions of fuels and electricity, the vehicle cycle,
and emissions per car and per km.

Stages: ``tank_to_wheel`` (fuel burnt in the car) and ``well_to_tank`` (fuel supply,
electricity generation and hydrogen production). Well-to-wheel is their sum; life-cycle
adds the vehicle cycle (glider and battery making), spread evenly over the expected years
a car spends in the fleet.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from evpath.core.dims import CARRIERS, POWERTRAINS
from evpath.core.drawn import labelled_array, path_array
from evpath.data.factors import EmissionFactors
from evpath.scenario.emissions import Hydrogen, VehicleCycle

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
    rows = []
    for carrier in CARRIERS:
        if carrier in factors.tank_to_wheel:
            ttw = xr.full_like(grid, factors.tank_to_wheel[carrier])
            wtt = xr.full_like(grid, factors.well_to_tank[carrier])
        elif carrier == "electricity":
            ttw, wtt = xr.zeros_like(grid), grid / 1000.0
        else:
            ttw, wtt = xr.zeros_like(grid), hydrogen
        rows.append(xr.concat([ttw, wtt], dim=xr.DataArray(list(STAGES), dims="stage")))
    result = xr.concat(rows, dim=xr.DataArray(list(CARRIERS), dims="carrier"))
    return result.transpose("stage", "carrier", ...)


def fleet_emissions(energy: xr.DataArray, per_unit: xr.DataArray) -> xr.DataArray:
    """Use-phase emissions (region, segment, powertrain, stage, year) [kg CO2e/yr]."""
    return xr.dot(energy, per_unit, dim="carrier").transpose(
        "region", "segment", "powertrain", "stage", "year", ...
    )


ENGINE = ("ICEV_gasoline", "ICEV_diesel", "HEV", "PHEV")
ELECTRIC_DRIVE = ("HEV", "PHEV", "BEV", "FCEV")


def manufacturing_per_car(
    spec: VehicleCycle,
    factors: EmissionFactors,
    battery_grid: xr.DataArray,
    pack: xr.DataArray,
) -> xr.DataArray:
    """Emissions of making one car ([region,] segment, powertrain, cohort) [kg CO2e/vehicle].

    (chassis + engine + electric drive, as fitted) × kei scale × the body path of the
    model year + pack kWh × (battery_other + battery_electricity × grid / 1000), with the
    grid of the battery plant in the car's model year (held outside the modelled years).

    ``pack`` : DataArray (segment, powertrain, cohort) [kWh/vehicle].
    """
    segments = [str(s) for s in pack.segment.values]
    cohorts = pack.cohort.values
    parts = factors.manufacturing
    body = xr.DataArray(
        [
            parts["chassis"]
            + parts["engine"] * (p in ENGINE)
            + parts["electric_drive"] * (p in ELECTRIC_DRIVE)
            for p in POWERTRAINS
        ],
        coords={"powertrain": list(POWERTRAINS)},
    )
    scale = labelled_array(
        [spec.kei_scale if s == "kei" else 1.0 for s in segments], "segment", segments
    ) * path_array(spec.body_path or 1.0, cohorts, dim="cohort")
    first, last = int(battery_grid.year[0]), int(battery_grid.year[-1])
    grid_at = (
        battery_grid.rename(year="cohort")
        .sel(cohort=np.clip(cohorts, first, last))
        .assign_coords(cohort=cohorts)
    )
    per_kwh = factors.battery_other + factors.battery_electricity * grid_at / 1000.0
    return body * scale + pack * per_kwh


def amortised_vehicle_cycle(
    stock_by_cohort: xr.DataArray, per_car: xr.DataArray, years_in_fleet: xr.DataArray
) -> xr.DataArray:
    """Vehicle-cycle emissions spread over the fleet (region, segment, powertrain, year)
    [kg CO2e/yr]: Σ_c stock(t, c) · M_c / L_c."""
    return xr.dot(stock_by_cohort, per_car / years_in_fleet, dim="cohort")
