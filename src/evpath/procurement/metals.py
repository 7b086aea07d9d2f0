"""Several metals at once: one alliance file per metal, demand from one run, the savings
added up by member.

The metals are separate games (no rule links the purchases of two metals), so the
Shapley value of the game whose cost is the sum over metals is the sum of each metal's
Shapley values, and a member's saving over all metals is the sum of its savings.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import xarray as xr

from evpath.errors import ProcurementError
from evpath.procurement.instance import Instance, resolve
from evpath.procurement.result import ProcurementResult
from evpath.procurement.schema import Alliance


def resolve_metals(
    alliances: Sequence[Alliance],
    scenario: str | None = None,
    run_data: xr.Dataset | None = None,
) -> list[Instance]:
    """Resolve one alliance per metal, running each scenario they share only once.

    Parameters
    ----------
    alliances : sequence of Alliance
        One per metal, with the same members (names, in any order).
    scenario : str, optional
        Scenario used instead of the members' ``share_of_run.scenario``.
    run_data : Dataset, optional
        Results of a stored run, used instead of running a scenario.

    Raises
    ------
    ProcurementError
        When two alliances are for the same metal or have different members.
    """
    metals = [a.metal for a in alliances]
    repeated = sorted({m for m in metals if metals.count(m) > 1})
    if repeated:
        msg = (
            f"alliances: {', '.join(repeated)} given more than once; allowed: one alliance "
            "file per metal"
        )
        raise ProcurementError(msg)
    first = sorted(m.name for m in alliances[0].members)
    for alliance in alliances[1:]:
        names = sorted(m.name for m in alliance.members)
        if names != first:
            msg = (
                f"{alliance.name}: members {', '.join(names)}; allowed: the members of "
                f"{alliances[0].name} ({', '.join(first)}), so that savings add up by member"
            )
            raise ProcurementError(msg)
    if run_data is None:
        from evpath.api import run as run_scenario

        wanted = {
            scenario or m.share_of_run.scenario
            for a in alliances
            for m in a.members
            if m.share_of_run is not None
        }
        if len(wanted) == 1:
            run_data = run_scenario(wanted.pop()).dataset
    return [resolve(a, scenario, run_data) for a in alliances]


def by_member(results: Sequence[ProcurementResult]) -> pd.DataFrame:
    """Costs and Shapley savings summed over the metals, by member [USD].

    Columns ``cost_alone``, ``cash_cost_alone``, ``risk_penalty_alone``,
    ``shapley_saving``, ``cost_after_split``, and ``shapley_se`` (square root of the sum
    of the metals' squared standard errors: the metals' samples are independent).
    """
    frames = [r.members for r in results]
    total = sum(f.drop(columns="shapley_se") for f in frames[1:]) + frames[0].drop(
        columns="shapley_se"
    )
    total["shapley_se"] = sum(f["shapley_se"] ** 2 for f in frames) ** 0.5
    return total.loc[list(frames[0].index)]


def totals(results: Sequence[ProcurementResult]) -> pd.DataFrame:
    """One row per metal and a ``total`` row: costs alone and pooled, the saving and its
    cash and risk parts [USD] (see :meth:`ProcurementResult.costs`)."""
    rows = pd.concat([r.costs() for r in results], ignore_index=True)
    rows.index = pd.Index([r.instance.metal for r in results], name="metal")
    rows.loc["total"] = rows.sum()
    return rows
