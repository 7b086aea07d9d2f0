"""Lifetime models and survival matrices of the dynamic stock engine.

A lifetime model says how long a vehicle stays in the fleet. The stock engine only
needs one thing from it: the survival matrix

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

Every parameter may be a number or an :class:`xarray.DataArray`. A DataArray may vary
by ``cohort`` (labels are model years) and by any other dims (region, powertrain, draw,
...). Lifetimes are in years.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from numbers import Real
from typing import Literal, get_args

import numpy as np
import pandas as pd
import xarray as xr
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import ndtr

from evpath.errors import InputError

InflowAt = Literal["start", "middle", "end"]
"""When in its year the inflow of a cohort enters the stock."""

INFLOW_AT_AGE_OFFSET: Mapping[str, float] = {"start": 1.0, "middle": 0.5, "end": 0.0}
"""Age [years] of a cohort at the end of its entry year, by ``inflow_at``."""

RESERVED_DIMS = ("year", "cohort", "age")
"""Dims with a fixed meaning in the stock engine."""

Param = float | xr.DataArray
"""A lifetime parameter: a number, or a DataArray over ``cohort`` and/or other dims."""


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


def label(value: object) -> str:
    """``repr`` of a coordinate label, with numpy scalars shown as Python values."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def labels(values: Sequence[object] | pd.Index | np.ndarray, limit: int = 6) -> str:
    """First ``limit`` labels as a list, e.g. ``[1, 2, 3] ...``."""
    items = list(values)
    shown = ", ".join(label(v) for v in items[:limit])
    return f"[{shown}]{' ...' if len(items) > limit else ''}"


def where(da: xr.DataArray, flat_index: int) -> str:
    """Describe the labels of element ``flat_index`` of ``da``, e.g. " at region='JP'"."""
    if da.ndim == 0:
        return ""
    position = np.unravel_index(flat_index, da.shape)
    parts = [f"{d}={label(da.get_index(d)[i])}" for d, i in zip(da.dims, position, strict=True)]
    return " at " + ", ".join(parts)


def _check_param(
    model: str,
    name: str,
    value: object,
    ok: Callable[[np.ndarray], np.ndarray],
    allowed: str,
    *,
    allowed_dims: tuple[str, ...] = ("cohort",),
) -> Param:
    """Validate one lifetime parameter and return it as a float or a float DataArray.

    Parameters
    ----------
    model : str
        Class name of the lifetime model, for messages.
    name : str
        Parameter name, for messages.
    value : object
        The value passed by the user.
    ok : callable
        Maps the values to a boolean array, True where the value is allowed.
    allowed : str
        Words for the allowed values, for messages.
    allowed_dims : tuple of str
        Reserved dims this parameter may have.

    Raises
    ------
    InputError
        If the value is not a number or a DataArray, has a reserved dim it may not have,
        is not finite, or fails ``ok``.
    """
    if isinstance(value, Real) and not isinstance(value, bool):
        checked: Param = float(value)
        values = np.asarray(checked)
        da = xr.DataArray(checked)
    elif isinstance(value, xr.DataArray):
        bad_dims = [d for d in value.dims if d in RESERVED_DIMS and d not in allowed_dims]
        if bad_dims:
            msg = (
                f"{model} parameter {name!r} has dim(s) {bad_dims}; lifetime parameters may "
                f"vary by {list(allowed_dims)} and by any dim other than {list(RESERVED_DIMS)}."
            )
            raise InputError(msg)
        if not np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype, np.bool_):
            msg = f"{model} parameter {name!r} must hold numbers; got dtype {value.dtype}."
            raise InputError(msg)
        da = value.astype(float)
        values = da.values
        checked = da
    else:
        msg = (
            f"{model} parameter {name!r} must be a number or an xarray DataArray; "
            f"got {type(value).__name__} {value!r}."
        )
        raise InputError(msg)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(values) & ok(values)
    if not np.all(good):
        i = int(np.flatnonzero(~np.asarray(good).ravel())[0])
        bad = float(values.ravel()[i])
        msg = f"{model} parameter {name!r} got {bad!r}{where(da, i)}; allowed: {allowed}."
        raise InputError(msg)
    return checked


def _positive(v: np.ndarray) -> np.ndarray:
    return v > 0


def _non_negative(v: np.ndarray) -> np.ndarray:
    return v >= 0


