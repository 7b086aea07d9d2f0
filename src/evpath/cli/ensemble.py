"""``evpath ensemble``: a scenario's uncertain inputs drawn, every member run, and what the
members say together."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from evpath.cli.console import console, counting_bar, report_errors
from evpath.errors import InputError

SAMPLERS = ("lhs", "sobol", "random")


def ensemble_command(
    scenario: Annotated[
        str, typer.Argument(help="A scenario with an 'uncertainty' block (name or YAML file).")
    ],
    n: Annotated[int, typer.Option("-n", "--draws", help="Members to draw.")] = 1000,
    sampler: Annotated[str, typer.Option(help="lhs, sobol or random.")] = "lhs",
    seed: Annotated[int, typer.Option(help="Same seed, same members, same numbers.")] = 0,
    sobol: Annotated[
        bool,
        typer.Option(
            "--sobol", help="Draw on Saltelli's design and rank the inputs by Sobol' indices."
        ),
    ] = False,
    memory: Annotated[
        str, typer.Option(help="Memory budget for the members' results, e.g. 4GiB.")
    ] = "4GiB",
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (tcp://host:8786) to spread chunks over."),
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Local worker processes (a local Dask cluster when above 1).")
    ] = 1,
    keep_draws: Annotated[
        bool, typer.Option("--keep-draws", help="Also write every member's results.")
    ] = False,
    out: Annotated[Path, typer.Option(help="Folder for the result files.")] = Path("results"),
    store: Annotated[
        Path, typer.Option(help="DuckDB results store to add the ensemble to.")
    ] = Path("results/evpath.duckdb"),
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not write to the store.")
    ] = False,
) -> None:
    """Run every member of the uncertain inputs' draw: percentiles, target odds, Sobol'.

    Draws the scenario's uncertain inputs, runs every member, and reports percentiles,
    the probability that each target is met and (with --sobol) what matters most.

    Finished chunks are kept in OUT/ensembles until the results are written, so an
    interrupted ensemble resumes where it stopped.
    """
    from evpath.analysis.ensemble import ensemble
    from evpath.analysis.ensemble.output import write_ensemble

    if sampler not in SAMPLERS:
        msg = f"--sampler: got {sampler!r}; allowed: one of {', '.join(SAMPLERS)}"
        raise InputError(msg)
    if not 1 <= workers <= 64:
        msg = f"--workers: got {workers}; allowed: 1 to 64"
        raise InputError(msg)
    if scheduler is not None and workers > 1:
        msg = "--scheduler and --workers: give one of them (a cluster's workers are its own)"
        raise InputError(msg)
    with _cluster(scheduler, workers) as client, counting_bar("chunks of members") as bar:
        result = ensemble(
            scenario,
            n,
            seed=seed,
            sampler=sampler,  # type: ignore[arg-type]
            sensitivity=sobol,
            memory=memory,
            scheduler=client,
            work_dir=out / "ensembles",
            progress=lambda done, total: bar(done, total, None),
        )
    with console.status("writing the ensemble's results"):
        paths = write_ensemble(result, out, None if no_store else store, keep_draws=keep_draws)
    _print_summary(result)
    console.print(f"[bold]run id[/] {result.run_id}")
    for kind, path in paths.items():
        console.print(f"  {kind:<11} {escape(str(path))}")


@contextmanager
def _cluster(scheduler: str | None, workers: int) -> Iterator[Any]:
    """The scheduler to use: an address as given, a local Dask cluster, or None (here)."""
    if workers == 1:
        yield scheduler
        return
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _print_summary(result: Any) -> None:
    from evpath.analysis.ensemble.result import OUTPUTS, QUANTILES
    from evpath.cli.tables import PlainTable

    design = result.design
    console.print(
        f"[bold]{escape(result.scenario.name)}[/]: {result.size:,} members "
        f"({design.sampler}, seed {design.seed}) over {len(design.values.input)} uncertain inputs"
    )
    table = PlainTable(title="Probability that each target is met")
    for column in ("target", "region", "probability", "members met"):
        table.add_column(column, justify="right" if column != "target" else "left")
    for row in result.probability().itertuples():
        table.add_row(
            row.meaning,
            row.region,
            f"{row.probability:.1%}",
            f"{row.members_met:,}/{row.members:,}",
        )
    console.print(table)

    outputs = result.outputs()
    levels = outputs.quantile(list(QUANTILES), dim="draw")
    for region in outputs.region.values:
        percentiles = PlainTable(title=f"Percentiles in {result.scenario.target_year}, {region}")
        percentiles.add_column("output", no_wrap=True)
        for q in QUANTILES:
            percentiles.add_column(f"p{round(100 * q)}", justify="right", no_wrap=True)
        for output in outputs.output.values:
            values = levels.sel(output=output, region=region).to_numpy()
            percentiles.add_row(str(output), *(_shown(v) for v in values))
        console.print(percentiles)
    units = "; ".join(f"{name} {OUTPUTS[str(name)][1]}" for name in outputs.output.values)
    console.print(f"units: {units}", highlight=False, soft_wrap=True)

    if design.sampler == "saltelli":
        _print_indices(result.sobol())


def _shown(value: float) -> str:
    """Four significant digits, or whole numbers with separators from 10,000 up."""
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:,.4g}"


SHOWN_INDEX = 0.01
"""Inputs whose total index is below this are counted, not listed."""
WIDE_INTERVAL = 0.1
"""Half-width of a 95% interval above which an index is too rough to rank inputs by (an
index runs from 0 to 1): the output says to draw more members."""


def _print_indices(indices: Any) -> None:
    """Per output and region, the inputs that move it, ranked by total Sobol' index."""
    from evpath.cli.tables import PlainTable

    for (output, region), rows in indices.groupby(["output", "region"], sort=False):
        shown = rows[rows["ST"] >= SHOWN_INDEX]
        if shown.empty:
            console.print(
                f"{output} ({region}): no input has a total index of {SHOWN_INDEX} or more",
                markup=False,
            )
            continue
        table = PlainTable(title=f"What moves {output} ({region}): Sobol' indices, 95% intervals")
        table.add_column("input", overflow="fold")
        table.add_column("first-order", justify="right", no_wrap=True)
        table.add_column("total", justify="right", no_wrap=True)
        for row in shown.itertuples():
            table.add_row(
                row.input, f"{row.S1:.2f} ± {row.S1_conf:.2f}", f"{row.ST:.2f} ± {row.ST_conf:.2f}"
            )
        hidden = len(rows) - len(shown)
        if hidden:
            table.caption = f"{hidden} other inputs: total index below {SHOWN_INDEX}"
        console.print(table)
    widest = float(indices[["S1_conf", "ST_conf"]].max().max())
    if widest > WIDE_INTERVAL:
        console.print(
            f"[yellow]Some indices are uncertain by up to ±{widest:.2f} (95% interval): too "
            "few members to rank the inputs by; draw more (-n)[/]",
            highlight=False,
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    app.command("ensemble")(report_errors(ensemble_command))
