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


def run(
    lp: highspy.HighsLp, mip_rel_gap: float, time_limit: float, start: np.ndarray | None = None
) -> highspy.Highs:
    """Solve ``lp`` silently and deterministically (random seed 0) with ``OPTIONS``, or
    from the solution vector ``start`` with ``WARM_START_OPTIONS``; returns the solver to
    read the outcome from.

    mip_rel_gap : float [fraction]
        Relative optimality gap at which HiGHS stops.
    time_limit : float [s]
    """
    h = solver()
    h.setOptionValue("mip_rel_gap", mip_rel_gap)
    h.setOptionValue("time_limit", time_limit)
    h.setOptionValue("random_seed", 0)
    h.passModel(lp)
    for name, value in (OPTIONS if start is None else WARM_START_OPTIONS).items():
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
