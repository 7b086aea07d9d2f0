"""The ``evpath secure`` command: security of supply under disruption, alone vs pooled."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from evpath.cli.console import console, report_errors
from evpath.cli.procure import check_solver_options
from evpath.errors import InputError

if TYPE_CHECKING:
    from evpath.procurement.security import SecurityResult

# HiGHS and the procurement modules are imported when the command runs, so that the
# other commands start without them.

MUSD = 1e6


def register(app: typer.Typer) -> None:
    """Add the ``secure`` command to ``app``."""
    app.command("secure")(secure_command)


@report_errors
def secure_command(
    disruptions: Annotated[
        str,
        typer.Argument(help="Disruption YAML file or bundled name (e.g. japan-cobalt-disruption)."),
    ],
    scenario: Annotated[
        str | None,
        typer.Option(help="Scenario run for members whose demand is a share of a run."),
    ] = None,
    lam: Annotated[
        float | None,
        typer.Option("--lambda", help="Weight of CVaR in the objective, instead of the file's."),
    ] = None,
    gap: Annotated[
        float, typer.Option(help="Relative MIP gap at which HiGHS stops each solve.")
    ] = 1e-3,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds for each HiGHS solve; inf: no limit.")
    ] = 60.0,
    store: Annotated[Path, typer.Option(help="DuckDB results store to add the plans to.")] = Path(
        "results/evpath.duckdb"
    ),
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not write to the store.")
    ] = False,
) -> None:
    """Contract each member alone and the alliance pooled against disruption scenarios.

    Exits 2, with the field path and the reason, on an invalid file or when no plan
    meets the cap on expected shortfall.
    """
    if lam is not None and not 0 <= lam <= 1e6:
        msg = f"--lambda: got {lam:g}; allowed: a weight from 0 to 1e6"
        raise InputError(msg)
    check_solver_options(gap, time_limit)
    from evpath.procurement.disruptions import alliance_of, disruption_path, load_disruptions
    from evpath.procurement.instance import resolve
    from evpath.procurement.security import secure

    path = disruption_path(disruptions)
    spec = load_disruptions(path)
    alliance = alliance_of(spec, path)
    with console.status(
        f"solving {escape(spec.name)}: each member alone and {escape(alliance.name)} pooled"
    ):
        instance = resolve(alliance, scenario)
        result = secure(spec, instance, lam, mip_rel_gap=gap, time_limit=time_limit)
    print_security(spec.name, alliance.name, result)
    print_rules(result, gap)
    if not no_store:
        from evpath.io.store import ResultsStore

        tagged = {"disruptions": spec.name, "alliance": alliance.name, "lambda": result.lam}
        ResultsStore(store).write_tables(
            None,
            {
                "security_plans": result.plans().reset_index().assign(**tagged),
                "security_scenarios": result.by_scenario().reset_index().assign(**tagged),
            },
        )
        console.print(
            f"[bold]store[/] {escape(str(store))} (tables security_plans, security_scenarios)",
            soft_wrap=True,
        )


def print_security(name: str, alliance: str, result: SecurityResult) -> None:
    """Plans alone vs pooled, the value of pooling, and every plan in every scenario."""
    from evpath.cli.tables import table_of

    console.print(
        f"[bold]{escape(name)}[/] for {escape(alliance)}: {len(result.scenarios.names)} scenarios, "
        f"objective expected cost + {result.lam:g} × CVaR {result.alpha:.0%}",
        highlight=False,
    )
    plans = table_of(
        "Plans, members alone vs the alliance pooled",
        (
            "plan",
            "expected [MUSD]",
            "worst [MUSD]",
            f"CVaR {result.alpha:.0%} [MUSD]",
            "exp. shortfall [t]",
            "P(shortfall)",
            "contracted [t]",
        ),
        text=("plan",),
    )
    table = result.plans()
    for plan, row in table.iterrows():
        plans.add_row(
            str(plan),
            f"{row.expected_cost / MUSD:,.1f}",
            f"{row.worst_cost / MUSD:,.1f}",
            f"{row.cvar / MUSD:,.1f}",
            f"{row.expected_shortfall:,.1f}",
            f"{row.shortfall_probability:.0%}",
            f"{row.contracted:,.0f}",
        )
    plans.add_row(
        "members alone, total",
        f"{result.expected_cost_alone / MUSD:,.1f}",
        "",
        "",
        f"{result.expected_shortfall_alone:,.1f}",
        "",
        f"{table.contracted.iloc[:-1].sum():,.0f}",
    )
    console.print(plans)
    console.print(
        f"value of pooling: expected cost saved [bold]{result.saving / MUSD:,.1f} MUSD[/], "
        f"expected shortfall avoided [bold]{_clean(result.avoided_shortfall):,.1f} t[/]",
        highlight=False,
    )
    scenarios = table_of(
        "Cost and shortfall by scenario",
        ("scenario", "probability", "plan", "cost [MUSD]", "shortfall [t]", "spot [t]"),
        text=("scenario", "plan"),
    )
    frame = result.by_scenario()
    for scenario in result.scenarios.names:
        for plan, row in frame.xs(scenario, level="scenario").iterrows():
            scenarios.add_row(
                scenario,
                f"{row.probability:.0%}",
                str(plan),
                f"{row.cost / MUSD:,.1f}",
                f"{row.shortfall:,.1f}",
                f"{row.spot:,.0f}",
            )
    console.print(scenarios)


def print_rules(result: SecurityResult, gap: float) -> None:
    """Which rules of the alliance file the plans follow, and the gap the solves reached."""
    from evpath.procurement.security import NOT_CARRIED

    console.print(
        "Contracts follow the alliance's tiers (with price paths and discounting), minimum "
        "orders, contract costs, country cap and minimum number of suppliers; not carried: "
        f"{NOT_CARRIED}. Undelivered tonnes are refunded at their tier cost, contract costs "
        "are paid in full.",
        highlight=False,
        soft_wrap=True,
    )
    if result.stopped_by_time:
        console.print(
            f"[yellow]HiGHS: a time limit (--time-limit) stopped {escape(', '.join(result.stopped_by_time))}"
            f" before the gap {gap:.2g} (--gap); largest gap left {result.mip_gap:.2%}; "
            "their costs are upper bounds[/]",
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print(
            f"HiGHS: every solve within the relative gap {gap:.2%} (--gap); largest gap "
            f"reached {result.mip_gap:.2%}",
            highlight=False,
        )


def _clean(value: float) -> float:
    """``value`` without the sign of a rounding residue (no "-0.0" in tables)."""
    return 0.0 if abs(value) < 0.05 else value
