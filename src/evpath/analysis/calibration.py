"""Scenarios started from history.

:func:`scenario_from_fit` writes the adoption curve fitted to an IEA region's electric
share of sales as sales milestones. :func:`fit_lifetime` fits a scenario's lifetime so
that the stock model driven by historical sales reproduces the observed stock and
average age: the fitted parameters are a shift added to every mean-lifetime value (all
segments), the Weibull shape (Weibull lifetimes only: one number, or the value at each
cohort of a shape path, whose cohorts stay as the scenario says), the slope of the mean's trend
after its path (lifetimes with a ``mean_trend`` only; the cohort it runs through stays as
the scenario says), an extra shift for each segment after the first, and the pre-history
sales growth that shapes the initial stock. The residuals are relative differences
(stock weighted 1, average age 0.5), minimised by :func:`scipy.optimize.least_squares`
within bounds; its Jacobian's forward differences run as one fleet run, the stepped
parameters drawn (one value per step along ``draw``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.optimize import least_squares

from evpath.analysis.adoption import ModelName, fit_adoption, regions, share_history
from evpath.core.dims import DRAW
from evpath.data.histories import HISTORIES
from evpath.data.history import History
from evpath.data.iea import iea_regions
from evpath.errors import InputError
from evpath.model.fleet import fleet_stock
from evpath.model.history_check import compare_with_observed
from evpath.model.sales import new_sales
from evpath.scenario.schema import Scenario
from evpath.scenario.uncertainty import Key, with_value

MILESTONE_YEARS = (2030, 2035, 2040, 2045, 2050)
"""Years of the sales milestones written from a fitted adoption curve."""


@dataclass(frozen=True)
class FittedScenario:
    """A scenario written from an adoption curve, and how far it rests on one year.

    Attributes
    ----------
    document : dict
        The scenario document.
    shares : ndarray
        The fitted electric share at each of ``MILESTONE_YEARS`` [fraction].
    last_history_year : int
        The last year of the share history the curve was fitted to.
    without_last_year : ndarray or None
        The same shares from the curve fitted without that year
        (:func:`without_last_year`); None when too little history is left.
    """

    document: dict[str, Any]
    shares: np.ndarray
    last_history_year: int
    without_last_year: np.ndarray | None

    def resting_on_last_year(self) -> list[int]:
        """Milestone years whose share moves by more than ``RESTS_ON_LAST_YEAR`` when the
        last year of history is left out of the fit."""
        if self.without_last_year is None:
            return []
        moved = np.abs(self.shares - self.without_last_year) > RESTS_ON_LAST_YEAR
        return [year for year, far in zip(MILESTONE_YEARS, moved, strict=True) if far]


def scenario_from_fit(region: str, model: ModelName = "logistic") -> FittedScenario:
    """A scenario document for an IEA region whose electric share follows the fitted curve.

    The electric share at each milestone year is the fitted curve (saturation 100%); it is
    split between BEV and PHEV in their proportions of the last year of history (2024 for
    most regions); the rest are cars without a plug.
    The document extends ``world-current-trends`` (lifetime, batteries, plants, recycling).
    Each milestone's note gives the share of the curve fitted without the last year of
    history.
    """
    if region not in set(iea_regions()) & set(regions()):  # not the derived "Other markets"
        msg = f"region: got {region!r}; allowed: an IEA region with usable sales shares (see `evpath compare`)"
        raise InputError(msg)
    history = share_history(region, "EV")
    fit = fit_adoption(history, model)
    shares = np.clip(fit.predict(np.array(MILESTONE_YEARS)).values, 0.0, 1.0)
    without = without_last_year(history, model)
    bev_history, phev_history = share_history(region, "BEV"), share_history(region, "PHEV")
    last = int(np.intersect1d(bev_history.year, phev_history.year).max())
    bev, phev = float(bev_history.sel(year=last)), float(phev_history.sel(year=last))
    bev_part = bev / (bev + phev) if bev + phev > 0 else 1.0
    dropped = int(history.year[-1])
    milestones = []
    for index, (year, electric) in enumerate(zip(MILESTONE_YEARS, shares, strict=True)):
        check = (
            f"; the fit without {dropped} gives {100 * without[index]:.1f}%"
            if without is not None
            else f"; without {dropped} too little history is left to fit"
        )
        mix = {"BEV": round(float(electric) * bev_part, 6)}
        mix["PHEV"] = round(float(electric) - mix["BEV"], 6)
        mix["ICEV_gasoline"] = round(1.0 - mix["BEV"] - mix["PHEV"], 6)
        milestones.append(
            {
                "year": year,
                "shares": {k: v for k, v in mix.items() if v > 0},
                "source": (
                    f"evpath {model} fit to the IEA GEVO 2025 electric share of car sales "
                    f"in {region} (R² {fit.r2:.2f}, {fit.n_points} years)"
                ),
                "note": (
                    f"BEV:PHEV split of {last} ({bev_part:.2f} BEV); cars without a plug as "
                    f"ICEV_gasoline{check}"
                ),
            }
        )
    slug = "".join(c if c.isalnum() else "-" for c in region.lower()).strip("-")
    document = {
        "name": f"{slug}-fitted",
        "extends": "world-current-trends",
        "description": f"{region}: the electric share of car sales follows its fitted {model} curve.",
        "regions": [region],
        "sales": {"curve": {"kind": "linear"}, "milestones": milestones},
    }
    return FittedScenario(document, shares, dropped, without)


def without_last_year(history: xr.DataArray, model: ModelName) -> np.ndarray | None:
    """The electric share [fraction] at each of ``MILESTONE_YEARS`` from the curve fitted
    to ``history`` (year) without its last year; None when too little history is left.
    Far from the full fit's, it says that the fit rests on that one year."""
    try:
        fit = fit_adoption(history.isel(year=slice(0, -1)), model)
    except InputError:
        return None
    return np.clip(fit.predict(np.array(MILESTONE_YEARS)).values, 0.0, 1.0)


