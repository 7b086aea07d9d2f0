"""evpath secure: the disruption file, the two-stage stochastic LP and the command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
import typer
import yaml
from typer.testing import CliRunner

from evpath.cli.security import register
from evpath.errors import ProcurementError, ScenarioError
from evpath.procurement import load_alliance, resolve
from evpath.procurement.disruptions import alliance_of, disruption_path, load_disruptions
from evpath.procurement.security import POOLED, cvar, resolve_scenarios, secure, solve_security

USD_PER_KG = 1000.0


def alliance_doc(
    suppliers: list[tuple[str, str, float, float]],
    demand: float = 100.0,
    members: int = 1,
    years: list[int] | None = None,
) -> dict[str, Any]:
    """An alliance with constant demand split evenly and one-tier suppliers
    (name, country, capacity t/yr, price USD/kg)."""
    return {
        "name": "tiny",
        "metal": "cobalt",
        "years": years or [2025],
        "price_unit": "USD/kg",
        "members": [
            {
                "name": f"m{i}",
                "demand": {2020: demand / members, 2050: demand / members},
                "note": "n",
            }
            for i in range(members)
        ],
        "suppliers": [
            {
                "name": n,
                "country": c,
                "capacity": cap,
                "tiers": [{"up_to": None, "price": p}],
                "note": "n",
            }
            for n, c, cap, p in suppliers
        ],
        "policy": {"country_cap": 1.0, "min_suppliers": 1, "note": "n"},
    }


def disruption_doc(scenarios: list[dict[str, Any]], **risk: Any) -> dict[str, Any]:
    return {
        "name": "shocks",
        "alliance": "tiny.yaml",
        "price_unit": "USD/kg",
        "scenarios": [{"note": "n", **s} for s in scenarios],
        "spot": {"price": 20, "capacity": 30, "shortfall_penalty": 100, "note": "n"},
        "risk": {"note": "n", **risk},
    }


def test_half_cut_gives_the_shortfall_and_spot_cost_by_hand():
    # Demand 100 t, one supplier of 100 t at 10 USD/kg, cut by half: 50 t delivered,
    # 30 t spot (its whole capacity) at 20 USD/kg, 20 t short at 100 USD/kg.
    instance = resolve(load_alliance(alliance_doc([("s", "X", 100.0, 10.0)])))
    spec = load_disruptions(
        disruption_doc(
            [
                {
                    "name": "half",
                    "probability": 1.0,
                    "country_cuts": [
                        {"country": "X", "share": 0.5, "years": {"start": 2025, "end": 2025}}
                    ],
                }
            ]
        )
    )
    result = secure(spec, instance)
    plan = result.pooled
    assert plan.contracts.sum() == pytest.approx(100.0)
    assert plan.spot.sum() == pytest.approx(30.0)
    assert plan.expected_shortfall == pytest.approx(20.0)
    assert plan.shortfall_probability == pytest.approx(1.0)
    expected = (50 * 10 + 30 * 20 + 20 * 100) * USD_PER_KG
    assert plan.expected_cost == pytest.approx(expected)
    assert plan.scenario_cost == pytest.approx([expected])
    assert plan.worst_cost == pytest.approx(expected)


def test_no_disruption_and_no_risk_weight_is_the_plain_lp():
    # Cheapest first: 60 t at 10 USD/kg, the other 40 t at 12 USD/kg.
    instance = resolve(
        load_alliance(alliance_doc([("a", "X", 60.0, 10.0), ("b", "Y", 100.0, 12.0)]))
    )
    spec = load_disruptions(disruption_doc([{"name": "calm", "probability": 1.0}], **{"lambda": 0}))
    plan = secure(spec, instance).pooled
    assert plan.contracts[:, 0] == pytest.approx([60.0, 40.0])
    assert plan.contract_cost == pytest.approx((60 * 10 + 40 * 12) * USD_PER_KG)
    assert plan.expected_cost == pytest.approx(plan.contract_cost)
    assert plan.expected_shortfall == pytest.approx(0.0)


def test_probabilities_must_sum_to_one_with_the_field_path():
    doc = disruption_doc([{"name": "a", "probability": 0.5}, {"name": "b", "probability": 0.4}])
    with pytest.raises(ScenarioError) as info:
        load_disruptions(doc)
    text = str(info.value)
    assert "invalid disruption file" in text
    assert "scenarios: " in text
    assert "sum to 0.9" in text


def test_blocks_need_a_source_or_note_and_cuts_must_hit_a_supplier_country_and_year():
    doc = disruption_doc([{"name": "a", "probability": 1.0}])
    del doc["spot"]["note"]
    with pytest.raises(ScenarioError, match=r"spot"):
        load_disruptions(doc)
    instance = resolve(load_alliance(alliance_doc([("s", "X", 100.0, 10.0)])))
    cut = {"country": "Atlantis", "share": 1.0, "years": {"start": 2025, "end": 2025}}
    spec = load_disruptions(
        disruption_doc([{"name": "a", "probability": 1.0, "country_cuts": [cut]}])
    )
    with pytest.raises(ProcurementError, match=r"scenarios\[0\]\.country_cuts\[0\]\.country"):
        secure(spec, instance)
    cut = {"country": "X", "share": 1.0, "years": {"start": 1990, "end": 1991}}
    spec = load_disruptions(
        disruption_doc([{"name": "a", "probability": 1.0, "country_cuts": [cut]}])
    )
    with pytest.raises(
        ProcurementError,
        match=r"country_cuts\[0\]\.years: got 1990-1991; allowed: years that overlap the",
    ):
        secure(spec, instance)


def test_pooling_costs_no_more_and_cvar_is_at_least_the_mean():
    # Volume discounts for supplier a, so that the pooled buyer pays less per tonne.
    doc = alliance_doc(
        [("a", "X", 300.0, 10.0), ("b", "Y", 200.0, 12.0)],
        demand=300.0,
        members=3,
        years=[2025, 2026, 2027],
    )
    doc["suppliers"][0]["tiers"] = [{"up_to": 50, "price": 12}, {"up_to": None, "price": 9}]
    instance = resolve(load_alliance(doc))
    scenarios = [
        {"name": "calm", "probability": 0.6},
        {
            "name": "ban",
            "probability": 0.3,
            "country_cuts": [{"country": "X", "share": 1.0, "years": {"start": 2026, "end": 2026}}],
            "spot_price_multiplier": 2.0,
        },
        {"name": "rival", "probability": 0.1, "competing_buyer": 0.3},
    ]
    for weight in (0.0, 1.0):
        spec = load_disruptions(disruption_doc(scenarios, **{"lambda": weight, "alpha": 0.8}))
        result = secure(spec, instance)
        alone_objective = sum(p.objective for p in result.alone)
        assert result.pooled.objective <= alone_objective + 1e-6 * alone_objective
        if weight == 0.0:
            assert result.pooled.expected_cost <= result.expected_cost_alone * (1 + 1e-9)
            assert result.saving > 0
        for plan in (*result.alone, result.pooled):
            assert plan.cvar >= plan.expected_cost - 1e-6 * plan.expected_cost
            assert plan.worst_cost >= plan.cvar - 1e-6 * plan.cvar
        assert result.by_scenario().shape[0] == 4 * 3
        assert result.plans().shape[0] == 4


def calm_plan(doc: dict[str, Any]) -> Any:
    """The pooled plan of an alliance document in one calm scenario, expected cost only."""
    spec = load_disruptions(disruption_doc([{"name": "calm", "probability": 1.0}], **{"lambda": 0}))
    return secure(spec, resolve(load_alliance(doc)), mip_rel_gap=0.0).pooled


def test_contracts_follow_the_country_cap_and_minimum_orders():
    # 100 t: a (X) at 10 USD/kg for 60 t, b (Y) at 12. At most 50 % from one country:
    # 50 t each, 1,100 kUSD instead of 60 + 40 t (1,080 kUSD).
    doc = alliance_doc([("a", "X", 60.0, 10.0), ("b", "Y", 100.0, 12.0)])
    doc["policy"]["country_cap"] = 0.5
    plan = calm_plan(doc)
    assert plan.contracts[:, 0] == pytest.approx([50.0, 50.0])
    assert plan.expected_cost == pytest.approx((50 * 10 + 50 * 12) * USD_PER_KG)
    # b sells at least 50 t: 50 t from a and 50 t from b (not 60 + 40)
    doc = alliance_doc([("a", "X", 60.0, 10.0), ("b", "Y", 100.0, 12.0)])
    doc["suppliers"][1]["min_order"] = 50
    plan = calm_plan(doc)
    assert plan.contracts[:, 0] == pytest.approx([50.0, 50.0])


def test_tiers_and_contract_cost_with_a_half_cut_by_hand():
    # One supplier, 100 t: first 50 t at 12 USD/kg, the rest at 9, contract 20 kUSD/yr.
    # Contracts: 50 × 12 + 50 × 9 = 1,050 kUSD. Half cut: 50 t delivered and paid at half
    # the tier cost (525 kUSD), the contract cost in full (20), 30 t spot at 20 (600) and
    # 20 t short at 100 (2,000).
    doc = alliance_doc([("s", "X", 100.0, 12.0)])
    doc["suppliers"][0]["tiers"] = [{"up_to": 50, "price": 12}, {"up_to": None, "price": 9}]
    doc["suppliers"][0]["fixed_cost"] = 20_000
    cut = {"country": "X", "share": 0.5, "years": {"start": 2025, "end": 2025}}
    spec = load_disruptions(
        disruption_doc(
            [
                {"name": "calm", "probability": 0.5},
                {"name": "half", "probability": 0.5, "country_cuts": [cut]},
            ],
            **{"lambda": 0},
        )
    )
    plan = secure(spec, resolve(load_alliance(doc)), mip_rel_gap=0.0).pooled
    assert plan.contracts[0, 0] == pytest.approx(100.0)
    assert plan.contract_cost == pytest.approx(1_070_000)
    calm, half = 1_070_000, 525_000 + 20_000 + 600_000 + 2_000_000
    assert plan.scenario_cost == pytest.approx([calm, half])
    assert plan.scenario_shortfall == pytest.approx([0.0, 20.0])


def test_discounting_and_price_path_in_the_disruption_model():
    # 100 t a year for two years at 10 USD/kg, 2026 prices × 1.3, discounted at 10 %/yr:
    # 2026's tonnes bought ahead cost 100 × 10 + holding 1 kUSD/t = 1,100 kUSD; bought in
    # 2026, 100 × 13 / 1.1 = 1,182 kUSD. The file asks for one supplier a year (at least
    # 1 t to count), so 1 t of 2026's demand is bought in 2026.
    doc = alliance_doc([("s", "X", 1_000.0, 10.0)], years=[2025, 2026])
    doc["suppliers"][0]["price_index"] = {2025: 1.0, 2026: 1.3}
    doc["policy"].update(discount_rate=0.1, holding_cost=1_000)
    plan = calm_plan(doc)
    assert plan.contracts[0] == pytest.approx([199.0, 1.0])
    expected = 199 * 10_000 + 99 * 1_000 + 1 * 13_000 / 1.1
    assert plan.expected_cost == pytest.approx(expected)


def test_leftover_value_above_an_unlimited_spot_price_is_refused():
    """Below every supplier's price (as the alliance file requires), above the spot's."""
    doc = alliance_doc([("s", "X", 100.0, 30.0)])
    doc["policy"]["leftover_value"] = 25
    spec = disruption_doc([{"name": "calm", "probability": 1.0}])
    spec["spot"]["capacity"] = None
    with pytest.raises(ProcurementError, match=r"policy\.leftover_value"):
        secure(load_disruptions(spec), resolve(load_alliance(doc)))


def test_cvar_of_a_discrete_distribution():
    cost = np.array([1.0, 2.0, 10.0])
    p = np.array([0.5, 0.3, 0.2])
    assert cvar(cost, p, 0.0) == pytest.approx(p @ cost)
    assert cvar(cost, p, 0.8) == pytest.approx(10.0)
    assert cvar(cost, p, 0.7) == pytest.approx((0.1 * 2 + 0.2 * 10) / 0.3)


def test_bundled_example_loads_and_solves():
    """The bundled example's scenarios as its file says, and the alliance's pooled plan
    for them (members alone, and the whole ``secure`` with its time, are in
    ``benchmarks/bench_procurement.py --disruption japan-cobalt-disruption``; pooling
    never costs more is tested above)."""
    path = disruption_path("japan-cobalt-disruption")
    spec = load_disruptions(path)
    alliance = alliance_of(spec, path)
    assert alliance.name == "japan-cobalt"
    instance = resolve(alliance)
    scenarios = resolve_scenarios(spec, instance)
    names = scenarios.names
    assert len(names) == 3
    assert scenarios.probability.sum() == pytest.approx(1.0)
    ban = names.index("DRC export ban 2030-2031")
    congo = instance.countries.index("Congo (Kinshasa)")
    years = np.arange(2025, 2041)
    banned = (years >= 2030) & (years <= 2031)
    assert scenarios.available[ban, congo, banned] == pytest.approx(0.0)
    assert scenarios.available[ban, congo, ~banned] == pytest.approx(1.0)
    risk = spec.risk
    everyone = tuple(range(len(instance.members)))
    pooled = solve_security(
        instance, scenarios, everyone, POOLED, risk.lambda_, risk.alpha,
        risk.max_expected_shortfall, mip_rel_gap=1e-2,
    )  # fmt: skip
    assert pooled.mip_gap <= 1e-2
    assert np.isfinite(pooled.objective)
    assert 0.0 <= pooled.expected_shortfall < instance.demand.sum()


def test_bundled_alliances_do_not_include_disruption_files():
    from evpath.procurement.schema import bundled_alliances

    assert "japan-cobalt-disruption" not in bundled_alliances()


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Test app."""

    return app


