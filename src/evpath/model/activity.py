"""Activity stage: distance driven per car by age, vehicle-km by cohort, and a new car's
years on the road (survival and distance by years since sale)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from evpath.core.alignment import exact_dataset
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


def vehicle_km_by_cohort(stock_by_cohort: xr.DataArray, distance: xr.DataArray) -> xr.DataArray:
    """Vehicle-km of each cohort of the fleet (region, segment, powertrain, year, cohort)
    [km/yr]: stock × distance per car. The stock at the end of the year stands for the
    year's fleet; the fleet's vehicle-km are the sum over cohorts."""
    return stock_by_cohort * distance


SERVICE = "service_year"
"""Years since sale: 0 for the year a car is sold (cars on the road at its end)."""


def years_on_road(
    sales: xr.DataArray,
    stock_by_cohort: xr.DataArray,
    distance: xr.DataArray,
    age_decline: float | xr.DataArray,
) -> xr.Dataset:
    """Survival and distance of a new car over its years on the road, by years since sale.

    For a car sold in year c (a model cohort) and k = 0, 1, … years later (calendar year
    t = c + k):

        S(c, k) = stock_by_cohort(t, c) / sales(c)      (share of the cohort on the road
                                                          at the end of year t)
        D(c, k) = d(c, t)                               (km/yr, from :func:`distance_per_car`)

    summed over regions and powertrains (lifetimes are set by segment). After the model's
    last year T, the survival by years since sale is that of the latest cohort observed
    k years after its sale, S(c, k) = S(T − k, k), and the distance keeps falling with
    age at the calendar trend of year T, D(c, k) = d(c, T) · (1 − age_decline)^(t − T).
    k runs to T − first model year; cars older than that count as gone.

    Parameters
    ----------
    sales : DataArray (region, segment, powertrain, year) [vehicles/yr]
    stock_by_cohort : DataArray (region, segment, powertrain, year, cohort) [vehicles]
    distance : DataArray (segment, year, cohort) [km/yr]
    age_decline : float or DataArray (draw) [1/yr]

    Returns
    -------
    Dataset
        ``survival`` (segment, cohort, service_year) [fraction], ``distance`` (segment,
        cohort, service_year) [km/yr] and ``year`` (cohort, service_year), the calendar
        year whose fuels and grid apply (held at T after it); cohorts are the model years.
    """
    years = sales.year.values
    first, last = int(years[0]), int(years[-1])
    since = np.arange(last - first + 1)
    cohorts = years[:, None]
    calendar = cohorts + since[None, :]
    seen = np.minimum(calendar, last)
    observed_cohort = np.minimum(cohorts, last - since[None, :])
    dims = ("cohort", SERVICE)
    coords = {"cohort": years, SERVICE: since}

    # each (cohort, service year) cell read straight from the arrays by position: the
    # cohorts of the initial stock are never copied
    at_year = xr.DataArray(seen - first, dims=dims)
    sold = (
        sales.sum(["region", "powertrain"], skipna=False)
        .isel(year=xr.DataArray(observed_cohort - first, dims=dims))
        .drop_vars("year")
    )
    on_road = (
        stock_by_cohort.sum(["region", "powertrain"], skipna=False)
        .isel(year=at_year, cohort=_positions(stock_by_cohort, observed_cohort, dims))
        .drop_vars(["year", "cohort"])
    )
    survival = (on_road / sold.where(sold > 0)).fillna(0.0)
    km = distance.isel(
        year=at_year, cohort=_positions(distance, cohorts + 0 * since, dims)
    ).drop_vars(["year", "cohort"])
    beyond = xr.DataArray(calendar - seen, dims=dims)
    km = km * (1.0 - age_decline) ** beyond
    return exact_dataset(
        {
            "survival": survival.assign_coords(coords),
            "distance": km.assign_coords(coords),
            "year": xr.DataArray(seen, dims=dims, coords=coords),
        }
    )


def _positions(array: xr.DataArray, cohorts: np.ndarray, dims: tuple[str, str]) -> xr.DataArray:
    """Positions of ``cohorts`` (model years, any shape) on ``array``'s cohort axis."""
    positions = array.get_index("cohort").get_indexer(cohorts.ravel())
    if (positions < 0).any():
        msg = "years_on_road: a model year is missing from the cohorts of the fleet"
        raise ValueError(msg)
    return xr.DataArray(positions.reshape(cohorts.shape), dims=dims)
