"""What makes procurement fast without changing its answers: one stock per buyer with a
floor from its members' needs, one MIP for coalitions of interchangeable members,
coalitions solved on threads as soon as their members' plans are ready, and a sampled
Shapley split that stops at a standard-error target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
import yaml
from procurement_cases import one_supplier
from typer.testing import CliRunner

from evpath.cli.procure import register
from evpath.procurement import Instance, ProcurementError, procure, solve_buyer
from evpath.procurement.mip import member_purchases, needs, stock_floor


def flat(**changes: Any) -> Instance:
    """Two members, one supplier at 30,000 USD/t with no terms, 2,000 USD/(t·yr) holding,
    a 6-month stockpile from 2030. A needs 100 t in 2030 and nothing after; B needs
    nothing in 2030 and 100 t in 2031."""
    two_members: dict[str, Any] = {
        "members": ("A", "B"),
        "demand": np.array([[100.0, 0.0], [0.0, 100.0]]),
        "stock_months": 6.0,
        "stock_by": 2030,
    }
    return one_supplier(**(two_members | changes))


def test_a_members_stock_it_can_no_longer_use_stays_in_the_buyers_floor():
    # A must hold 50 t at the end of 2030 and cannot sell it in 2031, when its target is
    # 0: its need stays 150 t. B needs 0 t by 2030 and 150 t by 2031. The buyer's floor is
    # 50 t, then 150 + 150 − 200 = 100 t (the members' 2031 targets sum to only 50 t)
    inst = flat()
    assert needs(inst, (0, 1)) == pytest.approx(np.array([[150.0, 150.0], [0.0, 150.0]]))
    assert stock_floor(inst, (0, 1)) == pytest.approx([50.0, 100.0])
    # 150 t in each year, holding (50 + 100) t-yr: 9,000,000 + 300,000 USD
    plan = solve_buyer(inst, (0, 1))
    assert plan.objective == pytest.approx(9_300_000.0)
    assert plan.stock == pytest.approx(np.array([[50.0, 50.0], [0.0, 50.0]]))
    bought = plan.purchases.sum(axis=1)
    assert bought == pytest.approx(np.array([[150.0, 0.0], [0.0, 150.0]]))


def test_member_purchases_serve_the_earliest_need_first_and_split_the_rest():
    need = np.array([[10.0, 10.0, 30.0], [0.0, 20.0, 20.0]])
    # 25 t by year 1: A's 10 t due then, and 15 of B's 20 t due in year 2; 40 t by year 2:
    # every need to date (30) and 10 of A's 20 t due in year 3; 70 t by year 3: every
    # need (50) and 20 t beyond, split 30 : 20 like the final needs
    bought = member_purchases(need, np.array([25.0, 40.0, 70.0]))
    assert bought == pytest.approx(np.array([[10.0, 20.0, 42.0], [15.0, 20.0, 28.0]]))
    assert (np.diff(bought, axis=1) >= 0).all()
    assert bought.sum(axis=0) == pytest.approx([25.0, 40.0, 70.0])


def test_coalitions_of_interchangeable_members_share_one_mip():
    # B and C have the same demand: B alone and C alone are the same MIP, and so are
    # {A, B} and {A, C}: 7 coalitions need 5 solves, and B and C get the same share
    inst = flat(
        members=("A", "B", "C"),
        demand=np.array([[100.0, 120.0], [40.0, 50.0], [40.0, 50.0]]),
        tier_end=np.array([[150.0, np.inf]]),
        tier_price=np.array([[30_000.0, 28_000.0]]),
        fixed_cost=np.array([50_000.0]),
    )
    calls: list[int] = []
    result = procure(inst, progress=lambda done, needed, buyer: calls.append(done))
    assert calls == [1, 2, 3, 4, 5]
    assert result.shapley_method == (
        "exact, 7 coalitions (5 MIPs: members with identical demand are interchangeable)"
    )
    assert result.shapley[1] == pytest.approx(result.shapley[2], rel=1e-9)
    assert result.shapley.sum() == pytest.approx(result.saving, rel=1e-9)


def four_members() -> Instance:
    rng = np.random.default_rng(4)
    return flat(
        members=("A", "B", "C", "D"),
        demand=rng.uniform(20, 200, (4, 2)),
        tier_end=np.array([[80.0, 250.0, np.inf]]),
        tier_price=np.array([[33_000.0, 31_000.0, 29_500.0]]),
        fixed_cost=np.array([40_000.0]),
        stock_months=2.0,
        stock_by=2031,
    )


def test_the_split_does_not_depend_on_how_many_threads_solve_it():
    # on two threads the members alone come first and each coalition starts as soon as
    # its members' plans are ready; on one, in turn: every coalition starts from the
    # same plans, so every cost and share is the same
    inst = four_members()
    one = procure(inst, workers=1)
    two = procure(inst, workers=2)
    assert two.pooled.objective == pytest.approx(one.pooled.objective, rel=1e-12)
    assert two.shapley == pytest.approx(one.shapley, rel=1e-12)


def test_a_standard_error_target_stops_the_sampled_split_at_the_same_estimate():
    inst = four_members()
    early = procure(inst, shapley="sampled", samples=40, seed=3, se_target=1.0)
    # every 2 orders (two workers), from 5 on: the target is met at 6
    assert early.shapley_method.startswith(
        "sampled, 6 of at most 40 joining orders (standard errors within 100.0% of the saving)"
    )
    six = procure(inst, shapley="sampled", samples=6, seed=3)
    assert early.shapley == pytest.approx(six.shapley, rel=1e-9)
    assert early.shapley_se == pytest.approx(six.shapley_se, rel=1e-9)
    never = procure(inst, shapley="sampled", samples=8, seed=3, se_target=1e-12)
    assert "8 of at most 8 joining orders (standard error target of 0.0% of the saving not " in (
        never.shapley_method
    )


def test_a_standard_error_target_must_be_positive():
    with pytest.raises(ProcurementError, match=r"se_target: got 0; allowed: a fraction"):
        procure(four_members(), shapley="sampled", se_target=0.0)


@pytest.mark.parametrize("value", ["0", "-0.5"])
def test_cli_se_target_must_be_positive(tmp_path: Path, value: str):
    app = typer.Typer()
    register(app)
    app.callback()(lambda: None)
    file = tmp_path / "tiny.yaml"
    file.write_text(yaml.safe_dump({"name": "tiny"}), encoding="utf-8")
    result = CliRunner().invoke(app, ["procure", str(file), "--no-store", "--se-target", value])
    assert result.exit_code == 2
    assert f"--se-target: got {float(value):g}; allowed: a fraction of the saving above 0" in (
        result.output
    )
    assert "Traceback" not in result.output
