"""Values that change over years: scenario paths ``{year: value}`` and survival tables
(numbers only; :mod:`evpath.core.drawn` builds labelled arrays from them, drawn values
included)."""

from __future__ import annotations

import numpy as np


def interpolate_path(path: dict[int, float], years: np.ndarray) -> np.ndarray:
    """Values of a ``{year: value}`` path at ``years``: linear between points, flat outside."""
    points = sorted(path.items())
    return np.interp(years, [y for y, _ in points], [v for _, v in points])


def values_at(value: float | dict[int, float], years: np.ndarray) -> np.ndarray:
    """A number (the same every year) or a path, at ``years``."""
    if isinstance(value, dict):
        return interpolate_path(value, years)
    return np.full(len(years), float(value))


def survival_table(points: dict[int, float]) -> np.ndarray:
    """Survival fractions at ages 0, 1, … from ``{age: fraction}``, linear in between."""
    return interpolate_path(points, np.arange(max(points) + 1))
