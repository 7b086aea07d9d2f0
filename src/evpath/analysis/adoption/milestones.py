"""Milestone years of fitted adoption curves and lags between regions, with intervals
from parameter draws."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from evpath.analysis.adoption.fit import N_DRAWS, AdoptionFit, Seed
from evpath.errors import InputError

FULL_SHARE = 0.995
"""Share [fraction] that stands for "100 %" in milestone tables; curves saturating at 1
reach 1 only asymptotically, so the 100 % milestone is the year the curve reaches 99.5 %."""
LEVELS = (0.05, 0.10, 0.25, 0.50, 0.90, 1.0)
"""Default milestone share levels [fraction]."""
INTERVAL = 0.90
"""Default probability of the uncertainty intervals."""


def observed_crossing(history: xr.DataArray, level: float) -> float:
    """Fractional year at which an observed history first reaches ``level``.

    The first year whose share is at least ``level`` is ``Y``; the crossing is placed
    between the previous reported year and ``Y`` by linear interpolation of the share, so
    that ``ceil(crossing) == Y`` for consecutive years (the same convention as the fitted
    curves). If ``Y`` is the first reported year the crossing is ``Y``.

    Returns
    -------
    float [yr]
        NaN if the history never reaches the level.
    """
    years = history["year"].to_numpy().astype(float)
    s = history.to_numpy().astype(float)
    hit = np.flatnonzero(s >= level)
    if hit.size == 0:
        return float("nan")
    i = int(hit[0])
    if i == 0:
        return float(years[0])
    frac = (level - s[i - 1]) / (s[i] - s[i - 1])
    return float(years[i - 1] + frac * (years[i] - years[i - 1]))


def crossing_draws(
    fit: AdoptionFit, level: float, n: int = N_DRAWS, seed: Seed = 0, *, use_history: bool = True
) -> tuple[xr.DataArray, str]:
    """Draws of the year ``fit``'s region reaches ``level``.

    Parameters
    ----------
    fit : AdoptionFit
    level : float [fraction]
    n : int
        Number of draws.
    seed : int or numpy Generator
    use_history : bool
        Consult the observed history: if it already reached the level, use the observed
        crossing (:func:`observed_crossing`, the same in every draw) rather than the curve;
        if not, the level is reached after the last observed year, so fitted crossings
        earlier than that year are moved to it (the curve runs ahead of the data, as for
        Europe's 2023–2024 plateau).

    Returns
    -------
    (DataArray (draw) [yr], basis)
        ``basis`` is ``"observed"`` or ``"fitted"``; ``inf`` draws never reach the level.
    """
    if use_history:
        seen = observed_crossing(fit.history, level)
        if np.isfinite(seen):
            return xr.DataArray(
                np.full(n, seen), dims="draw", coords={"draw": np.arange(n)}
            ), "observed"
    years = fit.year_reaching(level, fit.sample(n, seed))
    assert isinstance(years, xr.DataArray)
    if use_history and fit.history.size:
        years = years.clip(min=float(fit.history["year"][-1]))
    return years, "fitted"


def fit_seed(fit: AdoptionFit, seed: int = 0) -> list[int]:
    """Seed of a fit's parameter draws: ``seed`` plus a stable code of region, kind, model.

    A region's draws are then the same whichever regions it is compared with and in
    whatever order, and the same for every level (milestone years stay ordered in each
    draw); two different regions get independent draws.
    """
    return [seed, zlib.crc32(f"{fit.region}|{fit.kind}|{fit.model}".encode())]


def _quantiles(values: xr.DataArray, interval: float) -> tuple[float, float, float]:
    """Median and central interval of draws; ±inf draws (never reached) count as extremes."""
    tail = (1.0 - interval) / 2.0
    big = 1e12
    v = np.nan_to_num(values.to_numpy().astype(float), nan=np.nan, posinf=big, neginf=-big)
    if np.all(np.isnan(v)):
        return float("nan"), float("nan"), float("nan")
    q = np.nanquantile(v, [0.5, tail, 1.0 - tail])
    q = np.where(q >= big / 10, np.inf, np.where(q <= -big / 10, -np.inf, q))
    return float(q[0]), float(q[1]), float(q[2])


def milestones(
    fits: Iterable[AdoptionFit],
    levels: Sequence[float] = LEVELS,
    *,
    n_draws: int = N_DRAWS,
    seed: int = 0,
    interval: float = INTERVAL,
) -> pd.DataFrame:
    """Year each region reached, or on its fitted curve reaches, each share level.

    A level of 1 (100 %) is looked for as ``FULL_SHARE`` (99.5 %): a curve saturating at 1
    reaches 1 only asymptotically. A curve with a fitted ``K`` below the level never
    reaches it (``basis`` "never", years ``inf``).

    Parameters
    ----------
    fits : iterable of AdoptionFit
    levels : sequence of float [fraction]
    n_draws : int
        Parameter draws for the intervals of fitted years.
    seed : int
        Base seed of the draws (see :func:`fit_seed`).
    interval : float
        Probability of the interval (default 0.90: the 5th to 95th percentile).

    Returns
    -------
    DataFrame
        One row per region and level: ``region``, ``kind``, ``model``, ``level``,
        ``target`` (share looked for), ``basis`` ("observed", "fitted" or "never"),
        ``year`` (first calendar year with a share ≥ target; for fitted curves the year
        containing the median crossing, never before the year after the last observed
        one), ``year_low``/``year_high`` (the same for the interval bounds; missing where
        the bound is never), ``crossing`` (median fractional year),
        ``low``/``high`` (interval bounds [yr]; equal to ``crossing`` when observed),
        ``ahead_of_data`` (the fitted curve crossed the level by the last observed year
        although the data did not; its crossing is then moved to that year, see
        :func:`crossing_draws`, and ``year`` is the year after it).
    """
    rows = []
    for fit in fits:
        for level in levels:
            target = min(float(level), FULL_SHARE)
            draws, basis = crossing_draws(fit, target, n_draws, fit_seed(fit, seed))
            mid, low, high = _quantiles(draws, interval)
            hist = fit.history
            last = int(hist["year"][-1])
            point = float(fit.year_reaching(target))
            year: int | None
            year_low: int | None
            year_high: int | None
            if basis == "observed":
                year = year_low = year_high = int(hist["year"][hist >= target][0])
            elif np.isfinite(point) and np.isfinite(mid):
                year, year_low = (max(int(np.ceil(x)), last + 1) for x in (mid, low))
                year_high = max(int(np.ceil(high)), last + 1) if np.isfinite(high) else None
            else:
                basis, year, year_low, year_high = "never", None, None, None
            rows.append(
                {
                    "region": fit.region,
                    "kind": fit.kind,
                    "model": fit.model,
                    "level": float(level),
                    "target": target,
                    "basis": basis,
                    "year": year,
                    "year_low": year_low,
                    "year_high": year_high,
                    "crossing": mid,
                    "low": low,
                    "high": high,
                    "ahead_of_data": basis == "fitted" and point <= last,
                }
            )
    table = pd.DataFrame(rows)
    for col in ("year", "year_low", "year_high"):
        table[col] = table[col].astype("Int64")
    return table


class Lag(NamedTuple):
    """Years region a trails region b at a share level (negative: a is ahead)."""

    median: float
    low: float
    high: float


def lag(
    fit_a: AdoptionFit,
    fit_b: AdoptionFit,
    level: float,
    *,
    n_draws: int = N_DRAWS,
    seed: int = 0,
    interval: float = INTERVAL,
    use_history: bool = True,
) -> Lag:
    """Years region ``a`` reaches ``level`` after region ``b``.

    lag = crossing year of a − crossing year of b, computed on the parameter draws of the
    two fits (independent for different regions, see :func:`fit_seed`); observed
    crossings, where the history already reached the level, are the same in every draw
    (see :func:`crossing_draws`).

    Parameters
    ----------
    fit_a, fit_b : AdoptionFit
    level : float [fraction]
        Share level; 1.0 is looked for as ``FULL_SHARE``.
    n_draws : int
    seed : int
    interval : float
        Probability of the interval (default 0.90).
    use_history : bool
        Use observed crossings where available (default) or the fitted curves only.

    Returns
    -------
    Lag (median, low, high) [yr]
        ``inf`` where a never reaches the level in (part of) the draws; NaN if neither does.
    """
    target = min(float(level), FULL_SHARE)
    a, _ = crossing_draws(fit_a, target, n_draws, fit_seed(fit_a, seed), use_history=use_history)
    b, _ = crossing_draws(fit_b, target, n_draws, fit_seed(fit_b, seed), use_history=use_history)
    with np.errstate(invalid="ignore"):
        diff = a - b
    return Lag(*_quantiles(diff, interval))


def lag_table(
    fits: Sequence[AdoptionFit],
    reference: AdoptionFit | str,
    levels: Sequence[float] = (0.10, 0.25, 0.50),
    *,
    n_draws: int = N_DRAWS,
    seed: int = 0,
    interval: float = INTERVAL,
) -> pd.DataFrame:
    """Lag of each region behind a reference region at several share levels.

    Parameters
    ----------
    fits : sequence of AdoptionFit
    reference : AdoptionFit or str
        The reference fit, or the region name of one of ``fits``.
    levels : sequence of float [fraction]
    n_draws, seed, interval
        As in :func:`lag`.

    Returns
    -------
    DataFrame
        ``region``, ``reference``, ``level``, ``median``, ``low``, ``high`` [yr];
        positive: the region trails the reference. The reference itself is left out.
    """
    if isinstance(reference, str):
        match = [f for f in fits if f.region == reference]
        if not match:
            msg = (
                f"reference: got {reference!r}; allowed: one of the compared regions "
                f"({', '.join(f.region for f in fits)})"
            )
            raise InputError(msg)
        reference = match[0]
    rows = [
        {
            "region": fit.region,
            "reference": reference.region,
            "level": float(level),
            **lag(fit, reference, level, n_draws=n_draws, seed=seed, interval=interval)._asdict(),
        }
        for fit in fits
        if fit is not reference and fit.region != reference.region
        for level in levels
    ]
    return pd.DataFrame(rows, columns=["region", "reference", "level", "median", "low", "high"])