RESTS_ON_LAST_YEAR = 0.1
"""A milestone share [fraction of sales] that moves by more than this when the last year
of history is left out of the fit is reported as resting on that year (an assumption: a
tenth of sales is more than a fit's usual uncertainty, and less than a jump's effect)."""


WEIGHTS = {"stock": 1.0, "average_age": 0.5}
"""Weight of each observed metric in the fit [dimensionless]."""

SHAPE_BOUNDS = (1.2, 8.0)
"""The fitted Weibull shape (each point of a shape path) lies within these
[dimensionless]: below about 1.2 the hazard of a young car is hardly below an old one's,
which no fleet's scrappage shows."""

TREND_SLOPE_BOUND = 0.5
"""The fitted slope of a mean-lifetime trend lies within ± this [years per cohort year]."""


@dataclass(frozen=True)
class LifetimeFit:
    """A fitted lifetime.

    Attributes
    ----------
    scenario : Scenario
        The scenario with the fitted lifetime and initial-stock growth.
    parameters : dict
        mean_shift [years], shape (Weibull only; ``shape_<cohort>`` for each point of a
        shape path) [dimensionless], mean_trend (the trend's slope, with a
        ``mean_trend`` only) [years per cohort year], segment shifts [years],
        past_sales_growth [1/yr].
    residuals : DataFrame
        The history check of the fitted scenario (observed, model, relative difference).
    cost : float
        Half the sum of squared weighted residuals.
    standard_errors : dict
        Approximate standard error of each parameter (same keys and units): from the
        Jacobian at the solution, s² (JᵀJ)⁻¹ with s² the weighted residuals' variance.
        A large one says the observations hardly determine that parameter.
    """

    scenario: Scenario
    parameters: dict[str, float]
    residuals: pd.DataFrame
    cost: float
    standard_errors: dict[str, float]


def _shift(value: Any, delta: float) -> Any:
    if isinstance(value, dict):
        return {year: v + delta for year, v in value.items()}
    return float(value) + delta


def _with(
    scenario: Scenario,
    x: np.ndarray,
    segments: list[str],
    shape_cohorts: list[int] | None,
    trend: bool,
) -> Scenario:
    """``scenario`` with the parameters ``x``; ``shape_cohorts`` are the cohorts of a shape
    path ([] for one shape, None for a lifetime without a shape)."""
    document = scenario.model_dump()
    fleet = document["fleet"]
    shift, rest = float(x[0]), list(x[1:])
    n_shapes = 0 if shape_cohorts is None else max(len(shape_cohorts), 1)
    shapes = [float(rest.pop(0)) for _ in range(n_shapes)]
    slope = float(rest.pop(0)) if trend else None
    growth = float(rest.pop())
    base = fleet["lifetime"]
    base["mean"] = _shift(base["mean"], shift)
    if shape_cohorts is not None:
        base["shape"] = (
            dict(zip(shape_cohorts, shapes, strict=True)) if shape_cohorts else shapes[0]
        )
    if trend:
        base["mean_trend"] = {**base["mean_trend"], "slope": slope}
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


