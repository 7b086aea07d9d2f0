"""Lifetime models of the dynamic stock engine: how long a vehicle stays in the fleet.

Each model is a survival function of age by cohort, with its mean
(:meth:`LifetimeModel.mean_lifetime`); :mod:`evpath.model.survival` turns it into
survival matrices. Every parameter may be a number or an
:class:`xarray.DataArray`. A DataArray may vary by ``cohort`` (labels are model years)
and by any other dims (region, powertrain, draw, ...). Lifetimes are in years.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from numbers import Real

import numpy as np
import xarray as xr
from scipy.special import gamma, ndtr

from evpath.core.messages import first_true, labels
from evpath.errors import InputError

RESERVED_DIMS = ("year", "cohort", "age")
"""Dims with a fixed meaning in the stock engine."""

REAL_KINDS = "iuf"
"""numpy dtype kinds of real numbers: signed and unsigned integers, floats."""

Param = float | xr.DataArray
"""A lifetime parameter: a number, or a DataArray over ``cohort`` and/or other dims."""


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
    if isinstance(value, bool) or not isinstance(value, Real | xr.DataArray):
        msg = (
            f"{model} parameter {name!r} must be a number or an xarray DataArray; "
            f"got {type(value).__name__} {value!r}."
        )
        raise InputError(msg)
    checked: Param
    if isinstance(value, xr.DataArray):
        bad_dims = [d for d in value.dims if d in RESERVED_DIMS and d not in allowed_dims]
        if bad_dims:
            msg = (
                f"{model} parameter {name!r} has dim(s) {bad_dims}; lifetime parameters may "
                f"vary by {list(allowed_dims)} and by any dim other than {list(RESERVED_DIMS)}."
            )
            raise InputError(msg)
        if value.dtype.kind not in REAL_KINDS:
            msg = f"{model} parameter {name!r} must hold real numbers; got dtype {value.dtype}."
            raise InputError(msg)
        da = value.astype(float)
        checked = da
    else:
        checked = float(value)
        da = xr.DataArray(checked)
    values = np.asarray(da.values)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(values) & ok(values)
    if not np.all(good):
        cell = first_true(da.copy(deep=False, data=~good))
        bad = float(values[cell.position])
        msg = f"{model} parameter {name!r} got {bad!r}{cell.at()}; allowed: {allowed}."
        raise InputError(msg)
    return checked


def broadcast_parameters(model: str, params: Mapping[str, xr.DataArray]) -> dict[str, xr.DataArray]:
    """Parameters broadcast against each other, by name.

    Raises
    ------
    InputError
        If two parameters have different labels on a dim they share.
    """
    try:
        aligned = xr.align(*params.values(), join="exact")
    except ValueError as err:
        msg = f"{model} parameters {list(params)} have different labels on a shared dim: {err}"
        raise InputError(msg) from err
    return dict(zip(params, xr.broadcast(*aligned), strict=True))


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
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value if isinstance(value, xr.DataArray) else xr.DataArray(value)
        return out

    @property
    def dims(self) -> tuple[str, ...]:
        """Dims the lifetime varies by, other than ``cohort`` and ``age``."""
        out: list[str] = []
        for da in self.parameters().values():
            out.extend(str(d) for d in da.dims if d not in RESERVED_DIMS and d not in out)
        return tuple(out)

    def mean_lifetime(self) -> float | xr.DataArray:
        """Mean lifetime [years].

        Returns
        -------
        float or DataArray (cohort?, ...) [years]
            A float if no parameter varies by a dim other than ``age``; otherwise a
            DataArray over the parameters' dims other than ``age``.

        Examples
        --------
        >>> Weibull(shape=1.0, scale=12.0).mean_lifetime()
        12.0
        """
        mean = self._mean(broadcast_parameters(type(self).__name__, self.parameters()))
        if mean.ndim == 0:
            return float(mean)
        return mean.assign_attrs(units="years")

    @abstractmethod
    def _mean(self, prms: Mapping[str, xr.DataArray]) -> xr.DataArray:
        """Mean lifetime [years] from the parameters, broadcast against each other."""

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

    def _mean(self, prms: Mapping[str, xr.DataArray]) -> xr.DataArray:
        return prms["mean"]

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

    def _mean(self, prms: Mapping[str, xr.DataArray]) -> xr.DataArray:
        return prms["mean"]

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

    def _mean(self, prms: Mapping[str, xr.DataArray]) -> xr.DataArray:
        # E|X| = sigma sqrt(2/pi) exp(-mu^2 / (2 sigma^2)) + mu (1 - 2 Phi(-mu / sigma))
        mu, sigma = prms["mean"], prms["std"]
        spread = sigma * np.sqrt(2 / np.pi) * np.exp(-(mu**2) / (2 * sigma**2))
        return spread + mu * (1 - 2 * ndtr(-mu / sigma))

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

    def _mean(self, prms: Mapping[str, xr.DataArray]) -> xr.DataArray:
        return prms["mean"]

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

    def _mean(self, prms: Mapping[str, xr.DataArray]) -> xr.DataArray:
        return prms["scale"] * gamma(1 + 1 / prms["shape"])

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
        rising = np.zeros(values.shape, dtype=bool)
        rising[1:] = np.diff(values, axis=0) > 0
        if np.any(rising):
            cell = first_true(ordered.copy(deep=False, data=rising))
            after = cell.position
            before = (after[0] - 1, *after[1:])
            msg = (
                f"Empirical parameter 'survival' rises from {float(values[before])!r} to "
                f"{float(values[after])!r}{cell.at()}; allowed: non-increasing with age."
            )
            raise InputError(msg)

    def _mean(self, prms: Mapping[str, xr.DataArray]) -> xr.DataArray:
        # expected whole years in the fleet: the sum of the survival table over age
        return prms["survival"].sum("age")

    def _lag_survival(
        self, lags: np.ndarray, offset: float, prms: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        table = prms["survival"]
        padded = np.concatenate([table, np.zeros((*table.shape[:-1], 1))], axis=-1)
        return padded[..., np.minimum(lags, table.shape[-1])]


def _in_unit_interval(v: np.ndarray) -> np.ndarray:
    return (v >= 0) & (v <= 1)
