"""Activity stage: distance driven per car by age, and vehicle-km by cohort."""

from __future__ import annotations

import xarray as xr

from evpath.core.drawn import labelled_array
from evpath.scenario.emissions import Activity


def distance_per_car(
    stock_by_cohort: xr.DataArray,
    spec: Activity,
    age_offset: xr.DataArray | float,
    calibration_stock: xr.DataArray | None = None,
) -> xr.DataArray:
    """Annual distance of one car (segment, year, cohort) [km/yr].

    d(a, t) = d0 · (1 − age_decline)^a · (1 + distance_trend)^(t − calibration_year),
    with a = t − c + offset the age at the end of year t, and d0 per segment such that the
    stock-weighted mean distance in the calibration year equals ``annual_km``.

    Parameters
    ----------
    stock_by_cohort : DataArray (region, segment, powertrain, year, cohort) [vehicles]
    spec : Activity
    age_offset : float or DataArray (segment) [years]
        Age at the end of the entry year (1, 1/2 or 0 by ``inflow_at``).
    calibration_stock : DataArray like ``stock_by_cohort``, optional
        The fleet whose mean distance is ``annual_km`` when it is not the one driven: the
        whole market's, when the model runs on one group of makers' cars.
    """
    age = (stock_by_cohort.year - stock_by_cohort.cohort + age_offset).clip(min=0.0)
    shape = (1.0 - spec.age_decline) ** age * (1.0 + spec.distance_trend) ** (
        stock_by_cohort.year - spec.calibration_year
    )
    shape = shape.where(stock_by_cohort.cohort <= stock_by_cohort.year, 0.0)
    calibrated = stock_by_cohort if calibration_stock is None else calibration_stock
    at_calibration = calibrated.sel(year=spec.calibration_year).sum(["region", "powertrain"])
    mean_shape = (at_calibration * shape.sel(year=spec.calibration_year)).sum("cohort") / (
        at_calibration.sum("cohort")
    )
    segments = [str(s) for s in stock_by_cohort.segment.values]
    target = labelled_array([spec.annual_km[s] for s in segments], "segment", segments)
    return (target / mean_shape).drop_vars("year", errors="ignore") * shape


def vehicle_km(stock_by_cohort: xr.DataArray, distance: xr.DataArray) -> xr.DataArray:
    """Vehicle-km of the fleet (region, segment, powertrain, year) [km/yr]: Σ over cohorts
    of stock × distance per car. The stock at the end of the year stands for the year's
    fleet."""
    return xr.dot(stock_by_cohort, distance, dim="cohort")
