"""Charging: fitted ratios reproduce history, shares sum to one, a standards switch strands
old cars only until they retire, units."""

from __future__ import annotations

import numpy as np
import pytest

import evpath


@pytest.fixture
def japan(japan_2050):
    return japan_2050.dataset.sel(region="JPN")


def test_fitted_ratios_reproduce_the_historical_charger_counts(japan):
    history = {"year": slice(2015, 2024)}
    observed = japan["public_chargers_observed"].sel(history)
    modelled = japan["public_chargers"].sel(history)
    np.testing.assert_allclose(modelled, observed, rtol=1e-12)
    ev = japan["stock"].sel(powertrain=["BEV", "PHEV"]).sum(["segment", "powertrain"]).sel(history)
    np.testing.assert_allclose(ev / japan["evs_per_charger"].sel(history), observed, rtol=1e-12)


def test_trend_continues_then_holds(japan):
    ratio = japan["evs_per_charger"].sel(charger_type="fast")
    trend = float(japan["evs_per_charger_trend"].sel(charger_type="fast"))
    expected = float(ratio.sel(year=2024)) * np.exp(trend * 6)
    assert float(ratio.sel(year=2030)) == pytest.approx(expected)
    assert float(ratio.sel(year=2045)) == pytest.approx(float(ratio.sel(year=2035)))


def test_standard_shares_sum_to_one_and_fleet_adds_up(japan):
    fast = japan["fast_chargers_by_standard"].sum("standard")
    np.testing.assert_allclose(
        fast, japan["public_chargers"].sel(charger_type="fast"), rtol=1e-9, atol=1e-6
    )
    ev = japan["stock"].sel(powertrain=["BEV", "PHEV"]).sum(["segment", "powertrain"])
    np.testing.assert_allclose(japan["ev_fleet_by_standard"].sum("vehicle"), ev, rtol=1e-9)
    assert float(japan["fast_charger_access"].max()) <= 1.0
    assert japan["charging_investment"].attrs["units"] == "million USD/yr"
    assert japan["fast_charging_grid_mw"].attrs["units"] == "MW"


def test_a_standards_switch_strands_old_cars_until_they_retire(write_scenario):
    switch = write_scenario(
        {
            "charging": {
                "charger_standards": {
                    2010: {"CHAdeMO": 1.0},
                    2025: {"CHAdeMO": 1.0},
                    2026: {"CCS2": 1.0},
                },
                "vehicle_standards": {
                    2010: {"CHAdeMO": 1.0},
                    2025: {"CHAdeMO": 1.0},
                    2026: {"CCS2": 1.0},
                },
                "adapters": False,
                "note": "test: Japan switches from CHAdeMO to CCS2 in 2026",
            }
        }
    )
    stranded = evpath.run(switch).dataset["stranded_ev_share"].sel(region="JPN")
    assert float(stranded.sel(year=2024)) == 0.0
    peak = float(stranded.max())
    assert peak > 0.02  # CHAdeMO cars lose their chargers as those retire
    assert float(stranded.sel(year=2060)) < 0.05 * peak  # and retire themselves
    assert int(stranded.idxmax()) > 2030


def test_adapters_prevent_stranding(write_scenario):
    bridged = write_scenario(
        {
            "charging": {
                "charger_standards": {
                    2010: {"CHAdeMO": 1.0},
                    2025: {"CHAdeMO": 1.0},
                    2026: {"ChaoJi": 1.0},
                },
                "vehicle_standards": {
                    2010: {"CHAdeMO": 1.0},
                    2025: {"CHAdeMO": 1.0},
                    2026: {"ChaoJi": 1.0},
                },
                "adapters": True,
                "note": "test: CHAdeMO to ChaoJi, which is backward compatible through adapters",
            }
        }
    )
    stranded = evpath.run(bridged).dataset["stranded_ev_share"]
    assert float(stranded.max()) == 0.0