@dataclass(frozen=True, eq=False)
class LifetimeModel(ABC):
    """Base class of the lifetime models: a survival function of age by cohort.

    Subclasses are frozen dataclasses whose fields are the parameters.
    """

    def __post_init__(self) -> None:
        for f in fields(self):
            ok, allowed = self._constraints()[f.name]
            checked = _check_param(
                type(self).__name__,
                f.name,
                getattr(self, f.name),
                ok,
                allowed,
                allowed_dims=self._allowed_dims(f.name),
            )
            object.__setattr__(self, f.name, checked)

    @classmethod
    @abstractmethod
    def _constraints(cls) -> dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]]:
        """Map each parameter name to (check, words for the allowed values)."""

    @classmethod
    def _allowed_dims(cls, name: str) -> tuple[str, ...]:
        """Reserved dims parameter ``name`` may have."""
        return ("cohort",)

    def parameters(self) -> dict[str, xr.DataArray]:
        """Parameters by name, each as a DataArray (0-d for a number).

        Returns
        -------
        parameters : dict of str to DataArray
        """
        return {f.name: xr.DataArray(getattr(self, f.name)) for f in fields(self)}

    @property
    def dims(self) -> tuple[str, ...]:
        """Dims the lifetime varies by, other than ``cohort`` and ``age``."""
        out: list[str] = []
        for da in self.parameters().values():
            out.extend(str(d) for d in da.dims if d not in RESERVED_DIMS and d not in out)
        return tuple(out)

    @abstractmethod
    def _lag_survival(
        self, lags: np.ndarray, offset: float, prms: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        """Survival ``g_c(m)`` at the end of the m-th year after the entry year.

        Parameters
        ----------
        lags : ndarray (lag,) [years]
            Whole years ``m = t - c >= 0`` since the entry year.
        offset : float [years]
            Age at the end of the entry year (see :func:`check_inflow_at`).
        prms : mapping of str to ndarray (*dims, cohort, k)
            Parameters, with ``k = 1`` for numbers and ``k = age`` for tables.

        Returns
        -------
        g : ndarray (*dims, cohort, lag) [1]
        """


class _Parametric(LifetimeModel):
    """A lifetime model given by a survival function of continuous age."""

    @abstractmethod
    def _sf(self, age: np.ndarray, prms: Mapping[str, np.ndarray]) -> np.ndarray:
        """Survival function at ``age`` [years] (>= 0), broadcast against ``prms``."""

    def _lag_survival(
        self, lags: np.ndarray, offset: float, prms: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        return self._sf(lags + offset, prms)


@dataclass(frozen=True, eq=False)
class Fixed(_Parametric):
    """Every vehicle retires at the same age.

    ``sf(x) = 1 if x < mean else 0``: with ``mean = 3.5`` a vehicle is still in stock at
    ages 0, 1, 2 and 3 and gone at age 4.

    Parameters
    ----------
    mean : float or DataArray (cohort?, ...) [years]
        The lifetime, >= 0.
    """

    mean: Param

    @classmethod
    def _constraints(cls) -> dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]]:
        return {"mean": (_non_negative, "a finite number of years >= 0")}

    def _sf(self, age: np.ndarray, prms: Mapping[str, np.ndarray]) -> np.ndarray:
        return (age < prms["mean"]).astype(float)


@dataclass(frozen=True, eq=False)
class _NormalFamily(_Parametric):
    """Lifetimes built on a normal distribution of the given ``mean`` and ``std``."""

    mean: Param
    std: Param

    @classmethod
    def _constraints(cls) -> dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]]:
        return {
            "mean": (_non_negative, "a finite number of years >= 0"),
            "std": (_positive, "a finite number of years > 0"),
        }


@dataclass(frozen=True, eq=False)
class Normal(_NormalFamily):
    """Normally distributed lifetime.

    ``sf(x) = Phi((mean - x) / std)``, with Phi the standard normal CDF. The mass at
    negative ages leaves in the entry year.

    Parameters
    ----------
    mean : float or DataArray (cohort?, ...) [years]
        Mean lifetime, >= 0.
    std : float or DataArray (cohort?, ...) [years]
        Standard deviation of the lifetime, > 0.
    """

    def _sf(self, age: np.ndarray, prms: Mapping[str, np.ndarray]) -> np.ndarray:
        return ndtr((prms["mean"] - age) / prms["std"])


@dataclass(frozen=True, eq=False)
class FoldedNormal(_NormalFamily):
    """Lifetime ``|X|`` with ``X`` normal; ``mean`` and ``std`` are those of ``X``.

    ``sf(x) = Phi((mean - x) / std) + Phi(-(mean + x) / std)`` for ``x >= 0``.

    Parameters
    ----------
    mean : float or DataArray (cohort?, ...) [years]
        Mean of the normal distribution before folding, >= 0.
    std : float or DataArray (cohort?, ...) [years]
        Standard deviation of the normal distribution before folding, > 0.
    """

    def _sf(self, age: np.ndarray, prms: Mapping[str, np.ndarray]) -> np.ndarray:
        z = age / prms["std"]
        c = prms["mean"] / prms["std"]
        return ndtr(c - z) + ndtr(-(z + c))


