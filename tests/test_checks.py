"""The run invariants of ``evpath.model.checks`` pass on balanced flows and name the cell
where a balance breaks, including the first year against the stock before it."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from evpath.errors import InvariantError
from evpath.model.checks import check_material_balance, check_stock_balance

YEARS = np.arange(2020, 2026)
REGIONS = ["JPN", "USA"]


def _balanced(before: np.ndarray) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Stock, inflow and outflow (region, year) with stock(t) − stock(t−1) = in − out,
    starting from ``before`` (region)."""
    rng = np.random.default_rng(7)
    inflow = rng.uniform(50.0, 100.0, (len(REGIONS), len(YEARS)))
    outflow = rng.uniform(0.0, 40.0, (len(REGIONS), len(YEARS)))
    stock = before[:, None] + np.cumsum(inflow - outflow, axis=1)
    coords = {"region": REGIONS, "year": YEARS}
    return tuple(  # type: ignore[return-value]
        xr.DataArray(a, coords=coords, dims=("region", "year")) for a in (stock, inflow, outflow)
    )


def test_balanced_flows_pass_with_a_stock_before_or_none():
    before = np.array([1_000.0, 500.0])
    stock, inflow, outflow = _balanced(before)
    before_array = xr.DataArray(before, coords={"region": REGIONS}, dims="region")
    check_stock_balance(stock, inflow, outflow, before_array)
    empty_start, inflow, outflow = _balanced(np.zeros(2))
    check_stock_balance(empty_start, inflow, outflow, 0.0)
    # the other dims may come in another order
    check_stock_balance(empty_start.transpose("year", "region"), inflow, outflow, 0.0)


@pytest.mark.parametrize("year", [2020, 2023, 2025])
def test_a_broken_balance_is_named_at_its_cell(year):
    stock, inflow, outflow = _balanced(np.zeros(2))
    broken = inflow.copy()
    broken.loc[{"region": "USA", "year": year}] += 5.0
    with pytest.raises(InvariantError, match=f"stock balance broken at .*{year}"):
        check_stock_balance(stock, broken, outflow, 0.0)


def test_a_wrong_stock_before_breaks_the_first_year():
    stock, inflow, outflow = _balanced(np.zeros(2))
    with pytest.raises(InvariantError, match="2020"):
        check_stock_balance(stock, inflow, outflow, 10.0)


def test_material_in_the_fleet_and_at_end_of_life_balance():
    metal = {"metal": ["cobalt"], "region": ["JPN"], "year": YEARS}
    put = np.array([[[10.0, 12.0, 15.0, 15.0, 18.0, 20.0]]])
    retired = np.array([[[1.0, 2.0, 2.0, 3.0, 4.0, 5.0]]])
    exported = 0.1 * retired
    recovered = 0.5 * retired
    lost = 0.2 * retired
    in_fleet = 100.0 + np.cumsum(put - retired, axis=-1)
    second_life = np.cumsum(retired - exported - recovered - lost, axis=-1)

    def flows(**changed: np.ndarray) -> xr.Dataset:
        values = {
            "metal_put_on_market": put,
            "metal_retired": retired,
            "metal_exported": exported,
            "metal_recovered": recovered,
            "metal_lost": lost,
            "metal_in_fleet": in_fleet,
            "metal_in_second_life": second_life,
        } | changed
        return xr.Dataset({k: (tuple(metal), v) for k, v in values.items()}, coords=metal)

    check_material_balance(flows())
    with pytest.raises(InvariantError, match="metal reaching end of life"):
        check_material_balance(flows(metal_lost=0.3 * retired))