def _start_shape(scenario: Scenario) -> tuple[list[int] | None, list[float]]:
    """The cohorts of the Weibull shape path ([] for one shape; None for a lifetime model
    without a shape) and the values the fit starts from."""
    lifetime = scenario.fleet.lifetime
    if lifetime.model != "weibull":
        return None, []
    shape = lifetime.shape
    if isinstance(shape, dict):
        cohorts = sorted(shape)
        return cohorts, [float(shape[c]) for c in cohorts]
    if not isinstance(shape, int | float):
        msg = (
            f"{scenario.name}: fleet.lifetime.shape is drawn ({type(shape).__name__}); "
            "allowed: a number or a {cohort year: number} path to fit"
        )
        raise InputError(msg)
    return [], [float(shape)]


def fit_lifetime(scenario: Scenario, history: History | None = None) -> LifetimeFit:
    """Fit the lifetime of ``scenario`` to its history's observed stock and average age.

    Each evaluation runs the sales and fleet stages only. ``history`` defaults to the
    scenario's ``sales.history``.

    Raises
    ------
    InputError
        If the lifetime has no ``mean`` (e.g. empirical or Weibull by scale) or is fixed
        (a step in its mean), or the history has fewer observations than parameters.
    """
    lifetime = scenario.fleet.lifetime
    if lifetime.mean is None or lifetime.model == "fixed":
        why = (
            "a fixed lifetime retires cars at whole ages, so the fit's measures do not move "
            "with a small change of its mean"
            if lifetime.model == "fixed"
            else "it has no 'mean' to fit"
        )
        msg = (
            f"{scenario.name}: fleet.lifetime (model {lifetime.model!r}) cannot be fitted: "
            f"{why}; allowed: a lifetime given by its mean (normal, folded_normal, lognormal, "
            "or weibull with mean)"
        )
        raise InputError(msg)
    if history is None:
        history = HISTORIES[scenario.sales.history].load()
    segments = [str(s) for s in history.sales.segment.values]
    shape_cohorts, shape = _start_shape(scenario)
    trend = lifetime.mean_trend is not None
    slope = [float(lifetime.mean_trend.slope)] if lifetime.mean_trend is not None else []
    observed = history.observed
    observed = observed[observed["metric"].isin(WEIGHTS) & (observed["powertrain"] == "all")]
    x0 = (
        [0.0]
        + shape
        + slope
        + [0.0] * (len(segments) - 1)
        + [scenario.fleet.initial_stock.past_sales_growth]
    )
    if len(observed) < len(x0):
        msg = (
            f"{scenario.name}: {len(observed)} stock and age observations in the history; "
            f"allowed: at least {len(x0)} (one per fitted parameter)"
        )
        raise InputError(msg)
    steep = [TREND_SLOPE_BOUND] if trend else []
    low = (
        [-8.0]
        + [SHAPE_BOUNDS[0]] * len(shape)
        + [-s for s in steep]
        + [-8.0] * (len(segments) - 1)
        + [-0.1]
    )
    high = [8.0] + [SHAPE_BOUNDS[1]] * len(shape) + steep + [8.0] * (len(segments) - 1) + [0.3]
    years = np.arange(scenario.years.start, scenario.years.end + 1)
    # sales do not depend on the fleet block: computed once for every evaluation
    sales = new_sales(scenario, history.sales.sel(region=scenario.regions), years)

    def checks(points: np.ndarray) -> list[pd.DataFrame]:
        """The history check under each parameter vector (row) of ``points``, from one
        run of the fleet stage: the vectors' differing numbers are drawn."""
        candidates = [_with(scenario, x, segments, shape_cohorts, trend) for x in points]
        fleet = fleet_stock(_as_draws(candidates), sales)
        modelled = xr.Dataset({"stock": fleet.stock, "average_age": fleet.average_age})
        if DRAW not in modelled.dims:  # one vector
            return [compare_with_observed(modelled, observed)] * len(candidates)
        return [
            compare_with_observed(modelled.isel({DRAW: i}, drop=True), observed)
            for i in range(len(candidates))
        ]

    def check(x: np.ndarray) -> pd.DataFrame:
        return checks(x[np.newaxis])[0]

    def weighted(table: pd.DataFrame) -> np.ndarray:
        return (table["relative_difference"] * table["metric"].map(WEIGHTS)).to_numpy()

    # least_squares asks for the Jacobian where it has just evaluated the residuals
    last: dict[bytes, np.ndarray] = {}

    def residuals(x: np.ndarray) -> np.ndarray:
        last.clear()
        last[x.tobytes()] = weighted(check(x))
        return last[x.tobytes()]

    def jacobian(x: np.ndarray) -> np.ndarray:
        """Forward differences, every step in one run (:func:`_difference_steps`)."""
        at_x = last[x.tobytes()] if x.tobytes() in last else weighted(check(x))
        steps = _difference_steps(x, np.asarray(low), np.asarray(high))
        stepped = [weighted(table) for table in checks(x + np.diag(steps))]
        return np.column_stack([(r - at_x) / step for r, step in zip(stepped, steps, strict=True)])

    solution = least_squares(residuals, x0, jac=jacobian, bounds=(low, high), xtol=1e-6)
    rounded = np.round(solution.x, 4)
    fitted = _with(scenario, rounded, segments, shape_cohorts, trend)
    names = (
        ["mean_shift"]
        + ([f"shape_{c}" for c in shape_cohorts] if shape_cohorts else ["shape"] * len(shape))
        + (["mean_trend"] if trend else [])
        + [f"shift_{s}" for s in segments[1:]]
        + ["past_sales_growth"]
    )
    return LifetimeFit(
        scenario=fitted,
        parameters=dict(zip(names, map(float, rounded), strict=True)),
        residuals=check(rounded),
        cost=float(solution.cost),
        standard_errors=dict(zip(names, _standard_errors(solution), strict=True)),
    )


