"""What the CLI prints about a run: mixes, fleet, history check, targets, emissions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr

from evpath.cli.console import console
from evpath.cli.tables import PlainTable, styled
from evpath.model.indicators import target_table
from evpath.results import SUMMARY_YEARS, Results
from evpath.scenario.emissions import METRICS

if TYPE_CHECKING:
    # the reverse questions load SciPy's optimisers: only `targets` needs them
    from evpath.analysis.reverse import ReverseAnswer


def say(text: str) -> None:
    """One message line, never wrapped (so it can be read, searched and copied whole)."""
    console.print(text, soft_wrap=True)


def _year_table(title: str, years: list[int]) -> PlainTable:
    table = PlainTable(title=title)
    table.add_column("", no_wrap=True)
    for year in years:
        table.add_column(str(year), justify="right")
    return table


def _years(ds: xr.Dataset) -> list[int]:
    return [y for y in SUMMARY_YEARS if y in ds.year.values]


class _At:
    """A run's variables at one region and the table's years, each selected when read
    (selecting from the whole Dataset would select every variable of the run)."""

    def __init__(self, ds: xr.Dataset, region: object, years: list[int]) -> None:
        self._ds, self._labels = ds, {"region": region, "year": years}

    def __getitem__(self, name: str) -> xr.DataArray:
        array = self._ds[name]
        return array.sel({d: v for d, v in self._labels.items() if d in array.dims})

    def __contains__(self, name: str) -> bool:
        return name in self._ds


def print_summary(results: Results) -> None:
    """Sales and stock mix in key years and the electrification verdict."""
    for variable, title in (("sales_share", "New sales mix"), ("stock_share", "Stock mix")):
        mix = results.summary_mix(variable)
        for region in mix.index.get_level_values("region").unique():
            table = PlainTable(
                "powertrain",
                *[str(y) for y in mix.columns],
                title=f"{title}, {region} [% of {'sales' if 'sales' in variable else 'stock'}]",
            )
            for powertrain, row in mix.loc[region].iterrows():
                table.add_row(str(powertrain), *[f"{100 * v:.1f}" for v in row])
            console.print(table)
    ds = results.dataset
    years = _years(ds)
    for region in ds.region.values:
        at = _At(ds, region, years)
        stock = at["stock"].sum("powertrain")
        age = (at["average_age"] * stock).sum("segment") / stock.sum("segment")
        _print_rows(
            f"Fleet, {region}",
            years,
            (
                ("sales (M/yr)", at["sales"].sum(["segment", "powertrain"]) / 1e6, 2),
                ("stock (M)", stock.sum("segment") / 1e6, 1),
                ("age (years)", age, 1),
            ),
        )
    check = results.history_check()
    if not check.empty:
        ev_stock = (check["metric"] == "stock") & (check["powertrain"] != "all")
        kind = check["metric"].where(~ev_stock, check["powertrain"] + " stock")
        console.print(
            "Gap to observed fleet data, weighted over the years "
            "(sum |model - observed| / sum observed), and the worst year:",
            highlight=False,
        )
        for name, rows in check.groupby(kind):
            off = (rows["model"] - rows["observed"]).abs()
            weighted = off.sum() / rows["observed"].abs().sum()
            worst = rows.loc[rows["relative_difference"].abs().idxmax()]
            console.print(
                f"  {name:<19} {100 * weighted:5.1f}%  {rows['year'].min()}-{rows['year'].max()}"
                f"  worst {100 * worst['relative_difference']:+.1f}% in {worst['year']}: "
                f"{_figure(worst['model'])} vs {_figure(worst['observed'])}",
                highlight=False,
            )
    verdict = results.target_verdict()
    for region, row in verdict.iterrows():
        share = 100 * row["electrified_share"]
        first = row["first_year_all_electrified"]
        when = f"all new sales electrified from {int(first)}" if first == first else "never 100%"
        status = "[green]met[/]" if row["met"] else "[red]not met[/]"
        say(
            f"{region}: electrified share of new sales in {int(row['target_year'])}: "
            f"{share:.1f}% -> target {status} ({when})"
        )

    if results.scenario.batteries is not None:
        print_batteries(results)
    if results.scenario.emissions is not None:
        print_emissions(results)
        print_target_line(results)
    if results.scenario.charging is not None:
        print_charging(results)


Row = tuple[str, xr.DataArray, int]
"""A table row: label, values over the table's years, decimals shown."""


