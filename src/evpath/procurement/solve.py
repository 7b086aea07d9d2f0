"""Solve one buyer's MIP into a plan, and combine plans into a warm start."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np

from evpath.errors import ProcurementError
from evpath.procurement.diagnosis import check_feasible, explain_infeasible
from evpath.procurement.highs import BUYER_WARM_START_OPTIONS, has_solution, proved_infeasible, run
from evpath.procurement.instance import TOLERANCE_T, Instance, buyer_name
from evpath.procurement.mip import Model, build, member_purchases, needs
from evpath.procurement.result import Plan
from evpath.procurement.segments import Segments

COST_PRECISION = 1e-7
"""Relative precision at which two costs of one plan count as equal [fraction]: evpath's
pricing of a solution vector against HiGHS's objective and bound."""


def solve_buyer(
    instance: Instance,
    members: Sequence[int],
    start: np.ndarray | None = None,
    *,
    mip_rel_gap: float = 1e-6,
    time_limit: float = 60.0,
    check: bool = True,
    threads: int = 0,
) -> Plan:
    """Optimal plan of the buyer made of ``members``.

    Parameters
    ----------
    instance : Instance
    members : sequence of int
        Indices into ``instance.members``.
    start : ndarray, optional
        A feasible solution vector to start from (see :func:`combine`).
    mip_rel_gap : float
        Relative optimality gap at which HiGHS stops [fraction].
    time_limit : float
        Seconds per solve.
    check : bool
        Run :func:`~evpath.procurement.diagnosis.check_feasible` first and raise its
        explanation.
    threads : int
        HiGHS threads (see :func:`~evpath.procurement.highs.run`).

    Raises
    ------
    ProcurementError
        Explaining in words which rule cannot hold, never a bare solver status.
    """
    buyer = tuple(sorted(members))
    if check:
        problems = check_feasible(instance, buyer)
        if problems:
            raise ProcurementError("\n".join(problems))
    model = build(instance, buyer, frozenset())
    h = run(model.lp, mip_rel_gap, time_limit, start, BUYER_WARM_START_OPTIONS, threads)
    if proved_infeasible(h):
        raise ProcurementError(explain_infeasible(instance, buyer, mip_rel_gap, time_limit))
    if not has_solution(h):
        msg = (
            f"{buyer_name(instance, buyer)}: HiGHS found no plan "
            f"({h.modelStatusToString(h.getModelStatus())}) within {time_limit:g} s; allowed: "
            "a larger time_limit, or fewer members, suppliers or years"
        )
        raise ProcurementError(msg)
    outcome = checked(model.lp, h, start, mip_rel_gap, time_limit)
    return _plan(model, outcome.col, outcome.gap, timed_out=outcome.timed_out)


def checked(
    lp: highspy.HighsLp,
    h: highspy.Highs,
    start: np.ndarray | None,
    mip_rel_gap: float,
    time_limit: float,
) -> Outcome:
    """The solution ``h`` holds for ``lp`` (solved from ``start``), priced by evpath and,
    when HiGHS reported a value its returned vector does not reach (it may hand back the
    warm start), solved again from scratch, keeping the cheaper priced vector.

    mip_rel_gap : float [fraction]
    time_limit : float [s]
        HiGHS settings of the cold re-solve.
    """
    outcome = _priced(lp, h, start, mip_rel_gap)
    if start is not None and not outcome.trusted:
        cold = run(lp, mip_rel_gap, time_limit)
        if has_solution(cold):
            again = _priced(lp, cold, None, mip_rel_gap)
            if again.cost <= outcome.cost + _tolerance(outcome.cost):
                bound = max(outcome.bound, again.bound)
                outcome = Outcome(again.col, again.cost, bound, again.timed_out, again.trusted)
    return outcome


@dataclass(frozen=True)
class Outcome:
    """A solution vector, its own cost [USD], the dual bound HiGHS proved [USD], whether a
    time limit stopped the solve, and whether the vector's cost agrees with HiGHS."""

    col: np.ndarray
    cost: float
    bound: float
    timed_out: bool
    trusted: bool

    @property
    def gap(self) -> float:
        """Relative gap between the vector's own cost and the proved bound [fraction]."""
        return max(0.0, self.cost - self.bound) / max(1.0, abs(self.cost))


def _tolerance(value: float) -> float:
    """Absolute tolerance for comparing two costs near ``value`` [USD]."""
    return COST_PRECISION * max(1.0, abs(value))


