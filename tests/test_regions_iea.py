"""IEA-based histories and the bundled region scenarios."""

from __future__ import annotations

import numpy as np
import pytest

import evpath
from evpath.data.iea import MIN_SHARE, iea_history, iea_regions
from evpath.data.registry import load_dataset


@pytest.fixture(scope="module")
def history():
    return iea_history()


def test_every_iea_region_with_usable_shares_builds(history):
    assert len(iea_regions()) > 50
    assert {"China", "Europe", "USA", "World", "Japan"} <= set(iea_regions())
    assert float(history.sales.min()) >= 0.0
    assert not bool(history.sales.isnull().any())


def test_ev_sales_are_the_iea_figures_and_shares_are_reproduced(history):
    iea = load_dataset("iea_gevo2025_ev_data")
    cars = iea[(iea["mode"] == "Cars") & (iea["category"] == "Historical")]
    china = cars[(cars.region_country == "China") & (cars.parameter == "EV sales")]
    for row in china.itertuples():
        modelled = float(
            history.sales.sel(region="China", powertrain=row.powertrain, year=row.year).sum()
        )
        assert modelled == pytest.approx(row.value)
    share = cars[(cars.region_country == "Norway") & (cars.parameter == "EV sales share")]
    sales = history.sales.sel(region="Norway").sum("segment")
    ev = sales.sel(powertrain=["BEV", "PHEV", "FCEV"]).sum("powertrain") / sales.sum("powertrain")
    for row in share[share.value / 100 >= MIN_SHARE].itertuples():
        assert float(ev.sel(year=row.year)) == pytest.approx(row.value / 100, rel=1e-9)


@pytest.mark.parametrize(
    "name", ["world-current-trends", "china-current-trends", "europe-2035", "usa-current-trends"]
)
def test_battery_demand_within_ten_percent_of_the_iea_2022_2024(shared_run, name):
    check = shared_run(name).history_check()
    rows = check[(check.metric == "battery_demand") & check.year.between(2022, 2024)]
    assert len(rows) == 3
    assert rows.relative_difference.abs().max() < 0.10, rows


def test_regions_run_together_as_one_dimension(write_scenario, shared_run):
    path = write_scenario(
        {"extends": "world-current-trends", "regions": ["China", "Europe", "USA"]}
    )
    ds = evpath.run(path).dataset
    assert list(ds.region.values) == ["China", "Europe", "USA"]
    alone = shared_run("usa-current-trends").dataset
    np.testing.assert_allclose(
        ds["sales"].sel(region="USA", year=2024), alone["sales"].sel(region="USA", year=2024)
    )


def test_europe_reaches_zero_emission_sales_in_2035(shared_run):
    verdict = shared_run("europe-2035").dataset["sales_share"].sel(region="Europe", year=2035)
    assert float(verdict.sel(powertrain=["BEV", "FCEV"]).sum()) == pytest.approx(1.0)


def test_a_world_run_of_every_iea_region(write_scenario):
    path = write_scenario({"extends": "world-current-trends", "regions": list(iea_regions())})
    ds = evpath.run(path).dataset
    assert ds.sizes["region"] == len(iea_regions())
    assert float(ds["stock"].min()) >= 0.0
