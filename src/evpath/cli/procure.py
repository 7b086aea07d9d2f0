"""The ``evpath procure`` command: a joint metal procurement alliance, alone vs pooled."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from evpath.cli.console import MAX_SEED, console, counting_bar, report_errors
from evpath.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

    from evpath.io.store import ResultsStore
    from evpath.procurement import ProcurementResult
    from evpath.procurement.pooling import SolveLog

# HiGHS, the results store and the exports are imported when the command runs, so that
# the other commands start without them.

MUSD = 1e6
FORMATS = ("parquet", "csv")
TIME_LIMIT = 300.0
"""Default overall time limit of ``--time-limit`` [s]."""
SOLVE_TIME_LIMIT = 60.0
"""Time limit of each HiGHS solve [s] (the overall limit can only shorten it)."""


def register(app: typer.Typer) -> None:
    """Add the ``procure`` command to ``app``."""
    app.command("procure")(procure_command)


@report_errors
def procure_command(
    alliances: Annotated[
        list[str],
        typer.Argument(
            help="Alliance YAML files or bundled alliance names (e.g. japan-cobalt), one per "
            "metal: several are solved with demand from the same run and their savings "
            "added up by member.",
            show_default=False,
        ),
    ],
    scenario: Annotated[
        str | None,
        typer.Option(help="Scenario run for members whose demand is a share of a run."),
    ] = None,
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            help="Stored run (id or its start) whose demand the members share, instead of a "
            "scenario; an ensemble run's median.",
        ),
    ] = None,
    store: Annotated[
        Path, typer.Option(help="DuckDB results store to read --run from and add the plan to.")
    ] = Path("results/evpath.duckdb"),
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not write to the store.")
    ] = False,
    out: Annotated[Path, typer.Option(help="Folder for the purchases table.")] = Path("results"),
    file_format: Annotated[
        str, typer.Option("--format", help="Purchases file format: parquet or csv.")
    ] = "parquet",
    gap: Annotated[
        float, typer.Option(help="Relative MIP gap at which HiGHS stops each solve.")
    ] = 1e-4,
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit",
            help=f"Seconds for all the solves together (each solve stops after at most "
            f"{SOLVE_TIME_LIMIT:g} s); inf: no overall limit.",
        ),
    ] = TIME_LIMIT,
    samples: Annotated[
        int, typer.Option(help="Random joining orders for the Shapley split above 8 members.")
    ] = 200,
    seed: Annotated[
        int,
        typer.Option(
            min=0,
            max=MAX_SEED,
            help="Seed of the random joining orders of a sampled Shapley split.",
        ),
    ] = 0,
    se_target: Annotated[
        float | None,
        typer.Option(
            "--se-target",
            help="Stop a sampled Shapley split (above 8 members) once every member's "
            "standard error is at most this fraction of the saving, e.g. 0.02; --samples "
            "is then the most joining orders drawn.",
        ),
    ] = None,
    front: Annotated[
        str | None,
        typer.Option(
            "--front",
            help="Country caps, e.g. 0.5,0.45,0.4: re-solve the pooled alliance with each as "
            "the largest share of purchases from one country and print cost against "
            "concentration.",
        ),
    ] = None,
) -> None:
    """Plan purchases of each member alone and of the alliance together; split the saving.

    Several alliances (one per metal, same members) are solved in turn with demand from
    the same run, then summed by metal and by member.

    Exits 2, with the reason in words, on an invalid file or when no plan meets the rules.
    """
    if file_format not in FORMATS:
        msg = f"--format: got {file_format!r}; allowed: one of {', '.join(FORMATS)}"
        raise InputError(msg)
    check_solver_options(gap, time_limit)
    if samples < 2:
        msg = f"--samples: got {samples}; allowed: at least 2"
        raise InputError(msg)
    if se_target is not None and not se_target > 0:
        msg = f"--se-target: got {se_target:g}; allowed: a fraction of the saving above 0"
        raise InputError(msg)
    if run is not None and scenario is not None:
        msg = "--run and --scenario: got both; allowed: one source of demand"
        raise InputError(msg)
    caps = parse_caps(front) if front is not None else None
    from evpath.io import export
    from evpath.io.store import ResultsStore
    from evpath.procurement import load_alliance, procure
    from evpath.procurement.metals import resolve_metals
    from evpath.procurement.pooling import SolveLog
    from evpath.report.runs import resolve_run_id

    specs = [load_alliance(name) for name in alliances]
    paths = [out / f"{export.file_stem(spec.name)}-purchases.{file_format}" for spec in specs]
    if len({spec.metal for spec in specs}) == len(specs):  # else resolve_metals says why
        for path in {p for p in paths if paths.count(p) > 1}:
            named = [spec.name for spec, other in zip(specs, paths, strict=True) if other == path]
            msg = (
                f"alliances {', '.join(map(repr, named))} would all write {path}; allowed: "
                "names that differ in their letters or digits"
            )
            raise InputError(msg)
    results_store = ResultsStore(store)
    run_id = None if run is None else resolve_run_id(results_store, run)
    run_data = None if run_id is None else stored_demand(results_store, run_id)
    names = ", ".join(spec.name for spec in specs)
    with console.status(f"resolving {escape(names)}: members' demand and suppliers' capacity"):
        instances = resolve_metals(specs, scenario, run_data)
    results, purchases = [], []
    tables: dict[str, list[pd.DataFrame]] = {"procurement": [], "procurement_costs": []}
    for spec, instance in zip(specs, instances, strict=True):
        log = SolveLog()
        with solve_progress(spec.name) as progress:
            result = procure(
                instance,
                samples=samples,
                seed=seed,
                se_target=se_target,
                mip_rel_gap=gap,
                time_limit=min(SOLVE_TIME_LIMIT, time_limit),
                total_time_limit=time_limit,
                log=log,
                progress=progress,
            )
        results.append(result)
        print_procurement(spec.name, result)
        print_solve_log(log, gap, time_limit)
        if caps is not None:
            from evpath.procurement.pareto import cost_concentration_front

            with console.status(
                f"solving {escape(spec.name)} pooled under {len(caps)} country caps"
            ):
                table_front = cost_concentration_front(
                    result.instance,
                    caps,
                    mip_rel_gap=gap,
                    time_limit=min(SOLVE_TIME_LIMIT, time_limit),
                )
            print_front(table_front, result.instance.country_cap)
        purchases.append(result.to_frame())
        tables["procurement"].append(purchases[-1].assign(alliance=spec.name))
        tables["procurement_costs"].append(result.costs().assign(alliance=spec.name))
    if len(results) > 1:
        print_metals(results)
    # the files once every alliance is solved: a failed solve writes none of them
    for path, table in zip(paths, purchases, strict=True):
        export.to_table_file(table, path, file_format)
        console.print(f"[bold]purchases[/] {escape(str(path))}")
    if not no_store:
        import pandas as pd

        results_store.write_tables(
            run_id, {name: pd.concat(rows, ignore_index=True) for name, rows in tables.items()}
        )
        console.print(
            f"[bold]store[/]     {escape(str(store))} (tables procurement, procurement_costs"
            f"{', run ' + run_id if run_id else ''})",
            soft_wrap=True,
        )


def stored_demand(store: ResultsStore, run_id: str) -> xr.Dataset:
    """A stored run's results for the members' demand (``run_id`` as ``evpath show``
    takes it: an id or the start of exactly one); an ensemble run gives the median of each
    value, as ``evpath show`` prints it."""
    from evpath.report.runs import QUANTILE, stored_dataset

    dataset = stored_dataset(store, run_id)
    if QUANTILE in dataset.dims:
        console.print(f"run {run_id}: an ensemble; the members' demand is its median")
        dataset = dataset.sel({QUANTILE: 0.5}, drop=True)
    return dataset


def check_solver_options(gap: float, time_limit: float) -> None:
    """InputError unless ``--gap`` is a relative gap in [0, 1) and ``--time-limit`` a
    number of seconds above 0."""
    if not 0 <= gap < 1:
        msg = f"--gap: got {gap:g}; allowed: a relative gap from 0 to below 1"
        raise InputError(msg)
    if not time_limit > 0:
        msg = f"--time-limit: got {time_limit:g}; allowed: a number of seconds above 0"
        raise InputError(msg)


def print_metals(results: list[ProcurementResult]) -> None:
    """Costs and savings by metal and in all, and each member's saving over the metals."""
    from evpath.cli.tables import table_of
    from evpath.procurement.metals import by_member, totals

    table = table_of(
        "All metals: cost alone, pooled and the saving",
        ("metal", "alone [MUSD]", "pooled [MUSD]", "saving [MUSD]", "cash saving"),
        text=("metal",),
    )
    for metal, row in totals(results).iterrows():
        table.add_row(
            str(metal),
            f"{row.cost_alone / MUSD:,.1f}",
            f"{row.cost_pooled / MUSD:,.1f}",
            f"{row.saving / MUSD:,.1f}",
            f"{row.cash_saving / MUSD:,.1f}",
        )
    console.print(table)
    members = table_of(
        "By member, all metals (Shapley shares added up)",
        ("member", "alone [MUSD]", "saving share [MUSD]", "after [MUSD]"),
        text=("member",),
    )
    for name, row in by_member(results).iterrows():
        spread = f" ± {row.shapley_se / MUSD:,.2f}" if row.shapley_se > 0 else ""
        members.add_row(
            str(name),
            f"{row.cost_alone / MUSD:,.1f}",
            f"{row.shapley_saving / MUSD:,.2f}{spread}",
            f"{row.cost_after_split / MUSD:,.1f}",
        )
    console.print(members)


