"""Normalised transition curves between share milestones.

A curve maps τ ∈ [0, 1] (the fraction of a milestone interval elapsed) to f(τ) ∈ [0, 1]
with f(0) = 0 and f(1) = 1. A share moving from ``a`` to ``b`` over the interval is
a + (b − a)·f(τ); because every powertrain uses the same f, shares keep summing to one.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evpath.scenario.schema import Curve


def _logistic(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-x))


def _bass_cumulative(t: NDArray[np.float64], p: float, q: float) -> NDArray[np.float64]:
    """Bass diffusion cumulative adoption F(t) = (1 − e^{−(p+q)t}) / (1 + (q/p) e^{−(p+q)t})."""
    decay = np.exp(-(p + q) * t)
    return (1.0 - decay) / (1.0 + (q / p) * decay)


def progress(tau: ArrayLike, curve: Curve, interval_years: ArrayLike) -> NDArray[np.float64]:
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
    tau = np.clip(np.asarray(tau, dtype=float), 0.0, 1.0)
    if curve.kind == "linear":
        return tau
    if curve.kind == "logistic":
        k = curve.steepness
        low, high = _logistic(np.array(-k / 2)), _logistic(np.array(k / 2))
        return (_logistic(k * (tau - 0.5)) - low) / (high - low)
    interval = np.asarray(interval_years, dtype=float)
    full = _bass_cumulative(interval, curve.p, curve.q)
    return _bass_cumulative(tau * interval, curve.p, curve.q) / full
