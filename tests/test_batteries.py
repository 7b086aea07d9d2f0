"""Batteries, cell plants and metals: balances, units, learning curve, recycling limits."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from evpath.core.dims import METALS
from evpath.data.batteries import material_intensity, price_anchors
from evpath.data.iea import world_battery_demand
from evpath.data.usgs import mine_production
from evpath.model.battery import (
    cumulative_world_demand,
    pack_price,
)
from evpath.model.manufacturing import manufacturing
from evpath.model.materials import (
    material_flows,
    supply_indicators,
)
from evpath.scenario.batteries import Manufacturing, PackPrice, Recycling
from evpath.stock import inflow_driven
from evpath.survival import Fixed


@pytest.fixture
def japan(japan_2050):
    return japan_2050.dataset.sel(region="JPN")


def test_metal_balance_holds_exactly(japan):
    put = japan["metal_put_on_market"].cumsum("year")
    retired = japan["metal_retired"].cumsum("year")
    np.testing.assert_allclose(japan["metal_in_fleet"], put - retired, atol=1e-6)
    end_of_life = (
        japan["metal_exported"].cumsum("year")
        + japan["metal_in_second_life"]
        + japan["metal_recovered"].cumsum("year")
        + japan["metal_lost"].cumsum("year")
    )
    np.testing.assert_allclose(end_of_life, retired, atol=1e-6)
    for name in ("metal_put_on_market", "metal_in_fleet", "metal_retired", "metal_recovered"):
        assert float(japan[name].min()) >= 0.0, name


def test_battery_demand_is_sales_times_pack(japan):
    bev = japan["battery_demand"].sel(segment="registered", powertrain="BEV", year=2035)
    sales = japan["sales"].sel(segment="registered", powertrain="BEV", year=2035)
    assert float(bev) == pytest.approx(float(sales) * 70.0 / 1e6)  # 70 kWh packs from 2035
    by_chemistry = japan["battery_demand_by_chemistry"].sum("chemistry")
    np.testing.assert_allclose(by_chemistry, japan["battery_demand"].sum(["segment", "powertrain"]))


def test_units(japan):
    expected = {
        "battery_demand": "GWh/yr",
        "pack_price": "USD/kWh",
        "metal_in_fleet": "t",
        "metal_put_on_market": "t/yr",
        "equipment_investment": "million USD/yr",
        "production_lines": "lines",
        "share_of_world_mine_production": "1",
    }
    for name, unit in expected.items():
        assert japan[name].attrs["units"] == unit, name


def test_lithium_carbonate_equivalent(japan):
    lithium = japan["metal_put_on_market"].sel(metal="lithium")
    np.testing.assert_allclose(japan["lithium_carbonate_equivalent"], lithium * 5.323)


def test_learning_curve_reproduces_its_anchor_points():
    years = np.arange(2005, 2061)
    spec = PackPrice(world_demand={2030: 3000.0}, note="test")
    cumulative = cumulative_world_demand(world_battery_demand(), spec, years)
    anchors = price_anchors()
    price = pack_price(anchors, cumulative, None)
    for row in anchors.itertuples():
        assert float(price.sel(year=row.year)) == pytest.approx(row.value, rel=1e-12)
    assert 0.1 < price.attrs["learning_rate"] < 0.3
    assert bool((price.sel(year=slice(2010, None)).diff("year") < 0).all())
    assert np.isnan(float(price.sel(year=2005)))
    fixed = pack_price(anchors, cumulative, 0.2)
    doubling = cumulative.sel(year=2024) * 2
    assert fixed.attrs["learning_rate"] == pytest.approx(0.2)
    assert float(115.0 * (doubling / cumulative.sel(year=2024)) ** np.log2(0.8)) == pytest.approx(
        92.0
    )


def test_full_recycling_leaves_no_primary_demand_in_a_steady_state():
    years = np.arange(2000, 2041)
    sales = xr.DataArray(
        np.full((1, 1, 1, years.size), 1000.0),
        coords={"region": ["R"], "segment": ["s"], "powertrain": ["BEV"], "year": years},
    ).transpose("year", ...)
    fleet = inflow_driven(sales, Fixed(mean=10.0), by_cohort=True)
    cohorts = fleet.stock_by_cohort.cohort.values
    pack = xr.DataArray(
        np.full((1, 1, cohorts.size), 50.0),
        coords={"segment": ["s"], "powertrain": ["BEV"], "cohort": cohorts},
    )
    mix = xr.DataArray(
        np.ones((1, cohorts.size)), coords={"chemistry": ["NMC811"], "cohort": cohorts}
    )
    intensity = material_intensity().sel(chemistry=["NMC811"])
    everything = Recycling(
        export_share=0.0, collection_rate=1.0, recovery=dict.fromkeys(METALS, 1.0), note="test"
    )
    flows = material_flows(
        sales=sales.transpose("region", "segment", "powertrain", "year"),
        stock_by_cohort=fleet.stock_by_cohort,
        outflow_by_cohort=fleet.outflow_by_cohort,
        pack=pack,
        mix=mix,
        intensity=intensity,
        spec=everything,
    )
    steady = flows.sel(year=slice(2011, None))
    np.testing.assert_allclose(steady["metal_retired"], steady["metal_put_on_market"], rtol=1e-12)
    np.testing.assert_allclose(steady["metal_primary_demand"], 0.0, atol=1e-9)
    assert float(flows["metal_primary_demand"].sel(region="R", year=2000, metal="cobalt")) > 0


def test_manufacturing_builds_for_the_peak_and_splits_investment():
    demand = xr.DataArray(
        [[10.0, 20.0, 15.0, 30.0]], coords={"region": ["R"], "year": [2001, 2002, 2003, 2004]}
    )
    spec = Manufacturing(
        utilisation=0.5,
        line_gwh=4.0,
        capex_musd_per_gwh=50.0,
        capex_year=2001,
        steps={"electrode_making": 0.5, "cell_assembly": 0.5},
        note="test",
    )
    plants = manufacturing(demand, spec).sel(region="R")
    np.testing.assert_allclose(plants["cell_capacity"], [20, 40, 30, 60])
    np.testing.assert_allclose(plants["capacity_added"], [20, 20, 0, 20])
    np.testing.assert_allclose(plants["production_lines"], [5, 10, 7.5, 15])
    np.testing.assert_allclose(plants["equipment_investment"].sum("step"), [1000, 1000, 0, 1000])


def test_supply_concentration_from_usgs():
    supply = supply_indicators(mine_production())
    cobalt = supply.loc["cobalt"]
    assert cobalt["largest_producer"] == "Congo (Kinshasa)"
    assert cobalt["largest_share"] == pytest.approx(170000 / 230000)
    assert 5000 < cobalt["hhi"] < 10000  # highly concentrated
    assert supply.loc["graphite", "largest_producer"] == "China"


def test_retired_batteries_keep_their_chemistry_and_fade(japan):
    retired = japan["battery_retired"]
    remaining = japan["battery_retired_remaining"]
    assert bool((remaining <= retired + 1e-12).all())
    assert float(retired.sel(chemistry="NMC111", year=2025)) > 0  # early packs leave as NMC111
    assert float(retired.sel(chemistry="SIB", year=2024)) == 0.0  # none built before 2025
