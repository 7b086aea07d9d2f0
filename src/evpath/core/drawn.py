"""Labelled arrays from scenario numbers, which may be drawn: one number per ensemble
member, a DataArray over ``draw`` (:data:`Value`). The stages build their arrays with
:func:`path_array` and :func:`labelled_array`, which carry ``draw`` when any input does,
so a stage written with them runs every member of an ensemble at once.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.contraction import dot
from evpath.core.dims import DRAW
from evpath.core.paths import interpolate_path

Value = float | xr.DataArray
"""A number, or one number per ensemble member (a DataArray over ``draw``)."""


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
        points = [value[k] for k in knots]
        if not any(is_drawn(v) for v in points):
            return _on_axis(interpolate_path(dict(value), at), dim, at)  # type: ignore[arg-type]
        identity = np.eye(len(knots))
        weights = np.stack([np.interp(at, knots, row) for row in identity], axis=-1)
        stacked = _draw_rows(points)
        if stacked is not None:
            rows, draws = stacked
            return xr.DataArray(weights @ rows, coords={**coords, **draws}, dims=(dim, DRAW))
        arrays = [v if isinstance(v, xr.DataArray) else xr.DataArray(v) for v in points]
        layers = _broadcast_layers(arrays)
        if layers is not None:
            knotted, labels = layers  # (knot, *dims)
            return xr.DataArray(
                np.tensordot(weights, knotted, axes=(1, 0)),
                coords={**coords, **labels},
                dims=(dim, *labels),
            )
        labelled = xr.DataArray(weights, coords=coords, dims=(dim, "knot"))
        return dot(labelled, xr.concat(xr.broadcast(*arrays), dim="knot"), dim="knot")
    if is_drawn(value):
        return xr.DataArray(value).expand_dims(coords)
    return _on_axis(np.full(len(at), float(value)), dim, at)


def _on_axis(values: np.ndarray, dim: str, at: np.ndarray) -> xr.DataArray:
    """``values`` (one per label) labelled ``at`` along ``dim``.

    A run lays its paths and labelled numbers on the same few axes (model years, cohorts,
    powertrains, ...) many times: each axis is built once, as an array of zeros, and each
    new array is a copy of it with other values (a third of the cost of a new DataArray).
    """
    labels = np.asarray(at)
    return _axis(dim, labels.dtype.str, labels.tobytes()).copy(deep=False, data=values)


@functools.lru_cache(maxsize=64)
def _axis(dim: str, dtype: str, labels: bytes) -> xr.DataArray:
    at = np.frombuffer(labels, dtype=dtype).copy()
    return xr.DataArray(np.zeros(at.size), coords={dim: at}, dims=dim)


def labelled_array(
    values: Sequence[Value | xr.DataArray], dim: str, labels: Sequence[str]
) -> xr.DataArray:
    """Values stacked along a new labelled dimension ``dim`` (one per label); the inputs
    may be numbers, drawn numbers or arrays with dimensions of their own."""
    if not any(is_drawn(v) for v in values):
        return _on_axis(np.asarray(values, dtype=float), dim, np.asarray(labels))
    stacked = _draw_rows(values)
    if stacked is not None:
        rows, draws = stacked
        return xr.DataArray(rows, coords={dim: list(labels), **draws}, dims=(dim, DRAW))
    arrays = [v if isinstance(v, xr.DataArray) else xr.DataArray(v) for v in values]
    layers = _broadcast_layers(arrays)
    if layers is not None:
        rows, coords = layers
        return xr.DataArray(rows, coords={dim: list(labels), **coords}, dims=(dim, *coords))
    return xr.concat(xr.broadcast(*arrays), dim=xr.DataArray(list(labels), dims=dim))


def _broadcast_layers(
    arrays: Sequence[xr.DataArray],
) -> tuple[np.ndarray, dict[Hashable, pd.Index]] | None:
    """The arrays' values broadcast against each other and stacked (layer, *dims), with
    the dims in order of first appearance and their labels; None unless every dim has
    labels that are the same wherever it appears and no array has other coordinates
    (then ``xr.broadcast`` and ``xr.concat`` give the same, more slowly)."""
    labels: dict[Hashable, pd.Index] = {}
    for array in arrays:
        if set(array.coords) != set(array.dims) or set(array.xindexes) != set(array.dims):
            return None
        for d in array.dims:
            index = array.get_index(d)
            if d in labels and not labels[d].equals(index):
                return None
            labels.setdefault(d, index)
    shape = tuple(len(index) for index in labels.values())
    rows = np.empty((len(arrays), *shape), dtype=np.result_type(*(a.dtype for a in arrays)))
    for row, array in zip(rows, arrays, strict=True):
        order = [d for d in labels if d in array.dims]
        own = array.values if list(array.dims) == order else array.transpose(*order).values
        row[...] = own[tuple(slice(None) if d in array.dims else np.newaxis for d in labels)]
    return rows, labels


def _draw_rows(
    values: Sequence[Value | xr.DataArray],
) -> tuple[np.ndarray, dict[str, xr.DataArray]] | None:
    """Numbers and drawn numbers (arrays over ``draw`` only, all with the same draws) as
    rows of one (value, draw) array and the draw coordinate; None for anything else."""
    drawn = [v for v in values if isinstance(v, xr.DataArray)]
    if not all(v.dims == (DRAW,) for v in drawn):
        return None
    first = drawn[0]
    labels = first.coords.get(DRAW)
    for other in drawn[1:]:
        if other.sizes[DRAW] != first.sizes[DRAW] or not _same_labels(other, labels):
            return None
    rows = np.empty((len(values), first.sizes[DRAW]))
    for i, v in enumerate(values):
        rows[i] = v.to_numpy() if isinstance(v, xr.DataArray) else float(v)
    return rows, ({} if labels is None else {DRAW: labels})


def _same_labels(array: xr.DataArray, labels: xr.DataArray | None) -> bool:
    own = array.coords.get(DRAW)
    if own is None or labels is None:
        return own is None and labels is None
    return bool(np.array_equal(own.to_numpy(), labels.to_numpy()))
