"""Joint procurement: pooled vs stand-alone MIPs, Shapley split, explained infeasibility, CLI."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

from evpath.cli.procure import register, stored_demand
from evpath.errors import ScenarioError
from evpath.io.store import ResultsStore
from evpath.procurement import (
    Instance,
    ProcurementError,
    load_alliance,
    procure,
    resolve,
    solve_buyer,
)
from evpath.procurement.pareto import cost_concentration_front
from evpath.procurement.sharing import shapley_exact

YEARS = np.arange(2030, 2033)


def instance(**changes: Any) -> Instance:
    """Two members, three suppliers in two countries, three years; discounts and terms."""
    base: dict[str, Any] = {
        "metal": "cobalt",
        "years": YEARS,
        "members": ("A", "B"),
        "suppliers": ("s1", "s2", "s3"),
        "countries": ("X", "X", "Y"),
        "demand": np.array([[100.0, 120.0, 150.0], [40.0, 50.0, 60.0]]),
        "capacity": np.full((3, 3), 300.0),
        "tier_end": np.array([[80.0, np.inf], [50.0, np.inf], [np.inf, np.inf]]),
        "tier_price": np.array([[35_000.0, 31_000.0], [34_000.0, 32_000.0], [33_500.0, np.nan]]),
        "min_order": np.array([10.0, 5.0, 0.0]),
        "fixed_cost": np.array([100_000.0, 50_000.0, 80_000.0]),
        "risk": np.array([0.2, 0.5, 0.8]),
        "country_cap": 0.7,
        "min_suppliers": 2,
        "holding_cost": 2_000.0,
    }
    base.update(changes)
    return Instance(**base)


def random_instance(seed: int, members: int = 3) -> Instance:
    rng = np.random.default_rng(seed)
    n_s = 4
    demand = rng.uniform(10, 200, (members, len(YEARS)))
    first = rng.uniform(20, 150, (n_s, 1))
    return instance(
        members=tuple(f"m{i}" for i in range(members)),
        suppliers=tuple(f"s{j}" for j in range(n_s)),
        countries=("X", "X", "Y", "Z"),
        demand=demand,
        capacity=np.full((n_s, len(YEARS)), demand.sum(axis=0).max()),
        tier_end=np.hstack([first, 2 * first, np.full((n_s, 1), np.inf)]),
        tier_price=rng.uniform(30_000, 36_000, (n_s, 1)) - [[0.0, 1_500.0, 3_000.0]],
        min_order=rng.uniform(0, 10, n_s),
        fixed_cost=rng.uniform(0, 100_000, n_s),
        risk=rng.uniform(0, 1, n_s),
        country_cap=0.6,
        stock_months=2.0,
        stock_by=2031,
        risk_weight=500.0,
    )


def assert_plan_meets_rules(inst: Instance, result: Any) -> None:
    """Demand met with stock never negative; country cap and capacity held."""
    for plan in (*result.alone, result.pooled):
        bought = plan.purchases.sum(axis=1)  # (member, year)
        stock = np.cumsum(bought - inst.demand[list(plan.members)], axis=1)
        assert (stock > -1e-6).all()
        volume = plan.volume
        by_country = pd.DataFrame(volume, index=list(inst.countries)).groupby(level=0).sum()
        assert (by_country <= inst.country_cap * volume.sum(axis=0) + 1e-6).all().all()
    assert (result.pooled.volume <= inst.capacity + 1e-6).all()


@pytest.fixture(scope="module")
def procured() -> Callable[[int], Any]:
    """``procure(random_instance(seed))`` with the default options, solved once per seed
    and shared by the tests that only read the result."""
    cache: dict[int, Any] = {}

    def solved(seed: int) -> Any:
        if seed not in cache:
            cache[seed] = procure(random_instance(seed))
        return cache[seed]

    return solved


@pytest.mark.parametrize("seed", range(4))
def test_pooled_costs_no_more_than_members_alone(seed: int, procured):
    inst = random_instance(seed)
    result = procured(seed)
    assert result.cost_pooled <= result.cost_alone + 1e-6
    assert result.saving >= 0
    assert_plan_meets_rules(inst, result)


@pytest.mark.parametrize("seed", range(2))
def test_shapley_shares_add_up_to_the_saving(seed: int, procured):
    result = procured(seed)
    assert result.shapley.sum() == pytest.approx(result.saving, rel=1e-9, abs=1e-6)
    sampled = procure(random_instance(seed), shapley="sampled", samples=30, seed=1)
    assert sampled.shapley.sum() == pytest.approx(sampled.saving, rel=1e-9, abs=1e-6)
    assert (sampled.shapley_se > 0).any()
    assert np.abs(sampled.shapley - result.shapley).max() < 5 * sampled.shapley_se.max() + 1.0


def test_shapley_exact_on_a_known_game():
    # cost(∅)=0, cost(1)=10, cost(2)=20, cost(12)=24: φ1 = (10 + 4)/2 = 7, φ2 = (20 + 14)/2 = 17
    assert shapley_exact(np.array([0.0, 10.0, 20.0, 24.0])) == pytest.approx([7.0, 17.0])


def test_hand_solvable_instance():
    # one buyer, one year, 150 t; supplier 1: first 100 t at 10, the rest at 8 USD/t, contract
    # 50 USD; supplier 2: flat 9.5 USD/t, contract 40 USD. Supplier 1 alone costs
    # 50 + 1000 + 400 = 1450; supplier 2 alone 40 + 1425 = 1465; splitting pays both contracts.
    inst = instance(
        years=np.array([2030]),
        members=("A",),
        suppliers=("s1", "s2"),
        countries=("X", "Y"),
        demand=np.array([[150.0]]),
        capacity=np.full((2, 1), 1000.0),
        tier_end=np.array([[100.0, np.inf], [np.inf, np.inf]]),
        tier_price=np.array([[10.0, 8.0], [9.5, np.nan]]),
        min_order=np.zeros(2),
        fixed_cost=np.array([50.0, 40.0]),
        risk=np.zeros(2),
        country_cap=1.0,
        min_suppliers=0,
        holding_cost=0.0,
    )
    plan = solve_buyer(inst, (0,))
    assert plan.objective == pytest.approx(1450.0)
    assert plan.volume[:, 0] == pytest.approx([150.0, 0.0])
    # at most 60 % from one country: s1 can no longer reach its cheap bracket, and s2 (9.5)
    # beats s1's first bracket (10), so 90 t from s2 and 60 t from s1
    capped = solve_buyer(inst.__class__(**{**inst.__dict__, "country_cap": 0.6}), (0,))
    assert capped.objective == pytest.approx(50 + 600 + 40 + 855)
    assert capped.volume[:, 0] == pytest.approx([60.0, 90.0])


def cost_of(q: np.ndarray, inst: Instance) -> float:
    """Direct cost of buying q (supplier,) [t] in one year from the instance's price lists."""
    total = 0.0
    for s, volume in enumerate(q):
        if volume <= 0:
            continue
        start = 0.0
        total += inst.fixed_cost[s] + inst.risk_weight * inst.risk[s] * volume
        for end, price in zip(inst.tier_end[s], inst.tier_price[s], strict=True):
            if np.isnan(price):
                break
            total += price * max(0.0, min(volume, end) - start)
            start = end
    return total


