"""Sales stage: new passenger-car sales by region, segment, powertrain and year.

History years take the bundled sales history as it is. After ``history_end``:
total sales follow a growth rate or a path, the segment split is held or follows a
path, and powertrain shares move from the last historical mix through the scenario's
milestones along one transition curve (see :mod:`evpath.core.curves`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from evpath.core.curves import bass_cumulative, logistic
from evpath.core.drawn import is_drawn
from evpath.core.paths import interpolate_path
from evpath.core.variables import catalogue
from evpath.scenario.schema import Curve, Sales, Scenario, SegmentSplit, TotalSales


def progress(tau: Any, curve: Curve, interval_years: Any) -> Any:
    """f(τ) for the chosen curve: maps τ ∈ [0, 1], the elapsed fraction of a milestone
    interval, to f(τ) ∈ [0, 1] with f(0) = 0 and f(1) = 1. A share moving from ``a`` to
    ``b`` over the interval is a + (b − a)·f(τ); as every powertrain uses the same f,
    shares keep summing to one.

    Parameters
    ----------
    tau : array or DataArray [dimensionless]
        Elapsed fraction of the interval, clipped to [0, 1]. With curve parameters drawn
        for an ensemble, pass DataArrays: the result then carries ``draw``.
    curve : Curve
        Kind and parameters (logistic steepness; Bass p and q in 1/yr).
    interval_years : array-like [years]
        Length of the interval (the Bass curve runs in calendar time).
    """
    elapsed = np.clip(tau, 0.0, 1.0)
    if curve.kind == "linear":
        return elapsed
    if curve.kind == "logistic":
        k = curve.steepness
        low, high = logistic(-k / 2), logistic(k / 2)
        return (logistic(k * (elapsed - 0.5)) - low) / (high - low)
    interval = interval_years
    full = bass_cumulative(interval, curve.p, curve.q)
    return bass_cumulative(elapsed * interval, curve.p, curve.q) / full


def project_total(history_total: xr.DataArray, years: np.ndarray, spec: TotalSales) -> xr.DataArray:
    """Total new sales (region, year) [vehicles/yr] over ``years``.

    ``history_total`` (region, year) ends at ``history_end``; later years follow
    total(t) = total(history_end)·(1 + rate)^(t − history_end) for method 'growth', or the
    path (linear from the last historical value to the first path year) for method 'path'.
    """
    history_end = int(history_total.year[-1])
    last = history_total.sel(year=history_end, drop=True)
    future = years[years > history_end]
    if spec.method == "growth":
        factor = (1.0 + spec.rate) ** xr.DataArray(future - history_end, coords={"year": future})
        projected = last * factor
    else:
        assert spec.path is not None
        steps = [
            xr.DataArray(
                interpolate_path({history_end: float(v), **spec.path}, future),
                coords={"year": future},
            )
            for v in last.values
        ]
        projected = xr.concat(steps, dim=last.region)
    return xr.concat([history_total.sel(year=years[years <= history_end]), projected], "year")


def project_segment_split(
    history_sales: xr.DataArray, years: np.ndarray, spec: SegmentSplit
) -> xr.DataArray:
    """Segment shares of total sales (region, segment, year) after the history [fraction]."""
    segments = list(history_sales.segment.values)
    history_end = int(history_sales.year[-1])
    last_sales = history_sales.sel(year=history_end, drop=True)
    last_split = last_sales / last_sales.sum("segment")
    future = years[years > history_end]
    split = last_split.expand_dims(year=future).transpose("region", "segment", "year", ...).copy()
    if spec.method == "path":
        # the scenario schema checks that every segment but one has a path and that the
        # listed shares sum to at most 1 (``_check_segment_split``)
        given = spec.path or {}
        rest = [s for s in segments if s not in given]
        for segment, path in given.items():
            split.loc[{"segment": segment}] = interpolate_path(path, future)
        remainder = 1.0 - split.sel(segment=[s for s in segments if s in given]).sum("segment")
        split.loc[{"segment": rest[0]}] = remainder
    return split


def project_powertrain_shares(
    history_shares: xr.DataArray, years: np.ndarray, sales: Sales
) -> xr.DataArray:
    """Powertrain shares of new sales (region, segment, powertrain, year) after the history.

    Anchors per segment: the last historical mix, then the milestones for that segment
    (a segment's own milestone replaces a general one in the same year). Between anchors
    share(t) = a + (b − a)·f(τ); after the last anchor the mix is held.
    """
    history_end = int(history_shares.year[-1])
    future = years[years > history_end]
    last_mix = history_shares.sel(year=history_end, drop=True)
    pieces = []
    for segment in history_shares.segment.values:
        last = last_mix.sel(segment=segment)
        powertrain_axis = last.dims.index("powertrain")
        anchors: dict[int, xr.DataArray] = {history_end: last}
        for general_first in (True, False):
            for milestone in sales.milestones:
                applies = (
                    milestone.segment is None if general_first else milestone.segment == segment
                )
                if applies:
                    shares = {str(k): v for k, v in milestone.shares.items()}
                    mix = np.array([shares.get(str(p), 0.0) for p in last.powertrain.values])
                    shape = [1] * last.ndim
                    shape[powertrain_axis] = mix.size
                    anchors[milestone.year] = last.copy(
                        data=np.broadcast_to(mix.reshape(shape), last.shape)
                    )
        pieces.append(path_through(anchors, future, sales.curve))
    return xr.concat(pieces, dim=history_shares.segment).transpose(
        "region", "segment", "powertrain", "year", ...
    )


def path_through(anchors: dict[int, xr.DataArray], years: np.ndarray, curve: Curve) -> xr.DataArray:
    """Shares at ``years`` (year, …) moving between consecutive anchors (year → shares,
    all with the same dims and labels) along ``curve``; held before the first anchor and
    after the last."""
    anchor_years = np.array(sorted(anchors))
    first = anchors[int(anchor_years[0])]
    if len(anchor_years) == 1:
        return first.expand_dims(year=years)
    for year in anchor_years:
        _check_same_labels(anchors[int(year)], first, int(year))
    stacked = np.stack([anchors[int(y)].transpose(*first.dims).to_numpy() for y in anchor_years])
    end = np.clip(np.searchsorted(anchor_years, years), 1, len(anchor_years) - 1)
    start = end - 1
    length = (anchor_years[end] - anchor_years[start]).astype(float)
    elapsed = (years - anchor_years[start]) / length
    coords = {**first.coords, "year": years}
    a = stacked[start]  # (year, *dims of the anchors)
    step = stacked[end] - a
    if not _drawn(curve):
        f = np.asarray(progress(elapsed, curve, length)).reshape(-1, *[1] * first.ndim)
        return xr.DataArray(a + step * f, coords=coords, dims=("year", *first.dims))
    # curve parameters drawn for an ensemble: f(τ) carries their dims
    f = progress(xr.DataArray(elapsed, dims="year"), curve, xr.DataArray(length, dims="year"))
    dims = ("year", *first.dims)
    return (
        xr.DataArray(a, coords=coords, dims=dims) + xr.DataArray(step, coords=coords, dims=dims) * f
    )


def _drawn(curve: Curve) -> bool:
    """Whether any of ``curve``'s parameters is an array of draws."""
    return any(is_drawn(value) for _, value in curve)


def _check_same_labels(anchor: xr.DataArray, first: xr.DataArray, year: int) -> None:
    """ValueError unless ``anchor`` has the dims and labels of ``first``."""
    same = set(anchor.dims) == set(first.dims) and all(
        anchor.get_index(d).equals(first.get_index(d)) for d in first.dims
    )
    if not same:
        msg = (
            f"the anchor of {year} has dims {anchor.dims} and labels that differ from the "
            f"first anchor's {first.dims}; allowed: anchors with the same dims and labels"
        )
        raise ValueError(msg)


def new_sales(scenario: Scenario, history_sales: xr.DataArray, years: np.ndarray) -> xr.DataArray:
    """New sales (region, segment, powertrain, year) [vehicles/yr] over ``years``.

    Parameters
    ----------
    scenario : Scenario
    history_sales : DataArray (region, segment, powertrain, year) [vehicles/yr]
        Historical sales up to ``scenario.years.history_end``.
    years : ndarray of int
        Model years.
    """
    history_end = scenario.years.history_end
    history = history_sales.sel(year=slice(None, history_end))
    history = history.sel(year=history.year[history.year >= years[0]])
    by_segment = history.sum("powertrain")
    total = project_total(by_segment.sum("segment"), years, scenario.sales.total)
    split = project_segment_split(by_segment, years, scenario.sales.segment_split)
    shares = project_powertrain_shares(history / by_segment, years, scenario.sales)
    projected = total.sel(year=split.year) * split * shares
    history, projected = xr.broadcast(history, projected, exclude=["year"])
    result = xr.concat([history, projected.transpose(*history.dims)], "year")
    return result.rename("sales").assign_attrs(units=catalogue()["sales"].unit)
