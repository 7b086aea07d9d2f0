"""The ``evpath`` command line: run, targets, compare, calibrate, fit-lifetime, procure,
secure, validate, scenarios, data, runs, show, export, report, serve, ensemble."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from evpath.cli import calibrate, ensemble, outputs, procure, regions, security, serve
from evpath.cli.console import console, report_errors, run_app, steps
from evpath.cli.imports import defer_duck_array_imports
from evpath.errors import InputError

# Commands import what they use when they run, so that `evpath --help` and each command
# start without loading the model, the solvers and the plotting of the others.

METRICS = (
    "wtw_per_new_car",
    "wtw_per_new_car_lifetime",
    "wtw_per_car",
    "lifecycle_per_new_car",
    "lifecycle_per_car",
    "wtw_per_km_new",
    "wtw_per_km_fleet",
)
"""The per-car metrics of ``--metric`` (``evpath.scenario.emissions.METRICS``, which a
test keeps equal, named here so that ``--help`` does not load the scenario schema)."""

app = typer.Typer(
    name="evpath",
    help="Model the road to full electrification of passenger cars.",
    no_args_is_help=True,
    add_completion=False,
)

ScenarioArg = Annotated[
    str, typer.Argument(help="A bundled scenario name (see `evpath scenarios`) or a YAML file.")
]


@app.command()
@report_errors
def run(
    scenario: ScenarioArg,
    out: Annotated[
        Path, typer.Option(help="Folder for the NetCDF, Parquet and manifest files.")
    ] = Path("results"),
    store: Annotated[Path, typer.Option(help="DuckDB results store to add the run to.")] = Path(
        "results/evpath.duckdb"
    ),
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not write to the store.")
    ] = False,
) -> None:
    """Run a scenario or a makers' scope, print a summary and write its results."""
    from evpath.api import run as run_scenario
    from evpath.cli.scope import print_scope_summary
    from evpath.cli.summary import print_summary
    from evpath.results import ScopeResults

    with steps(total=4) as advance:
        results = run_scenario(scenario, progress=advance)
        advance("write results")
        paths = results.write(out, None if no_store else store)
    if isinstance(results, ScopeResults):
        print_scope_summary(results)
    else:
        print_summary(results)
    console.print(f"[bold]run id[/] {results.run_id}")
    for kind, path in paths.items():
        console.print(f"  {kind:<8} {escape(str(path))}")


@app.command()
@report_errors
def targets(
    scenario: ScenarioArg,
    metric: Annotated[
        str | None,
        typer.Option(
            help=f"Metric for the reverse questions (scenarios); one of {', '.join(METRICS)}."
        ),
    ] = None,
    solve: Annotated[
        bool, typer.Option(help="Answer the reverse questions (scenarios; re-runs the model).")
    ] = True,
) -> None:
    """Per-car emissions against the target, what explains the change, and what it takes.

    Exits 0 whether or not the target is met.
    """
    from evpath.analysis.reverse import grid_pathway_verdicts, solve_reverse
    from evpath.api import load_inputs
    from evpath.api import run as run_scenario
    from evpath.cli.scope import print_scope_target
    from evpath.cli.summary import (
        print_emissions,
        print_grid_break_even,
        print_grid_pathways,
        print_reverse,
        print_target_table,
    )
    from evpath.results import ScopeResults

    if metric is not None and metric not in METRICS:
        msg = f"--metric: got {metric!r}; allowed: one of {', '.join(METRICS)}"
        raise InputError(msg)
    with steps(total=4) as advance:
        results = run_scenario(scenario, progress=advance)
    if isinstance(results, ScopeResults):
        print_scope_target(results)
        if metric is not None:
            console.print(
                f"--metric {metric}: the reverse questions are answered for a scenario, not a "
                "makers' scope; `evpath targets MARKET_SCENARIO` answers them for one market",
                highlight=False,
                soft_wrap=True,
            )
        return
    if results.scenario.emissions is None:
        msg = f"{results.scenario.name}: the scenario has no 'emissions' block to check a target on"
        raise InputError(msg)
    print_target_table(results)
    print_emissions(results)
    print_grid_break_even(results)
    if solve:
        inputs = load_inputs(results.scenario)
        with console.status("re-running the model under each bundled grid pathway"):
            verdicts = grid_pathway_verdicts(results.scenario, inputs)
        print_grid_pathways(results, verdicts)
        with console.status("solving the reverse questions on the model"):
            answer = solve_reverse(results.scenario, inputs, metric=metric)
        print_reverse(results, answer, metric)


@app.command()
@report_errors
def validate(
    files: Annotated[list[str], typer.Argument(help="Scenario files or bundled names.")],
) -> None:
    """Check scenario or scope files: exit 0 if all are valid, else 2 with the first error."""
    from evpath.scenario.loader import load_scenario
    from evpath.scenario.scope import load_scope, scope_reference

    for file in files:
        if scope_reference(file):
            spec = load_scope(file)
            console.print(
                f"[green]valid[/] {escape(file)} ({escape(spec.scope.name)}, markets: "
                f"{escape(', '.join(spec.markets))})"
            )
        else:
            scenario = load_scenario(file)
            console.print(f"[green]valid[/] {escape(file)} ({scenario.name})")


@app.command()
@report_errors
def scenarios() -> None:
    """List the bundled scenarios and makers' scopes."""
    from evpath.cli.tables import PlainTable
    from evpath.scenario.loader import bundled_scenarios, load_scenario, read_yaml_mapping
    from evpath.scenario.scope import bundled_scopes

    table = PlainTable(title="Bundled scenarios")
    table.add_column("name", no_wrap=True)
    table.add_column("description", overflow="fold")
    for name in bundled_scenarios():
        table.add_row(name, " ".join(load_scenario(name).description.split()))
    console.print(table)
    table = PlainTable(title="Bundled makers' scopes (evpath run NAME)")
    table.add_column("name", no_wrap=True)
    table.add_column("description", overflow="fold")
    for name, path in bundled_scopes().items():
        table.add_row(name, " ".join(str(read_yaml_mapping(path, "scope")["description"]).split()))
    console.print(table)


@app.command()
@report_errors
def data() -> None:
    """List the bundled datasets with source, version, licence and units."""
    from evpath.data.registry import datasets

    for info in datasets().values():
        console.print(f"[bold]{escape(info.name)}[/]  {escape(info.title)}", highlight=False)
        for label, value in (
            ("publisher", info.publisher),
            ("source", info.source),
            ("version", info.version),
            ("licence", info.licence),
            ("units", info.units),
            ("scope", info.scope),
        ):
            console.print(f"  {label:<9} {value}", markup=False, highlight=False, soft_wrap=True)
        console.print()


regions.register(app)
calibrate.register(app)
procure.register(app)
security.register(app)
outputs.register(app)
serve.register(app)
ensemble.register(app)


def main() -> None:
    """Entry point of the ``evpath`` script (exit codes: see :mod:`evpath.cli.console`)."""
    defer_duck_array_imports()
    run_app(app)
