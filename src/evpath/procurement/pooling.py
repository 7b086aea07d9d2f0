"""Every member alone and the alliance pooled: the saving of buying together and its
Shapley split."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from threading import Lock

import numpy as np
import xarray as xr

from evpath.errors import ProcurementError
from evpath.procurement.diagnosis import check_feasible
from evpath.procurement.duals import binding_constraints
from evpath.procurement.instance import Instance, buyer_name, resolve
from evpath.procurement.mip import buyer_key
from evpath.procurement.result import Plan, ProcurementResult
from evpath.procurement.schema import Alliance
from evpath.procurement.sharing import CoreCheck, core_check, shapley_exact
from evpath.procurement.solve import COST_PRECISION, combine, solve_buyer

EXACT_SHAPLEY_MAX = 8
"""Largest alliance whose Shapley split is computed exactly (2**n − 1 coalitions)."""
MIN_ADAPTIVE_ORDERS = 5
"""Fewest joining orders after which a sampled split may stop at its standard-error
target (fewer give too rough an estimate of the standard error itself)."""
GAP_SLACK = 1.0 + 1e-9
"""A plan whose proved gap exceeds the gap asked by more than this factor (and more than
the precision costs are compared at, so that a gap of 0 asked is not missed by rounding)
was stopped short of it."""


@dataclass
class SolveLog:
    """What stopped the solves of :func:`procure`, for the caller to report.

    Attributes
    ----------
    solves : int
        HiGHS solves made (members alone, then coalitions).
    stopped_by_time : list of str
        Buyers whose solve a time limit stopped before the gap was proved.
    largest_gap : float [fraction]
        Largest gap HiGHS proved over the solves.
    seconds : float [s]
        Time spent in :func:`procure`.
    samples_used : int or None
        Joining orders of the sampled Shapley split when the overall time limit cut
        their number short.
    """

    solves: int = 0
    stopped_by_time: list[str] = field(default_factory=list)
    largest_gap: float = 0.0
    seconds: float = 0.0
    samples_used: int | None = None


ProgressHook = Callable[[int, int | None, str], None]
"""Called by :func:`procure` after each solve: (solves made, solves needed or None, buyer)."""


class _OutOfTime(Exception):
    """The overall time limit of :func:`procure` passed before a solve."""


def procure(
    alliance: Alliance | Instance,
    scenario: str | None = None,
    *,
    run_data: xr.Dataset | None = None,
    shapley: str = "auto",
    samples: int = 200,
    seed: int = 0,
    se_target: float | None = None,
    mip_rel_gap: float = 1e-4,
    time_limit: float = 60.0,
    total_time_limit: float | None = None,
    log: SolveLog | None = None,
    progress: ProgressHook | None = None,
    workers: int = 2,
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
        Random orders for 'sampled' (the most, with ``se_target``).
    seed : int
        Seed of the random orders.
    se_target : float, optional [fraction of the saving]
        Sampled split only: stop drawing joining orders once every member's standard
        error is at most this fraction of the saving (checked after every ``workers``
        orders, from ``MIN_ADAPTIVE_ORDERS`` on). The orders are the first ones of the
        same seeded sequence, so the estimate is the one ``samples`` set to the number
        used would give; ``shapley_method`` says how many were used and whether the
        target was reached. None: all ``samples`` orders.
    mip_rel_gap, time_limit : float
        HiGHS relative gap [fraction] and seconds per solve.
    total_time_limit : float, optional
        Seconds for all the solves together (none if None). Each solve gets at most
        the time left. When it runs out, the exact split and the plans alone and pooled
        stop with a ProcurementError; the sampled split keeps the joining orders
        completed (at least 2) and says so in ``shapley_method``.
    log : SolveLog, optional
        Filled with the number of solves and the ones a time limit stopped.
    progress : callable, optional
        Called after each solve with the solves made, the solves needed (None for a
        sampled split, whose number depends on the joining orders drawn) and the buyer
        just solved; nothing is reported when None.
    workers : int
        Coalitions solved at the same time (threads; HiGHS releases the GIL), members
        alone first and each coalition as soon as its members' plans are ready, each on
        one HiGHS thread (a second one mostly waited for work). Each coalition starts
        from its members' stand-alone plans, so the results do not depend on the order
        in which they finish.

    Returns
    -------
    ProcurementResult

    Raises
    ------
    ProcurementError
        When a member alone or the alliance cannot meet its rules, in words; or when
        ``total_time_limit`` runs out (which limit, and how many solves were made).

    Notes
    -----
    Each coalition (the alliance included) is solved from the warm start of its
    members' stand-alone plans combined, so its cost never exceeds the sum of theirs,
    whatever gap HiGHS stops at. Coalitions with the same total demand and stock floor
    by year (members with identical demand swapped) have the same MIP and are solved
    once (:func:`~evpath.procurement.mip.buyer_key`).
    """
    instance = alliance if isinstance(alliance, Instance) else resolve(alliance, scenario, run_data)
    allowed = ("auto", "exact", "sampled")
    if shapley not in allowed:
        msg = f"shapley: got {shapley!r}; allowed: one of {', '.join(allowed)}"
        raise ProcurementError(msg)
    if samples < 2:
        msg = f"samples: got {samples}; allowed: at least 2"
        raise ProcurementError(msg)
    if se_target is not None and not se_target > 0:
        msg = f"se_target: got {se_target:g}; allowed: a fraction of the saving above 0"
        raise ProcurementError(msg)
    n = len(instance.members)
    problems = [p for i in range(n) for p in check_feasible(instance, (i,))]
    problems = check_feasible(instance, tuple(range(n))) + problems
    if problems:
        raise ProcurementError("\n".join(dict.fromkeys(problems)))
    log = log if log is not None else SolveLog()
    workers = max(workers, 1)
    lock = Lock()
    rng = np.random.default_rng(seed)
    started = time.monotonic()
    deadline = None if total_time_limit is None else started + total_time_limit
    exact = shapley == "exact" or (shapley == "auto" and n <= EXACT_SHAPLEY_MAX)
    full = (1 << n) - 1

    def key(mask: int) -> bytes:
        """Equal for coalitions with the same MIP; the alliance is always solved as
        itself, for its plan by member."""
        if mask == full:
            return b"alliance"
        return buyer_key(instance, [i for i in range(n) if mask >> i & 1])

    # each distinct MIP: members alone, then coalitions (exact) or at least the alliance
    needed = len({key(1 << i) for i in range(n)}) + (
        len({key(m) for m in range(1, full) if m & (m - 1)}) + 1 if exact else 1
    )

    def solve(
        members: tuple[int, ...], start: np.ndarray | None = None, *, check: bool = False
    ) -> Plan:
        limit = time_limit
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _OutOfTime
            limit = min(time_limit, left)
        try:
            plan = solve_buyer(
                instance,
                members,
                start,
                mip_rel_gap=mip_rel_gap,
                time_limit=limit,
                check=check,
                threads=1,
            )
        except ProcurementError:
            if deadline is not None and time.monotonic() >= deadline:
                raise _OutOfTime from None
            raise
        with lock:
            log.solves += 1
            if progress is not None:
                progress(log.solves, needed if exact else None, buyer_name(instance, plan.members))
            log.largest_gap = max(log.largest_gap, plan.mip_gap)
            if plan.stopped_by_time or plan.mip_gap > max(mip_rel_gap * GAP_SLACK, COST_PRECISION):
                log.stopped_by_time.append(buyer_name(instance, plan.members))
        return plan

    def out_of_time(orders: int | None = None) -> ProcurementError:
        if orders is None:
            done = f"after {log.solves} of the {'' if exact else 'at least '}{needed} solves needed"
        else:
            done = (
                f"after {log.solves} solves, with {orders} joining order"
                f"{'' if orders == 1 else 's'} of the sampled Shapley split complete (at "
                "least 2 needed)"
            )
        msg = (
            f"{instance.metal} alliance of {n} members: the overall time limit of "
            f"{total_time_limit:g} s was reached {done}; allowed: a larger total time limit "
            "(evpath procure --time-limit), a larger gap (--gap), or fewer members, "
            "suppliers or years"
        )
        return ProcurementError(msg)

    plans: dict[int | bytes, Plan] = {}

    def members_of(mask: int) -> list[int]:
        return [i for i in range(n) if mask >> i & 1]

    def coalition(mask: int) -> Plan:
        """The plan of coalition ``mask`` (a member alone when one bit is set), solved
        once for all coalitions with the same MIP; a coalition starts from its members'
        stand-alone plans combined."""
        if mask not in plans:
            same, who = key(mask), members_of(mask)
            if same not in plans:
                if len(who) == 1:
                    plans[same] = solve(tuple(who), check=True)
                else:
                    members, start = combine(instance, [coalition(1 << i) for i in who])
                    plans[same] = solve(members, start)
            plans[mask] = replace(plans[same], members=tuple(who)) if len(who) == 1 else plans[same]
        return plans[mask]

    solo = [key(1 << i) for i in range(n)]

    def ready(mask: int) -> bool:
        """Whether coalition ``mask`` can start: a member alone, or a coalition whose
        members' stand-alone plans are solved."""
        return mask & (mask - 1) == 0 or all(solo[i] in plans for i in members_of(mask))

    def prefetch(masks: list[int]) -> None:
        """Solve every member alone and the coalitions ``masks`` on ``workers`` threads,
        each MIP once: whenever a thread is free, the first coalition in that order that
        is ready (those the overall time limit stops are left unsolved). Each solve has
        one HiGHS thread: the threads are new, so HiGHS takes that number."""
        todo: dict[bytes, int] = {}  # a coalition for each MIP not solved yet
        for mask in [1 << i for i in range(n)] + masks:
            same = key(mask)
            if same not in plans:
                todo.setdefault(same, mask)
        waiting = list(todo.values())
        with ThreadPoolExecutor(workers) as pool:
            running: set[Future[Plan | ProcurementError | None]] = set()
            while True:
                for mask in [m for m in waiting if ready(m)][: workers - len(running)]:
                    waiting.remove(mask)
                    running.add(pool.submit(_caught(coalition), mask))
                if not running:  # what waits needs a member the time limit stopped
                    return
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for outcome in (future.result() for future in done):
                    if isinstance(outcome, ProcurementError):
                        raise outcome

    def cost(mask: int) -> float:
        return coalition(mask).objective

    def prefixes(orders: list[np.ndarray]) -> list[int]:
        return [int(m) for order in orders for m in np.cumsum(1 << order)]

    orders = [] if exact else [rng.permutation(n) for _ in range(samples)]
    reached = False
    try:
        if exact:
            prefetch(list(range(1, 1 << n)))
        elif se_target is None:
            prefetch(prefixes(orders))
        else:
            prefetch([full])
            saving = sum(cost(1 << i) for i in range(n)) - cost(full)
            used = 0
            while used < samples and not reached:
                prefetch(prefixes(orders[used : used + workers]))
                used = min(samples, used + workers)
                if used >= MIN_ADAPTIVE_ORDERS:
                    _, se, done = _sampled(cost, n, orders[:used])
                    if done < used:  # the overall time limit stopped the solves
                        break
                    reached = float(se.max()) <= se_target * saving
            orders = orders[:used]
        pooled = coalition(full)
        alone = [coalition(1 << i) for i in range(n)]
        if exact:
            values = np.array([0.0] + [cost(mask) for mask in range(1, 1 << n)])
    except _OutOfTime:
        raise out_of_time() from None
    core: CoreCheck | None = None
    mips = sum(isinstance(k, bytes) for k in plans)  # one key for each MIP solved
    if exact:
        cost_share, se = shapley_exact(values), np.zeros(n)
        # coalition costs are known within the MIP gap: excesses below it are noise
        core = core_check(values, cost_share, max(1e-9, mip_rel_gap) * abs(float(values[-1])))
        method = f"exact, {full} coalitions" + (
            f" ({mips} MIPs: members with identical demand are interchangeable)"
            if mips < full
            else ""
        )
    else:
        cost_share, se, used = _sampled(cost, n, orders)
        if used < 2:
            raise out_of_time(used)
        solved = f"{mips} coalitions solved"
        if used < len(orders):
            log.samples_used = used
            method = f"sampled, {used} of {samples} joining orders (overall time limit), {solved}"
        elif se_target is None:
            method = f"sampled, {samples} joining orders, {solved}"
        else:
            target = (
                f"standard errors within {se_target:.1%} of the saving"
                if reached
                else f"standard error target of {se_target:.1%} of the saving not reached"
            )
            method = f"sampled, {used} of at most {samples} joining orders ({target}), {solved}"
    log.seconds = time.monotonic() - started
    share = np.array([p.objective for p in alone]) - cost_share
    return ProcurementResult(
        instance,
        tuple(alone),
        pooled,
        share,
        se,
        method,
        binding_constraints(instance, pooled),
        mip_gap=log.largest_gap,
        stopped_by_time=tuple(log.stopped_by_time),
        seed=None if exact else seed,
        core=core,
    )


