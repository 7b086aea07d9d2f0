"""``evpath runs``, ``show``, ``export`` and ``report``: what the results store holds, as
tables, files and a self-contained HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from evpath.cli.console import check_output, console, report_errors, steps

if TYPE_CHECKING:
    import xarray as xr

    from evpath.results import Results

DEFAULT_STORE = Path("results/evpath.duckdb")
FORMATS = ("netcdf", "parquet", "csv", "xlsx", "iamc")
"""The formats of ``export`` (``evpath.report.exports.SUFFIXES``, named here so that
``--help`` does not load pandas)."""

StoreOption = Annotated[Path, typer.Option(help="DuckDB results store (written by `evpath run`).")]
RunIdArg = Annotated[
    str, typer.Argument(help="A run id, or its start if unique (see `evpath runs`).")
]


def runs(store: StoreOption = DEFAULT_STORE) -> None:
    """List the runs in the results store, newest first."""
    from evpath.cli.tables import PlainTable
    from evpath.io.store import ResultsStore

    stored = ResultsStore(store).runs()
    if stored.empty:
        shown = escape(str(store))
        console.print(f"no runs in {shown} (`evpath run SCENARIO --store {shown}` adds one)")
        return
    table = PlainTable(title=f"Runs in {store}")
    for column in ("run id", "scenario", "created (UTC)", "evpath", "input hash"):
        table.add_column(column, no_wrap=column != "scenario", overflow="fold")
    for row in stored.itertuples(index=False):
        table.add_row(
            str(row.run_id),
            str(row.scenario),
            f"{row.created_at:%Y-%m-%d %H:%M}",
            str(row.evpath_version),
            str(row.input_hash)[:8],
        )
    console.print(table)


def show(run_id: RunIdArg, store: StoreOption = DEFAULT_STORE) -> None:
    """Print a stored run's summary again."""
    from evpath.cli.scope import print_scope_summary
    from evpath.cli.summary import print_summary
    from evpath.io.store import ResultsStore
    from evpath.report.runs import at_median, stored_run
    from evpath.results import ScopeResults

    with console.status(f"reading {escape(run_id)} from {escape(str(store))}"):
        results = stored_run(ResultsStore(store), run_id)
    if isinstance(results, ScopeResults):
        print_scope_summary(results)
    else:
        if "quantile" in results.dataset.dims:
            _print_ensemble(results)
        print_summary(at_median(results))
    console.print(
        f"[bold]run id[/] {results.run_id} ({results.manifest['created_at']})", soft_wrap=True
    )


def _print_ensemble(results: Results) -> None:
    """What an ensemble run is, and its probability table."""
    from evpath.cli.tables import PlainTable
    from evpath.report.runs import ensemble_tables, members

    dataset = results.dataset
    console.print(
        f"[bold]{escape(results.scenario.name)}[/]: an ensemble of {members(dataset):,} members; "
        "the tables below show the median of each value"
    )
    probability = ensemble_tables(dataset).get("ensemble_probability")
    if probability is not None:
        table = PlainTable(
            "target", "region", "probability", title="Probability that each target is met"
        )
        for row in probability.itertuples():
            table.add_row(str(row.meaning), str(row.region), f"{row.probability:.1%}")
        console.print(table)


def export(
    run_id: RunIdArg,
    file_format: Annotated[
        str, typer.Option("--format", help=f"One of {', '.join(FORMATS)}.")
    ] = "csv",
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: RUN_ID with the format's suffix).")
    ] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Write a stored run as NetCDF, Parquet, CSV, an Excel workbook or IAMC CSV."""
    from evpath.io.store import ResultsStore
    from evpath.report.exports import SUFFIXES, check_format, export_run
    from evpath.report.runs import stored_dataset

    check_format(file_format)
    if out is not None:
        check_output("--out", out, creates_folders=True)
    results_store = ResultsStore(store)
    with steps(total=2) as advance:
        advance("read the run")
        dataset = stored_dataset(results_store, run_id)
        advance(f"write {file_format}")
        path = out or Path(f"{dataset.attrs['run_id']}{SUFFIXES[file_format]}")
        export_run(dataset, file_format, path)
    console.print(f"wrote {escape(str(path))}")


def _report_datasets(arguments: list[str], store: Path) -> dict[str, xr.Dataset]:
    """Label → dataset of each argument: a stored run id (or unique start), else a
    scenario (bundled name or YAML file) run now."""
    from evpath.api import run as run_scenario
    from evpath.io.store import ResultsStore
    from evpath.report.runs import stamp, stored_dataset

    results_store = ResultsStore(store)
    ids = [str(run_id) for run_id in results_store.runs()["run_id"]]
    datasets = []
    with steps(total=len(arguments)) as advance:
        for argument in arguments:
            if argument and any(run_id.startswith(argument) for run_id in ids):
                advance(f"read run {argument}")
                datasets.append(stored_dataset(results_store, argument))
            else:
                advance(f"run scenario {argument}")
                results = run_scenario(argument)
                datasets.append(stamp(results.dataset, results.manifest))
    names = [str(d.attrs["scenario"]) for d in datasets]
    return {
        name if names.count(name) == 1 else f"{name} ({d.attrs['run_id']})": d
        for name, d in zip(names, datasets, strict=True)
    }


def report(
    runs_or_scenarios: Annotated[
        list[str],
        typer.Argument(
            help="Stored run ids (or their unique start); anything else is a scenario "
            "(bundled name or YAML file), run first. Several are drawn side by side.",
            metavar="RUN_ID|SCENARIO...",
        ),
    ],
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Write one self-contained HTML report (opens offline) of the charts of the runs."""
    from evpath.io.export import write_atomic
    from evpath.report.html import report_html

    check_output("--out", out, creates_folders=True)
    datasets = _report_datasets(runs_or_scenarios, store)
    with console.status("drawing the charts"):
        page = report_html(datasets, title=f"evpath: {', '.join(datasets)}")
        write_atomic(out, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    console.print(f"wrote {escape(str(out))}")


def register(app: typer.Typer) -> None:
    """Add ``runs``, ``show``, ``export`` and ``report`` to ``app``."""
    app.command("runs")(report_errors(runs))
    app.command("show")(report_errors(show))
    app.command("export")(report_errors(export))
    app.command("report")(report_errors(report))
