"""Charging stage: public chargers needed, connector standards, stranded EVs, investment."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from evpath.core.alignment import exact_dataset
from evpath.core.contraction import dot
from evpath.core.dims import CHARGER_TYPES, STANDARDS, ChargerType, Standard
from evpath.core.drawn import Value, labelled_array, path_array
from evpath.model import stock as stock_engine
from evpath.model.assets import keep_in_service, service_life
from evpath.scenario.charging import Charging


def evs_per_charger(
    ev_stock: xr.DataArray, observed: xr.DataArray, spec: Charging, history_end: int
) -> tuple[xr.DataArray, xr.DataArray]:
    """EVs per public charger (region, charger_type, year) [EVs/charger] and the fitted
    log-linear trend of the history (region, charger_type) [1/yr].

    History years: model EV stock / observed chargers. Later years: hold, trend or path.
    """
    years = ev_stock.year.values
    ratio = (ev_stock / observed).where(observed > 0)
    ratio = ratio.where(ratio.year <= history_end)
    recent = ratio.sel(year=slice(history_end - spec.trend_years + 1, history_end))
    logs = xr.apply_ufunc(np.log, recent)
    fit = logs.polyfit("year", deg=1, skipna=True)["polyfit_coefficients"]
    slope = fit.sel(degree=1, drop=True)
    last = _last_valid(ratio)
    future = xr.DataArray(years, coords={"year": years})
    if spec.ratio_method == "hold":
        projected = last.broadcast_like(ratio)
    elif spec.ratio_method == "trend":
        steps = (np.minimum(future, spec.trend_until) - history_end).clip(min=0)
        projected = last * np.exp(slope * steps)
    else:
        paths = spec.ratio_path or {}
        projected = labelled_array(
            [
                path_array({history_end: last.sel(charger_type=t), **paths.get(t, {})}, years)
                for t in CHARGER_TYPES
            ],
            "charger_type",
            CHARGER_TYPES,
        )
    result = ratio.where(future <= history_end, projected)
    return result, slope


def target_floor(
    targets: Mapping[ChargerType, Mapping[int, float]],
    chargers: xr.DataArray,
    ev_stock: xr.DataArray,
    history_end: int,
) -> xr.DataArray:
    """Chargers in service a target asks for (region, charger_type, year) [chargers].

    For a charger type with targets: linear from the chargers of the last history year
    to each target year; after the last target year, that year's EVs per charger held
    (target × EV stock / EV stock in the target year). 0 in the history years and for
    charger types without a target. Target years come after ``history_end`` (the
    scenario's validation sees to it); a target after the last model year shapes the line
    up to that year.
    """
    years = chargers.year.values
    floors = []
    for kind in CHARGER_TYPES:
        path = targets.get(kind)
        if not path:
            floors.append(xr.zeros_like(chargers.sel(charger_type=kind, drop=True)))
            continue
        start = chargers.sel(charger_type=kind, year=history_end, drop=True)
        knots: dict[int, Value] = {history_end: start, **path}
        line = path_array(knots, years)
        last = max(path)
        at_target = ev_stock.sel(year=min(last, years[-1]), drop=True)
        growth = (ev_stock / at_target).where(at_target > 0, 1.0)
        floor = xr.where(line.year > last, line * growth, line)
        floors.append(floor.where(floor.year > history_end, 0.0))
    return labelled_array(floors, "charger_type", CHARGER_TYPES)


def never_falling(chargers: xr.DataArray, ev_stock: xr.DataArray, history_end: int) -> xr.DataArray:
    """Chargers after the history that never fall while the EV fleet grows.

    N[t] = max(C[t], N[t-1] · min(1, E[t] / E[t-1])) for t > history_end, N = C before:
    chargers fall at most in proportion to the EV fleet E, and not at all while it grows.
    Closed form: with G[t] = prod of min(1, E/E_prev) over the years after the history,
    N = G · running max of C / G (from the last history year on).
    """
    later = chargers.year >= history_end
    previous = ev_stock.shift(year=1)
    step = xr.where(previous > 0, np.minimum(ev_stock / previous, 1.0), 1.0)
    step = step.where(ev_stock.year > history_end, 1.0).clip(min=1e-12)
    scale = step.cumprod("year")
    scaled = (chargers / scale).where(later, -np.inf)
    running = xr.apply_ufunc(
        np.maximum.accumulate,
        scaled,
        input_core_dims=[["year"]],
        output_core_dims=[["year"]],
        kwargs={"axis": -1},
    ).transpose(*scaled.dims)
    return xr.where(later, scale * running, chargers)


def _last_valid(array: xr.DataArray) -> xr.DataArray:
    """The last non-missing value along ``year`` of every series (NaN if none)."""
    values = array.transpose(..., "year").to_numpy()
    valid = ~np.isnan(values)
    index = np.where(valid.any(-1), values.shape[-1] - 1 - np.argmax(valid[..., ::-1], axis=-1), 0)
    last = np.take_along_axis(values, index[..., None], axis=-1)[..., 0]
    dims = [d for d in array.transpose(..., "year").dims if d != "year"]
    return xr.DataArray(last, coords={d: array[d] for d in dims}, dims=dims)


def shares_by_year(path: Mapping[int, Mapping[Standard, float]], years: np.ndarray) -> xr.DataArray:
    """Standard shares (standard, year) from a path by year, linear in between, held outside."""
    return labelled_array(
        [path_array({y: s.get(std, 0.0) for y, s in path.items()}, years) for std in STANDARDS],
        "standard",
        STANDARDS,
    )


def charging(
    *,
    ev_stock_by_cohort: xr.DataArray,
    observed: xr.DataArray,
    spec: Charging,
    history_end: int,
    compatibility: xr.DataArray,
) -> xr.Dataset:
    """Chargers, standards, stranded EVs and investment.

    Parameters
    ----------
    ev_stock_by_cohort : DataArray (region, year, cohort) [vehicles]
        BEV + PHEV stock by model year.
    observed : DataArray (region, charger_type, year) [chargers]
    compatibility : DataArray (vehicle, standard) [0 or 1]
        Access of each vehicle inlet standard at each charger standard.
    """
    years = ev_stock_by_cohort.year.values
    ev_stock = ev_stock_by_cohort.sum("cohort", skipna=False)
    ratio, trend = evs_per_charger(ev_stock, observed, spec, history_end)
    needed = (ev_stock / ratio).fillna(0.0)
    needed = xr.where(needed.year <= history_end, observed.fillna(needed), needed)
    if spec.targets:
        floor = target_floor(spec.targets, needed, ev_stock, history_end)
        needed = np.maximum(needed, floor)
    if not spec.allow_decline:
        needed = never_falling(needed, ev_stock, history_end)

    life = service_life(spec.charger_life, spec.charger_life_spread)
    fast = needed.sel(charger_type="fast", drop=True).transpose("year", ...)
    new_mix = shares_by_year(spec.charger_standards, years).rename(standard="standard")
    by_standard = stock_engine.stock_driven(
        fast,
        life,
        type_shares=new_mix.transpose("year", ...),
        type_dim="standard",
        negative_inflow="zero",
    )
    built = keep_in_service(needed, life, "chargers")
    fast_stock = by_standard.stock.transpose("region", "standard", "year", ...)
    charger_share = (fast_stock / fast_stock.sum("standard")).fillna(0.0)

    vehicle_mix = shares_by_year(spec.vehicle_standards, ev_stock_by_cohort.cohort.values).rename(
        year="cohort", standard="vehicle"
    )
    fleet = dot(ev_stock_by_cohort, vehicle_mix, dim="cohort")
    fleet_share = (fleet / fleet.sum("vehicle")).fillna(0.0)
    access = (compatibility * charger_share).sum("standard")
    has_chargers = fast_stock.sum("standard") > 0
    stranded = (
        (fleet_share * (access < spec.access_threshold)).sum("vehicle").where(has_chargers, 0.0)
    )

    capex = labelled_array(
        [path_array(spec.capex_usd[t], years) for t in CHARGER_TYPES],
        "charger_type",
        CHARGER_TYPES,
    )
    kw = path_array(spec.fast_kw, years)
    added = built.added.transpose("region", "charger_type", "year", ...)
    served = (ev_stock / needed).where(needed > 0, ratio)
    # Retired: at the end of life, or removed early where the count falls faster than
    # chargers reach the end of their life (as Japan's did in 2020-2021), so that the
    # chargers in service balance: N[t] - N[t-1] = added[t] - retired[t].
    retired = added - (needed - needed.shift(year=1, fill_value=0.0))
    return exact_dataset(
        {
            "evs_per_charger": served.transpose("region", "charger_type", "year", ...),
            "evs_per_charger_trend": trend.transpose("region", "charger_type", ...),
            "public_chargers": needed.transpose("region", "charger_type", "year", ...),
            "public_chargers_observed": observed,
            "chargers_added": added,
            "chargers_retired": retired.transpose("region", "charger_type", "year", ...),
            "fast_chargers_by_standard": fast_stock,
            "ev_fleet_by_standard": fleet.transpose("region", "vehicle", "year", ...),
            "fast_charger_access": access.transpose("region", "vehicle", "year", ...),
            "stranded_ev_share": stranded.transpose("region", "year", ...),
            "charging_investment": (added * capex / 1e6).transpose(
                "region", "charger_type", "year", ...
            ),
            "fast_charging_grid_mw": (fast * kw / 1000.0).transpose("region", "year", ...),
        }
    )
