"""What the CLI prints about a makers' scope run: the makers' cars by market and maker,
their electrification, and the per-car target over every market."""

from __future__ import annotations

import xarray as xr
from rich.markup import escape

from evpath.cli.console import console
from evpath.cli.tables import PlainTable
from evpath.model.scope import ALL_MARKETS, market_sums
from evpath.results import SUMMARY_YEARS, ScopeResults

SCOPE_YEARS = (*SUMMARY_YEARS, 2060)


def _by_market(results: ScopeResults, cars: xr.DataArray) -> dict[str, xr.DataArray]:
    """``cars`` (region, …) summed over each market's regions, and over all of them."""
    every = tuple(r for names in results.regions.values() for r in names)
    sums = market_sums(cars, {**results.regions, ALL_MARKETS: every})
    return {str(m): sums.sel(market=m, drop=True) for m in sums.market.values}


def print_scope_summary(results: ScopeResults) -> None:
    """The makers' new cars and their share by market, by maker, the electrified share,
    and the per-car target."""
    ds = results.dataset
    years = [y for y in SCOPE_YEARS if y in ds.year.values]
    makers = ds["maker_sales"].sel(year=years)
    market = ds["market_sales"].sel(year=years).sum("powertrain")
    table = PlainTable(
        "market", *[str(y) for y in years], title="Makers' new cars [M/yr] (share of the market)"
    )
    own = _by_market(results, makers.sum(["maker", "powertrain"]))
    whole = _by_market(results, market)
    for name, cars in own.items():
        shares = (cars / whole[name]).values
        table.add_row(
            name,
            *[f"{c / 1e6:,.2f} ({100 * s:.0f}%)" for c, s in zip(cars.values, shares, strict=True)],
        )
    console.print(table)

    table = PlainTable(
        "maker", *[str(y) for y in years], title="New cars by maker, every market [M/yr]"
    )
    for maker, cars in makers.sum(["region", "powertrain"]).groupby("maker"):
        table.add_row(str(maker), *[f"{v / 1e6:,.2f}" for v in cars.squeeze().values])
    console.print(table)

    table = PlainTable(
        "",
        *[str(y) for y in years],
        title="Batteries and primary metals of the makers' new cars, every market",
    )
    gwh = ds["battery_demand"].sel(year=years).sum(["region", "segment", "powertrain"])
    table.add_row("battery GWh/yr", *[f"{v:,.1f}" for v in gwh.values])
    primary = ds["metal_primary_demand"].sel(year=years).sum("region")
    for metal in ("cobalt", "lithium", "nickel"):
        if metal in primary.metal:
            values = primary.sel(metal=metal).values
            table.add_row(f"{metal} t/yr", *[f"{v:,.0f}" for v in values])
    cobalt = ds["maker_metal_primary_demand"].sel(metal="cobalt", year=years)
    for maker in cobalt.maker.values:
        values = cobalt.sel(maker=maker).values
        table.add_row(f"  cobalt {maker}", *[f"{v:,.0f}" for v in values])
    console.print(table)

    electrified = ds["scope_electrified_sales_share"].sel(year=years)
    console.print(
        "Electrified share of the makers' new cars, every market: "
        + ", ".join(f"{y} {100 * v:.1f}%" for y, v in zip(years, electrified.values, strict=True)),
        soft_wrap=True,
        highlight=False,
    )
    for market_name, row in results.target_verdict().iterrows():
        first = row["first_year_all_electrified"]
        when = f"all electrified from {int(first)}" if first == first else "never 100%"
        status = "[green]met[/]" if row["met"] else "[red]not met[/]"
        console.print(
            f"{escape(str(market_name))}: electrified share in {int(row['target_year'])}: "
            f"{100 * row['electrified_share']:.1f}% -> {status} ({when})",
            soft_wrap=True,
        )
    print_scope_target(results)


def print_scope_target(results: ScopeResults) -> None:
    """The per-car target over every market and what each market contributes to the gap."""
    frame = results.emissions_target()
    whole = frame.loc[ALL_MARKETS]
    unit = whole["unit"]
    table = PlainTable(
        "market",
        f"{whole['base_year']}",
        f"{whole['target_year']}",
        "cut",
        "weight",
        "contribution",
        "needed alone",
        title=f"{whole['metric']} of the makers' cars ({unit}); goal "
        f"{(1 - whole['target_reduction']) * whole['base_value']:,.0f} "
        f"(-{100 * whole['target_reduction']:.0f}% on {whole['base_year']})",
    )
    for market, row in frame.iterrows():
        needed = row["needed_alone"]
        table.add_row(
            str(market),
            f"{row['base_value']:,.0f}",
            f"{row['value']:,.0f}",
            f"{-100 * row['reduction']:.1f}%",
            f"{100 * row['weight']:.0f}%",
            f"{row['contribution']:+,.0f}",
            "cannot alone" if needed < 0 else f"{needed:,.0f}",
        )
    console.print(table)
    status = "[green]met[/]" if whole["met"] else "[red]not met[/]"
    holding = frame.drop(ALL_MARKETS)
    holding = holding[holding["contribution"] > 0].sort_values("contribution", ascending=False)
    console.print(
        f"Per-car target over every market: {-100 * whole['reduction']:.1f}% by "
        f"{whole['target_year']} against -{100 * whole['target_reduction']:.0f}% -> {status}."
        + (
            " Held back most by: "
            + ", ".join(f"{escape(str(m))} ({c:+,.0f})" for m, c in holding["contribution"].items())
            if len(holding) and not whole["met"]
            else ""
        ),
        soft_wrap=True,
    )
    console.print(
        "contribution: the market's weight x (its value - the goal); the contributions add "
        "up to the scope's value - the goal. needed alone: the market's value that meets "
        "the goal with every other market as it is.",
        soft_wrap=True,
        highlight=False,
    )
