"""What the CLI prints about a run: mixes, fleet, history check, targets, emissions."""

from __future__ import annotations

import xarray as xr
from rich.table import Table

from evpath.cli.console import console
from evpath.model.targets import target_table
from evpath.results import SUMMARY_YEARS, Results
from evpath.scenario.emissions import METRICS
from evpath.targets import ReverseAnswer


def say(text: str) -> None:
    """One message line, never wrapped (so it can be read, searched and copied whole)."""
    console.print(text, soft_wrap=True)


def _year_table(title: str, years: list[int]) -> Table:
    table = Table(title=title)
    table.add_column("", no_wrap=True)
    for year in years:
        table.add_column(str(year), justify="right")
    return table


def _years(ds: xr.Dataset) -> list[int]:
    return [y for y in SUMMARY_YEARS if y in ds.year.values]


def print_summary(results: Results) -> None:
    """Sales and stock mix in key years and the electrification verdict."""
    for variable, title in (("sales_share", "New sales mix"), ("stock_share", "Stock mix")):
        mix = results.summary_mix(variable)
        for region in mix.index.get_level_values("region").unique():
            table = Table(
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
        at = ds.sel(region=region, year=years)
        table = _year_table(f"Fleet, {region}", years)
        table.add_row(
            "sales (M/yr)",
            *[f"{v / 1e6:.2f}" for v in at["sales"].sum(["segment", "powertrain"]).values],
        )
        table.add_row(
            "stock (M)",
            *[f"{v / 1e6:.1f}" for v in at["stock"].sum(["segment", "powertrain"]).values],
        )
        stock = at["stock"].sum("powertrain")
        age = (at["average_age"] * stock).sum("segment") / stock.sum("segment")
        table.add_row("age (years)", *[f"{v:.1f}" for v in age.values])
        console.print(table)
    check = results.history_check()
    if not check.empty:
        ev_stock = (check["metric"] == "stock") & (check["powertrain"] != "all")
        kind = check["metric"].where(~ev_stock, check["powertrain"] + " stock")
        gaps = check.groupby(kind)["relative_difference"].agg(lambda d: d.abs().max())
        years_of = check.groupby(kind)["year"].agg(lambda y: f"{y.min()}-{y.max()}")
        console.print("Largest gap to observed fleet data:", highlight=False)
        for name, gap in gaps.items():
            console.print(f"  {name:<20} {100 * gap:5.1f}%  ({years_of[name]})", highlight=False)
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


def print_charging(results: Results) -> None:
    """Public chargers, EVs per charger, standards and investment in key years."""
    ds = results.dataset
    years = [y for y in _years(ds) if y >= 2010]
    for region in ds.region.values:
        at = ds.sel(region=region, year=years)
        table = _year_table(f"Public charging, {region}", years)
        rows = (
            ("slow chargers", at["public_chargers"].sel(charger_type="slow"), 0),
            ("fast chargers", at["public_chargers"].sel(charger_type="fast"), 0),
            ("EVs per fast charger", at["evs_per_charger"].sel(charger_type="fast"), 1),
            ("investment (M USD/yr)", at["charging_investment"].sum("charger_type"), 1),
            ("fast grid (MW)", at["fast_charging_grid_mw"], 0),
            ("stranded EVs (%)", 100 * at["stranded_ev_share"], 1),
        )
        for label, values, digits in rows:
            table.add_row(label, *[f"{v:,.{digits}f}" for v in values.values])
        console.print(table)


def print_batteries(results: Results) -> None:
    """Battery GWh, plants, equipment, pack price and metals in key years."""
    ds = results.dataset
    years = [y for y in _years(ds) if y >= 2010]
    for region in ds.region.values:
        at = ds.sel(region=region, year=years)
        table = _year_table(f"Batteries and metals, {region}", years)
        rows = (
            ("batteries (GWh/yr)", at["battery_demand"].sum(["segment", "powertrain"]), 1.0, 1),
            ("cell capacity (GWh/yr)", at["cell_capacity"], 1.0, 1),
            ("production lines", at["production_lines"], 1.0, 0),
            ("equipment (M USD/yr)", at["equipment_investment"].sum("step"), 1.0, 0),
            ("pack price (USD/kWh)", at["pack_price"], 1.0, 0),
            ("cobalt (t/yr)", at["metal_put_on_market"].sel(metal="cobalt"), 1.0, 0),
            ("lithium (t LCE/yr)", at["lithium_carbonate_equivalent"], 1.0, 0),
            ("nickel (t/yr)", at["metal_put_on_market"].sel(metal="nickel"), 1.0, 0),
            ("cobalt recovered (t/yr)", at["metal_recovered"].sel(metal="cobalt"), 1.0, 0),
            (
                "Co % of world mining",
                at["share_of_world_mine_production"].sel(metal="cobalt"),
                100.0,
                2,
            ),
        )
        for label, values, scale, digits in rows:
            table.add_row(label, *[f"{v * scale:,.{digits}f}" for v in values.values])
        console.print(table)


def print_emissions(results: Results) -> None:
    """Emissions per car, per km and for the fleet in key years, and the decomposition."""
    ds = results.dataset
    years = _years(ds)
    rows = (
        ("WTW per new car (t/yr)", "wtw_per_new_car", 1e-3),
        ("WTW per car (t/yr)", "wtw_per_car", 1e-3),
        ("LCA per new car (t/yr)", "lifecycle_per_new_car", 1e-3),
        ("WTW new car (g/km)", "wtw_per_km_new", 1.0),
        ("grid (g CO2e/kWh)", "grid_intensity", 1.0),
    )
    for region in ds.region.values:
        at = ds.sel(region=region, year=years)
        table = _year_table(f"Greenhouse gases, {region} [CO2e]", years)
        for label, name, scale in rows:
            table.add_row(
                label, *[f"{v * scale:.{2 if scale < 1 else 0}f}" for v in at[name].values]
            )
        fleet = at["emissions"].sum(["segment", "powertrain"])
        wtw = fleet.sel(stage=["tank_to_wheel", "well_to_tank"]).sum("stage")
        table.add_row("fleet WTW (Mt/yr)", *[f"{v / 1e9:.1f}" for v in wtw.values])
        table.add_row("fleet LCA (Mt/yr)", *[f"{v / 1e9:.1f}" for v in fleet.sum("stage").values])
        console.print(table)
        target = results.scenario.emissions.target  # type: ignore[union-attr]
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
    }
    for region in results.dataset.region.values:
        table = Table(
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
    console.print(
        "* the scenario's target metric; WTW well-to-wheel, lifecycle adds making the car"
    )


def print_reverse(results: Results, answer: ReverseAnswer, metric: str | None) -> None:
    """The answers to the reverse questions."""
    spec = results.scenario.emissions.target  # type: ignore[union-attr]
    used = metric or spec.metric
    say(f"What it takes ({used}, -{100 * spec.reduction:.0f}% by {spec.year}):")
    if answer.phase_out_year is None:
        say("  ending sales of cars without a plug right after the history is not enough")
    else:
        say(
            f"  sales of cars without a plug (gasoline, diesel, HEV) must end by "
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
