"""Sharing the alliance's saving (Shapley value) and measuring supplier concentration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import factorial

import numpy as np
import pandas as pd


def shapley_exact(cost: np.ndarray) -> np.ndarray:
    """Shapley value of a cost game given on every coalition.

    Parameters
    ----------
    cost : ndarray (2**n,) [USD]
        Cost of each coalition, indexed by bitmask (bit i set: member i is in it);
        ``cost[0]`` is the empty coalition and must be 0.

    Returns
    -------
    ndarray (n,) [USD]
        φ_i = Σ_{S ∌ i} |S|! (n − |S| − 1)! / n! · (cost(S ∪ {i}) − cost(S)). The shares
        add up to ``cost[-1]``, the grand coalition's cost.
    """
    n = int(np.log2(len(cost)))
    masks = np.arange(2**n)
    bits = (masks[:, None] >> np.arange(n)) & 1  # (coalition, member)
    size = bits.sum(axis=1)
    weight = np.array([factorial(s) * factorial(max(n - s - 1, 0)) for s in size]) / factorial(n)
    joined = masks[:, None] | (1 << np.arange(n))
    marginal = cost[joined] - cost[masks][:, None]
    return (np.where(bits == 0, weight[:, None] * marginal, 0.0)).sum(axis=0)


@dataclass(frozen=True)
class CoreCheck:
    """Whether a cost split lies in the core of the cost game.

    A split is in the core when no coalition would pay less on its own than the sum of
    its members' allocated costs: cost(S) ≥ Σ_{i∈S} x_i for every coalition S (within a
    tolerance). Otherwise the *most dissatisfied* coalition is the one with the largest
    excess Σ_{i∈S} x_i − cost(S), what it would save by leaving.

    Attributes
    ----------
    in_core : bool
    coalition : tuple of int
        Members of the most dissatisfied coalition (largest excess, all proper
        coalitions considered; the smallest such coalition on ties).
    excess : float [USD]
        Its excess: allocated cost − stand-alone cost (≤ tolerance when in the core).
    tolerance : float [USD]
    """

    in_core: bool
    coalition: tuple[int, ...]
    excess: float
    tolerance: float


def core_check(
    cost: np.ndarray, allocation: np.ndarray, tolerance: float | None = None
) -> CoreCheck:
    """Check a split of the grand coalition's cost against every proper coalition.

    Parameters
    ----------
    cost : ndarray (2**n,) [USD]
        Cost of each coalition by bitmask, as for :func:`shapley_exact`.
    allocation : ndarray (n,) [USD]
        Cost allocated to each member (e.g. the Shapley value of the cost game).
    tolerance : float, optional [USD]
        Excess accepted as zero (solver gaps); default 1e-9 × |grand coalition cost|.

    Returns
    -------
    CoreCheck
    """
    n = len(allocation)
    masks = np.arange(1, (1 << n) - 1)
    if tolerance is None:
        tolerance = 1e-9 * max(1.0, abs(float(cost[-1])))
    if masks.size == 0:
        return CoreCheck(True, (), 0.0, tolerance)
    bits = (masks[:, None] >> np.arange(n)) & 1
    excess = bits @ np.asarray(allocation, dtype=float) - np.asarray(cost, dtype=float)[masks]
    size = bits.sum(axis=1)
    worst = int(np.lexsort((size, -excess))[0])
    members = tuple(int(i) for i in np.flatnonzero(bits[worst]))
    value = float(excess[worst])
    return CoreCheck(value <= tolerance, members, value, tolerance)


def hhi(volume: np.ndarray) -> float:
    """Herfindahl–Hirschman index of the shares of ``volume`` (group,) [0–10,000].

    0 when nothing is bought.
    """
    total = volume.sum()
    if total <= 0:
        return 0.0
    return float(((100.0 * volume / total) ** 2).sum())


def concentration(volume: np.ndarray, countries: Sequence[str]) -> dict[str, float | str]:
    """Concentration of a purchase plan.

    Parameters
    ----------
    volume : ndarray (supplier, year) [t/yr]
    countries : sequence of str
        Country of each supplier.

    Returns
    -------
    dict
        ``hhi_supplier`` and ``hhi_country``: HHI of supplier and country shares of all
        tonnes over the period [0–10,000]; ``top_country`` and ``top_country_share``: the
        country with most tonnes over the period and its share [fraction];
        ``max_country_share_in_a_year``: the highest share one country reaches in any one
        year [fraction] (what the country cap limits); ``suppliers_per_year``: mean number
        of suppliers bought from.
    """
    by_country = pd.DataFrame(volume, index=list(countries)).groupby(level=0).sum()
    period = by_country.sum(axis=1)
    yearly = by_country / by_country.sum(axis=0).where(lambda s: s > 0)
    top = str(period.idxmax()) if period.sum() > 0 else ""
    return {
        "hhi_supplier": hhi(volume.sum(axis=1)),
        "hhi_country": hhi(period.to_numpy()),
        "top_country": top,
        "top_country_share": float(period.max() / period.sum()) if period.sum() > 0 else 0.0,
        "max_country_share_in_a_year": float(np.nan_to_num(yearly.to_numpy()).max()),
        "suppliers_per_year": float((volume > 1e-6).sum(axis=0).mean()),
    }
