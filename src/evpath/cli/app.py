"""The ``evpath`` command line: run, validate, scenarios, data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from evpath.cli.console import console, report_errors, steps
from evpath.data.registry import datasets
from evpath.results import SUMMARY_YEARS, Results
from evpath.scenario.loader import bundled_scenarios, load_scenario

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
    out: Annotated[Path, typer.Option(help="Folder for the NetCDF, Parquet and manifest files.")] = Path(
        "results"
    ),
    store: Annotated[Path, typer.Option(help="DuckDB results store to add the run to.")] = Path(
        "results/evpath.duckdb"
    ),
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not write to the store.")] = False,
) -> None:
    """Run a scenario, print a summary and write its results."""
    from evpath.api import run as run_scenario

    with steps(total=4) as advance:
        results = run_scenario(scenario, progress=advance)
        advance("write results")
        paths = results.write(out, None if no_store else store)
    print_summary(results)
    console.print(f"[bold]run id[/] {results.run_id}")
    for kind, path in paths.items():
        console.print(f"  {kind:<8} {path}")


@app.command()
@report_errors
def validate(
    files: Annotated[list[str], typer.Argument(help="Scenario files or bundled names.")],
) -> None:
    """Check scenario files; exit 0 if all are valid, 2 with the first error otherwise."""
    for file in files:
        scenario = load_scenario(file)
        console.print(f"[green]valid[/] {file} ({scenario.name})")


@app.command()
@report_errors
def scenarios() -> None:
    """List the bundled scenarios."""
    table = Table(title="Bundled scenarios")
    table.add_column("name", no_wrap=True)
    table.add_column("description", overflow="fold")
    for name in bundled_scenarios():
        table.add_row(name, " ".join(load_scenario(name).description.split()))
    console.print(table)


@app.command()
@report_errors
def data() -> None:
    """List the bundled datasets with source, version, licence and units."""
    for info in datasets().values():
        console.print(f"[bold]{info.name}[/]  {info.title}", highlight=False)
        for label, value in (("publisher", info.publisher), ("source", info.source),
                             ("version", info.version), ("licence", info.licence),
                             ("units", info.units), ("scope", info.scope)):
            console.print(f"  {label:<9} {value}", highlight=False, soft_wrap=True)
        console.print()


def print_summary(results: Results) -> None:
    """Sales and stock mix in key years and the electrification verdict."""
    for variable, title in (("sales_share", "New sales mix"), ("stock_share", "Stock mix")):
        mix = results.summary_mix(variable)
        for region in mix.index.get_level_values("region").unique():
            table = Table("powertrain", *[str(y) for y in mix.columns],
                          title=f"{title}, {region} [% of {'sales' if 'sales' in variable else 'stock'}]")
            for powertrain, row in mix.loc[region].iterrows():
                table.add_row(str(powertrain), *[f"{100 * v:.1f}" for v in row])
            console.print(table)
    ds = results.dataset
    years = [y for y in SUMMARY_YEARS if y in ds.year.values]
    for region in ds.region.values:
        at = ds.sel(region=region, year=years)
        table = Table(title=f"Fleet, {region}")
        table.add_column("", no_wrap=True)
        for year in years:
            table.add_column(str(year), justify="right")
        table.add_row("sales (M/yr)",
                      *[f"{v / 1e6:.2f}" for v in at["sales"].sum(["segment", "powertrain"]).values])
        table.add_row("stock (M)",
                      *[f"{v / 1e6:.1f}" for v in at["stock"].sum(["segment", "powertrain"]).values])
        stock = at["stock"].sum("powertrain")
        age = (at["average_age"] * stock).sum("segment") / stock.sum("segment")
        table.add_row("age (years)", *[f"{v:.1f}" for v in age.values])
        console.print(table)
    check = results.history_check()
    if not check.empty:
        kind = check["metric"].where(check["powertrain"] == "all", check["powertrain"] + " stock")
        gaps = check.groupby(kind)["relative_difference"].agg(lambda d: d.abs().max())
        years_of = check.groupby(kind)["year"].agg(lambda y: f"{y.min()}-{y.max()}")
        console.print("Largest gap to observed fleet data:", highlight=False)
        for name, gap in gaps.items():
            console.print(f"  {name:<12} {100 * gap:5.1f}%  ({years_of[name]})", highlight=False)
    verdict = results.target_verdict()
    for region, row in verdict.iterrows():
        share = 100 * row["electrified_share"]
        first = row["first_year_all_electrified"]
        when = f"all new sales electrified from {int(first)}" if first == first else "never 100%"
        status = "[green]met[/]" if row["met"] else "[red]not met[/]"
        console.print(
            f"{region}: electrified share of new sales in {int(row['target_year'])}: "
            f"{share:.1f}% -> target {status} ({when})"
        )


def main() -> None:
    """Entry point of the ``evpath`` script."""
    app()
