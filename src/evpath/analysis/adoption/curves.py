"""Adoption curves of a sales share: values, analytic inverses and parameter handling.

The curve kernels are :func:`evpath.core.curves.logistic` and
:func:`evpath.core.curves.bass_cumulative`; see :mod:`evpath.analysis.adoption` for the
curve forms and their parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeGuard

import numpy as np
from numpy.typing import NDArray

from evpath.core.curves import bass_cumulative, logistic

MODELS = ("logistic", "bass")
ModelName = Literal["logistic", "bass"]
Values = float | NDArray[np.float64]
"""A parameter or time: one value or an array of draws or years."""

BOUNDS: dict[str, tuple[float, float]] = {
    "r": (1e-4, 5.0),
    "t0": (1950.0, 2300.0),
    "ln_p": (float(np.log(1e-9)), 0.0),
    "q": (0.0, 5.0),
    "K": (1e-4, 1.0),
}
"""Valid parameter ranges: fitting bounds and clipping range of the draws."""


def is_model(value: str) -> TypeGuard[ModelName]:
    """Whether ``value`` is a curve form (one of ``MODELS``)."""
    return value in MODELS


def _array(value: Values) -> NDArray[np.float64]:
    return np.asarray(value, dtype=float)


def curve(model: str, t: Values, params: Mapping[str, Values]) -> NDArray[np.float64]:
    """Share [fraction] on the curve at calendar years ``t`` [yr]."""
    if model == "logistic":
        r, t0 = _array(params["r"]), _array(params["t0"])
        return logistic(r * (_array(t) - t0), params["K"])
    elapsed = np.maximum(_array(t) - params["ts"], 0.0)
    return bass_cumulative(elapsed, params["p"], params["q"], params["K"])


def inverse(model: str, level: Values, params: Mapping[str, Values]) -> NDArray[np.float64]:
    """Fractional calendar year [yr] at which the curve reaches ``level`` [fraction].

    ``inf`` where the curve never reaches it (level ≥ K); below zero, −inf (logistic) or the
    start year ``ts`` (Bass).
    """
    x = _array(level) / _array(params["K"])
    if model == "logistic":
        r, t0 = _array(params["r"]), _array(params["t0"])
        with np.errstate(divide="ignore", invalid="ignore"):
            t = t0 - np.log(1.0 / x - 1.0) / r
        below: Values = -np.inf
    else:
        p, q, ts = _array(params["p"]), _array(params["q"]), _array(params["ts"])
        with np.errstate(divide="ignore", invalid="ignore"):
            t = ts - np.log((1.0 - x) / (1.0 + x * q / p)) / (p + q)
        below = ts
    return np.asarray(np.where(x >= 1.0, np.inf, np.where(x <= 0.0, below, t)), dtype=float)


def natural(params: Mapping[str, Values]) -> dict[str, Values]:
    """Curve parameters from fitted ones: the Bass ``p`` is fitted as ``ln_p``."""
    out = dict(params)
    if "ln_p" in out:
        p = np.exp(out.pop("ln_p"))
        out["p"] = float(p) if np.ndim(p) == 0 else p
    return out


def free_names(model: str, fit_saturation: bool) -> tuple[str, ...]:
    """Names of the fitted parameters, in fitting order."""
    names = ("r", "t0") if model == "logistic" else ("ln_p", "q")
    return (*names, "K") if fit_saturation else names
