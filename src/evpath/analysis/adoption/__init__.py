"""Adoption curves of electric-car sales shares, milestone years and lags between regions.

The question behind this module is "how many years does one region trail another on the
road to electric car sales?". It answers it in three steps:

1. :func:`share_history` reads the electric share of new car sales of any IEA region or
   country (IEA Global EV Outlook 2025, ``category == 'Historical'``, ``mode == 'Cars'``).
2. :func:`fit_adoption` (or :func:`fit_region`) fits an S-curve to that history, a logistic
   or a Bass diffusion curve, and returns an :class:`AdoptionFit` with the parameters, their
   covariance and the fit quality.
3. :func:`milestones` and :func:`lag` turn fits into the year each share level is (or was)
   reached and the years one region trails another, with intervals from parameter draws.

Curves
------
Logistic (Fisher–Pry substitution), with saturation ``K`` (1 unless fitted)::

    s(t) = K / (1 + exp(−r (t − t0)))

Bass diffusion, cumulative adopters as a share of the buyer population::

    F(t) = K (1 − e^{−(p+q)(t−ts)}) / (1 + (q/p) e^{−(p+q)(t−ts)}),   t ≥ ts;  0 before

Reading the Bass curve as a *sales share*: a buyer who has switched to an electric car buys
electric again, so the share of new-car buyers who choose electric in year ``t`` is the
cumulative share of the buyer population that has switched, ``F(t)``, not the adoption rate
``dF/dt``. ``p`` [1/yr] is the rate of switching independent of others, ``q`` [1/yr] the
rate driven by those who already switched; with ``p → 0`` the curve becomes the logistic.
The data cannot tell ``p`` apart from the start year, so ``ts`` is fixed at the year before
the first year with a non-zero share (the year the market opens).

Years are calendar years; the curve value at year ``y`` is the share of sales in year ``y``.
"""

from __future__ import annotations

from evpath.analysis.adoption.curves import MODELS, ModelName, is_model
from evpath.analysis.adoption.fit import (
    MAX_LN_ERROR,
    MAX_RELATIVE_ERROR,
    MIN_PEAK,
    MIN_POINTS,
    N_DRAWS,
    AdoptionFit,
    Seed,
    fit_adoption,
    fit_region,
)
from evpath.analysis.adoption.milestones import (
    FULL_SHARE,
    INTERVAL,
    LEVELS,
    Lag,
    crossing_draws,
    fit_seed,
    lag,
    lag_table,
    milestones,
    observed_crossing,
)
from evpath.analysis.adoption.shares import KINDS, Kind, is_kind, regions, share_history

__all__ = [
    "FULL_SHARE",
    "INTERVAL",
    "KINDS",
    "LEVELS",
    "MAX_LN_ERROR",
    "MAX_RELATIVE_ERROR",
    "MIN_PEAK",
    "MIN_POINTS",
    "MODELS",
    "N_DRAWS",
    "AdoptionFit",
    "Kind",
    "Lag",
    "ModelName",
    "Seed",
    "crossing_draws",
    "fit_adoption",
    "fit_region",
    "fit_seed",
    "is_kind",
    "is_model",
    "lag",
    "lag_table",
    "milestones",
    "observed_crossing",
    "regions",
    "share_history",
]