@pytest.mark.parametrize("seed", range(3))
def test_mip_equals_brute_force_enumeration(seed: int):
    rng = np.random.default_rng(seed)
    n_s, demand = 3, 12
    inst = instance(
        years=np.array([2030]),
        members=("A",),
        suppliers=("a", "b", "c"),
        countries=("X", "Y", "Y"),
        demand=np.array([[float(demand)]]),
        capacity=rng.integers(4, 11, (n_s, 1)).astype(float),
        tier_end=np.hstack([rng.integers(2, 6, (n_s, 1)), np.full((n_s, 1), np.inf)]),
        tier_price=np.hstack(
            [rng.integers(90, 110, (n_s, 1)), rng.integers(60, 90, (n_s, 1))]
        ).astype(float),
        min_order=rng.integers(0, 4, n_s).astype(float),
        fixed_cost=rng.integers(0, 200, n_s).astype(float),
        risk=rng.uniform(0, 1, n_s),
        country_cap=0.75,
        min_suppliers=2,
        holding_cost=1e6,
        risk_weight=3.0,
    )
    best = np.inf
    for q in itertools.product(range(demand + 1), repeat=n_s):
        q = np.array(q, dtype=float)
        used = q > 0
        ok = (
            q.sum() == demand
            and (q <= inst.capacity[:, 0]).all()
            and (q[used] >= inst.min_order[used]).all()
            and used.sum() >= 2
            and q[0] <= 0.75 * demand
            and q[1:].sum() <= 0.75 * demand
        )
        if ok:
            best = min(best, cost_of(q, inst))
    assert np.isfinite(best)
    assert solve_buyer(inst, (0,)).objective == pytest.approx(best, rel=1e-6)


def test_linear_prices_give_zero_saving():
    # one price per supplier, no contract cost, no minimum order: buying together changes
    # nothing, even with a country cap, a stockpile, holding cost and a risk penalty
    inst = instance(
        tier_end=np.full((3, 1), np.inf),
        tier_price=np.array([[35_000.0], [34_000.0], [33_000.0]]),
        min_order=np.zeros(3),
        fixed_cost=np.zeros(3),
        country_cap=0.6,
        min_suppliers=2,
        stock_months=3.0,
        stock_by=2031,
        risk_weight=800.0,
    )
    result = procure(inst)
    assert result.saving == pytest.approx(0.0, abs=1e-6 * result.cost_alone)
    assert result.shapley == pytest.approx([0.0, 0.0], abs=1e-6 * result.cost_alone)