def _print_rows(title: str, years: list[int], rows: tuple[Row, ...]) -> None:
    table = _year_table(title, years)
    for label, values, digits in rows:
        table.add_row(label, *[f"{v:,.{digits}f}" for v in values.values])
    console.print(table)


def print_charging(results: Results) -> None:
    """Public chargers, EVs per charger, standards and investment in key years."""
    ds = results.dataset
    years = [y for y in _years(ds) if y >= 2010]
    for region in ds.region.values:
        at = _At(ds, region, years)
        _print_rows(
            f"Public charging, {region}",
            years,
            (
                ("slow chargers", at["public_chargers"].sel(charger_type="slow"), 0),
                ("fast chargers", at["public_chargers"].sel(charger_type="fast"), 0),
                ("EVs per fast charger", at["evs_per_charger"].sel(charger_type="fast"), 1),
                ("investment (M USD/yr)", at["charging_investment"].sum("charger_type"), 1),
                ("fast grid (MW)", at["fast_charging_grid_mw"], 0),
                ("stranded EVs (%)", 100 * at["stranded_ev_share"], 1),
            ),
        )


def print_batteries(results: Results) -> None:
    """Battery GWh, plants, equipment, pack price and metals in key years."""
    ds = results.dataset
    years = [y for y in _years(ds) if y >= 2010]
    for region in ds.region.values:
        at = _At(ds, region, years)
        metal = at["metal_put_on_market"]
        _print_rows(
            f"Batteries and metals, {region}",
            years,
            (
                ("batteries (GWh/yr)", at["battery_demand"].sum(["segment", "powertrain"]), 1),
                ("cell capacity (GWh/yr)", at["cell_capacity"], 1),
                ("production lines", at["production_lines"], 0),
                ("equipment (M USD/yr)", at["equipment_investment"].sum("step"), 0),
                ("pack price (USD/kWh)", at["pack_price"], 0),
                ("cobalt (t/yr)", metal.sel(metal="cobalt"), 0),
                ("lithium (t LCE/yr)", at["lithium_carbonate_equivalent"], 0),
                ("nickel (t/yr)", metal.sel(metal="nickel"), 0),
                ("cobalt recovered (t/yr)", at["metal_recovered"].sel(metal="cobalt"), 0),
                (
                    "Co % of world mining",
                    100 * at["share_of_world_mine_production"].sel(metal="cobalt"),
                    2,
                ),
            ),
        )


