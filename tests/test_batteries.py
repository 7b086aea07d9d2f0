"""Batteries, cell plants and metals: balances, units, learning curve, recycling limits;
plant equipment that retires after its life and is replaced."""

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
    capacity_leaving,
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
    unused = xr.DataArray(np.zeros(len(years)), coords={"year": years})
    cumulative = cumulative_world_demand(world_battery_demand(), spec, years, unused)
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
        leaving=capacity_leaving(fleet.outflow_by_cohort, pack, mix)["nameplate"],
        pack=pack,
        mix=mix,
        intensity=intensity,
        spec=everything,
    )
    steady = flows.sel(year=slice(2011, None))
    np.testing.assert_allclose(steady["metal_retired"], steady["metal_put_on_market"], rtol=1e-12)
    np.testing.assert_allclose(steady["metal_primary_demand"], 0.0, atol=1e-9)
    assert float(flows["metal_primary_demand"].sel(region="R", year=2000, metal="cobalt")) > 0


def test_manufacturing_builds_for_the_need_keeps_idle_capacity_and_splits_investment():
    demand = xr.DataArray(
        [[10.0, 20.0, 15.0, 30.0]], coords={"region": ["R"], "year": [2001, 2002, 2003, 2004]}
    )
    spec = Manufacturing(
        utilisation=0.5,
        line_gwh=4.0,
        capex_musd_per_gwh=50.0,
        capex_year=2001,
        equipment_life=10,
        equipment_life_spread=0.0,
        steps={"electrode_making": 0.5, "cell_assembly": 0.5},
        note="test",
    )
    plants = manufacturing(demand, spec).sel(region="R")
    np.testing.assert_allclose(plants["cell_capacity_installed"], [20, 40, 40, 60])
    np.testing.assert_allclose(plants["cell_capacity"], [20, 40, 30, 60])
    np.testing.assert_allclose(plants["capacity_added"], [20, 20, 0, 20])
    np.testing.assert_allclose(plants["production_lines"], [5, 10, 7.5, 15])
    np.testing.assert_allclose(plants["equipment_investment"].sum("step"), [1000, 1000, 0, 1000])


def _plants(demand, **changes):
    spec = {
        "utilisation": 0.8,
        "line_gwh": 2.0,
        "capex_musd_per_gwh": 40.0,
        "capex_year": 2000,
        "capex_decline": 0.02,
        "equipment_life": 10,
        "equipment_life_spread": 0.0,
        "steps": {"electrode_making": 0.5, "cell_assembly": 0.5},
        "note": "test",
    }
    return manufacturing(demand, Manufacturing(**{**spec, **changes})).sel(region="R")


def _flat(years, gwh=80.0):
    return xr.DataArray(np.full((1, years.size), gwh), coords={"region": ["R"], "year": years})


def test_equipment_retires_after_its_life_and_is_replaced():
    """Flat demand: with one 10-year life the whole plant is rebuilt every 10 years; with
    a spread life replacement settles at capacity / mean life a year (renewal theory),
    and investment = capex × (growth + replacement)."""
    years = np.arange(2000, 2061)
    fixed = _plants(_flat(years))
    built = fixed["capacity_added"].to_series()
    assert built[built > 1e-9].index.tolist() == [2000, 2010, 2020, 2030, 2040, 2050, 2060]
    np.testing.assert_allclose(built[[2010, 2030, 2060]], 100.0)
    spread = _plants(_flat(years), equipment_life_spread=0.2)
    late = spread.sel(year=slice(2045, None))
    np.testing.assert_allclose(late["capacity_added"], 100.0 / 10, rtol=0.08)
    assert float(spread["equipment_investment"].sum("step").sel(year=slice(2001, None)).min()) > 0
    capex = 40.0 * 0.98 ** (spread.year - 2000)
    growth = spread["cell_capacity_installed"].diff("year").clip(min=0)
    growth = growth.reindex(
        year=spread.year, fill_value=float(spread["cell_capacity_installed"][0])
    )
    np.testing.assert_allclose(
        spread["equipment_investment"].sum("step"),
        spread["equipment_replacement_investment"] + capex * growth,
        rtol=1e-9,
        atol=1e-9,
    )


def test_installed_equipment_balances_and_covers_the_need():
    """K[t] − K[t−1] = added − retired; K ≥ the largest need of the next lead_years; a
    one-year dip in demand does not stop replacement when capacity is built a year ahead."""
    years = np.arange(2000, 2031)
    demand = _flat(years) * xr.DataArray(
        np.where(years == 2015, 0.5, 1.0) * (1 + 0.05 * (years - 2000)), coords={"year": years}
    )
    for lead in (0, 1, 3):
        plants = _plants(demand, equipment_life_spread=0.2, lead_years=lead)
        installed = plants["cell_capacity_installed"]
        np.testing.assert_allclose(
            installed.diff("year"),
            (plants["capacity_added"] - plants["capacity_retired"]).isel(year=slice(1, None)),
            rtol=1e-9,
            atol=1e-9,
        )
        ahead = plants["cell_capacity"].rolling(year=lead + 1).max().shift(year=-lead)
        assert bool((installed >= ahead.fillna(0) - 1e-9).all())
    dipped = _plants(demand, equipment_life_spread=0.2, lead_years=1)
    assert float(dipped["capacity_added"].sel(year=2015)) > 0


@pytest.mark.parametrize("name", ["japan-2050", "world-current-trends"])
def test_bundled_equipment_investment_stays_positive_once_plants_exist(shared_run, name):
    """Every projected year buys equipment (growth or replacement; before this change
    japan-2050 bought none in 2024 and world-current-trends none from 2036), and in 2050
    at least the replacement of what retires. (In the history a demand dip can leave
    capacity idle: Japan's 2019-2020.)"""
    dataset = shared_run(name).dataset.isel(region=0)
    invest = dataset["equipment_investment"].sum("step")
    assert float(invest.sel(year=slice(2024, None)).min()) > 0
    replaced = dataset["equipment_replacement_investment"].sel(year=2050)
    assert float(replaced) > 0
    assert float(invest.sel(year=2050)) >= float(replaced)


def test_equipment_investment_stops_only_where_capacity_stands_idle(japan_current_trends):
    """japan-current-trends: demand dips in 2024-2025, and no equipment is bought only
    where the equipment still in service exceeds what is needed (idle capacity)."""
    dataset = japan_current_trends.dataset.sel(region="JPN")
    idle = dataset["cell_capacity_installed"] > dataset["cell_capacity"] + 1e-9
    none = dataset["capacity_added"] <= 1e-12
    started = dataset.year > int(
        dataset.year[(dataset["cell_capacity_installed"] > 0).argmax("year")]
    )
    assert bool((idle | ~none | ~started).all())


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


def test_own_world_demand_follows_the_runs_demand_after_the_history():
    history = world_battery_demand()
    last = int(history.index.max())
    years = np.arange(2010, 2041)
    own = xr.DataArray(np.linspace(100.0, 4000.0, len(years)), coords={"year": years})
    spec = PackPrice(world_demand="own", note="test")
    cumulative = cumulative_world_demand(history, spec, years, own)
    annual = cumulative.diff("year")
    later = years[years > last + 1]
    np.testing.assert_allclose(annual.sel(year=later), own.sel(year=later), rtol=1e-12)
    assert float(annual.sel(year=last)) == pytest.approx(float(history.loc[last]))
