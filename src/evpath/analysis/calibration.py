"""Fit a scenario's lifetime to its history: the stock model driven by historical sales
should reproduce the observed stock and average age.

The fitted parameters are a shift added to every mean-lifetime value (all segments),
the Weibull shape (Weibull lifetimes only), an extra shift for each segment after the
first, and the pre-history sales growth that shapes the initial stock. The residuals
are relative differences (stock weighted 1, average age 0.5), minimised by
:func:`scipy.optimize.least_squares` within bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from evpath.api import load_inputs
from evpath.errors import InputError
from evpath.model.pipeline import Inputs, run_pipeline
from evpath.results import Results
from evpath.scenario.schema import Scenario

WEIGHTS = {"stock": 1.0, "average_age": 0.5}
"""Weight of each observed metric in the fit [dimensionless]."""


@dataclass(frozen=True)
class LifetimeFit:
    """A fitted lifetime.

    Attributes
    ----------
    scenario : Scenario
        The scenario with the fitted lifetime and initial-stock growth.
    parameters : dict
        mean_shift [years], shape (Weibull only), segment shifts [years],
        past_sales_growth [1/yr].
    residuals : DataFrame
        The history check of the fitted scenario (observed, model, relative difference).
    cost : float
        Half the sum of squared weighted residuals.
    """

    scenario: Scenario
    parameters: dict[str, float]
    residuals: pd.DataFrame
    cost: float


def _shift(value: Any, delta: float) -> Any:
    if isinstance(value, dict):
        return {year: v + delta for year, v in value.items()}
    return float(value) + delta


def _with(scenario: Scenario, x: np.ndarray, segments: list[str], weibull: bool) -> Scenario:
    document = scenario.model_dump()
    fleet = document["fleet"]
    shift, rest = float(x[0]), list(x[1:])
    shape = float(rest.pop(0)) if weibull else None
    growth = float(rest.pop())
    base = fleet["lifetime"]
    base["mean"] = _shift(base["mean"], shift)
    if weibull:
        base["shape"] = shape
    by_segment = {}
    for segment, extra in zip(segments[1:], rest, strict=True):
        lifetime = dict(base)
        lifetime["mean"] = _shift(base["mean"], float(extra))
        lifetime["note"] = "fitted by evpath calibration (see the base lifetime)"
        lifetime["source"] = None
        by_segment[segment] = lifetime
    fleet["lifetime_by_segment"] = by_segment
    fleet["initial_stock"]["total"] = None
    fleet["initial_stock"]["past_sales_growth"] = growth
    return Scenario.model_validate(document)


def fit_lifetime(scenario: Scenario, inputs: Inputs | None = None) -> LifetimeFit:
    """Fit the lifetime of ``scenario`` to its history's observed stock and average age.

    Raises
    ------
    InputError
        If the lifetime has no ``mean`` (e.g. empirical or Weibull by scale), or the
        history has fewer observations than parameters.
    """
    lifetime = scenario.fleet.lifetime
    if lifetime.mean is None:
        msg = (
            f"{scenario.name}: fleet.lifetime has no 'mean' to fit (model {lifetime.model!r}); "
            "allowed: a lifetime given by its mean (fixed, normal, folded_normal, lognormal, "
            "or weibull with mean)"
        )
        raise InputError(msg)
    inputs = inputs or load_inputs(scenario)
    segments = [str(s) for s in inputs.history.sales.segment.values]
    weibull = lifetime.model == "weibull"
    observed = inputs.history.observed
    observed = observed[observed["metric"].isin(WEIGHTS) & (observed["powertrain"] == "all")]
    x0 = (
        [0.0]
        + ([float(lifetime.shape)] if weibull else [])
        + [0.0] * (len(segments) - 1)
        + [scenario.fleet.initial_stock.past_sales_growth]
    )  # type: ignore[list-item]
    if len(observed) < len(x0):
        msg = (
            f"{scenario.name}: {len(observed)} stock and age observations in the history; "
            f"allowed: at least {len(x0)} (one per fitted parameter)"
        )
        raise InputError(msg)
    low = [-8.0] + ([1.2] if weibull else []) + [-8.0] * (len(segments) - 1) + [-0.1]
    high = [8.0] + ([8.0] if weibull else []) + [8.0] * (len(segments) - 1) + [0.3]

    def check(x: np.ndarray) -> pd.DataFrame:
        candidate = _with(scenario, x, segments, weibull)
        dataset = run_pipeline(candidate, inputs)
        return Results(candidate, dataset, {}, inputs.history.provenance, observed).history_check()

    def residuals(x: np.ndarray) -> np.ndarray:
        table = check(x)
        return (table["relative_difference"] * table["metric"].map(WEIGHTS)).to_numpy()

    solution = least_squares(residuals, x0, bounds=(low, high), xtol=1e-6)
    rounded = np.round(solution.x, 4)
    fitted = _with(scenario, rounded, segments, weibull)
    names = (
        ["mean_shift"]
        + (["shape"] if weibull else [])
        + [f"shift_{s}" for s in segments[1:]]
        + ["past_sales_growth"]
    )
    return LifetimeFit(
        scenario=fitted,
        parameters=dict(zip(names, map(float, rounded), strict=True)),
        residuals=check(rounded),
        cost=float(solution.cost),
    )
