"""The makers' scope: sums close, the Japan market is the domestic run, the scope's
per-car figures are the weighted markets, and bad scope files are clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import evpath
from evpath.cli.app import app
from evpath.data.makers import WORLD, maker_history
from evpath.errors import ScenarioError
from evpath.model.scope import ALL_MARKETS, SCOPE_VARIABLES, allocated_sales
from evpath.results import ScopeResults
from evpath.scenario.scope import bundled_scopes, load_scope

runner = CliRunner()
one_worker = pytest.mark.xdist_group("makers-scope")  # one worker runs the makers' scope once


@pytest.fixture(scope="module")
def makers(shared_run) -> ScopeResults:
    results = shared_run("japan-makers-2050")
    assert isinstance(results, ScopeResults)
    return results


def test_each_makers_markets_add_up_to_its_worldwide_total_in_every_data_year():
    spec = load_scope("japan-makers-2050")
    history = maker_history(spec.scope.makers.history)
    table, provenance = allocated_sales(history, spec.scope.makers, 2024)
    for (maker, year), rows in provenance.groupby(["maker", "year"]):
        world = history.sales.sel(maker=maker, market=WORLD, year=year)
        if np.isnan(float(world)):
            world = history.world_production.sel(maker=maker, year=year)
        assert float(table.sel(maker=maker, year=year).sum()) == pytest.approx(float(world))
        for _, row in rows[rows["basis"] == "reported"].iterrows():
            figure = history.sales.sel(maker=maker, market=row["market"], year=year)
            assert row["vehicles"] == pytest.approx(float(figure))
    assert float(table.min()) >= 0.0
    toyota_2010 = provenance.query("maker == 'Toyota' and year == 2010")
    assert set(toyota_2010["basis"]) == {"allocated"}


@one_worker
def test_maker_rows_add_up_to_the_makers_cars_in_every_market(makers):
    ds = makers.dataset
    by_maker = ds["maker_sales"].sum("maker")
    assert np.allclose(by_maker, ds["sales"].sum("segment"), rtol=1e-9)
    share = ds["sales"].sum(["segment", "powertrain"]) / ds["market_sales"].sum("powertrain")
    assert np.allclose(share, ds["makers_market_share"], rtol=1e-9)
    assert float(ds["maker_sales"].min()) >= 0.0


@one_worker
def test_the_makers_stock_balances(makers):
    ds = makers.dataset
    stock = ds["stock"].sum("segment")
    change = stock.diff("year")
    flows = (ds["sales"] - ds["outflow"]).sum("segment").isel(year=slice(1, None))
    assert np.allclose(change, flows, atol=1e-6 * float(stock.max()))


@one_worker
def test_the_japan_market_is_the_domestic_run_at_the_makers_share(makers, japan_2050):
    japan = makers.dataset.sel(region="JPN")
    domestic = japan_2050.dataset.sel(region="JPN", year=slice(2010, 2050))
    years = domestic.year
    assert np.allclose(
        japan["wtw_per_new_car"].sel(year=years), domestic["wtw_per_new_car"], rtol=1e-9
    )
    assert np.allclose(
        japan["sales"].sel(year=years, segment=domestic.segment),
        0.94 * domestic["sales"],
        rtol=1e-9,
    )


@one_worker
def test_the_scope_is_the_markets_weighted_by_the_makers_new_cars(makers):
    ds = makers.dataset
    cars = ds["sales"].sum(["segment", "powertrain"])
    by_hand = (ds["wtw_per_new_car"] * cars).sum("region") / cars.sum("region")
    scope = ds["scope_per_car"].sel(metric="wtw_per_new_car")
    assert np.allclose(scope, by_hand, rtol=1e-12)
    frame = makers.emissions_target()
    whole = frame.loc[ALL_MARKETS]
    goal = 0.1 * whole["base_value"]
    markets = frame.drop(ALL_MARKETS)
    assert markets["weight"].sum() == pytest.approx(1.0)
    assert markets["contribution"].sum() == pytest.approx(whole["value"] - goal)
    for market, row in markets.iterrows():
        others = (markets["weight"] * markets["value"]).drop(market).sum()
        assert row["needed_alone"] == pytest.approx((goal - others) / row["weight"])


@one_worker
def test_every_scope_variable_is_catalogued(makers):
    assert set(SCOPE_VARIABLES) <= set(makers.dataset.data_vars)
    assert not makers.tidy["value"].isna().all()


@one_worker
def test_the_verdicts_cover_every_market(makers):
    verdict = makers.target_verdict()
    assert list(verdict.index) == [*makers.markets, ALL_MARKETS]
    assert verdict.loc[ALL_MARKETS, "electrified_share"] == pytest.approx(1.0)


def _scope_file(tmp_path, change):
    document = yaml.safe_load(bundled_scopes()["japan-makers-2050"].read_text(encoding="utf-8"))
    change(document)
    path = tmp_path / "scope.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["markets"].update(Mars=d["markets"]["India"]), "markets.Mars: unknown market"),
        (lambda d: d["makers"]["groups"].append("Tesla"), "makers.groups[7]: got 'Tesla'"),
        (
            lambda d: d["makers"]["allocation"]["Suzuki"].update(India=0.9),
            "makers.allocation: Suzuki: shares sum",
        ),
        (
            lambda d: d["markets"]["India"].update(scenario="market-china"),
            "region 'China' is already in market",
        ),
        (
            lambda d: d["markets"]["Europe"]["mix"]["path"][2050].update(BEV=0.5),
            "markets.Europe.mix.path: 2050: shares sum",
        ),
        (lambda d: d["target"].update(metric="wtw_per_km_new"), "target.metric"),
    ],
)
def test_a_bad_scope_file_exits_2_naming_the_field(tmp_path, change, expected):
    path = _scope_file(tmp_path, change)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert expected in result.output.replace("\n", " ")
    assert "Traceback" not in result.output


def test_a_market_scenario_without_emissions_is_refused(tmp_path):
    path = _scope_file(
        tmp_path, lambda d: d["markets"]["China"].update(scenario="china-current-trends")
    )
    with pytest.raises(ScenarioError, match=r"markets.China.scenario: .* without emissions"):
        load_scope(path)


def test_the_bundled_scopes_validate_and_list():
    result = runner.invoke(app, ["validate", *bundled_scopes()])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["scenarios"])
    assert all(name in listed.output for name in bundled_scopes())


@pytest.mark.long
def test_a_scope_run_reads_back_from_the_store(tmp_path):
    from evpath.io.store import ResultsStore

    # two markets keep the store, the export and the report small
    document = yaml.safe_load(bundled_scopes()["japan-makers-2050"].read_text(encoding="utf-8"))
    document["markets"] = {k: document["markets"][k] for k in ("Japan", "Europe")}
    makers = evpath.run(document)
    assert isinstance(makers, ScopeResults)
    paths = makers.write(tmp_path / "out", tmp_path / "runs.duckdb")
    stored = ResultsStore(paths["store"]).table("results", makers.run_id)
    assert set(SCOPE_VARIABLES) <= set(stored["variable"])
    share = stored[stored["variable"] == "makers_market_share"]
    assert share["value"].between(0.0, 1.0).all()

    store = str(paths["store"])
    shown = runner.invoke(app, ["show", makers.run_id[:26], "--store", store])
    assert shown.exit_code == 0, shown.output
    assert "Per-car target over every market" in shown.output
    assert "of the makers' cars (kg CO2e/vehicle/yr); goal" in shown.output  # the unit kept
    iamc = tmp_path / "scope.iamc.csv"
    exported = runner.invoke(
        app, ["export", makers.run_id, "--format", "iamc", "--store", store, "--out", str(iamc)]
    )
    assert exported.exit_code == 0, exported.output
    regions = set(pd.read_csv(iamc)["region"])
    assert regions == {"Japan", "Europe"}
    page = tmp_path / "scope.html"
    drawn = runner.invoke(app, ["report", makers.run_id, "--store", store, "--out", str(page)])
    assert drawn.exit_code == 0, drawn.output
    assert "Greenhouse gases per car against the target" in page.read_text(encoding="utf-8")


@one_worker
def test_alliance_members_buy_for_their_own_maker_rows(makers):
    from evpath.procurement import load_alliance
    from evpath.procurement.instance import resolve

    alliance = load_alliance("japan-makers-cobalt")
    instance = resolve(alliance, run_data=makers.dataset)
    rows = makers.dataset["maker_metal_primary_demand"].sel(metal="cobalt", year=instance.years)
    for i, member in enumerate(alliance.members):
        assert member.share_of_run is not None
        own = rows.sel(maker=member.share_of_run.makers).sum("maker")
        assert np.allclose(instance.demand[i], own, rtol=1e-12)
    every = rows.sum("maker")
    assert np.allclose(instance.demand.sum(axis=0), every, rtol=1e-12)


def test_a_member_reads_a_region_or_makers_not_both(tmp_path):
    from evpath.cli.app import app as cli

    text = (Path(__file__).parents[1] / "src/evpath/alliances/japan_makers_cobalt.yaml").read_text(
        encoding="utf-8"
    )
    path = tmp_path / "both.yaml"
    path.write_text(text.replace("makers: [Honda],", "makers: [Honda], region: JPN,"), "utf-8")
    result = runner.invoke(cli, ["procure", str(path), "--no-store", "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "members[1].share_of_run" in result.output
    assert "exactly one of 'region:'" in result.output
    path.write_text(text.replace("makers: [Honda],", "makers: [Honda, Honda],"), "utf-8")
    result = runner.invoke(cli, ["procure", str(path), "--no-store", "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "members[1].share_of_run.makers: makers repeated: Honda; allowed: each maker once" in (
        result.output
    )


@one_worker
def test_market_and_maker_names_print_as_written(makers):
    """Names are printed as text: a market named with brackets keeps them (Rich would read
    them as a style and drop them)."""
    import dataclasses

    from evpath.cli.console import console
    from evpath.cli.scope import print_scope_summary

    renamed = dataclasses.replace(
        makers, markets={f"{name} [bold]": market for name, market in makers.markets.items()}
    )
    with console.capture() as captured:
        print_scope_summary(renamed)
    text = captured.get()
    for name in makers.markets:
        assert f"{name} [bold]" in text
