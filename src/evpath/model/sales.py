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
from evpath.core.dims import POWERTRAINS
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
        anchors: dict[int, xr.DataArray] = {history_end: last_mix.sel(segment=segment)}
        for general_first in (True, False):
            for milestone in sales.milestones:
                applies = (
                    milestone.segment is None if general_first else milestone.segment == segment
                )
                if applies:
                    mix = [milestone.shares.get(p, 0.0) for p in POWERTRAINS]
                    anchors[milestone.year] = xr.DataArray(
                        mix, coords={"powertrain": list(POWERTRAINS)}
                    ).broadcast_like(last_mix.sel(segment=segment))
        pieces.append(path_through(anchors, future, sales.curve))
    return xr.concat(pieces, dim=history_shares.segment).transpose(
        "region", "segment", "powertrain", "year", ...
    )


def path_through(anchors: dict[int, xr.DataArray], years: np.ndarray, curve: Curve) -> xr.DataArray:
    """Shares at ``years`` moving between consecutive anchors (year → shares) along
    ``curve``; held before the first anchor and after the last."""
    anchor_years = np.array(sorted(anchors))
    if len(anchor_years) == 1:
        return anchors[int(anchor_years[0])].expand_dims(year=years).transpose(..., "year")
    stacked = xr.concat([anchors[int(y)] for y in anchor_years], dim="anchor")
    end = np.clip(np.searchsorted(anchor_years, years), 1, len(anchor_years) - 1)
    start = end - 1
    length = anchor_years[end] - anchor_years[start]
    interval = xr.DataArray(length.astype(float), dims="year")
    f = progress((years - anchor_years[start]) / interval, curve, interval)
    a = stacked.isel(anchor=xr.DataArray(start, dims="year"))
    b = stacked.isel(anchor=xr.DataArray(end, dims="year"))
    return (a + (b - a) * f).assign_coords(year=years)


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