def test_discounts_and_contract_costs_give_a_saving():
    result = procure(instance())
    assert result.saving > 0
    assert set(result.binding["family"]) <= {
        "capacity",
        "country_cap",
        "stockpile",
        "min_order",
        "min_suppliers",
    }
    frame = result.to_frame()
    assert list(frame.columns) == ["plan", "member", "supplier", "country", "year", "tonnes"]


def test_capacity_shortage_is_explained():
    # 150 t a year; demand 140, 170, 210 t: stock from 2030 covers only 10 of 20 t in 2031
    inst = instance(capacity=np.full((3, 3), 50.0))
    with pytest.raises(
        ProcurementError,
        match=r"the alliance: demand in 2030-2031 is 310 t, "
        r"but suppliers can sell it at most 300 t over those years: short by "
        r"10 t",
    ):
        procure(inst)


def test_country_cap_that_cannot_hold_is_explained():
    capacity = np.array([[300.0] * 3, [300.0] * 3, [20.0] * 3])  # Y: 20 t, X: 600 t
    with pytest.raises(
        ProcurementError,
        match=r"country_cap 70% cannot hold.* in 2030 X can "
        r"sell 600 t and the other countries only 20 t",
    ):
        procure(instance(capacity=capacity))


def test_too_many_suppliers_required_is_explained():
    with pytest.raises(
        ProcurementError,
        match=r"min_suppliers 4 cannot hold: in 2030 only 3 "
        r"supplier\(s\).*allowed: min_suppliers <= 3",
    ):
        procure(instance(min_suppliers=4))


def test_member_alone_explained_when_its_capacity_share_is_below_minimum_orders():
    inst = instance(min_order=np.array([10.0, 90.0, 90.0]))  # B's share of s2, s3 < 90 t
    with pytest.raises(
        ProcurementError,
        match=r"member B alone: policy.min_suppliers 2 cannot "
        r"hold.*share of alliance demand",
    ):
        procure(inst)


def test_solver_infeasibility_names_the_constraint_family():
    inst = instance(min_suppliers=4)
    with pytest.raises(
        ProcurementError,
        match=r"dropping the minimum number of suppliers "
        r"\(policy.min_suppliers\) alone would allow one",
    ):
        solve_buyer(inst, (0, 1), check=False)


def alliance_document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": "tiny",
        "metal": "nickel",
        "years": [2030, 2031],
        "price_unit": "USD/kg",
        "members": [
            {"name": "A", "demand": {2030: 100, 2031: 120}, "note": "test figures"},
            {"name": "B", "demand": {2030: 30, 2031: 40}, "note": "test figures"},
        ],
        "suppliers": [
            {
                "name": "s1",
                "country": "X",
                "capacity": 500,
                "tiers": [{"up_to": 60, "price": 20}, {"up_to": None, "price": 18}],
                "fixed_cost": 20000,
                "note": "test figures",
            },
            {
                "name": "s2",
                "country": "Y",
                "capacity": {2030: 200, 2031: 300},
                "tiers": [{"up_to": None, "price": 19}],
                "min_order": 5,
                "note": "test figures",
            },
        ],
        "policy": {"country_cap": 0.8, "min_suppliers": 2, "note": "test rules"},
    }
    document.update(changes)
    return document