def _caught(solve: Callable[[int], Plan]) -> Callable[[int], Plan | ProcurementError | None]:
    """``solve`` returning a ProcurementError instead of raising it, and None when the
    overall time limit stops it (the caller solves that coalition again, or stops)."""

    def run(mask: int) -> Plan | ProcurementError | None:
        try:
            return solve(mask)
        except ProcurementError as error:
            return error
        except _OutOfTime:
            return None

    return run


def _sampled(
    cost: Callable[[int], float], n: int, orders: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Shapley split estimated from the joining ``orders`` completed before the overall
    time limit: each member's mean marginal cost [USD] over the orders, and its standard
    error (sample standard deviation / √orders). Every order's marginals add up to the
    grand coalition's cost, so the estimates do too.

    Returns the estimate, its standard error and the number of orders used.
    """
    marginals = []
    for order in orders:
        try:
            prefix = np.cumsum(1 << order)
            values = np.array([cost(int(mask)) for mask in prefix])
        except _OutOfTime:
            break
        one = np.empty(n)
        one[order] = np.diff(values, prepend=0.0)
        marginals.append(one)
    used = len(marginals)
    if used < 2:
        return np.zeros(n), np.zeros(n), used
    marginal = np.array(marginals)
    return marginal.mean(axis=0), marginal.std(axis=0, ddof=1) / np.sqrt(used), used