@dataclass(frozen=True, eq=False)
class LogNormal(_Parametric):
    """Log-normally distributed lifetime; ``mean`` and ``std`` are those of the lifetime.

    With ``sigma**2 = ln(1 + std**2 / mean**2)`` and
    ``mu = ln(mean**2 / sqrt(mean**2 + std**2))``:
    ``sf(x) = Phi((mu - ln x) / sigma)`` for ``x > 0`` and ``sf(0) = 1``.

    Parameters
    ----------
    mean : float or DataArray (cohort?, ...) [years]
        Mean lifetime, > 0.
    std : float or DataArray (cohort?, ...) [years]
        Standard deviation of the lifetime, > 0.
    """

    mean: Param
    std: Param

    @classmethod
    def _constraints(cls) -> dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]]:
        return {
            "mean": (_positive, "a finite number of years > 0"),
            "std": (_positive, "a finite number of years > 0"),
        }

    def _sf(self, age: np.ndarray, prms: Mapping[str, np.ndarray]) -> np.ndarray:
        mean_sq = prms["mean"] ** 2
        std_sq = prms["std"] ** 2
        mu = np.log(mean_sq / np.sqrt(mean_sq + std_sq))
        sigma = np.sqrt(np.log1p(std_sq / mean_sq))
        with np.errstate(divide="ignore"):
            log_age = np.log(age)
        return ndtr((mu - log_age) / sigma)


