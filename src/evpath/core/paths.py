"""Values that change over years: scenario paths ``{year: value}`` and survival tables.

A value may be drawn: one number per ensemble member, a DataArray over ``draw``
(:data:`Value`). The ``…_array`` helpers below take plain and drawn values alike and
return labelled arrays that carry ``draw`` when any input does, so a stage written with
them runs every member of an ensemble at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

Value = float | xr.DataArray
"""A number, or one number per ensemble member (a DataArray over ``draw``)."""


def interpolate_path(path: dict[int, float], years: np.ndarray) -> np.ndarray:
    """Values of a ``{year: value}`` path at ``years``: linear between points, flat outside."""
    points = sorted(path.items())
    return np.interp(years, [y for y, _ in points], [v for _, v in points])


def values_at(value: float | dict[int, float], years: np.ndarray) -> np.ndarray:
    """A number (the same every year) or a path, at ``years``."""
    if isinstance(value, dict):
        return interpolate_path(value, years)
    return np.full(len(years), float(value))


def is_drawn(value: object) -> bool:
    """Whether ``value`` holds one number per ensemble member."""
    return isinstance(value, xr.DataArray)


def path_array(
    value: Value | Mapping[int, Value], at: np.ndarray, dim: str = "year"
) -> xr.DataArray:
    """A number or a ``{year: value}`` path at ``at`` along ``dim`` (linear between points,
    flat outside), keeping the ``draw`` dimension of drawn values."""
    coords = {dim: at}
    if isinstance(value, Mapping):
        knots = sorted(value)
        if not any(is_drawn(value[k]) for k in knots):
            return xr.DataArray(interpolate_path(dict(value), at), coords=coords)  # type: ignore[arg-type]
        identity = np.eye(len(knots))
        weights = xr.DataArray(
            np.stack([np.interp(at, knots, row) for row in identity], axis=-1),
            coords=coords,
            dims=(dim, "knot"),
        )
        points = xr.concat(xr.broadcast(*(xr.DataArray(value[k]) for k in knots)), dim="knot")
        return xr.dot(weights, points, dim="knot")
    if is_drawn(value):
        return xr.DataArray(value).expand_dims(coords)
    return xr.DataArray(np.full(len(at), float(value)), coords=coords)


def labelled_array(
    values: Sequence[Value | xr.DataArray], dim: str, labels: Sequence[str]
) -> xr.DataArray:
    """Values stacked along a new labelled dimension ``dim`` (one per label); the inputs
    may be numbers, drawn numbers or arrays with dimensions of their own."""
    if not any(is_drawn(v) for v in values):
        return xr.DataArray(np.asarray(values, dtype=float), coords={dim: list(labels)})
    arrays = xr.broadcast(*(xr.DataArray(v) for v in values))
    return xr.concat(arrays, dim=xr.DataArray(list(labels), dims=dim))


def survival_table(points: dict[int, float]) -> np.ndarray:
    """Survival fractions at ages 0, 1, … from ``{age: fraction}``, linear in between."""
    return interpolate_path(points, np.arange(max(points) + 1))
