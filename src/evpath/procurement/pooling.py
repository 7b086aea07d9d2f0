"""Every member alone and the alliance pooled: the saving of buying together and its
Shapley split."""

from __future__ import annotations

import numpy as np
import xarray as xr

from evpath.errors import ProcurementError
from evpath.procurement.diagnosis import check_feasible
from evpath.procurement.duals import binding_constraints
from evpath.procurement.instance import Instance, resolve
from evpath.procurement.result import Plan, ProcurementResult
from evpath.procurement.schema import Alliance
from evpath.procurement.sharing import shapley_exact, shapley_sampled
from evpath.procurement.solve import combine, solve_buyer

EXACT_SHAPLEY_MAX = 8
"""Largest alliance whose Shapley split is computed exactly (2**n − 1 coalitions)."""


def procure(
    alliance: Alliance | Instance,
    scenario: str | None = None,
    *,
    run_data: xr.Dataset | None = None,
    shapley: str = "auto",
    samples: int = 200,
    seed: int = 0,
    mip_rel_gap: float = 1e-4,
    time_limit: float = 60.0,
) -> ProcurementResult:
    """Solve every member alone and the alliance pooled, and split the saving.

    Parameters
    ----------
    alliance : Alliance or Instance
    scenario : str, optional
        Scenario used instead of the members' ``share_of_run.scenario``.
    run_data : Dataset, optional
        Results of a stored run, used instead of running a scenario.
    shapley : {'auto', 'exact', 'sampled'}
        'exact' solves every coalition (2**n − 1 MIPs); 'sampled' averages marginal
        costs over ``samples`` random joining orders; 'auto' is exact up to
        ``EXACT_SHAPLEY_MAX`` members.
    samples : int
        Random orders for 'sampled'.
    seed : int
        Seed of the random orders.
    mip_rel_gap, time_limit : float
        HiGHS relative gap [fraction] and seconds per solve.

    Returns
    -------
    ProcurementResult

    Raises
    ------
    ProcurementError
        When a member alone or the alliance cannot meet its rules, in words.

    Notes
    -----
    Each coalition (the alliance included) is solved from the warm start of its
    members' stand-alone plans combined, so its cost never exceeds the sum of theirs,
    whatever gap HiGHS stops at.
    """
    instance = alliance if isinstance(alliance, Instance) else resolve(alliance, scenario, run_data)
    allowed = ("auto", "exact", "sampled")
    if shapley not in allowed:
        msg = f"shapley: got {shapley!r}; allowed: one of {', '.join(allowed)}"
        raise ProcurementError(msg)
    n = len(instance.members)
    problems = [p for i in range(n) for p in check_feasible(instance, (i,))]
    problems = check_feasible(instance, tuple(range(n))) + problems
    if problems:
        raise ProcurementError("\n".join(dict.fromkeys(problems)))
    alone = tuple(
        solve_buyer(instance, (i,), mip_rel_gap=mip_rel_gap, time_limit=time_limit)
        for i in range(n)
    )
    costs = {1 << i: plan.objective for i, plan in enumerate(alone)}
    plans = {1 << i: plan for i, plan in enumerate(alone)}

    def coalition(mask: int) -> Plan:
        if mask not in plans:
            members, start = combine(instance, [alone[i] for i in range(n) if mask >> i & 1])
            plans[mask] = solve_buyer(
                instance,
                members,
                start,
                mip_rel_gap=mip_rel_gap,
                time_limit=time_limit,
                check=False,
            )
        return plans[mask]

    def cost(mask: int) -> float:
        if mask not in costs:
            costs[mask] = coalition(mask).objective
        return costs[mask]

    pooled = coalition((1 << n) - 1)
    if shapley == "exact" or (shapley == "auto" and n <= EXACT_SHAPLEY_MAX):
        values = np.array([0.0] + [cost(mask) for mask in range(1, 1 << n)])
        cost_share, se = shapley_exact(values), np.zeros(n)
        method = f"exact, {(1 << n) - 1} coalitions"
    else:
        cost_share, se = shapley_sampled(cost, n, samples, np.random.default_rng(seed))
        method = f"sampled, {samples} joining orders, {len(costs)} coalitions solved"
    share = np.array([p.objective for p in alone]) - cost_share
    return ProcurementResult(
        instance, alone, pooled, share, se, method, binding_constraints(instance, pooled)
    )
