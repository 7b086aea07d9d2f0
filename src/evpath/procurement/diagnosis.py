"""Why a buyer has no purchase plan, in words: checks before solving, and the rule family
whose removal makes the MIP feasible after HiGHS proves it infeasible."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evpath.procurement.highs import has_solution, run
from evpath.procurement.instance import TOLERANCE_T, Instance, buyer_name, capacity_share
from evpath.procurement.mip import FAMILIES, build

FAMILY_WORDS = {
    "country_cap": "the country cap (policy.country_cap)",
    "min_suppliers": "the minimum number of suppliers (policy.min_suppliers)",
    "min_order": "the suppliers' minimum orders (suppliers[].min_order)",
    "stockpile": "the stockpile target (policy.stockpile)",
}


def check_feasible(instance: Instance, members: Sequence[int]) -> list[str]:
    """Explain, before solving, why the buyer made of ``members`` has no plan.

    Checks, in every year and with stock carried forward: total capacity (of suppliers
    whose capacity share reaches their minimum order) against demand plus stockpile;
    the same under the country cap; the minimum number of suppliers against the
    suppliers that can sell. Returns one sentence per problem (empty: no problem found;
    the solver may still find rules that cannot hold together).
    """
    who = buyer_name(instance, members)
    convention = (
        ""
        if len(members) == len(instance.members)
        else (
            " (a buyer outside the alliance gets its share of alliance demand of every "
            "supplier's capacity)"
        )
    )
    years = instance.years
    seg_cap = instance.capacity * capacity_share(instance, members)
    usable = (seg_cap >= instance.min_order[:, None]) & (seg_cap > 0)
    cap = np.where(usable, seg_cap, 0.0)
    demand = instance.demand[list(members)].sum(axis=0)
    need = np.cumsum(demand) + instance.stock_target[list(members)].sum(axis=0)
    problems = []
    short = np.cumsum(cap.sum(axis=0)) - need
    if (short < -TOLERANCE_T).any():
        t = int(np.argmax(short < -TOLERANCE_T))
        what = _needs(years, t, demand, need)
        below = [
            f"{name} ({seg_cap[j, t]:,.0f} t < min_order {instance.min_order[j]:,.0f} t)"
            for j, name in enumerate(instance.suppliers)
            if seg_cap[j, t] > 0 and not usable[j, t]
        ]
        why = (
            f"; in {years[t]} the capacity open to it is below suppliers[].min_order at "
            f"{', '.join(below)}, so it cannot buy from them"
            if below
            else ""
        )
        problems.append(
            f"{who}: {what}, but suppliers can sell it at most {np.cumsum(cap.sum(axis=0))[t]:,.0f} t "
            f"over those years: short by {-short[t]:,.0f} t{why}{convention}"
        )
    elif instance.country_cap < 1.0:
        names = sorted(set(instance.countries))
        by_country = np.stack([cap[np.array(instance.countries) == c].sum(axis=0) for c in names])
        most = max_purchase(by_country, instance.country_cap)
        short = np.cumsum(most) - need
        if (short < -TOLERANCE_T).any():
            t = int(np.argmax(short < -TOLERANCE_T))
            top = int(np.argmax(by_country[:, t]))
            others = by_country[:, t].sum() - by_country[top, t]
            problems.append(
                f"{who}: policy.country_cap {instance.country_cap:.0%} cannot hold: "
                f"{_needs(years, t, demand, need)}, but with no country above "
                f"{instance.country_cap:.0%} of purchases at most {np.cumsum(most)[t]:,.0f} t "
                f"can be bought over those years; in {years[t]} {names[top]} can sell "
                f"{by_country[top, t]:,.0f} t and the other countries only {others:,.0f} t "
                f"(short by {-short[t]:,.0f} t){convention}"
            )
    countable = (seg_cap >= instance.counted_minimum()[:, None]) & (seg_cap > 0)
    count = countable.sum(axis=0)
    # a buyer with no demand in a year is exempt from min_suppliers that year
    active = demand > 0
    failing = active & (count < instance.min_suppliers)
    if instance.min_suppliers > 0 and failing.any():
        t = int(np.argmax(failing))
        able = [s for s, ok in zip(instance.suppliers, countable[:, t], strict=True) if ok]
        problems.append(
            f"{who}: policy.min_suppliers {instance.min_suppliers} cannot hold: in {years[t]} "
            f"only {count[t]} supplier(s) have capacity at least their minimum order and "
            f"policy.min_volume_per_supplier ({instance.min_volume_per_supplier:g} t)"
            f"{' (' + ', '.join(able) + ')' if able else ''}; allowed: min_suppliers <= "
            f"{int(count[active].min())}{convention}"
        )
    return problems


def _needs(years: np.ndarray, t: int, demand: np.ndarray, need: np.ndarray) -> str:
    span = f"{years[0]}-{years[t]}" if t > 0 else f"{years[t]}"
    stock = need[t] - demand[: t + 1].sum()
    extra = f" plus a stockpile of {stock:,.0f} t" if stock > TOLERANCE_T else ""
    return f"demand in {span} is {demand[: t + 1].sum():,.0f} t{extra}"


def max_purchase(by_country: np.ndarray, cap: float) -> np.ndarray:
    """Most a buyer can buy in each year with no country above ``cap`` of its purchases.

    Parameters
    ----------
    by_country : ndarray (country, year) [t/yr]
        Capacity open to the buyer in each country.
    cap : float [fraction]

    Returns
    -------
    ndarray (year,) [t/yr]
        The largest T with Σ_c min(Q_c, cap·T) ≥ T, i.e. the smallest over j of
        S_j / (1 − cap·(C − j)) where S_j sums the j smallest capacities and the
        denominator is positive.
    """
    ordered = np.sort(by_country, axis=0)
    n = ordered.shape[0]
    smallest = np.concatenate([np.zeros((1, ordered.shape[1])), np.cumsum(ordered, axis=0)])
    denominator = 1.0 - cap * (n - np.arange(n + 1))[:, None]
    bound = np.where(
        denominator > 1e-12, smallest / np.where(denominator > 1e-12, denominator, 1.0), np.inf
    )
    return bound.min(axis=0)


def explain_infeasible(
    instance: Instance, members: tuple[int, ...], mip_rel_gap: float, time_limit: float
) -> str:
    """Say which rule family makes a buyer's MIP infeasible, by dropping each in turn.

    mip_rel_gap : float [fraction]
    time_limit : float [s]
        HiGHS settings of each re-solve.
    """
    present = [f for f in FAMILIES if _present(instance, f)]
    freeing = [
        family
        for family in present
        if has_solution(
            run(build(instance, members, frozenset({family})).lp, mip_rel_gap, time_limit)
        )
    ]
    who = buyer_name(instance, members)
    if freeing:
        return (
            f"{who}: no purchase plan meets every rule; dropping "
            + " or ".join(FAMILY_WORDS[f] for f in freeing)
            + " alone would allow one, so that rule cannot hold together with demand, "
            "capacity and the other rules"
        )
    return (
        f"{who}: no purchase plan meets every rule, and no single rule among "
        f"{', '.join(FAMILY_WORDS[f] for f in present) or 'the policy rules'} explains it; "
        "demand and capacity conflict with several rules at once"
    )


def _present(instance: Instance, family: str) -> bool:
    return {
        "country_cap": instance.country_cap < 1.0,
        "min_suppliers": instance.min_suppliers > 0,
        "min_order": bool((instance.min_order > 0).any()),
        "stockpile": bool(instance.stock_target.any()),
    }[family]