def _difference_steps(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Steps of a forward-difference Jacobian at ``x``, as SciPy's 2-point scheme takes
    them: √ε·max(1, |x|) away from zero, the other way where that would leave the bounds
    ``low``–``high``, each exactly representable as a difference of floats."""
    step = np.sqrt(np.finfo(float).eps) * np.where(x >= 0, 1.0, -1.0) * np.maximum(1.0, abs(x))
    step = np.where((x + step < low) | (x + step > high), -step, step)
    return (x + step) - x


def _as_draws(candidates: list[Scenario]) -> Scenario:
    """The first of ``candidates`` (scenarios that differ only in numbers of their fleet
    block) with each number in which they differ drawn: one value per candidate, along
    ``draw``."""
    drawn = candidates[0]
    documents = [candidate.fleet.model_dump() for candidate in candidates]
    for keys, values in _differing_numbers(documents):
        column = xr.DataArray(np.array(values, dtype=float), dims=DRAW)
        drawn = with_value(drawn, ("fleet", *keys), column)
    return drawn


def _differing_numbers(
    documents: list[Any], keys: tuple[Key, ...] = ()
) -> Iterator[tuple[tuple[Key, ...], list[float]]]:
    """The keys and values of each number in which ``documents`` (mappings of the same
    layout) differ."""
    first = documents[0]
    if isinstance(first, dict):
        for key in first:
            yield from _differing_numbers([d[key] for d in documents], (*keys, key))
    elif (
        isinstance(first, int | float)
        and not isinstance(first, bool)
        and any(d != first for d in documents)
    ):
        yield keys, documents


def _standard_errors(solution: Any) -> list[float]:
    """Linearised standard errors of a least-squares solution: sqrt of the diagonal of
    s² (JᵀJ)⁺, s² = 2 cost / (residuals − parameters)."""
    jacobian = np.asarray(solution.jac, dtype=float)
    spare = max(jacobian.shape[0] - jacobian.shape[1], 1)
    variance = 2.0 * float(solution.cost) / spare
    covariance = variance * np.linalg.pinv(jacobian.T @ jacobian)
    return [float(np.sqrt(max(v, 0.0))) for v in np.diag(covariance)]