def test_alliance_file_resolves_units_and_paths():
    inst = resolve(load_alliance(alliance_document()))
    assert inst.tier_price[0].tolist() == [20_000.0, 18_000.0]  # USD/kg -> USD/t
    assert inst.capacity[1].tolist() == [200.0, 300.0]
    assert inst.demand.tolist() == [[100.0, 120.0], [30.0, 40.0]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"policy": {"country_cap": 0.8}},
            r"<alliance>: invalid alliance file\n  policy: this block holds assumptions",
        ),
        ({"years": [2030, 2032]}, r"years: years \[2030, 2032\] are not consecutive"),
        ({"metal": "zinc"}, r"metal: allowed: 'lithium', .* \(got 'zinc'\)"),
        (
            {
                "suppliers": [
                    {
                        "name": "s",
                        "country": "X",
                        "capacity": 10,
                        "note": "n",
                        "tiers": [{"up_to": None, "price": 1}, {"up_to": 5, "price": 2}],
                    }
                ]
            },
            r"suppliers\[0\].tiers: Value error, up_to values|suppliers\[0\].tiers: up_to values",
        ),
        (
            {"policy": {"country_cap": 1.5, "note": "n"}},
            r"policy.country_cap: allowed: less than or equal to 1 \(got 1.5\)",
        ),
        (
            {"policy": {"holding_cost": float("nan"), "note": "n"}},
            r"policy.holding_cost: allowed: a finite number \(got nan\)",
        ),
        (
            {"policy": {"holding_cost": -5.0, "note": "n"}},
            r"policy.holding_cost: allowed: greater than or equal to 0 \(got -5.0\)",
        ),
        (
            {"policy": {"leftover_value": 18.0, "note": "n"}},
            (
                r"policy.leftover_value: got 18 USD/kg; allowed: less than the cheapest price "
                r"a supplier asks \(18 USD/kg, s1 in 2030\)"
            ),
        ),
        (
            {
                "suppliers": [
                    {
                        "name": "s",
                        "country": "X",
                        "capacity": 10,
                        "note": "n",
                        "fixed_cost": float("inf"),
                        "tiers": [{"up_to": None, "price": 1}],
                    }
                ]
            },
            r"suppliers\[0\].fixed_cost: allowed: a finite number \(got inf\)",
        ),
        (
            {
                "suppliers": [
                    {
                        "name": "s",
                        "country": "X",
                        "capacity": {2030: float("nan")},
                        "note": "n",
                        "tiers": [{"up_to": None, "price": 1}],
                    }
                ]
            },
            r"suppliers\[0\].capacity\[2030\]: allowed: a finite number \(got nan\)",
        ),
        (
            {
                "members": [
                    {"name": "../A", "demand": {2030: 1, 2031: 1}, "note": "n"},
                ]
            },
            r"members\[0\].name: got '../A'; allowed: 1 to 64 printable characters without '/'",
        ),
        (
            {"members": [{"name": "A", "demand": {2030: 1, 2031: float("inf")}, "note": "n"}]},
            r"members\[0\].demand\[2031\]: allowed: a finite number \(got inf\)",
        ),
        (
            {"members": [{"name": "A", "demand": {2030: 1, 2031: 1e12}, "note": "n"}]},
            r"members\[0\].demand\[2031\]: allowed: 0 to 1,000,000,000 t/yr \(got 1000000000000.0\)",
        ),
        ({"name": "a/b"}, r"name: got 'a/b'; allowed: 1 to 64 printable characters"),
        (
            {"members": [{"name": "=1+2", "demand": {2030: 1, 2031: 1}, "note": "n"}]},
            r"members\[0\].name: got '=1\+2'; allowed: .* not starting with '=', '\+', '-' or '@'",
        ),
        (
            {
                "suppliers": [
                    {
                        "name": "s",
                        "country": "@SUM(A1)",
                        "capacity": 10,
                        "note": "n",
                        "tiers": [{"up_to": None, "price": 1}],
                    }
                ]
            },
            r"suppliers\[0\].country: got '@SUM\(A1\)'; allowed: printable text, not starting",
        ),
    ],
)
def test_alliance_file_errors_name_field_and_value(change: dict[str, Any], message: str):
    with pytest.raises(ScenarioError, match=message):
        load_alliance(alliance_document(**change))


def test_bundled_example_loads_and_solves():
    alliance = load_alliance("japan-cobalt")
    result = procure(alliance, mip_rel_gap=1e-2)
    inst = result.instance
    assert inst.members[0] == "Toyota group"
    assert inst.years[[0, -1]].tolist() == [2025, 2040]
    assert inst.capacity[0, 0] == pytest.approx(0.03 * 170_000)  # Congo (Kinshasa), USGS 2023
    assert 0 < result.saving < result.cost_alone
    assert result.shapley.sum() == pytest.approx(result.saving)
    assert (result.concentration["max_country_share_in_a_year"] <= 0.6 + 1e-6).all()
    assert_plan_meets_rules(inst, result)


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.callback()(lambda: None)
    return app


def test_cli_prints_summary_and_writes_purchases(tmp_path: Path):
    file = tmp_path / "tiny.yaml"
    file.write_text(yaml.safe_dump(alliance_document()), encoding="utf-8")
    store = tmp_path / "store.duckdb"
    result = CliRunner().invoke(
        cli(),
        ["procure", str(file), "--out", str(tmp_path), "--format", "csv", "--store", str(store)],
    )
    assert result.exit_code == 0, result.output
    assert "saving" in result.output
    assert "Shapley split" in result.output
    table = pd.read_csv(tmp_path / "tiny-purchases.csv")
    assert set(table["plan"]) == {"alone", "pooled"}
    stored = ResultsStore(store)
    with duckdb.connect(str(store)) as con:
        rows = con.execute("SELECT count(*) FROM procurement WHERE alliance = 'tiny'").fetchone()
    assert rows[0] == len(table)
    assert stored.runs().empty