def test_secure_command_prints_plans_and_exits_2_on_a_bad_file(tmp_path: Path):
    (tmp_path / "tiny.yaml").write_text(
        yaml.safe_dump(alliance_doc([("s", "X", 100.0, 10.0)], members=2)), encoding="utf-8"
    )
    good = disruption_doc(
        [
            {"name": "calm", "probability": 0.8},
            {"name": "rival", "probability": 0.2, "competing_buyer": 0.5},
        ]
    )
    (tmp_path / "shocks.yaml").write_text(yaml.safe_dump(good), encoding="utf-8")
    runner = CliRunner()
    store = tmp_path / "runs.duckdb"
    ok = runner.invoke(
        cli(), ["secure", str(tmp_path / "shocks.yaml"), "--lambda", "0.5", "--store", str(store)]
    )
    assert ok.exit_code == 0, ok.output
    assert "alliance pooled" in ok.output
    assert "value of pooling" in ok.output
    assert "spot [t]" in ok.output  # the unit of the header kept
    with duckdb.connect(str(store), read_only=True) as stored:
        plans = stored.execute("SELECT plan, expected_cost, alliance FROM security_plans").df()
        scenarios = stored.execute("SELECT DISTINCT scenario FROM security_scenarios").df()
    assert len(plans) == 3  # two members alone and the alliance pooled
    assert set(scenarios["scenario"]) == {"calm", "rival"}
    assert (plans["expected_cost"] > 0).all()
    bad = {**good, "scenarios": [{"name": "calm", "probability": 0.7, "note": "n"}]}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad), encoding="utf-8")
    failed = runner.invoke(cli(), ["secure", str(tmp_path / "bad.yaml")])
    assert failed.exit_code == 2
    assert "scenarios" in failed.output
    negative = runner.invoke(cli(), ["secure", str(tmp_path / "shocks.yaml"), "--lambda", "-1"])
    assert negative.exit_code == 2
    assert "--lambda" in negative.output


def test_a_shortfall_penalty_beyond_reach_of_the_solver_is_refused():
    """Above 1000 times the highest spot price (20 USD/kg × 2 here) the file is refused."""
    doc = disruption_doc([{"name": "a", "probability": 1.0, "spot_price_multiplier": 2.0}])
    doc["spot"]["shortfall_penalty"] = 40_000
    load_disruptions(doc)
    doc["spot"]["shortfall_penalty"] = 40_001
    with pytest.raises(
        ScenarioError, match=r"spot\.shortfall_penalty: got 40001 USD/kg; allowed: at most 1000"
    ):
        load_disruptions(doc)
