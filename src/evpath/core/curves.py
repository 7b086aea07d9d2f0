"""Transition and adoption curves.

:func:`progress` maps τ ∈ [0, 1] (the fraction of a milestone interval elapsed) to
f(τ) ∈ [0, 1] with f(0) = 0 and f(1) = 1. A share moving from ``a`` to ``b`` over the
interval is a + (b − a)·f(τ); because every powertrain uses the same f, shares keep
summing to one.

:func:`logistic` and :func:`bass_cumulative` are the S-curve kernels behind it and behind
the adoption curves fitted to sales-share histories (:mod:`evpath.analysis.adoption`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evpath.scenario.schema import Curve

FloatArray = NDArray[np.float64]


def logistic(x: FloatArray, saturation: FloatArray | float = 1.0) -> FloatArray:
    """Logistic curve K / (1 + e^{−x}) of a dimensionless argument; ``saturation`` is K."""
    return np.asarray(saturation / (1.0 + np.exp(-x)), dtype=float)


def bass_cumulative(
    t: FloatArray,
    p: FloatArray | float,
    q: FloatArray | float,
    saturation: FloatArray | float = 1.0,
) -> FloatArray:
    """Bass diffusion cumulative adoption F(t) = K (1 − e^{−(p+q)t}) / (1 + (q/p) e^{−(p+q)t}).

    ``t`` [yr] is the time since diffusion started, ``p`` and ``q`` [1/yr] the coefficients
    of innovation and imitation, ``saturation`` K the share reached in the end.
    """
    decay = np.exp(-(p + q) * t)
    return np.asarray(saturation * (1.0 - decay) / (1.0 + (q / p) * decay), dtype=float)


def progress(tau: ArrayLike, curve: Curve, interval_years: ArrayLike) -> FloatArray:
    """f(τ) for the chosen curve.

    Parameters
    ----------
    tau : array-like [dimensionless]
        Elapsed fraction of the interval, clipped to [0, 1].
    curve : Curve
        Kind and parameters (logistic steepness; Bass p and q in 1/yr).
    interval_years : array-like [years]
        Length of the interval (the Bass curve runs in calendar time).
    """
    elapsed = np.clip(np.asarray(tau, dtype=float), 0.0, 1.0)
    if curve.kind == "linear":
        return elapsed
    if curve.kind == "logistic":
        k = curve.steepness
        low, high = logistic(np.array(-k / 2)), logistic(np.array(k / 2))
        return (logistic(k * (elapsed - 0.5)) - low) / (high - low)
    interval = np.asarray(interval_years, dtype=float)
    full = bass_cumulative(interval, curve.p, curve.q)
    return bass_cumulative(elapsed * interval, curve.p, curve.q) / full