def print_emissions(results: Results) -> None:
    """Emissions per car, per km and for the fleet in key years, and the decomposition."""
    ds = results.dataset
    years = _years(ds)
    for region in ds.region.values:
        at = _At(ds, region, years)
        fleet = at["emissions"].sum(["segment", "powertrain"])
        wtw = fleet.sel(stage=["tank_to_wheel", "well_to_tank"]).sum("stage")
        target = results.scenario.emissions.target  # type: ignore[union-attr]
        lifetime: tuple[Row, ...] = ()
        if "wtw_per_new_car_lifetime" in at:  # runs stored by an earlier evpath lack them
            lifetime = (
                ("WTW per new car, life (t/yr)", at["wtw_per_new_car_lifetime"] / 1e3, 2),
                ("WTW per new car, life (t)", at["wtw_lifetime_per_new_car"], 1),
            )
        counterfactual: tuple[Row, ...] = ()
        if "fleet_wtw_at_base_grid" in at:
            counterfactual = (
                (
                    f"fleet WTW, {target.base_year} grid (Mt/yr)",
                    at["fleet_wtw_at_base_grid"] / 1e9,
                    1,
                ),
            )
        _print_rows(
            f"Greenhouse gases, {region} [CO2e]",
            years,
            (
                ("WTW per new car (t/yr)", at["wtw_per_new_car"] / 1e3, 2),
                *lifetime,
                ("WTW per car (t/yr)", at["wtw_per_car"] / 1e3, 2),
                ("LCA per new car (t/yr)", at["lifecycle_per_new_car"] / 1e3, 2),
                ("WTW new car (g/km)", at["wtw_per_km_new"], 0),
                ("grid (g CO2e/kWh)", at["grid_intensity"], 0),
                ("fleet WTW (Mt/yr)", wtw / 1e9, 1),
                *counterfactual,
                ("fleet LCA (Mt/yr)", fleet.sum("stage") / 1e9, 1),
            ),
        )
        parts = ds["emission_change_factors"].sel(region=region)
        total = float(parts.sum())
        named = ", ".join(
            f"{str(f).replace('_', ' ')} {float(v) / 1e9:+.1f}"
            for f, v in zip(parts.factor.values, parts.values, strict=True)
        )
        say(
            f"Fleet WTW change {target.base_year}->{target.year}: {total / 1e9:+.1f} Mt CO2e/yr "
            f"= {named} (LMDI)"
        )
        contribution = results.grid_contribution()
        if not contribution.empty:
            row = contribution.loc[str(region)]
            say(
                f"The grid's part: fleet WTW in {target.year} {row['target'] / 1e9:.1f} Mt/yr at "
                f"{row['grid_target']:.0f} g/kWh, {row['at_base_grid'] / 1e9:.1f} Mt/yr at the "
                f"{target.base_year} grid ({row['grid_base']:.0f} g/kWh): "
                f"{row['grid'] / 1e9:+.1f} Mt/yr from the grid (LMDI 'carbon intensity' "
                f"{row['lmdi_carbon'] / 1e9:+.1f}: with little electricity used in "
                f"{target.base_year}, LMDI books most of the grid's effect under 'mix')"
            )


def print_target_line(results: Results) -> None:
    """One line per region: the per-car reduction reached against the target."""
    for region, row in results.emissions_target().iterrows():
        status = "[green]met[/]" if row["met"] else "[red]not met[/]"
        first = row["first_year_met"]
        say(
            f"{region}: {row['metric']} {row['target_year']} vs {row['base_year']}: "
            f"-{100 * row['reduction']:.1f}% (target -{100 * row['target_reduction']:.0f}%) -> "
            f"{status}"
            + (f", gap {100 * row['gap']:.1f} points" if not row["met"] else "")
            + (f", first met {first}" if first is not None else "")
        )


def print_target_table(results: Results) -> None:
    """Every per-car metric against the scenario's reduction target, one table per region."""
    assert results.scenario.emissions is not None
    spec = results.scenario.emissions.target
    tables = {
        metric: target_table(results.dataset, spec.model_copy(update={"metric": metric}))
        for metric in METRICS
        if metric in results.dataset
    }
    for region in results.dataset.region.values:
        table = PlainTable(
            title=f"Per-car greenhouse gases, {region}: target -{100 * spec.reduction:.0f}%"
            f" by {spec.year} vs {spec.base_year}"
        )
        table.add_column("metric", no_wrap=True)
        for column in (str(spec.base_year), str(spec.year), "change", "verdict"):
            table.add_column(column, justify="right", no_wrap=True)
        for metric, rows in tables.items():
            row = rows.loc[str(region)]
            unit = "kg/car/yr" if "vehicle" in row["unit"] else "g/km"
            verdict = (
                f"met {row['first_year_met']}" if row["met"] else f"gap {100 * row['gap']:.1f} pts"
            )
            table.add_row(
                f"{metric}{' *' if metric == spec.metric else ''} [{unit}]",
                f"{row['base_value']:.0f}",
                f"{row['value']:.0f}",
                f"-{100 * row['reduction']:.1f}%",
                verdict,
            )
        console.print(table)
    say(
        "* the scenario's target metric; WTW well-to-wheel, lifecycle adds making the car; "
        "_lifetime: a new car over its expected years on the road, each year's fuels and grid "
        "(the others: in its first year)"
    )


