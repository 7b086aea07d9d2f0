"""Survival matrices of the dynamic stock engine.

A lifetime model (:mod:`evpath.model.lifetimes`) says how long a vehicle stays in the
fleet. The stock engine only needs one thing from it: the survival matrix

    S[t, c] = fraction of the inflow of cohort c still in stock at the END of year t,

with ``S[t, c] = 0`` for ``t < c``. Years are calendar years; one model year is the
interval ``[t - 1/2, t + 1/2]``. The inflow of cohort ``c`` enters at one point of its
year, set by ``inflow_at``:

========== ============================== ==============================
inflow_at  entry time                     age at the end of year t
========== ============================== ==============================
"start"    ``c - 1/2``                    ``t - c + 1``
"middle"   ``c``                          ``t - c + 1/2``
"end"      ``c + 1/2``                    ``t - c``
========== ============================== ==============================

so that ``S[t, c] = sf_c(t - c + offset)`` with ``offset`` = 1, 1/2 or 0, where ``sf_c``
is the survival function of the lifetime distribution of cohort c. This is the timing
convention of flodym's lifetime models with one quadrature point per year.

:class:`Empirical` models are tables by whole year of age and ignore ``inflow_at``:
``survival[a]`` is already the fraction left at the end of calendar year ``c + a``.
The lifetime models are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Literal, get_args

import numpy as np
import pandas as pd
import xarray as xr
from numpy.lib.stride_tricks import sliding_window_view

from evpath.core.alignment import label_mismatch
from evpath.core.messages import label, labels
from evpath.errors import InputError
from evpath.model.lifetimes import (
    RESERVED_DIMS,
    LifetimeModel,
    broadcast_parameters,
)

InflowAt = Literal["start", "middle", "end"]
"""When in its year the inflow of a cohort enters the stock."""

INFLOW_AT_AGE_OFFSET: Mapping[str, float] = {"start": 1.0, "middle": 0.5, "end": 0.0}
"""Age [years] of a cohort at the end of its entry year, by ``inflow_at``."""


def check_inflow_at(inflow_at: str) -> float:
    """Return the age at the end of the entry year for an ``inflow_at`` choice.

    Parameters
    ----------
    inflow_at : str
        One of ``"start"``, ``"middle"``, ``"end"``.

    Returns
    -------
    offset : float [years]
        1, 1/2 or 0.

    Raises
    ------
    InputError
        If ``inflow_at`` is not one of the three choices.
    """
    if not isinstance(inflow_at, str) or inflow_at not in INFLOW_AT_AGE_OFFSET:
        allowed = ", ".join(repr(v) for v in get_args(InflowAt))
        msg = f"inflow_at must be one of {allowed}; got {inflow_at!r}."
        raise InputError(msg)
    return INFLOW_AT_AGE_OFFSET[inflow_at]


@dataclass(frozen=True, eq=False)
class SurvivalArrays:
    """Survival matrices as plain arrays, for the stock engine.

    Attributes
    ----------
    survival : ndarray (*dims, year, cohort) [1]
        ``S[..., t, c]`` of the model-year cohorts.
    initial : ndarray (*dims, year, age) or None [1]
        Conditional survival of the vehicles in stock at the end of the year before the
        first model year: ``R[..., t, a] = g(t + a + 1) / g(a)``, with ``g`` the lag
        survival of the first cohort and ``t`` counted from the first model year; 0
        where ``g(a) = 0``.
    dims : tuple of str
        Names of the leading dims.
    coords : dict of str to Index
        Labels of the leading dims.
    """

    survival: np.ndarray
    initial: np.ndarray | None
    dims: tuple[str, ...]
    coords: dict[str, pd.Index]


def check_years(years: Sequence[int] | np.ndarray | pd.Index, name: str = "years") -> np.ndarray:
    """Return ``years`` as an int64 array after checking they are consecutive.

    Parameters
    ----------
    years : sequence of int
        Calendar years, increasing by 1.
    name : str
        Name used in messages.

    Raises
    ------
    InputError
        If ``years`` is empty, not whole numbers, or not consecutive and increasing.
    """
    arr = np.asarray(years)
    if arr.ndim != 1 or arr.size == 0:
        msg = f"{name} must be a non-empty 1-d sequence of years; got shape {arr.shape}."
        raise InputError(msg)
    if not np.issubdtype(arr.dtype, np.number) or not np.all(np.mod(arr, 1) == 0):
        msg = f"{name} must be whole calendar years; got {labels(arr)}."
        raise InputError(msg)
    arr = arr.astype(np.int64)
    gaps = np.flatnonzero(np.diff(arr) != 1)
    if gaps.size:
        i = int(gaps[0])
        msg = (
            f"{name} must be consecutive and increasing by 1; got {arr[i]} followed by "
            f"{arr[i + 1]}."
        )
        raise InputError(msg)
    return arr


def _align_param(
    model: str,
    name: str,
    da: xr.DataArray,
    years: np.ndarray,
    coords: Mapping[str, pd.Index],
) -> np.ndarray:
    """Values of ``da`` with labels in the order of ``coords`` and the model cohorts."""
    values = da.values
    for axis, d in enumerate(map(str, da.dims)):
        own = da.get_index(d)
        if d == "cohort":
            if own.has_duplicates:
                msg = f"{model} parameter {name!r} has repeated cohort labels; allowed: unique labels."
                raise InputError(msg)
            if own.equals(pd.Index(years)):
                continue
            position = own.get_indexer(years)
            uncovered = [int(y) for y in years[position < 0]]
            if uncovered:
                msg = (
                    f"{model} parameter {name!r} has no value for cohort(s) {uncovered[:10]}"
                    f"{' ...' if len(uncovered) > 10 else ''}; its 'cohort' labels must cover "
                    f"the model years {years[0]}-{years[-1]}."
                )
                raise InputError(msg)
            values = np.take(values, position, axis=axis)
        elif d in coords:
            mismatch = label_mismatch(own, coords[d])
            if mismatch is not None:
                missing, extra = mismatch
                msg = (
                    f"{model} parameter {name!r} has {d} labels that differ from the "
                    f"input's: missing {missing}, extra {extra}; allowed: the same "
                    f"{d} labels as the input, in any order."
                )
                raise InputError(msg)
            if not own.equals(coords[d]):
                values = np.take(values, own.get_indexer(coords[d]), axis=axis)
    return values


def _param_arrays(
    model: LifetimeModel,
    yrs: np.ndarray,
    lead_dims: Sequence[str],
    coords: Mapping[str, pd.Index],
) -> tuple[dict[str, np.ndarray], tuple[str, ...], dict[str, pd.Index], bool]:
    """Parameters as arrays (*dims, cohort or 1, k) that broadcast against each other.

    Returns the arrays by name, the dims other than ``cohort`` and ``age`` (``lead_dims``
    first), their labels and whether some parameter varies by cohort.
    """
    name = type(model).__name__
    params = model.parameters()
    found: dict[str, pd.Index] = {}
    for da in params.values():
        for d in map(str, da.dims):
            if d in RESERVED_DIMS:
                continue
            own = coords[d] if d in coords else da.get_index(d)
            if d not in found:
                found[d] = own
            elif d not in coords and not own.equals(found[d]):
                broadcast_parameters(name, params)  # raises, naming the parameters
    dims = tuple([d for d in lead_dims if d in found] + [d for d in found if d not in lead_dims])
    has_cohort = any("cohort" in da.dims for da in params.values())
    prms: dict[str, np.ndarray] = {}
    for k, da in params.items():
        values = _align_param(name, k, da, yrs, coords)
        own = [str(d) for d in da.dims]
        order = [own.index(d) for d in (*dims, "cohort", "age") if d in own]
        values = values.transpose(order)
        shape = [found[d].size if d in own else 1 for d in dims]
        shape.append(yrs.size if "cohort" in own else 1)
        shape.append(da.sizes["age"] if "age" in own else 1)
        prms[k] = values.reshape(shape)
    return prms, dims, {d: found[d] for d in dims}, has_cohort


def survival_arrays(
    model: LifetimeModel,
    years: Sequence[int] | np.ndarray | pd.Index,
    inflow_at: InflowAt = "middle",
    *,
    lead_dims: Sequence[str] = (),
    coords: Mapping[str, pd.Index] | None = None,
    n_initial_ages: int | None = None,
) -> SurvivalArrays:
    """Compute the survival matrices of ``model`` as plain arrays.

    ``S[..., t, c] = g_c(t - c)`` for ``t >= c`` and 0 otherwise, where
    ``g_c(m) = sf_c(m + offset)`` (``offset`` from ``inflow_at``), evaluated on the whole
    (cohort, lag) grid in one call. The lower-triangular Toeplitz structure is used when
    no parameter varies by cohort.

    Parameters
    ----------
    model : LifetimeModel
        The lifetime model.
    years : sequence of int
        Consecutive model years; they are also the cohorts.
    inflow_at : {"start", "middle", "end"}
        When in its year the inflow of a cohort enters.
    lead_dims : sequence of str
        Parameter dims listed here come first in ``dims``, in this order; the others
        follow in the order they appear in the parameters.
    coords : mapping of str to Index, optional
        Labels of the input arrays. Parameter labels on these dims must be the same set
        and are put in this order.
    n_initial_ages : int, optional
        Number of ages (0..A) of an initial stock; if given, ``initial`` is computed.

    Returns
    -------
    SurvivalArrays

    Raises
    ------
    InputError
        If parameter labels do not match ``coords`` or cover the years, or the
        parameters give a survival that is not a number within [0, 1].
    """
    yrs = check_years(years)
    offset = check_inflow_at(inflow_at)
    values = {f.name: getattr(model, f.name) for f in fields(model)}
    if all(isinstance(v, float) for v in values.values()):
        scalars = {k: np.full((1, 1), v) for k, v in values.items()}
        return _survival_from_params(model, yrs, offset, scalars, (), {}, False, n_initial_ages)
    prms, dims, out_coords, has_cohort = _param_arrays(
        model, yrs, lead_dims, {} if coords is None else coords
    )
    return _survival_from_params(
        model, yrs, offset, prms, dims, out_coords, has_cohort, n_initial_ages
    )


def _survival_from_params(
    model: LifetimeModel,
    yrs: np.ndarray,
    offset: float,
    prms: Mapping[str, np.ndarray],
    dims: tuple[str, ...],
    coords: dict[str, pd.Index],
    has_cohort: bool,
    n_initial_ages: int | None,
) -> SurvivalArrays:
    """Survival arrays from parameters shaped (*dims, cohort or 1, k); see survival_arrays."""
    n_years = yrs.size
    lags = np.arange(n_years)
    g = _checked_lag_survival(model, lags, offset, prms, dims, coords, yrs if has_cohort else None)
    survival = _cohort_lower(g) if has_cohort else _lower_toeplitz(g[..., 0, :])
    initial = None
    if n_initial_ages is not None:
        first = {k: v[..., :1, :] for k, v in prms.items()}
        g0 = _checked_lag_survival(
            model,
            np.arange(n_years + n_initial_ages),
            offset,
            first,
            dims,
            coords,
            yrs[:1] if has_cohort else None,
        )[..., 0, :]
        later = sliding_window_view(g0[..., 1:], n_initial_ages, axis=-1)[..., :n_years, :]
        at_start = g0[..., np.newaxis, :n_initial_ages]
        initial = np.divide(
            later,
            at_start,
            out=np.zeros(later.shape),
            where=np.broadcast_to(at_start > 0, later.shape),
        )
    return SurvivalArrays(survival=survival, initial=initial, dims=dims, coords=coords)


def _checked_lag_survival(
    model: LifetimeModel,
    lags: np.ndarray,
    offset: float,
    prms: Mapping[str, np.ndarray],
    dims: tuple[str, ...],
    coords: Mapping[str, pd.Index],
    cohorts: np.ndarray | None,
) -> np.ndarray:
    """``model``'s survival at ``lags`` whole years after entry, checked by
    :func:`_check_survival` (over- and underflow are reported there, not warned)."""
    with np.errstate(all="ignore"):
        g = model._lag_survival(lags, offset, prms)
    _check_survival(model, g, offset, prms, dims, coords, cohorts)
    return g


def _check_survival(
    model: LifetimeModel,
    g: np.ndarray,
    offset: float,
    prms: Mapping[str, np.ndarray],
    dims: tuple[str, ...],
    coords: Mapping[str, pd.Index],
    cohorts: np.ndarray | None,
) -> None:
    """Raise InputError where the lag survival ``g`` (*dims, cohort, lag) is not in [0, 1].

    Finite parameters can still overflow in floating point (e.g. a log-normal ``mean``
    of 1e200 years squared); this names the parameters of the first such cell.
    """
    if g.size == 0 or (g.min() >= 0.0 and g.max() <= 1.0):
        return
    bad = ~((g >= 0.0) & (g <= 1.0))
    position = np.unravel_index(int(np.argmax(bad)), g.shape)
    where = [f"{d}={label(coords[d][i])}" for d, i in zip(dims, position, strict=False)]
    if cohorts is not None:
        where.append(f"cohort={label(cohorts[position[len(dims)]])}")
    at = f" at {', '.join(where)}" if where else ""
    at_cell = position[:-1]
    given = ", ".join(
        f"{k}={float(np.broadcast_to(v, (*g.shape[:-1], v.shape[-1]))[at_cell][0])!r}"
        for k, v in prms.items()
    )
    msg = (
        f"{type(model).__name__} parameters {given}{at} give a survival of "
        f"{float(g[position])!r} at age {position[-1] + offset:g}; allowed: parameters whose "
        "survival function is a number within [0, 1] in floating point."
    )
    raise InputError(msg)


def _cohort_lower(g: np.ndarray) -> np.ndarray:
    """Build ``S[..., t, c] = g[..., c, t - c]`` for ``t >= c`` and 0 above the diagonal.

    Parameters
    ----------
    g : ndarray (*dims, cohort, lag), with as many lags as cohorts

    Returns
    -------
    S : ndarray (*dims, year, cohort), C-contiguous
    """
    n = g.shape[-1]
    # row c of ``padded`` holds n zeros, then g[c]; reading it with a row stride one
    # element short shifts row c right by c: skewed[c, t] = padded[c, n + t - c]
    padded = np.zeros((*g.shape[:-1], 2 * n))
    padded[..., n:] = g
    step = padded.strides[-1]
    skewed = np.lib.stride_tricks.as_strided(
        padded[..., n:],
        shape=g.shape,
        strides=(*padded.strides[:-2], padded.strides[-2] - step, step),
        writeable=False,
    )
    return np.ascontiguousarray(np.swapaxes(skewed, -1, -2))


def _lower_toeplitz(g: np.ndarray) -> np.ndarray:
    """Build ``S[..., t, c] = g[..., t - c]`` for ``t >= c`` and 0 above the diagonal.

    Parameters
    ----------
    g : ndarray (*dims, lag)

    Returns
    -------
    S : ndarray (*dims, lag, lag), C-contiguous
    """
    n = g.shape[-1]
    padded = np.concatenate([g[..., ::-1], np.zeros((*g.shape[:-1], n - 1))], axis=-1)
    # window t of ``padded`` read backwards is row t of S: padded[n - 1 - t + c] = g[t - c]
    windows = sliding_window_view(padded, n, axis=-1)
    return np.ascontiguousarray(windows[..., ::-1, :])


def survival_matrix(
    model: LifetimeModel,
    years: Sequence[int] | np.ndarray | pd.Index,
    inflow_at: InflowAt = "middle",
) -> xr.DataArray:
    """Survival matrix of a lifetime model over the model years.

    ``S[t, c]`` = fraction of the inflow of cohort ``c`` still in stock at the end of
    year ``t``; ``S[t, c] = sf_c(t - c + offset)`` for ``t >= c`` and 0 for ``t < c``,
    with ``offset`` = 1, 1/2, 0 for ``inflow_at`` = "start", "middle", "end".

    Parameters
    ----------
    model : LifetimeModel
        The lifetime model; its parameters may vary by ``cohort`` and other dims.
    years : sequence of int
        Consecutive model years; they are also the cohort labels.
    inflow_at : {"start", "middle", "end"}, default "middle"
        When in its year the inflow of a cohort enters.

    Returns
    -------
    S : DataArray (year, cohort, ...) [1]
        The trailing dims are those the parameters vary by.

    Raises
    ------
    InputError
        If ``years`` are not consecutive, ``inflow_at`` is unknown or a cohort-varying
        parameter does not cover every model year.

    Examples
    --------
    >>> S = survival_matrix(Normal(mean=15.0, std=5.0), range(2020, 2031))
    >>> float(S.sel(year=2020, cohort=2020).round(4))
    0.9981
    """
    yrs = check_years(years)
    arrays = survival_arrays(model, yrs, inflow_at)
    da = xr.DataArray(
        arrays.survival,
        dims=(*arrays.dims, "year", "cohort"),
        coords={**arrays.coords, "year": yrs, "cohort": yrs},
        attrs={"units": "1", "long_name": "surviving fraction of the cohort's inflow"},
    )
    return da.transpose("year", "cohort", ...)
