"""Public home of the lifetime models (see :mod:`evpath.model.survival`).

>>> from evpath.survival import Weibull
"""

from evpath.model.survival import (
    Empirical,
    Fixed,
    FoldedNormal,
    InflowAt,
    LifetimeModel,
    LogNormal,
    Normal,
    SurvivalArrays,
    Weibull,
    survival_arrays,
    survival_matrix,
)

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