@dataclass(frozen=True, eq=False)
class Weibull(_Parametric):
    """Weibull-distributed lifetime.

    ``sf(x) = exp(-(x / scale) ** shape)`` for ``x >= 0``.

    Parameters
    ----------
    shape : float or DataArray (cohort?, ...) [1]
        Shape parameter, > 0.
    scale : float or DataArray (cohort?, ...) [years]
        Scale parameter, > 0.
    """

    shape: Param
    scale: Param

    @classmethod
    def _constraints(cls) -> dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]]:
        return {
            "shape": (_positive, "a finite number > 0"),
            "scale": (_positive, "a finite number of years > 0"),
        }

    def _sf(self, age: np.ndarray, prms: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.exp(-((age / prms["scale"]) ** prms["shape"]))


@dataclass(frozen=True, eq=False)
class Empirical(LifetimeModel):
    """Survival given as a table by whole year of age.

    ``S[t, c] = survival[t - c]`` for ``0 <= t - c <= A`` and 0 beyond the last tabulated
    age ``A``: ``survival[a]`` is the fraction of a cohort still in stock at the end of
    the calendar year ``c + a``, so ``survival[0]`` already accounts for retirements in
    the entry year and ``inflow_at`` has no effect.

    Parameters
    ----------
    survival : DataArray (age, cohort?, ...) [1]
        Survival fraction by age; ``age`` labels are 0, 1, 2, ... in order. Values lie
        in [0, 1] and do not increase with age.
    """

    survival: xr.DataArray

    @classmethod
    def _constraints(cls) -> dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]]:
        return {"survival": (_in_unit_interval, "fractions within [0, 1]")}

    @classmethod
    def _allowed_dims(cls, name: str) -> tuple[str, ...]:
        return ("cohort", "age")

    def __post_init__(self) -> None:
        if not isinstance(self.survival, xr.DataArray) or "age" not in self.survival.dims:
            got = (
                f"dims {self.survival.dims}"
                if isinstance(self.survival, xr.DataArray)
                else type(self.survival).__name__
            )
            msg = (
                "Empirical parameter 'survival' must be a DataArray with an 'age' dim "
                f"(ages 0, 1, 2, ...); got {got}."
            )
            raise InputError(msg)
        super().__post_init__()
        survival = self.survival
        ages = survival.get_index("age")
        expected = np.arange(survival.sizes["age"])
        if not np.array_equal(np.asarray(ages), expected):
            msg = (
                f"Empirical parameter 'survival' has age labels {labels(ages)}; "
                "allowed: consecutive whole ages 0, 1, 2, ... in increasing order."
            )
            raise InputError(msg)
        ordered = survival.transpose("age", ...)
        values = ordered.values
        rising = np.diff(values, axis=0) > 0
        if np.any(rising):
            i = int(np.flatnonzero(rising.ravel())[0])
            before = np.unravel_index(i, rising.shape)
            after = (before[0] + 1, *before[1:])
            at = where(ordered, int(np.ravel_multi_index(after, values.shape)))
            msg = (
                f"Empirical parameter 'survival' rises from {float(values[before])!r} to "
                f"{float(values[after])!r}{at}; allowed: non-increasing with age."
            )
            raise InputError(msg)

    def _lag_survival(
        self, lags: np.ndarray, offset: float, prms: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        table = prms["survival"]
        padded = np.concatenate([table, np.zeros((*table.shape[:-1], 1))], axis=-1)
        return padded[..., np.minimum(lags, table.shape[-1])]


def _in_unit_interval(v: np.ndarray) -> np.ndarray:
    return (v >= 0) & (v <= 1)


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
) -> xr.DataArray:
    """Put the labels of ``da`` in the order of ``coords`` and pick the model cohorts."""
    for d in da.dims:
        if d in coords:
            own = da.get_index(d)
            target = coords[d]
            if not own.equals(target):
                if len(own) != len(target) or set(own) != set(target) or own.has_duplicates:
                    missing = labels([x for x in target if x not in set(own)])
                    extra = labels([x for x in own if x not in set(target)])
                    msg = (
                        f"{model} parameter {name!r} has {d} labels that differ from the "
                        f"input's: missing {missing}, extra {extra}; allowed: the same "
                        f"{d} labels as the input, in any order."
                    )
                    raise InputError(msg)
                da = da.sel({d: target})
    if "cohort" in da.dims:
        own = da.get_index("cohort")
        missing = [int(y) for y in years if y not in set(own)]
        if missing:
            msg = (
                f"{model} parameter {name!r} has no value for cohort(s) {missing[:10]}"
                f"{' ...' if len(missing) > 10 else ''}; its 'cohort' labels must cover "
                f"the model years {years[0]}-{years[-1]}."
            )
            raise InputError(msg)
        da = da.sel(cohort=years)
    return da


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
    ``g_c(m) = sf_c(m + offset)`` (``offset`` from ``inflow_at``). The lower-triangular
    Toeplitz structure is used when no parameter varies by cohort.

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
    """
    yrs = check_years(years)
    offset = check_inflow_at(inflow_at)
    coords = {} if coords is None else coords
    name = type(model).__name__
    values = {f.name: getattr(model, f.name) for f in fields(model)}
    if all(isinstance(v, float) for v in values.values()):
        scalars = {k: np.full((1, 1), v) for k, v in values.items()}
        return _survival_from_params(model, yrs, offset, scalars, (), {}, False, n_initial_ages)
    params = {k: _align_param(name, k, v, yrs, coords) for k, v in model.parameters().items()}
    try:
        aligned = xr.align(*params.values(), join="exact")
    except ValueError as err:
        msg = f"{name} parameters {list(params)} have different labels on a shared dim: {err}"
        raise InputError(msg) from err
    full = dict(zip(params, xr.broadcast(*aligned), strict=True))
    some = next(iter(full.values()))
    other = [str(d) for d in some.dims if d not in RESERVED_DIMS]
    dims = tuple([d for d in lead_dims if d in other] + [d for d in other if d not in lead_dims])
    has_cohort = "cohort" in some.dims
    prms: dict[str, np.ndarray] = {}
    for k, da in full.items():
        tail = [d for d in ("cohort", "age") if d in da.dims]
        arr = da.transpose(*dims, *tail).values
        if not has_cohort:
            arr = arr[..., np.newaxis, :] if "age" in da.dims else arr[..., np.newaxis]
        if "age" not in da.dims:
            arr = arr[..., np.newaxis]
        prms[k] = arr
    out_coords = {d: some.get_index(d) for d in dims}
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
    g = model._lag_survival(lags, offset, prms)
    if has_cohort:
        t_idx, c_idx = np.indices((n_years, n_years))
        lag = t_idx - c_idx
        survival = np.where(lag >= 0, g[..., c_idx, np.maximum(lag, 0)], 0.0)
    else:
        survival = _lower_toeplitz(g[..., 0, :])
    initial = None
    if n_initial_ages is not None:
        first = {k: v[..., :1, :] for k, v in prms.items()}
        g0 = model._lag_survival(np.arange(n_years + n_initial_ages), offset, first)[..., 0, :]
        later = sliding_window_view(g0[..., 1:], n_initial_ages, axis=-1)[..., :n_years, :]
        at_start = g0[..., np.newaxis, :n_initial_ages]
        initial = np.divide(
            later,
            at_start,
            out=np.zeros(later.shape),
            where=np.broadcast_to(at_start > 0, later.shape),
        )
    return SurvivalArrays(survival=survival, initial=initial, dims=dims, coords=coords)


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
    0.9987
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