@contextmanager
def solve_progress(name: str) -> Iterator[Callable[[int, int | None, str], None]]:
    """A transient progress bar on stderr over the solves of :func:`procure`; yields the
    callback to pass as its ``progress``."""
    with counting_bar(f"solving {name}: each member alone, every coalition, pooled") as bar:

        def advance(done: int, needed: int | None, buyer: str) -> None:
            bar(done, needed, f"solved {buyer}")

        yield advance


def parse_caps(text: str) -> list[float]:
    """The caps of ``--front``: comma-separated fractions, each above 0 and at most 1."""
    allowed = "comma-separated fractions, each above 0 and at most 1 (e.g. 0.5,0.45,0.4)"
    parts = [part.strip() for part in text.split(",")]
    try:
        caps = [float(part) for part in parts]
    except ValueError:
        caps = []
    if not caps or not all(0 < cap <= 1 for cap in caps):
        msg = f"--front: got {text!r}; allowed: {allowed}"
        raise InputError(msg)
    return caps


def print_front(front: pd.DataFrame, policy_cap: float) -> None:
    """Cost against concentration of the pooled plan, one row per country cap."""
    from evpath.cli.tables import table_of

    table = table_of(
        f"Pooled plan under each country cap (--front; the policy cap is {policy_cap:.0%})",
        (
            "cap",
            "cash cost [MUSD]",
            "risk penalty [MUSD]",
            "total [MUSD]",
            "top country",
            "its share",
            "max in a year",
            "MIP gap",
        ),
        text=("top country",),
    )
    reasons = []
    for row in front.itertuples():
        if row.status != "solved":
            table.add_row(f"{row.cap * 100:g}%", "infeasible", "", "", "(see below)", "", "", "")
            reasons.append(f"cap {row.cap * 100:g}% infeasible: {row.message}")
            continue
        table.add_row(
            f"{row.cap * 100:g}%",
            f"{row.cash_cost / MUSD:,.1f}",
            f"{row.risk_penalty / MUSD:,.1f}",
            f"{row.total_cost / MUSD:,.1f}",
            str(row.top_country),
            f"{row.top_country_share:.1%}",
            f"{row.max_country_share_in_a_year:.1%}",
            f"{row.mip_gap:.2%}",
        )
    console.print(table)
    for reason in reasons:
        console.print(f"[yellow]{escape(reason)}[/]", highlight=False, soft_wrap=True)


