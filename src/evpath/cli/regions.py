"""The ``evpath compare`` command: adoption curves, milestone years and lags between regions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from evpath.cli.console import (
    MAX_SEED,
    check_output,
    console,
    output_error,
    report_errors,
    steps,
)
from evpath.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from rich.text import Text

    from evpath.analysis.adoption import AdoptionFit
    from evpath.cli.tables import PlainTable

# The fits, tables and chart are imported when the command runs (see `evpath --help`).
# The choices and default below are those of evpath.analysis.adoption (KINDS, MODELS,
# N_DRAWS), which a test keeps equal, named here so that the help does not load SciPy.
KINDS = ("EV", "BEV", "PHEV")
MODELS = ("logistic", "bass")
N_DRAWS = 2000
"""Default parameter draws of ``--draws``."""
MIN_DRAWS = 10
MAX_DRAWS = 100_000
"""Largest ``--draws``: the draws of every region, level and year are held in memory at
once (about 60 kB a draw for four regions), so the cap keeps a run within a few GB."""

LAG_LEVELS = (0.10, 0.25, 0.50)
"""Share levels [fraction] of the lag table."""
CHART_SUFFIXES = (".png", ".svg")
CHART_END_YEAR = 2050
"""Last year drawn on the chart [yr]."""


def register(app: typer.Typer) -> None:
    """Add the ``compare`` command to ``app``."""
    app.command("compare")(compare)


@report_errors
def compare(
    regions: Annotated[
        list[str], typer.Argument(help="IEA regions or countries, e.g. Japan China Europe USA.")
    ],
    kind: Annotated[str, typer.Option(help=f"Share compared; one of {', '.join(KINDS)}.")] = "EV",
    model: Annotated[
        str, typer.Option(help=f"Adoption curve; one of {', '.join(MODELS)}.")
    ] = "logistic",
    reference: Annotated[
        str | None, typer.Option(help="Region the lags are measured against (default: the first).")
    ] = None,
    fit_saturation: Annotated[
        bool, typer.Option(help="Fit the saturation share K instead of fixing it at 100 %.")
    ] = False,
    draws: Annotated[
        int,
        typer.Option(help=f"Parameter draws for the intervals ({MIN_DRAWS} to {MAX_DRAWS:,})."),
    ] = N_DRAWS,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Random seed of the draws.")] = 0,
    chart: Annotated[
        Path | None,
        typer.Option(help="Chart file (.png or .svg); default results/compare-<regions>.png."),
    ] = None,
) -> None:
    """Fit adoption curves to IEA sales shares; print milestone years and lags; draw a chart.

    Milestones already reached are the observed years; later ones come from the fitted
    curve with a 90 % interval. 100 % stands for 99.5 % (curves saturating at 1 never
    reach 1). A lag is the years a region reaches a share after the reference region.
    """
    from evpath.analysis.adoption import (
        LEVELS,
        fit_region,
        is_kind,
        is_model,
        lag_table,
        milestones,
    )

    if not MIN_DRAWS <= draws <= MAX_DRAWS:
        msg = f"--draws: got {draws}; allowed: {MIN_DRAWS} to {MAX_DRAWS}"
        raise InputError(msg)
    if not is_kind(kind):
        msg = f"--kind: got {kind!r}; allowed: one of {', '.join(KINDS)}"
        raise InputError(msg)
    if not is_model(model):
        msg = f"--model: got {model!r}; allowed: one of {', '.join(MODELS)}"
        raise InputError(msg)
    names = list(dict.fromkeys(regions))
    reference = names[0] if reference is None else reference
    if reference not in names:
        names.append(reference)
    path = chart if chart is not None else Path("results") / f"compare-{_slug(names)}.png"
    if path.suffix.lower() not in CHART_SUFFIXES:
        msg = f"--chart: got {str(path)!r}; allowed: a file ending in {' or '.join(CHART_SUFFIXES)}"
        raise InputError(msg)
    check_output("--chart", path, creates_folders=True)

    with steps(total=len(names) + 2) as advance:
        fits = []
        for name in names:
            advance(f"fitting {name}")
            fits.append(fit_region(name, kind, model, fit_saturation=fit_saturation))
        advance(f"milestone years ({draws:,} draws)")
        mile = milestones(fits, LEVELS, n_draws=draws, seed=seed)
        advance(f"lags behind {reference} ({draws:,} draws)")
        lags = lag_table(fits, reference, LAG_LEVELS, n_draws=draws, seed=seed)

    console.print(_fit_table(fits))
    console.print(_milestone_table(mile))
    if not lags.empty:
        console.print(_lag_table(lags))
    try:
        with console.status("drawing the chart"):
            write_chart(fits, path, n_draws=min(draws, 1000), seed=seed)
    except OSError as exc:
        raise output_error("--chart", path, exc) from None
    console.print(f"[bold]chart[/] {escape(str(path))}", highlight=False, soft_wrap=True)


def _slug(names: Sequence[str]) -> str:
    return "-".join(re.sub(r"[^a-z0-9]+", "_", n.lower()).strip("_") for n in names)


def _year_range(low: int, high: int | None) -> str:
    """Calendar years of an interval, e.g. ``2028–31``, ``2062–2119`` or ``2040–never``."""
    import pandas as pd

    if high is None or pd.isna(high):
        return f"{low}–never"
    if low == high:
        return str(low)
    if low // 100 == high // 100:
        return f"{low}–{high % 100:02d}"
    return f"{low}–{high}"


def _fit_table(fits: Sequence[AdoptionFit]) -> PlainTable:
    from evpath.cli.tables import PlainTable

    table = PlainTable(
        title=f"{fits[0].model.capitalize()} fits to the {fits[0].kind} share of "
        "car sales "
        "(IEA GEVO 2025)"
    )
    for col in ("region", "parameters (± s.e.)", "R²", "RMSE", "points", "years"):
        left = col in ("region", "parameters (± s.e.)")
        table.add_column(col, justify="left" if left else "right")
    units = {"r": "/yr", "p": "/yr", "q": "/yr", "t0": "", "K": "", "ts": ""}
    for fit in fits:
        err = fit.stderr
        parts = []
        for name, value in fit.params.items():
            text = f"{name}={value:.4g}{units[name]}"
            if name in err:
                text += f" ± {err[name]:.2g}"
            elif f"ln_{name}" in err:
                text += f" (ln {name} ± {err[f'ln_{name}']:.2g})"
            elif name in ("K", "ts"):
                text += " (fixed)"
            parts.append(text)
        years = fit.history["year"]
        table.add_row(
            fit.region,
            ", ".join(parts),
            f"{fit.r2:.3f}",
            f"{fit.rmse:.2%}",
            str(fit.n_points),
            f"{int(years[0])}–{int(years[-1])}",
        )
    return table


def _milestone_table(mile: pd.DataFrame) -> PlainTable:
    from evpath.analysis.adoption import FULL_SHARE, INTERVAL
    from evpath.cli.tables import PlainTable, styled

    table = PlainTable(
        title=f"Year the share of sales first reaches each level "
        f"(fitted: median and {INTERVAL:.0%} interval)"
    )
    table.add_column("region")
    levels = list(dict.fromkeys(mile["level"]))
    for level in levels:
        label = f"{level:.0%}" if level < 1 else f"100% (≥{FULL_SHARE:.1%})"
        table.add_column(label, justify="right")
    for region, rows in mile.groupby("region", sort=False):
        cells: list[str | Text] = []
        for row in rows.itertuples():
            if row.basis == "observed":
                cells.append(styled((str(row.year), "green"), " obs"))
            elif row.basis == "never":
                cells.append("never")
            else:
                mark = "*" if row.ahead_of_data else ""
                years = _year_range(row.year_low, row.year_high)
                cells.append(styled(f"{row.year}{mark}\n", (years, "dim")))
        table.add_row(str(region), *cells)
    table.caption = (
        "obs: observed year; fitted: first calendar year with share ≥ level. "
        "* the curve passed the level by the last data year but the data did not."
    )
    return table


def _lag_table(lags: pd.DataFrame) -> PlainTable:
    import numpy as np

    from evpath.analysis.adoption import INTERVAL
    from evpath.cli.tables import PlainTable, styled

    ref = lags["reference"].iloc[0]
    table = PlainTable(
        title=f"Years behind {ref} (median and {INTERVAL:.0%} interval; negative: ahead)"
    )
    table.add_column("region")
    levels = list(dict.fromkeys(lags["level"]))
    for level in levels:
        table.add_column(f"at {level:.0%}", justify="right")
    for region, rows in lags.groupby("region", sort=False):
        cells: list[str | Text] = []
        for row in rows.itertuples():
            if not np.isfinite(row.median):
                cells.append("never" if row.median > 0 else "n/a")
            elif row.low == row.high:
                cells.append(f"{row.median:+.1f}")
            else:
                high = f"{row.high:+.1f}" if np.isfinite(row.high) else "never"
                cells.append(styled(f"{row.median:+.1f}\n", (f"{row.low:+.1f} to {high}", "dim")))
        table.add_row(str(region), *cells)
    return table


def write_chart(
    fits: Sequence[AdoptionFit],
    path: Path,
    *,
    n_draws: int = 1000,
    seed: int = 0,
    end_year: int = CHART_END_YEAR,
) -> Path:
    """Draw history points and fitted curves with their 90 % band; PNG or SVG by suffix.

    Parameters
    ----------
    fits : sequence of AdoptionFit
    path : Path
        Output file, written whole or not at all; its folder is created.
    n_draws : int
        Parameter draws for the band.
    seed : int
    end_year : int [yr]
        Last year drawn.
    """
    import matplotlib
    import numpy as np

    from evpath.analysis.adoption import INTERVAL, fit_seed
    from evpath.io.export import write_atomic

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = min(int(fit.history["year"][0]) for fit in fits)
    years = np.linspace(start, end_year, 4 * (end_year - start) + 1)
    tail = (1.0 - INTERVAL) / 2.0
    fig, ax = plt.subplots(figsize=(8, 5))
    try:
        for k, fit in enumerate(fits):
            color = f"C{k % 10}"
            band = fit.predict(years, fit.sample(n_draws, seed=fit_seed(fit, seed)))
            low, high = band.quantile([tail, 1.0 - tail], dim="draw").to_numpy()
            ax.fill_between(years, 100 * low, 100 * high, color=color, alpha=0.2, linewidth=0)
            ax.plot(years, 100 * fit.predict(years).to_numpy(), color=color, label=fit.region)
            ax.plot(
                fit.history["year"], 100 * fit.history.to_numpy(), "o", color=color, markersize=4
            )
        ax.set_xlim(start, end_year)
        ax.set_ylim(0, 100)
        ax.set_xlabel("year")
        ax.set_ylabel(f"{fits[0].kind} share of new car sales [%]")
        ax.set_title(
            f"{fits[0].model.capitalize()} fits to IEA GEVO 2025 history "
            f"(points) with {INTERVAL:.0%} bands"
        )
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
        write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=120, format=path.suffix[1:].lower()))
    finally:
        plt.close(fig)
    return path
