"""Procurement over time: tier prices that follow a path by year, and discounted costs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from procurement_cases import one_supplier

from evpath.errors import ScenarioError
from evpath.procurement import load_alliance, procure, resolve, solve_buyer


def test_discounting_values_later_costs_less():
    # 10 %/yr: buying each year costs 100 × 30,000 + 100 × 30,000 / 1.1; buying both years
    # in 2030 costs 200 × 30,000 + 100 t held one year × 2,000 = 6.2 MUSD, more
    plan = solve_buyer(one_supplier(discount_rate=0.1), (0,))
    assert plan.objective == pytest.approx(3_000_000 + 3_000_000 / 1.1)
    assert plan.volume[0] == pytest.approx([100.0, 100.0])
    assert plan.holding_cost == pytest.approx(0.0)


def test_a_rising_price_path_is_bought_ahead_and_held():
    # the 2031 price is 1.5 × 30,000: 100 × 45,000 / 1.1 = 4.09 MUSD in 2031 against
    # 3.0 MUSD + 0.2 MUSD holding to buy it in 2030
    inst = one_supplier(price_index=np.array([[1.0, 1.5]]), discount_rate=0.1)
    plan = solve_buyer(inst, (0,))
    assert plan.volume[0] == pytest.approx([200.0, 0.0])
    assert plan.purchase_cost == pytest.approx(6_000_000)
    assert plan.holding_cost == pytest.approx(200_000)
    assert plan.objective == pytest.approx(6_200_000)


def test_price_path_scales_every_bracket_and_discount_applies_to_every_cost():
    # brackets 0-50 t at 30,000 and above at 20,000; 2031 prices × 0.5; contract cost
    # 10,000 USD/yr; 5 %/yr. Each year: 50 × p1 + 50 × p2 + 10,000
    inst = one_supplier(
        tier_end=np.array([[50.0, np.inf]]),
        tier_price=np.array([[30_000.0, 20_000.0]]),
        fixed_cost=np.array([10_000.0]),
        price_index=np.array([[1.0, 0.5]]),
        discount_rate=0.05,
        holding_cost=50_000.0,
    )
    plan = solve_buyer(inst, (0,))
    first = 50 * 30_000 + 50 * 20_000
    assert plan.purchase_cost == pytest.approx(first + 0.5 * first / 1.05)
    assert plan.contract_cost == pytest.approx(10_000 + 10_000 / 1.05)
    assert plan.cash_cost == pytest.approx(plan.objective)


def test_pooling_still_saves_with_price_paths_and_discounting():
    inst = one_supplier(
        members=("A", "B"),
        demand=np.array([[100.0, 120.0], [30.0, 40.0]]),
        tier_end=np.array([[60.0, np.inf]]),
        tier_price=np.array([[30_000.0, 26_000.0]]),
        fixed_cost=np.array([20_000.0]),
        price_index=np.array([[1.0, 0.9]]),
        discount_rate=0.08,
    )
    result = procure(inst)
    assert result.saving > 0
    assert result.shapley.sum() == pytest.approx(result.saving)


def alliance(**supplier: Any) -> dict[str, Any]:
    return {
        "name": "paths",
        "metal": "graphite",
        "years": {"start": 2030, "end": 2034},
        "price_unit": "USD/t",
        "members": [{"name": "A", "demand": {2030: 100, 2034: 140}, "note": "test"}],
        "suppliers": [
            {
                "name": "China",
                "country": "China",
                "capacity": {"production_of": "China", "share": 0.001},
                "tiers": [{"up_to": None, "price": 700}],
                "note": "test",
                **supplier,
            }
        ],
        "policy": {"discount_rate": 0.07, "note": "test"},
    }


def test_alliance_file_price_path_and_discount_rate():
    inst = resolve(load_alliance(alliance(price_index={2030: 1.0, 2032: 0.8})))
    assert inst.prices[0, :, 0].tolist() == pytest.approx([700, 630, 560, 560, 560])
    assert inst.discount.tolist() == pytest.approx(1.07 ** -np.arange(5))
    assert inst.capacity[0, 0] == pytest.approx(0.001 * 1_230_000)  # USGS 2023 graphite
    assert resolve(load_alliance(alliance())).price_index is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"price_index": {2030: 0}},
            r"suppliers\[0\]\.price_index\[2030\]: allowed: greater than 0 \(got 0\)",
        ),
        ({"price_index": {}}, "price_index is empty"),
    ],
)
def test_bad_price_path_names_the_field(change: dict[str, Any], message: str):
    with pytest.raises(ScenarioError, match=message):
        load_alliance(alliance(**change))


def test_discount_rate_out_of_range_names_the_field():
    document = alliance()
    document["policy"]["discount_rate"] = 0.9
    with pytest.raises(ScenarioError, match=r"policy\.discount_rate.*0\.9"):
        load_alliance(document)