def print_solve_log(log: SolveLog, gap: float, time_limit: float) -> None:
    """What stopped the solves: the gap asked for, or a time limit (with the gap left)."""
    if not log.stopped_by_time and log.samples_used is None:
        console.print(
            f"HiGHS: {log.solves} solves, each stopped within the relative gap {gap:.2%} (--gap), "
            f"none by a time limit; largest gap reached {log.largest_gap:.2%}",
            highlight=False,
        )
        return
    if log.stopped_by_time:
        names = ", ".join(log.stopped_by_time[:5])
        more = f" and {len(log.stopped_by_time) - 5} more" if len(log.stopped_by_time) > 5 else ""
        console.print(
            f"[yellow]HiGHS: {len(log.stopped_by_time)} of {log.solves} solves stopped at a "
            f"time limit ({min(SOLVE_TIME_LIMIT, time_limit):g} s a solve, {time_limit:g} s "
            f"in all: --time-limit) before the gap {gap:.2g} (--gap): {escape(names)}{more}; largest "
            f"gap left {log.largest_gap:.2%}; their costs are upper bounds[/]",
            highlight=False,
            soft_wrap=True,
        )
    if log.samples_used is not None:
        console.print(
            f"[yellow]Shapley split from {log.samples_used} joining orders only: the overall "
            f"time limit ({time_limit:g} s, --time-limit) was reached; the ± columns show "
            "the spread[/]",
            highlight=False,
            soft_wrap=True,
        )


