"""Benchmark of the procurement MIP as members × suppliers × years grow.

Random alliances (seeded): each member's demand grows from 50-500 t/yr; suppliers in
``suppliers // 2`` countries with capacity 20-60 % of alliance demand each, three
incremental price brackets (35 → 33 → 31 USD/kg-like prices in USD/t), minimum orders,
fixed contract costs and risk scores; country cap 60 %, at least 3 suppliers a year,
a 2-month stockpile from the fifth year, holding cost and cost-plus-risk objective.

For each size it times (wall clock, one run) every member alone, the pooled alliance
(warm-started from the stand-alone plans) and the shadow-price LP, and prints a markdown
table with the model size and the gap HiGHS proved. Shapley splits are not timed here:
they cost one pooled solve per coalition (exact: 2**n − 1).

Run with ``python benchmarks/bench_procurement.py`` (``--gap`` sets the relative MIP
gap, default 1e-3; ``--sizes 3x5x5,10x30x30`` picks sizes). ``--shapley 10x10x16`` times
instead the whole ``procure`` of that size with a sampled Shapley split (``--samples``
joining orders, default 200, ``--se-target`` to stop at a standard error as a fraction
of the saving; coalitions on two threads) against the 60 s goal for ten members.
``--alliance japan-cobalt`` times ``procure`` of a bundled alliance with its exact
Shapley split (its demand resolved first, untimed) at procure's default gap, 1e-4,
against the 5 s goal. ``--disruption japan-cobalt-disruption`` times ``secure`` of a
bundled disruption file (every member alone and the alliance pooled, two-stage over its
scenarios; demand resolved first, untimed) at secure's default gap, 1e-3. All three print
wall-clock and CPU time (all threads), ``--repeat`` times over: on a shared machine the CPU time is the steadier figure, and the wall-clock
time depends on what else runs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from evpath.procurement import (
    Instance,
    ProcurementResult,
    load_alliance,
    procure,
    resolve,
    solve_buyer,
)
from evpath.procurement.disruptions import alliance_of, disruption_path, load_disruptions
from evpath.procurement.duals import shadow_prices
from evpath.procurement.mip import build
from evpath.procurement.security import secure
from evpath.procurement.solve import combine

SIZES = ((3, 5, 5), (5, 10, 10), (5, 20, 16), (10, 20, 20), (10, 30, 30))
PROCURE_GAP = 1e-4
"""Relative MIP gap of ``procure`` and ``evpath procure`` by default [fraction]."""

T = TypeVar("T")


def random_instance(members: int, suppliers: int, years: int, seed: int = 0) -> Instance:
    """A random but always feasible alliance of the given size."""
    rng = np.random.default_rng(seed)
    year = np.arange(2025, 2025 + years)
    growth = np.linspace(1.0, 3.0, years)
    demand = rng.uniform(50, 500, (members, 1)) * growth
    total = demand.sum(axis=0)
    capacity = rng.uniform(0.2, 0.6, (suppliers, 1)) * total.max() * np.ones((1, years))
    base = rng.uniform(33_000, 37_000, (suppliers, 1))
    first = rng.uniform(0.05, 0.2, (suppliers, 1)) * total.max()
    return Instance(
        metal="cobalt",
        years=year,
        members=tuple(f"member {i}" for i in range(members)),
        suppliers=tuple(f"supplier {j}" for j in range(suppliers)),
        countries=tuple(f"country {j % max(suppliers // 2, 1)}" for j in range(suppliers)),
        demand=demand,
        capacity=capacity,
        tier_end=np.hstack([first, 3 * first, np.full((suppliers, 1), np.inf)]),
        tier_price=base + np.array([[0.0, -2_000.0, -4_000.0]]),
        min_order=rng.uniform(0, 5, suppliers),
        fixed_cost=rng.uniform(50_000, 200_000, suppliers),
        risk=rng.uniform(0, 1, suppliers),
        country_cap=0.6,
        min_suppliers=3,
        stock_months=2.0,
        stock_by=int(year[min(4, years - 1)]),
        holding_cost=3_000.0,
        risk_weight=1_000.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gap", type=float, help="default 1e-3; with --alliance 1e-4")
    parser.add_argument("--sizes", default=",".join("x".join(map(str, s)) for s in SIZES))
    parser.add_argument("--shapley", help="members x suppliers x years of a sampled split")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--se-target", type=float, help="fraction of the saving")
    parser.add_argument("--alliance", help="bundled alliance timed with an exact split")
    parser.add_argument("--disruption", help="bundled disruption file timed with secure")
    parser.add_argument("--repeat", type=int, default=1, help="runs of a timed command")
    args = parser.parse_args()
    gap = args.gap if args.gap is not None else PROCURE_GAP if args.alliance else 1e-3
    if args.disruption:
        security(args.disruption, gap, args.repeat)
        return
    if args.alliance:
        exact_split(args.alliance, gap, args.repeat)
        return
    if args.shapley:
        sampled_split(args.shapley, args.samples, gap, args.se_target, args.repeat)
        return
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    print(f"relative MIP gap {gap:g}\n")
    print(
        "| members × suppliers × years | rows | columns | binaries | alone, all members [s] "
        "| slowest member [s] | pooled [s] | shadow LP [s] | pooled gap | saving |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m, s, y in sizes:
        instance = random_instance(m, s, y)
        model = build(instance, tuple(range(m)), frozenset())
        binaries = int(np.asarray(model.lp.col_upper_)[model.cols["w"].ravel()].sum())
        times = []
        alone = []
        for i in range(m):
            start = time.perf_counter()
            alone.append(solve_buyer(instance, (i,), mip_rel_gap=gap))
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        members, warm = combine(instance, alone)
        pooled = solve_buyer(instance, members, warm, mip_rel_gap=gap, check=False)
        pooled_time = time.perf_counter() - start
        start = time.perf_counter()
        shadow_prices(instance, pooled)
        lp_time = time.perf_counter() - start
        saving = 1 - pooled.objective / sum(p.objective for p in alone)
        print(
            f"| {m} × {s} × {y} | {model.lp.num_row_:,} | {model.lp.num_col_:,} | "
            f"{binaries:,} | {sum(times):.2f} | {max(times):.2f} | {pooled_time:.2f} | "
            f"{lp_time:.2f} | {pooled.mip_gap:.1e} | {saving:.1%} |",
            flush=True,
        )


def clocked(call: Callable[[], T]) -> tuple[T, float, float]:
    """``call()`` with its wall-clock and CPU time (all threads) [s]."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def timed(instance: Instance, **options: Any) -> tuple[ProcurementResult, float, float]:
    """``procure(instance, **options)`` with its wall-clock and CPU time [s]."""
    return clocked(lambda: procure(instance, **options))