def _priced(
    lp: highspy.HighsLp, h: highspy.Highs, start: np.ndarray | None, mip_rel_gap: float
) -> Outcome:
    """The returned vector priced by evpath, compared with HiGHS's objective and bound.

    The vector is not trusted when its own cost differs from the objective HiGHS reports,
    or when it is the warm start while the bound proves a cheaper plan exists.
    """
    col = np.asarray(h.getSolution().col_value, dtype=float)
    info = h.getInfo()
    cost = float(np.asarray(lp.col_cost_) @ col)
    bound = float(info.mip_dual_bound)
    if not np.isfinite(bound):
        bound = -np.inf
    reported = float(info.objective_function_value)
    tol = _tolerance(cost)
    agrees = abs(cost - reported) <= tol
    is_start = start is not None and bool(np.allclose(col, start, rtol=0.0, atol=1e-9))
    better_exists = bound < cost - tol and cost - bound > mip_rel_gap * abs(cost)
    trusted = agrees and not (is_start and better_exists)
    timed_out = h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
    return Outcome(col, cost, bound, timed_out, trusted)


def _plan(model: Model, col: np.ndarray, gap: float, *, timed_out: bool = False) -> Plan:
    """The plan in a solution vector ``col``; ``gap`` is the proved gap of its cost
    [fraction]; ``timed_out`` whether a time limit stopped the solve."""
    inst, seg = model.instance, model.seg
    w = np.round(col[model.cols["w"]]) * seg.valid
    v = col[model.cols["v"]] * w
    volume = v.sum(axis=2)
    total = volume.sum(axis=0)
    split = np.divide(volume, total, out=np.zeros_like(volume), where=total > TOLERANCE_T)
    members = list(model.members)
    so_far = np.cumsum(inst.demand[members], axis=1)  # demand to date (member, year)
    # the buyer's cumulative purchases: its demand to date plus its stock (the balance)
    bought = member_purchases(needs(inst, members), so_far.sum(axis=0) + col[model.cols["stock"]])
    x = np.diff(bought, axis=1, prepend=0.0)[:, None, :] * split[None]
    stock = bought - so_far
    disc = inst.discount
    purchase, contract = seg.costs(v, w)
    tier_cost = float((purchase * disc).sum())
    fixed = float((contract * disc).sum())
    risk = float((inst.risk_weight * inst.risk[:, None] * volume * disc).sum())
    holding = inst.holding_cost * float(stock.sum(axis=0) @ disc)
    credit = inst.leftover_value * disc[-1] * float(stock[:, -1].sum()) if stock.size else 0.0
    return Plan(
        members=model.members,
        purchases=x,
        stock=stock,
        used=w.sum(axis=2) > 0.5,
        purchase_cost=tier_cost,
        contract_cost=fixed,
        holding_cost=holding,
        risk_penalty=risk,
        objective=tier_cost + fixed + risk + holding - credit,
        mip_gap=float(gap),
        columns=col,
        stopped_by_time=timed_out,
        leftover_credit=float(credit),
    )


def combine(instance: Instance, plans: Sequence[Plan]) -> tuple[tuple[int, ...], np.ndarray | None]:
    """The solution vector of the buyer made of the plans' members that buys what the
    plans buy together: a warm start whose cost is at most the sum of theirs.

    Returns the buyer's members and the vector (None if the combined volume fits no
    segment, which concave prices rule out).
    """
    members = tuple(sorted(m for p in plans for m in p.members))
    model = build(instance, members, frozenset())
    seg = model.seg
    volume = np.sum([p.volume for p in plans], axis=0)
    chosen = segment_columns(seg, volume)
    if chosen is None:
        return members, None
    col = np.zeros(model.cols.size)
    col[model.cols["v"]], col[model.cols["w"]] = chosen
    col[model.cols["stock"]] = np.sum([p.stock.sum(axis=0) for p in plans], axis=0)
    return members, col


def segment_columns(seg: Segments, volume: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Segment columns ``v`` [t/yr] and ``w`` [0/1] (supplier, year, tier) that buy
    ``volume`` (supplier, year) [t/yr]: each volume in the first segment it fits; None if
    a volume fits no segment (for a sum of feasible volumes, concave prices rule it out)."""
    slack = 1e-6 * np.maximum(1.0, seg.hi)
    fits = seg.valid & (volume[..., None] >= seg.lo - slack) & (volume[..., None] <= seg.hi + slack)
    bought = volume > TOLERANCE_T
    if (bought & ~fits.any(axis=2)).any():
        return None
    k = np.argmax(fits, axis=2)
    one_hot = (np.arange(seg.lo.shape[2]) == k[..., None]) & bought[..., None]
    return one_hot * volume[..., None], one_hot.astype(float)
