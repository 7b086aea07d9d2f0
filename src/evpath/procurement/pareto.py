"""Cost against concentration: the pooled alliance re-solved under tighter country caps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from evpath.errors import ProcurementError
from evpath.procurement.instance import Instance
from evpath.procurement.result import Plan
from evpath.procurement.sharing import concentration
from evpath.procurement.solve import solve_buyer

FRONT_COLUMNS = (
    "cap",
    "status",
    "cash_cost",
    "risk_penalty",
    "total_cost",
    "top_country",
    "top_country_share",
    "max_country_share_in_a_year",
    "mip_gap",
    "message",
)


def cost_concentration_front(
    instance: Instance,
    caps: Sequence[float],
    *,
    mip_rel_gap: float = 1e-4,
    time_limit: float = 60.0,
) -> pd.DataFrame:
    """Pooled plan of the whole alliance with each cap on one country's share of purchases.

    Each cap replaces ``policy.country_cap`` (the largest share of the buyer's purchases
    in a year from one country); every other rule stays. Caps are solved from the
    tightest to the loosest, each from the warm start of the tighter plan before it
    (which also meets the looser cap), so the cost never rises as the cap loosens,
    whatever gap HiGHS stops at.

    Parameters
    ----------
    instance : Instance
    caps : sequence of float [fraction]
        Each in (0, 1].
    mip_rel_gap, time_limit : float
        HiGHS relative gap [fraction] and seconds per solve.

    Returns
    -------
    pandas.DataFrame
        One row per cap, in the order given, with columns ``cap``; ``status`` ('solved'
        or 'infeasible'); ``cash_cost``, ``risk_penalty`` and ``total_cost`` [USD] (their
        sum, what the plan minimises); ``top_country`` and ``top_country_share``
        [fraction] of all tonnes over the period; ``max_country_share_in_a_year``
        [fraction] (what the cap limits); ``mip_gap`` [fraction]; and ``message``, why no
        plan meets the cap, in words (empty when solved). Costs and shares are NaN when
        infeasible.

    Raises
    ------
    ProcurementError
        When a cap lies outside (0, 1].
    """
    bad = [cap for cap in caps if not 0 < cap <= 1]
    if bad:
        msg = f"caps: got {bad[0]:g}; allowed: each cap above 0 and at most 1"
        raise ProcurementError(msg)
    members = tuple(range(len(instance.members)))
    rows: dict[float, dict[str, object]] = {}
    start: np.ndarray | None = None
    for cap in sorted(set(caps)):
        try:
            plan = solve_buyer(
                replace(instance, country_cap=cap),
                members,
                start,
                mip_rel_gap=mip_rel_gap,
                time_limit=time_limit,
            )
        except ProcurementError as error:
            rows[cap] = _infeasible(cap, str(error))
            continue
        start = plan.columns
        rows[cap] = _solved(cap, plan, instance.countries)
    return pd.DataFrame([rows[cap] for cap in caps], columns=list(FRONT_COLUMNS))


def _solved(cap: float, plan: Plan, countries: Sequence[str]) -> dict[str, object]:
    """A row of the front for a plan that meets ``cap``."""
    shares = concentration(plan.volume, countries)
    return {
        "cap": cap,
        "status": "solved",
        "cash_cost": plan.cash_cost,
        "risk_penalty": plan.risk_penalty,
        "total_cost": plan.objective,
        "top_country": shares["top_country"],
        "top_country_share": shares["top_country_share"],
        "max_country_share_in_a_year": shares["max_country_share_in_a_year"],
        "mip_gap": plan.mip_gap,
        "message": "",
    }


def _infeasible(cap: float, message: str) -> dict[str, object]:
    """A row of the front for a cap no plan meets, with the reason in words."""
    nan = float("nan")
    return {
        "cap": cap,
        "status": "infeasible",
        "cash_cost": nan,
        "risk_penalty": nan,
        "total_cost": nan,
        "top_country": "",
        "top_country_share": nan,
        "max_country_share_in_a_year": nan,
        "mip_gap": nan,
        "message": message,
    }
