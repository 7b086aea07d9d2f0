"""Matching the labels of arrays that share a dim: the same labels, in any order; and
model arithmetic that refuses arrays whose labels differ."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ParamSpec, TypeVar

import pandas as pd
import xarray as xr

from evpath.core.messages import labels


def label_mismatch(own: pd.Index, target: pd.Index) -> tuple[str, str] | None:
    """How the labels ``own`` differ from ``target``, or None if they match.

    They match when ``own`` holds every label of ``target`` exactly once, in any order.

    Returns
    -------
    (missing, extra) or None
        Labels of ``target`` not in ``own`` and labels of ``own`` not in ``target``,
        each written as a list (see :func:`evpath.core.messages.labels`).
    """
    if own.equals(target):
        return None
    own_set, target_set = set(own), set(target)
    if len(own) == len(target) and own_set == target_set and not own.has_duplicates:
        return None
    missing = labels([x for x in target if x not in own_set])
    extra = labels([x for x in own if x not in target_set])
    return missing, extra


def reorder(da: xr.DataArray, coords: Mapping[str, pd.Index]) -> xr.DataArray:
    """Put the labels of ``da`` on the dims in ``coords`` in the order of ``coords``."""
    for d in da.dims:
        name = str(d)
        if name in coords and not da.get_index(d).equals(coords[name]):
            da = da.sel({d: coords[name]})
    return da


P = ParamSpec("P")
R = TypeVar("R")


def exactly_aligned(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` with xarray's arithmetic join set to "exact".

    Arithmetic between arrays whose labels on a shared dim differ then raises ValueError
    instead of silently keeping only the labels they share (xarray's default inner join),
    and arrays whose labels match are combined without xarray's re-indexing copies (about
    a quarter of a model run). xarray's options are process-wide, so on any thread but
    the main one this changes nothing: a server's other threads keep xarray's default.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with exact_join():
            return function(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def exact_join() -> Iterator[None]:
    """xarray's arithmetic join set to "exact" inside the block, on the main thread only:
    xarray's options are process-wide, so a change made on another thread (a dashboard's
    run) would reach every thread, the main one included."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with xr.set_options(arithmetic_join="exact"):
        yield


def exact_dataset(arrays: Mapping[Any, xr.DataArray]) -> xr.Dataset:
    """A Dataset of ``arrays``, whose labels on each dim they share must be the same
    (ValueError naming the dim otherwise).

    ``xr.Dataset(arrays)`` joins the arrays' labels (an outer join: labels that differ
    would leave NaN) and re-indexes every array on the way, matching or not; merging with
    an exact join gives the same Dataset from matching arrays in less than half the time.
    """
    return xr.merge(
        [array.to_dataset(name=name) for name, array in arrays.items()],
        join="exact",
        compat="no_conflicts",
    )