def test_demand_from_a_stored_run_equals_demand_from_the_scenario(tmp_path: Path, stored_japan):
    store = stored_japan.store  # japan-2050, computed and stored once for the session
    document = alliance_document(
        members=[
            {
                "name": "A",
                "note": "n",
                "share_of_run": {
                    "scenario": "japan-2050",
                    "region": "JPN",
                    "variable": "metal_primary_demand",
                    "share": 0.01,
                },
            },
            {"name": "B", "demand": {2030: 5.0, 2031: 5.0}, "note": "n"},
        ]
    )
    alliance = load_alliance(document)
    from_run = resolve(alliance)
    from_store = resolve(alliance, run_data=stored_japan.dataset)
    np.testing.assert_allclose(from_store.demand, from_run.demand, rtol=1e-12)
    # --run takes the start of a run id, as `evpath show` does
    named = stored_demand(ResultsStore(store), stored_japan.run_id[:-4])
    np.testing.assert_array_equal(resolve(alliance, run_data=named).demand, from_store.demand)
    file = tmp_path / "a.yaml"
    file.write_text(yaml.safe_dump(document), encoding="utf-8")
    both = CliRunner().invoke(
        cli(),
        [
            "procure",
            str(file),
            "--run",
            stored_japan.run_id,
            "--scenario",
            "japan-2050",
            "--no-store",
        ],
    )
    assert both.exit_code == 2
    assert "--run and --scenario: got both" in both.output
    missing = CliRunner().invoke(
        cli(),
        [
            "procure",
            str(file),
            "--run",
            "no-such-run",
            "--store",
            str(store),
            "--no-store",
            "--out",
            str(tmp_path),
        ],
    )
    assert missing.exit_code == 2
    assert "no run 'no-such-run'" in missing.output


