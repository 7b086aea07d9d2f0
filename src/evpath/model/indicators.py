"""Emissions per car and per km, and the per-car reduction target.

Per new car: the cars sold in a year, in their first year on the road, with that year's
fuels and grid (the at-sale view of Japan's target for the cars it supplies). Per car on
the road: fleet emissions over fleet stock. Life-cycle adds the vehicle cycle, spread
evenly over the expected years in the fleet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.tolerances import FULL_SHARE_TOLERANCE, TARGET_TOLERANCE
from evpath.scenario.emissions import Target


def per_car_metrics(
    *,
    sales: xr.DataArray,
    stock: xr.DataArray,
    vehicle_km: xr.DataArray,
    wtw: xr.DataArray,
    vehicle_cycle: xr.DataArray,
    new_car_km: xr.DataArray,
    new_car_wtw_per_km: xr.DataArray,
    new_car_manufacturing_per_year: xr.DataArray,
) -> xr.Dataset:
    """Per-car and per-km indicators (region, year).

    Parameters
    ----------
    sales, stock : DataArray (region, segment, powertrain, year) [vehicles/yr], [vehicles]
    vehicle_km : DataArray (region, segment, powertrain, year) [km/yr]
    wtw, vehicle_cycle : DataArray (region, segment, powertrain, year) [kg CO2e/yr]
        Fleet well-to-wheel and amortised vehicle-cycle emissions.
    new_car_km : DataArray (segment, year) [km/yr]
        Distance of a new car in its first year.
    new_car_wtw_per_km : DataArray (segment, powertrain, year) [kg CO2e/km]
    new_car_manufacturing_per_year : DataArray (segment, powertrain, year) [kg CO2e/vehicle/yr]
    """
    every = ("segment", "powertrain")
    cars = sales.sum(every)
    new_wtw = (sales * new_car_km * new_car_wtw_per_km).sum(every)
    new_km = (sales * new_car_km).sum(every)
    new_cycle = (sales * new_car_manufacturing_per_year).sum(every)
    fleet_wtw, fleet_cars = wtw.sum(every), stock.sum(every)
    metrics = {
        "wtw_per_new_car": new_wtw / cars,
        "wtw_per_car": fleet_wtw / fleet_cars,
        "lifecycle_per_new_car": (new_wtw + new_cycle) / cars,
        "lifecycle_per_car": (fleet_wtw + vehicle_cycle.sum(every)) / fleet_cars,
        "wtw_per_km_new": 1000.0 * new_wtw / new_km,
        "wtw_per_km_fleet": 1000.0 * fleet_wtw / vehicle_km.sum(every),
    }
    return xr.Dataset(metrics)


def reduction(metric: xr.DataArray, base_year: int) -> xr.DataArray:
    """1 − metric(t) / metric(base_year) (region, year) [fraction]."""
    return 1.0 - metric / metric.sel(year=base_year, drop=True)


def target_table(metrics: xr.Dataset, spec: Target) -> pd.DataFrame:
    """The target verdict per region: base value, value and reduction in the target year,
    whether it is met, the gap, and the first year the reduction reaches the target."""
    metric = metrics[spec.metric]
    cut = reduction(metric, spec.base_year)
    reached = cut >= spec.reduction - TARGET_TOLERANCE
    first = cut.year.where(reached).min("year")
    rows = []
    for region in metric.region.values:
        achieved = float(cut.sel(region=region, year=spec.year))
        first_year = float(first.sel(region=region))
        rows.append(
            {
                "region": str(region),
                "metric": spec.metric,
                "unit": metric.attrs["units"],
                "base_year": spec.base_year,
                "base_value": float(metric.sel(region=region, year=spec.base_year)),
                "target_year": spec.year,
                "value": float(metric.sel(region=region, year=spec.year)),
                "target_reduction": spec.reduction,
                "reduction": achieved,
                "met": achieved >= spec.reduction - TARGET_TOLERANCE,
                "gap": max(spec.reduction - achieved, 0.0),
                "first_year_met": None if np.isnan(first_year) else int(first_year),
            }
        )
    return pd.DataFrame(rows).set_index("region")


def first_year_fully_electrified(electrified_share: xr.DataArray) -> xr.DataArray:
    """First year (region) from which every new car is electrified; NaN if never."""
    full = electrified_share >= 1.0 - FULL_SHARE_TOLERANCE
    stays = full.isel(year=slice(None, None, -1)).cumprod("year").isel(year=slice(None, None, -1))
    return stays.year.where(stays.astype(bool)).min("year")
