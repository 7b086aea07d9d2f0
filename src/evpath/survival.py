"""Public home of the lifetime models and survival matrices (see
:mod:`evpath.model.lifetimes` and :mod:`evpath.model.survival`).

>>> from evpath.survival import Weibull
"""

from evpath.model.lifetimes import (
    Empirical,
    Fixed,
    FoldedNormal,
    LifetimeModel,
    LogNormal,
    Normal,
    Weibull,
)
from evpath.model.survival import InflowAt, SurvivalArrays, survival_arrays, survival_matrix

__all__ = [
    "Empirical",
    "Fixed",
    "FoldedNormal",
    "InflowAt",
    "LifetimeModel",
    "LogNormal",
    "Normal",
    "SurvivalArrays",
    "Weibull",
    "survival_arrays",
    "survival_matrix",
]
