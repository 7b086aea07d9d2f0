"""The market scenarios of the worldwide scope and the derived 'Other markets' region."""

from __future__ import annotations

import numpy as np
import pytest

import evpath
from evpath.data.grid import intensity_history
from evpath.data.histories import HISTORIES
from evpath.data.iea import DERIVED_FROM, DERIVED_REGION, iea_history

MARKETS = {
    "market-north-america": ["North America"],
    "market-europe": ["Europe"],
    "market-china": ["China"],
    "market-india": ["India"],
    "market-asean": ["Indonesia", "Thailand", "Malaysia", "Viet Nam"],
    "market-rest-of-world": [DERIVED_REGION],
}


market_runs = pytest.mark.xdist_group("market-runs")  # one worker runs the markets once


@pytest.fixture(scope="module")
def runs(shared_run):
    """One run of every market scenario, shared by the tests of this module (marked
    ``market_runs``)."""
    return {name: shared_run(name).dataset for name in MARKETS}


@pytest.fixture(scope="module")
def history():
    return iea_history()


@pytest.mark.parametrize("name", ["market-base", *MARKETS])
def test_market_scenarios_validate_with_their_years_and_emissions(name):
    scenario = evpath.load_scenario(name)
    assert scenario.name == name
    assert (scenario.years.start, scenario.years.history_end, scenario.years.end) == (
        2010,
        2024,
        2060,
    )
    assert scenario.sales.history == "iea"
    assert scenario.emissions is not None
    assert scenario.emissions.target.reduction == 0.9
    hev = scenario.batteries.packs.kwh["all"]["HEV"]
    assert 1.0 <= hev <= 1.6


@market_runs
def test_every_market_runs_over_its_regions_to_2060(runs):
    for name, regions in MARKETS.items():
        ds = runs[name]
        assert list(ds.region.values) == regions, name
        assert int(ds.year.min()) == 2010
        assert int(ds.year.max()) == 2060
        assert not bool(ds["wtw_per_new_car"].isnull().any()), name


def test_other_markets_are_non_negative_and_close_the_world(history):
    sales = history.sales.sum("segment")
    other = sales.sel(region=DERIVED_REGION)
    assert float(other.min()) >= 0.0
    world = sales.sel(region="World")
    parts = sales.sel(region=list(DERIVED_FROM)).sum("region")
    rest = world - parts
    # the markets and the derived region add up to the World, by powertrain and year,
    # except where rounding made the rest negative and it was set to 0
    np.testing.assert_allclose(other + parts, world + (-rest).clip(min=0.0), rtol=1e-12)
    floored = float((-rest).clip(min=0.0).sum())
    assert floored < 1e-3 * float(world.sum())
    rows = history.provenance[history.provenance.region == DERIVED_REGION]
    assert len(rows) == len(sales.year)
    assert rows.basis.str.startswith("derived").all()


@market_runs
def test_each_market_grid_in_2024_is_its_owid_history(runs):
    spec = HISTORIES["iea"]
    for name, regions in MARKETS.items():
        grid = runs[name]["grid_intensity"]
        for region in regions:
            observed = intensity_history(spec.grid_name(region))
            year = 2024 if 2024 in observed.index else int(observed.index.max())
            assert float(grid.sel(region=region, year=year)) == pytest.approx(observed.loc[year]), (
                name,
                region,
                year,
            )


@market_runs
def test_new_car_wtw_in_2010_lies_in_the_published_band(runs):
    # Lower end: EU new cars of 2010 emitted 140.3 g CO2/km on test (EEA), 166 g/km
    # well-to-wheel with the fuels' upstream (2.75 / 2.32 kg CO2e per litre); upper end:
    # US model year 2010 395 g CO2/mile real-world (EPA Trends 2010), 245 g/km, 291 g/km
    # well-to-wheel. Per car: that times the distance of a new car, which drives more than
    # the fleet's mean (annual_km) as distance falls with age.
    for name in MARKETS:
        ds = runs[name]
        per_km = ds["wtw_per_km_new"].sel(year=2010)
        assert bool(((per_km >= 150.0) & (per_km <= 300.0)).all()), (name, per_km.values)
        km = float(evpath.load_scenario(name).emissions.activity.annual_km["all"])
        per_car = ds["wtw_per_new_car"].sel(year=2010) * 1000.0  # g CO2e/vehicle/yr
        distance = per_car / per_km
        assert bool(((distance >= km) & (distance <= 1.6 * km)).all()), (name, distance.values)


def test_japan_markets_extend_to_2060_from_2010():
    ds = evpath.run(
        {
            "extends": "japan-2050",
            "name": "x",
            "years": {"start": 2010, "history_end": 2024, "end": 2060},
        }
    ).dataset
    assert int(ds.year.max()) == 2060
    assert not bool(ds["wtw_per_new_car"].isnull().any())