def header(*columns: str) -> None:
    """The head of a markdown table."""
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))


def sampled_split(
    size: str, samples: int, gap: float, se_target: float | None, repeat: int
) -> None:
    """Time ``procure`` with a sampled Shapley split; print one markdown row a run."""
    m, s, y = (int(n) for n in size.split("x"))
    header(
        "members × suppliers × years", "split", "procure, wall [s]", "procure, CPU [s]",
        "saving", "largest standard error of a share",
    )  # fmt: skip
    for _ in range(repeat):
        result, wall, cpu = timed(
            random_instance(m, s, y),
            shapley="sampled",
            samples=samples,
            se_target=se_target,
            mip_rel_gap=gap,
        )
        se = float(result.shapley_se.max())
        print(
            f"| {m} × {s} × {y} | {result.shapley_method} | {wall:.1f} | {cpu:.1f} | "
            f"{result.saving / 1e6:,.2f} MUSD | {se / 1e6:,.3f} MUSD "
            f"({se / result.saving:.1%} of the saving) |",
            flush=True,
        )


def exact_split(name: str, gap: float, repeat: int) -> None:
    """Time ``procure`` of a bundled alliance with an exact split; print one markdown row
    a run."""
    start = time.perf_counter()
    instance = resolve(load_alliance(name))
    resolving = time.perf_counter() - start
    header(
        "alliance", "split", "resolve demand [s]", "procure, wall [s]", "procure, CPU [s]",
        "saving", "largest gap",
    )  # fmt: skip
    for _ in range(repeat):
        result, wall, cpu = timed(instance, shapley="exact", mip_rel_gap=gap)
        print(
            f"| {name} | {result.shapley_method} | {resolving:.1f} | {wall:.1f} | {cpu:.1f} | "
            f"{result.saving / 1e6:,.2f} MUSD | {result.mip_gap:.1e} |",
            flush=True,
        )


def security(name: str, gap: float, repeat: int) -> None:
    """Time ``secure`` of a bundled disruption file; print one markdown row a run."""
    path = disruption_path(name)
    spec = load_disruptions(path)
    start = time.perf_counter()
    instance = resolve(alliance_of(spec, path))
    resolving = time.perf_counter() - start
    header(
        "disruptions", "resolve demand [s]", "secure, wall [s]", "secure, CPU [s]",
        "expected cost saved", "largest gap",
    )  # fmt: skip
    for _ in range(repeat):
        result, wall, cpu = clocked(lambda: secure(spec, instance, mip_rel_gap=gap))
        print(
            f"| {name} | {resolving:.1f} | {wall:.1f} | {cpu:.1f} | "
            f"{result.saving / 1e6:,.1f} MUSD | {result.mip_gap:.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