def print_grid_break_even(results: Results) -> None:
    """Per region and per-new-car metric: the grid intensity at which the verdict changes."""
    table = results.grid_break_even()
    if table.empty:
        return
    spec = results.scenario.emissions.target  # type: ignore[union-attr]
    say(
        f"How the verdict depends on the grid (intensity held from {spec.year} on, "
        "everything else as modelled):"
    )
    for (region, metric), row in table.iterrows():
        now = f"{row['grid']:.0f} g/kWh in {spec.year}: -{100 * row['reduction']:.1f}%"
        limit = row["break_even"]
        if limit != limit:  # NaN
            verdict = "the metric does not depend on the grid"
        elif limit < 0:
            verdict = (
                f"no grid meets -{100 * spec.reduction:.0f}%: even 0 g/kWh misses it "
                f"(break-even {limit:.0f} g/kWh)"
            )
        else:
            verdict = f"met at or below {limit:.0f} g/kWh" + (
                "" if row["met"] else f", {row['grid'] - limit:.0f} g/kWh cleaner than modelled"
            )
        say(f"  {region} {metric}: {now}; {verdict}")


def print_grid_pathways(results: Results, verdicts: pd.DataFrame) -> None:
    """The verdict under each bundled grid pathway (from
    :func:`evpath.analysis.reverse.grid_pathway_verdicts`)."""
    spec = results.scenario.emissions.target  # type: ignore[union-attr]
    for region in verdicts.index.get_level_values("region").unique():
        at = verdicts.xs(region, level="region")
        metrics = list(at.index.get_level_values("metric").unique())
        table = PlainTable(
            title=f"Verdict under each bundled grid pathway, {region}: "
            f"-{100 * spec.reduction:.0f}% by {spec.year} vs {spec.base_year}"
        )
        # in a narrow terminal the names fold; the numbers never do
        table.add_column("grid pathway", overflow="fold")
        table.add_column(f"{spec.year} (g/kWh)", justify="right", no_wrap=True)
        for metric in metrics:
            table.add_column(metric, justify="right", no_wrap=True)
        for pathway in at.index.get_level_values("pathway").unique():
            rows = at.loc[pathway]
            cells = [
                styled(
                    f"-{100 * rows.loc[m, 'reduction']:.1f}% ",
                    ("met", "green") if rows.loc[m, "met"] else ("not met", "red"),
                )
                for m in metrics
            ]
            table.add_row(str(pathway), f"{rows['grid'].iloc[0]:.0f}", *cells)
        console.print(table)


def print_reverse(results: Results, answer: ReverseAnswer, metric: str | None) -> None:
    """The answers to the reverse questions."""
    spec = results.scenario.emissions.target  # type: ignore[union-attr]
    used = metric or spec.metric
    say(f"What it takes ({used}, -{100 * spec.reduction:.0f}% by {spec.year}):")
    if answer.phase_out_year is None:
        say("  ending sales of cars without a plug right after the history is not enough")
    else:
        say(
            f"  sales of cars without a plug (gasoline, diesel, mild and full hybrids) must end by "
            f"{answer.phase_out_year}"
        )
    if answer.plug_in_shift is None:
        say("  moving every non-plug-in sale to BEVs at each milestone is not enough")
    else:
        say(
            f"  or move {100 * answer.plug_in_shift:.1f}% of non-plug-in sales to BEVs at every "
            f"milestone: BEV share of new sales in {spec.year}: "
            f"{100 * (answer.bev_share_needed or 0.0):.1f}%"
        )


def _figure(value: float) -> str:
    """A model or observed figure, short: 42.87 bn, 61.54 M, 145,956, 8.55."""
    for scale, suffix in ((1e9, " bn"), (1e6, " M")):
        if abs(value) >= scale:
            return f"{value / scale:.2f}{suffix}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
