"""Emissions per car and per km, and the per-car reduction target.

Per new car: the cars sold in a year, in their first year on the road, with that year's
fuels and grid (the at-sale view of Japan's target for the cars it supplies). Over a new
car's life: the same cars in every year they are expected on the road, each year with
its own fuels and grid, weighted by survival and distance by age (what the atmosphere
sees of the cars supplied). Per car on the road: fleet emissions over fleet stock.
Life-cycle adds the vehicle cycle: making and scrapping the car spread evenly over the
expected years in the fleet, servicing it per km driven.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.alignment import exact_dataset
from evpath.core.contraction import dot
from evpath.core.tolerances import FULL_SHARE_TOLERANCE, TARGET_TOLERANCE
from evpath.model.activity import SERVICE
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
    new_car_cycle: Mapping[str, xr.DataArray],
) -> xr.Dataset:
    """Per-car and per-km indicators (region, year).

    Parameters
    ----------
    sales, stock : DataArray (region, segment, powertrain, year) [vehicles/yr], [vehicles]
    vehicle_km : DataArray (region, segment, powertrain, year) [km/yr]
    wtw, vehicle_cycle : DataArray (region, segment, powertrain, year) [kg CO2e/yr]
        Fleet well-to-wheel and vehicle-cycle emissions.
    new_car_km : DataArray (segment, year) [km/yr]
        Distance of a new car in its first year.
    new_car_wtw_per_km : DataArray (segment, powertrain, year) [kg CO2e/km]
    new_car_cycle : mapping of part → DataArray ([region,] segment, powertrain, year)
        [kg CO2e/vehicle/yr]
        Each part of a new car's vehicle cycle in its first year (making and scrapping
        spread over the expected years in the fleet, servicing its first year's km); each
        becomes ``{part}_per_new_car``, sales-weighted, and the life-cycle figure adds them.
    """
    every = ("segment", "powertrain")
    cars = sales.sum(every)
    new_wtw = (sales * new_car_km * new_car_wtw_per_km).sum(every)
    new_km = (sales * new_car_km).sum(every)
    parts = {
        f"{part}_per_new_car": (sales * per_year).sum(every) / cars
        for part, per_year in new_car_cycle.items()
    }
    fleet_wtw, fleet_cars = wtw.sum(every), stock.sum(every)
    metrics = {
        "wtw_per_new_car": new_wtw / cars,
        "wtw_per_car": fleet_wtw / fleet_cars,
        "lifecycle_per_new_car": new_wtw / cars + sum(parts.values(), xr.zeros_like(cars)),
        "lifecycle_per_car": (fleet_wtw + vehicle_cycle.sum(every)) / fleet_cars,
        "wtw_per_km_new": 1000.0 * new_wtw / new_km,
        "wtw_per_km_fleet": 1000.0 * fleet_wtw / vehicle_km.sum(every),
        **parts,
    }
    return exact_dataset(metrics)


def lifetime_per_new_car(
    sales: xr.DataArray,
    life: xr.Dataset,
    new_car_use: xr.DataArray,
    per_unit: xr.DataArray,
) -> xr.Dataset:
    """Well-to-wheel emissions of the year's new cars over their expected years on the road.

    For a car of group g (segment, powertrain) sold in year c, with survival S(c, k) and
    distance D(c, k) k years after sale (:func:`evpath.model.activity.years_on_road`),
    energy use per km e_g(c) by carrier and emissions per carrier unit f(t) in calendar
    year t = c + k (held at the last modelled year after it):

        W_g(c) = Σ_k S · D · Σ_carrier e_g(c) · f(c + k)        [kg CO2e/vehicle]
        Y(c)   = Σ_k S(c, k)                                    [years on the road]

    ``wtw_per_new_car_lifetime`` = Σ_g sales · W_g / Y / Σ_g sales: each new car's mean
    yearly emissions over its life, sales-weighted as ``wtw_per_new_car`` is (with a
    constant grid and distance and use that do not change with age, the two are equal);
    ``wtw_lifetime_per_new_car`` = Σ_g sales · W_g / Σ_g sales / 1000.

    Parameters
    ----------
    sales : DataArray (region, segment, powertrain, year) [vehicles/yr]
    life : Dataset
        ``survival``, ``distance`` and ``year`` (segment, cohort, service_year), from
        :func:`evpath.model.activity.years_on_road`.
    new_car_use : DataArray (segment, powertrain, carrier, year) [carrier unit/km]
        Energy use per km of the cars sold each year.
    per_unit : DataArray (carrier, region, year) [kg CO2e/carrier unit]
        Well-to-wheel emissions per unit of each carrier.

    Returns
    -------
    Dataset (region, year)
        ``wtw_per_new_car_lifetime`` [kg CO2e/vehicle/yr] and ``wtw_lifetime_per_new_car``
        [t CO2e/vehicle].
    """
    first = int(per_unit.year[0])
    at_year = per_unit.isel(year=life["year"] - first).drop_vars("year")
    weight = life["survival"] * life["distance"]
    use = new_car_use.rename(year="cohort")
    per_car = dot(weight, use, at_year, dim=["carrier", SERVICE]).rename(cohort="year")
    years_on = life["survival"].sum(SERVICE, skipna=False).rename(cohort="year")
    every = ("segment", "powertrain")
    cars = sales.sum(every)
    return exact_dataset(
        {
            "wtw_per_new_car_lifetime": (sales * (per_car / years_on).fillna(0.0)).sum(every)
            / cars,
            "wtw_lifetime_per_new_car": (sales * per_car).sum(every) / cars / 1000.0,
        }
    )


def at_sale_per_new_car(
    sales: xr.DataArray,
    new_car_km: xr.DataArray,
    new_car_use: xr.DataArray,
    per_unit: xr.DataArray,
) -> xr.DataArray:
    """Well-to-wheel emissions of a new car in its first year (region, year)
    [kg CO2e/vehicle/yr]: Σ_g sales · km · Σ_carrier use · f / Σ_g sales.

    ``new_car_km`` (segment, year) [km/yr]; ``new_car_use`` (segment, powertrain, carrier,
    year) [carrier unit/km]; ``per_unit`` (carrier, region, year) [kg CO2e/carrier unit].
    """
    every = ("segment", "powertrain")
    per_km = dot(new_car_use, per_unit, dim="carrier")
    return (sales * new_car_km * per_km).sum(every) / sales.sum(every)


def grid_break_even(at_zero: xr.DataArray, at_full: xr.DataArray, spec: Target) -> xr.DataArray:
    """Grid intensity held from the target year on at which a per-car metric just meets
    the target (region) [g CO2e/kWh].

    ``at_zero`` and ``at_full`` (region, year) are the metric with the grid of every year
    from the target year on set to 0 and to :data:`FULL_GRID` g CO2e/kWh (the years before
    as modelled). The metric is affine in the grid (emissions per unit of electricity and
    of electrolytic hydrogen are), so every year's metric is M(g) = M(0) + s · g, and the
    target M_T(g) = (1 − reduction) · M_B(g) holds at

        g* = ((1 − reduction) · M_B(0) − M_T(0)) / (s_T − (1 − reduction) · s_B)

    (s_B = 0 unless the base year's cars are still on the road in the target year). A
    negative g* means no grid meets the target; NaN where the metric does not depend on
    the grid.
    """
    slope = (at_full - at_zero) / FULL_GRID
    keep = 1.0 - spec.reduction
    base, target = spec.base_year, spec.year
    denominator = slope.sel(year=target) - keep * slope.sel(year=base)
    needed = keep * at_zero.sel(year=base) - at_zero.sel(year=target)
    return (needed / denominator.where(abs(denominator) > 0)).drop_vars("year", errors="ignore")


FULL_GRID = 1000.0
"""Grid intensity [g CO2e/kWh] of the second point at which a metric is evaluated for
:func:`grid_break_even` (the first is 0)."""


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
