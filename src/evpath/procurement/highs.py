"""HiGHS settings and statuses shared by every procurement solve."""

from __future__ import annotations

import highspy
import numpy as np


class _QuietHighs(highspy.Highs):
    """A HiGHS solver that never prints: output is off before its first call.

    ``highspy.Highs()`` prints the HiGHS banner from its constructor (the first call that
    logs, ``enableCallbacks``), before :meth:`silent` could be called; this class turns
    output off just before that call.
    """

    def enableCallbacks(self) -> None:
        self.setOptionValue("output_flag", False)
        super().enableCallbacks()


def solver() -> highspy.Highs:
    """A HiGHS solver with its output off (no banner, no log)."""
    h = _QuietHighs()
    h.silent()
    return h


OPTIONS = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_allow_restart": False,
}
"""HiGHS options of every procurement solve: the RINS and RENS sub-MIP heuristics and the
restart after the root cost more than the rest of the solve on the bundled alliances (a
small member alone: 5.2 s with them, 1.6 s without) and found no better plans there."""
WARM_START_OPTIONS = OPTIONS | {
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_feasibility_jump": False,
}
"""HiGHS options of a solve from a warm start. The start (members' plans combined) is
within a few per cent of the optimum, and the root cuts close these MIPs' gap: the
heuristics that look for a first plan only cost time (with ``OPTIONS``, about 2.5× on
the coalitions of the bundled japan-cobalt). A cold solve needs them (a small member
alone took 4× longer without them)."""
BUYER_WARM_START_OPTIONS = WARM_START_OPTIONS | {"mip_heuristic_run_rins": True}
"""HiGHS options of a buyer's solve from a warm start (:func:`~evpath.procurement.solve.
solve_buyer`): RINS, which searches around the start, finds the optimum early where the
start is furthest from it (the pooled 10 × 30 × 30 benchmark alliance: 7.8 → 4.4 s;
japan-cobalt's coalitions with its smallest member, on an earlier demand: 0.6 → 0.3 s
each). Secure's two-stage MIPs were no faster with it."""


def run(
    lp: highspy.HighsLp,
    mip_rel_gap: float,
    time_limit: float,
    start: np.ndarray | None = None,
    warm_options: dict[str, bool] = WARM_START_OPTIONS,
    threads: int = 0,
) -> highspy.Highs:
    """Solve ``lp`` silently and deterministically (random seed 0) with ``OPTIONS``, or
    from the solution vector ``start`` with ``warm_options``; returns the solver to read
    the outcome from.

    mip_rel_gap : float [fraction]
        Relative optimality gap at which HiGHS stops.
    time_limit : float [s]
    threads : int
        HiGHS threads; 0 lets HiGHS choose. A thread's first solve fixes the number for
        the thread's later solves: HiGHS refuses another number there, and 0 takes it.
    """
    h = solver()
    h.setOptionValue("mip_rel_gap", mip_rel_gap)
    h.setOptionValue("time_limit", time_limit)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", threads)
    h.passModel(lp)
    for name, value in (OPTIONS if start is None else warm_options).items():
        h.setOptionValue(name, value)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = list(start)
        solution.value_valid = True
        h.setSolution(solution)
    h.run()
    return h


def has_solution(h: highspy.Highs) -> bool:
    """Whether the solver holds a feasible solution."""
    return h.getInfo().primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible


def proved_infeasible(h: highspy.Highs) -> bool:
    """Whether the solver proved that no solution exists."""
    status = h.getModelStatus()
    return status == highspy.HighsModelStatus.kInfeasible or (
        not has_solution(h) and status == highspy.HighsModelStatus.kUnboundedOrInfeasible
    )