@pytest.mark.parametrize(
    ("document", "args", "message"),
    [
        (
            alliance_document(policy={"min_suppliers": 3, "note": "n"}),
            [],
            "min_suppliers 3 cannot hold",
        ),
        (
            alliance_document(members=[{"name": "A", "demand": {2030: 1}}]),
            [],
            "members[0]: this block holds assumptions",
        ),
        (alliance_document(), ["--format", "xlsx"], "--format: got 'xlsx'"),
    ],
)
def test_cli_exits_2_with_the_reason(
    tmp_path: Path, document: dict[str, Any], args: list[str], message: str
):
    file = tmp_path / "bad.yaml"
    file.write_text(yaml.safe_dump(document), encoding="utf-8")
    result = CliRunner().invoke(
        cli(), ["procure", str(file), "--out", str(tmp_path), "--no-store", *args]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ({"name": "a?b"}, "alliances 'a!b', 'a?b' would all write"),
        ({"name": "c", "policy": {"min_suppliers": 3, "note": "n"}}, "min_suppliers 3"),
    ],
)
def test_several_alliances_write_no_file_unless_all_are_solved(
    tmp_path: Path, second: dict[str, Any], message: str
):
    """Two metals' alliances whose names give one file name are refused before solving;
    when the second cannot be solved, the first's purchases are not written either."""
    files = []
    for number, changes in enumerate([{"name": "a!b"}, {**second, "metal": "cobalt"}]):
        files.append(tmp_path / f"{number}.yaml")
        files[-1].write_text(yaml.safe_dump(alliance_document(**changes)), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli(), ["procure", *map(str, files), "--out", str(out), "--no-store"]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists() or not any(out.iterdir())


def test_cli_unknown_alliance_exits_2():
    result = CliRunner().invoke(cli(), ["procure", "no-such-alliance"])
    assert result.exit_code == 2
    assert "japan-cobalt" in result.output


WARMSTART_REPRO = """
name: warmstart-repro
metal: cobalt
years: [2030, 2031]
price_unit: USD/kg
members:
- {name: M0, demand: {2030: 341, 2031: 265}, note: t}
- {name: M1, demand: {2030: 323, 2031: 319}, note: t}
- {name: M2, demand: {2030: 239, 2031: 273}, note: t}
- {name: M3, demand: {2030: 100, 2031: 114}, note: t}
suppliers:
- {name: S0, country: A, capacity: {2030: 379, 2031: 450}, min_order: 20, risk: 0.76, note: t,
   tiers: [{up_to: 190, price: 31.2}, {up_to: 310, price: 27.8}, {up_to: null, price: 26.8}]}
- {name: S1, country: B, capacity: {2030: 198, 2031: 188}, min_order: 5, fixed_cost: 300000,
   note: t, tiers: [{up_to: 200, price: 32.2}, {up_to: 330, price: 30.1},
   {up_to: null, price: 28.0}]}
- {name: S2, country: A, capacity: {2030: 712, 2031: 711}, min_order: 5, fixed_cost: 100000,
   note: t, tiers: [{up_to: 80, price: 34.1}, {up_to: 220, price: 31.0},
   {up_to: null, price: 29.1}]}
policy: {note: t, stockpile: {months: 3, by: 2031}, holding_cost: 3000}
"""


def test_warm_start_handed_back_is_priced_and_solved_again(tmp_path: Path):
    """HiGHS may report the optimum but return the warm start; the plan must be the
    optimum's, at the cost evpath prices itself."""
    from evpath.procurement.solve import combine

    file = tmp_path / "warmstart.yaml"
    file.write_text(WARMSTART_REPRO, encoding="utf-8")
    inst = resolve(load_alliance(file))
    alone = [solve_buyer(inst, (i,)) for i in range(4)]
    for pair in ((0, 3), (1, 3), (2, 3)):
        members, start = combine(inst, [alone[i] for i in pair])
        warm = solve_buyer(inst, members, start)
        cold = solve_buyer(inst, members)
        assert warm.objective == pytest.approx(cold.objective, abs=0.01)
        assert warm.mip_gap <= 1e-6
        assert not warm.stopped_by_time
    costs = {
        pair: solve_buyer(inst, pair, combine(inst, [alone[i] for i in pair])[1]).objective
        for pair in ((0, 3), (1, 3), (2, 3))
    }
    # the warm start (members alone combined) cost 5,419.22 USD more in each pair
    assert costs[(0, 3)] == pytest.approx(29_178_021.37, abs=0.01)
    assert costs[(1, 3)] == pytest.approx(30_679_243.76, abs=0.01)
    assert costs[(2, 3)] == pytest.approx(26_454_677.87, abs=0.01)


def test_result_states_gap_time_limit_seed_and_cash_cost_apart_from_risk():
    inst = random_instance(0)
    result = procure(inst, mip_rel_gap=1e-4)
    assert 0.0 <= result.mip_gap <= 1e-4 * (1 + 1e-9)
    assert not result.time_limited
    assert result.stopped_by_time == ()
    assert result.shapley_is_exact
    assert result.seed is None
    for plan in (*result.alone, result.pooled):
        assert not plan.stopped_by_time
        assert plan.cash_cost == pytest.approx(
            plan.purchase_cost + plan.contract_cost + plan.holding_cost
        )
        assert plan.objective == pytest.approx(plan.cash_cost + plan.risk_penalty)
    assert result.risk_penalty_alone > 0
    assert result.cost_alone == pytest.approx(result.cash_cost_alone + result.risk_penalty_alone)
    assert result.cost_pooled == pytest.approx(result.cash_cost_pooled + result.risk_penalty_pooled)
    assert result.saving == pytest.approx(
        result.cash_saving + result.risk_penalty_alone - result.risk_penalty_pooled
    )
    frame = result.members
    assert (frame["cash_cost_alone"] + frame["risk_penalty_alone"]).to_numpy() == pytest.approx(
        frame["cost_alone"].to_numpy()
    )
    sampled = procure(inst, shapley="sampled", samples=4, seed=7)
    assert not sampled.shapley_is_exact
    assert sampled.seed == 7


def test_cli_states_cash_cost_risk_alone_convention_method_and_gap(tmp_path: Path):
    file = tmp_path / "tiny.yaml"
    file.write_text(yaml.safe_dump(alliance_document()), encoding="utf-8")
    result = CliRunner().invoke(
        cli(), ["procure", str(file), "--out", str(tmp_path), "--no-store", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "cash cost (purchases + contracts + holding)" in text
    assert "notional risk penalty" in text
    assert "pro-rata share" in text
    assert "Shapley split: exact" in text
    assert "largest gap reached" in text
    assert "none by a time limit" in text


def test_a_supplier_counts_towards_min_suppliers_only_above_the_stated_volume():
    # s2 has no minimum order and is dearer: before, the rule was "met" with 0 t from it
    inst = instance(
        min_order=np.array([0.0, 0.0, 0.0]),
        fixed_cost=np.zeros(3),
        country_cap=1.0,
        min_suppliers=2,
        min_volume_per_supplier=10.0,
    )
    for members in ((0,), (1,), (0, 1)):
        plan = solve_buyer(inst, members)
        counted = (plan.volume >= 10.0 - 1e-6).sum(axis=0)
        assert (counted >= 2).all()
        assert (plan.volume[plan.used] >= 10.0 - 1e-6).all()


def test_member_without_demand_in_a_year_is_exempt_from_min_suppliers():
    demand = np.array([[100.0, 120.0, 150.0], [40.0, 0.0, 60.0], [0.0, 0.0, 0.0]])
    inst = instance(members=("A", "B", "C"), demand=demand)
    result = procure(inst)
    assert result.saving >= 0
    assert result.alone[2].volume.sum() == pytest.approx(0.0, abs=1e-6)
    assert result.alone[1].volume[:, 1].sum() == pytest.approx(0.0, abs=1e-6)


def test_shortage_from_minimum_orders_names_min_order():
    # B's pro-rata share of every supplier's capacity is below that supplier's min_order
    inst = instance(
        demand=np.array([[1000.0, 1000.0, 1000.0], [5.0, 5.0, 5.0]]),
        capacity=np.full((3, 3), 1100.0),
        min_order=np.array([20.0, 20.0, 20.0]),
        min_suppliers=0,
        country_cap=1.0,
    )
    with pytest.raises(ProcurementError, match=r"member B alone: .*min_order"):
        procure(inst)


def test_rising_tier_prices_are_refused_with_the_field_path():
    supplier = {
        "name": "s",
        "country": "X",
        "capacity": 10,
        "note": "n",
        "tiers": [{"up_to": 5, "price": 1}, {"up_to": None, "price": 2}],
    }
    with pytest.raises(ScenarioError, match=r"suppliers\[0\].tiers: .*prices \[1.0, 2.0\]"):
        load_alliance(alliance_document(suppliers=[supplier]))


def test_leftover_stock_is_credited_at_its_value():
    document = alliance_document(
        policy={
            "stockpile": {"months": 6, "by": 2031},
            "leftover_value": 15,
            "note": "test rules",
        }
    )
    inst = resolve(load_alliance(document))
    assert inst.leftover_value == 15_000.0  # USD/kg -> USD/t
    result = procure(inst)
    plain = procure(
        resolve(
            load_alliance(alliance_document(policy={**document["policy"], "leftover_value": 0}))
        )
    )
    for plan in (*result.alone, result.pooled):
        left = plan.stock[:, -1].sum()
        assert left > 0
        assert plan.leftover_credit == pytest.approx(15_000.0 * left)
        assert plan.objective == pytest.approx(
            plan.purchase_cost + plan.contract_cost + plan.holding_cost - plan.leftover_credit
        )
    assert result.cost_pooled == pytest.approx(plain.cost_pooled - result.pooled.leftover_credit)


def test_core_check_finds_the_most_dissatisfied_coalition():
    from evpath.procurement.sharing import core_check

    # inside: cost(1)=10, cost(2)=20, cost(12)=24, Shapley 7 and 17
    cost = np.array([0.0, 10.0, 20.0, 24.0])
    inside = core_check(cost, shapley_exact(cost))
    assert inside.in_core
    assert inside.excess == pytest.approx(-3.0)
    # outside: every member alone 6, every pair 6, all three 12; Shapley 4 each, so each
    # pair is allocated 8 against its 6 (the core is empty)
    cost = np.array([0.0, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0, 12.0])
    split = shapley_exact(cost)
    assert split == pytest.approx([4.0, 4.0, 4.0])
    outside = core_check(cost, split)
    assert not outside.in_core
    assert outside.coalition == (0, 1)
    assert outside.excess == pytest.approx(2.0)


def test_procure_reports_core_stability(tmp_path: Path, procured):
    result = procured(1)
    assert result.core is not None
    assert result.core.in_core == (result.core.excess <= result.core.tolerance)
    assert procure(random_instance(1), shapley="sampled", samples=3).core is None
    file = tmp_path / "tiny.yaml"
    file.write_text(yaml.safe_dump(alliance_document()), encoding="utf-8")
    out = CliRunner().invoke(cli(), ["procure", str(file), "--out", str(tmp_path), "--no-store"])
    assert out.exit_code == 0, out.output
    assert "Stability: the split" in " ".join(out.output.split())


# ------------------------------------------------------------- cost–concentration front


def test_front_cost_rises_as_the_cap_tightens_and_shares_stay_under_it():
    inst = random_instance(1)
    caps = [1.0, 0.7, 0.6, 0.5, 0.45, 0.4]
    front = cost_concentration_front(inst, caps)
    assert front["cap"].tolist() == caps
    solved = front[front["status"] == "solved"]
    assert len(solved) >= 4
    assert np.all(np.diff(solved["total_cost"].to_numpy()) >= -1e-6)
    assert (solved["max_country_share_in_a_year"] <= solved["cap"] + 1e-6).all()
    assert (solved["top_country_share"] <= solved["cap"] + 1e-6).all()
    assert np.allclose(solved["cash_cost"] + solved["risk_penalty"], solved["total_cost"])
    assert front.loc[0, "total_cost"] == pytest.approx(
        solve_buyer(replace(inst, country_cap=1.0), (0, 1, 2)).objective, rel=1e-3
    )


def test_front_reports_an_impossible_cap_instead_of_raising():
    inst = instance()  # countries X and Y: no plan keeps each below 40%
    front = cost_concentration_front(inst, [0.7, 0.4])
    assert front["status"].tolist() == ["solved", "infeasible"]
    assert "country_cap 40% cannot hold" in front.loc[1, "message"]
    assert np.isnan(front.loc[1, "total_cost"])
    with pytest.raises(ProcurementError, match=r"caps: got 1.5"):
        cost_concentration_front(inst, [1.5])


@pytest.mark.parametrize("front", ["0.5,abc", "0", "1.2", "0.5,-0.1", ""])
def test_cli_front_bad_input_exits_2(tmp_path: Path, front: str):
    file = tmp_path / "tiny.yaml"
    file.write_text(yaml.safe_dump(alliance_document()), encoding="utf-8")
    result = CliRunner().invoke(
        cli(), ["procure", str(file), "--out", str(tmp_path), "--no-store", "--front", front]
    )
    assert result.exit_code == 2
    assert f"--front: got {front!r}; allowed:" in result.output
    assert "Traceback" not in result.output


def test_cli_front_prints_the_table(tmp_path: Path):
    file = tmp_path / "tiny.yaml"
    file.write_text(yaml.safe_dump(alliance_document()), encoding="utf-8")
    result = CliRunner().invoke(
        cli(), ["procure", str(file), "--out", str(tmp_path), "--no-store", "--front", "1,0.3"]
    )
    assert result.exit_code == 0, result.output
    assert "Pooled plan under each country cap" in result.output
    assert "cap 30% infeasible: the alliance: policy.country_cap 30% cannot hold" in result.output


def test_progress_callback_counts_every_solve_and_the_library_is_silent_by_default(capsys):
    inst = instance()
    calls: list[tuple[int, int | None, str]] = []
    procure(inst, progress=lambda done, needed, buyer: calls.append((done, needed, buyer)))
    assert [c[0] for c in calls] == [1, 2, 3]
    assert {c[1] for c in calls} == {3}
    assert calls[-1][2] == "the alliance"
    procure(inst)
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""


@pytest.mark.parametrize(("proved", "short"), [(1e-9, False), (1e-3, True)])
def test_a_solve_counts_as_stopped_short_only_beyond_the_precision_of_costs(
    monkeypatch, proved: float, short: bool
):
    """With a gap of 0 asked, HiGHS stops at its own tolerance: a gap left at the precision
    costs are compared at is not a solve stopped short (it was reported as stopped by a
    time limit)."""
    from evpath.procurement import pooling

    solve = pooling.solve_buyer

    def proving(*args: Any, **kwargs: Any) -> Any:
        return replace(solve(*args, **kwargs), mip_gap=proved)

    monkeypatch.setattr(pooling, "solve_buyer", proving)
    log = pooling.SolveLog()
    procure(load_alliance(alliance_document()), mip_rel_gap=0.0, log=log)
    assert log.solves > 0
    assert bool(log.stopped_by_time) is short


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        (
            {"production_of": "Australia", "year": 1900, "share": 0.5},
            "suppliers[0].capacity.year: no nickel mine production for 1900 in",
        ),
        (
            {"production_of": "Atlantis", "share": 0.5},
            "suppliers[0].capacity.production_of: no 2023 nickel mine production for 'Atlantis'",
        ),
    ],
)
def test_a_share_of_mine_production_names_the_years_and_countries_there_are(
    capacity: dict[str, Any], message: str
):
    document = alliance_document()
    document["suppliers"][0]["capacity"] = capacity
    with pytest.raises(ProcurementError) as caught:
        resolve(load_alliance(document))
    text = str(caught.value)
    assert message in text
    assert text.split("allowed: ", 1)[1].strip()  # never an empty list


def test_a_makers_member_on_a_variable_by_region_is_pointed_to_the_one_by_maker():
    import xarray as xr

    years = [2030, 2031]
    run = xr.Dataset(
        {
            "metal_primary_demand": (("region", "metal", "year"), np.ones((1, 1, 2))),
            "maker_metal_primary_demand": (("maker", "metal", "year"), np.ones((1, 1, 2))),
        },
        coords={"region": ["JPN"], "metal": ["nickel"], "year": years, "maker": ["Honda"]},
    )
    member = {
        "name": "A",
        "share_of_run": {"scenario": "japan-makers-2050", "makers": ["Honda"], "share": 0.5},
        "note": "n",
    }
    document = alliance_document(members=[member, alliance_document()["members"][1]])
    with pytest.raises(ProcurementError, match=r"dims .*: maker_metal_primary_demand$"):
        resolve(load_alliance(document), run_data=run)


def test_a_members_scenario_is_a_bundled_name_or_a_yaml_file():
    """As a scenario's ``extends:``: a reference in a file never reads another kind of file."""
    member = {
        "name": "A",
        "share_of_run": {"scenario": "../../etc/passwd", "region": "JPN", "share": 0.5},
        "note": "n",
    }
    document = alliance_document(members=[member, alliance_document()["members"][1]])
    with pytest.raises(ScenarioError, match=r"members\[0\]\.share_of_run\.scenario: allowed: a"):
        load_alliance(document)