def print_procurement(name: str, result: ProcurementResult) -> None:
    """Costs alone vs pooled, the Shapley split, concentration and binding constraints."""
    from evpath.cli.tables import table_of

    inst = result.instance
    years = f"{inst.years[0]}-{inst.years[-1]}"
    console.print(
        f"[bold]{escape(name)}[/]: {inst.metal}, {years}, {len(inst.members)} members, "
        f"{len(inst.suppliers)} suppliers",
        highlight=False,
    )
    share = result.saving / result.cost_alone if result.cost_alone else 0.0
    console.print(
        f"cost alone {result.cost_alone / MUSD:,.1f} MUSD, pooled "
        f"{result.cost_pooled / MUSD:,.1f} MUSD: saving [bold]{result.saving / MUSD:,.1f} MUSD"
        f"[/] ({share:.1%}), {_basis(inst.discount_rate, years)}",
        highlight=False,
    )
    console.print(
        f"  cash cost (purchases + contracts + holding) alone "
        f"{result.cash_cost_alone / MUSD:,.1f} MUSD, pooled {result.cash_cost_pooled / MUSD:,.1f}"
        f" MUSD; notional risk penalty alone {result.risk_penalty_alone / MUSD:,.1f} MUSD, "
        f"pooled {result.risk_penalty_pooled / MUSD:,.1f} MUSD",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        "  alone: each member buys by itself with, in each year, a pro-rata share (its share "
        "of alliance demand) of every supplier's capacity",
        highlight=False,
        soft_wrap=True,
    )
    if result.shapley_is_exact:
        method = f"Shapley split: {result.shapley_method} (no sampling, so no seed)"
    else:
        method = (
            f"Shapley split: {result.shapley_method}, seed {result.seed} (--seed); "
            "± is the standard error of each share"
        )
    console.print(method, highlight=False, soft_wrap=True)
    core = result.core
    if core is None:
        console.print(
            "Stability: not checked (a sampled split does not solve every coalition)",
            highlight=False,
        )
    elif core.in_core:
        console.print(
            "Stability: the split lies in the core (no coalition pays less on its own than "
            "its members' costs after the split)",
            highlight=False,
            soft_wrap=True,
        )
    else:
        names = ", ".join(inst.members[i] for i in core.coalition)
        console.print(
            f"[yellow]Stability: the split is outside the core: {escape(names)} would pay "
            f"{core.excess / MUSD:,.2f} MUSD less on their own than their costs after the "
            "split (the most dissatisfied coalition)[/]",
            highlight=False,
            soft_wrap=True,
        )
    members = table_of(
        f"Shapley split of the saving ({result.shapley_method})",
        ("member", "alone [MUSD]", "saving share [MUSD]", "of saving", "after [MUSD]"),
        text=("member",),
    )
    exact = not result.shapley_se.any()
    for row in result.members.itertuples():
        part = row.shapley_saving / result.saving if result.saving else 0.0
        spread = "" if exact else f" ± {row.shapley_se / MUSD:,.2f}"
        members.add_row(
            str(row.Index),
            f"{row.cost_alone / MUSD:,.1f}",
            f"{row.shapley_saving / MUSD:,.2f}{spread}",
            f"{part:.1%}",
            f"{row.cost_after_split / MUSD:,.1f}",
        )
    console.print(members)
    concentration = table_of(
        "Concentration of purchases, members alone vs pooled",
        ("plan", "HHI suppliers", "top country", "its share", "max in a year", "suppliers/yr"),
        text=("plan", "top country"),
    )
    for plan, row in result.concentration.iterrows():
        concentration.add_row(
            str(plan),
            f"{row.hhi_supplier:,.0f}",
            str(row.top_country),
            f"{row.top_country_share:.1%}",
            f"{row.max_country_share_in_a_year:.1%}",
            f"{row.suppliers_per_year:.1f}",
        )
    console.print(concentration)
    binding = table_of(
        "Binding constraints of the pooled plan",
        ("constraint", "where", "cases", "mean shadow price [USD/t]"),
        text=("constraint", "where"),
    )
    for family, rows in result.binding.groupby("family", sort=False):
        subjects = ", ".join(dict.fromkeys(rows["subject"]))
        where = f"{subjects}; {rows['year'].min()}-{rows['year'].max()}"
        price = rows["shadow_price"].mean()
        binding.add_row(
            str(family),
            where,
            str(len(rows)),
            "n/a (binary)" if price != price else f"{price:,.0f}",
        )
    console.print(binding)


def _basis(rate: float, years: str) -> str:
    """How the costs over ``years`` are added up: plainly, or discounted at ``rate``."""
    if rate == 0:
        return f"undiscounted over {years}"
    return f"present value in {years[:4]} at {rate:.1%}/yr over {years}"
