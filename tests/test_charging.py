"""Charging: fitted ratios reproduce history, shares sum to one, a standards switch strands
old cars only until they retire, units; chargers never fall while the EV fleet grows, a
target is met, replacement is spread over the chargers' ages, chargers balance, and an
ensemble draws charging inputs like a run one by one."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import evpath
from evpath.errors import ScenarioError
from evpath.model.assets import keep_in_service, service_life
from evpath.model.charging import evs_per_charger, target_floor
from evpath.scenario.loader import bundled_scenarios, load_scenario

HISTORY_END = 2024


def _ev_stock(dataset):
    return dataset["stock"].sel(powertrain=["BEV", "PHEV"]).sum(["segment", "powertrain"])


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


def test_without_a_target_the_ratio_trend_continues_then_holds(japan):
    """The ratio method (trend of the last five history years to 2035, held after) as the
    scenario states it, computed from the run's EV stock and the IEA counts."""
    spec = load_scenario("japan-2050").charging
    ratio, trend = evs_per_charger(
        _ev_stock(japan), japan["public_chargers_observed"], spec, HISTORY_END
    )
    fast = ratio.sel(charger_type="fast")
    slope = float(trend.sel(charger_type="fast"))
    assert slope > 0.05  # Japan's EV stock grew faster than its fast chargers in 2020-2024
    assert float(fast.sel(year=2030)) == pytest.approx(
        float(fast.sel(year=2024)) * np.exp(6 * slope)
    )
    assert float(fast.sel(year=2045)) == pytest.approx(float(fast.sel(year=2035)))


def _bundled_with_chargers():
    return [n for n in bundled_scenarios() if load_scenario(n).charging is not None]


def test_every_bundled_scenario_with_chargers_is_checked():
    assert {"japan-2050", "japan-current-trends"} <= set(_bundled_with_chargers())


@pytest.mark.parametrize("name", _bundled_with_chargers())
def test_chargers_never_fall_while_the_ev_fleet_grows(shared_run, name):
    dataset = shared_run(name).dataset
    ev = _ev_stock(dataset)
    chargers = dataset["public_chargers"]
    later = {"year": slice(HISTORY_END + 1, None)}
    grows = (ev.diff("year") >= 0).sel(later)
    change = chargers.diff("year").sel(later)
    falls = (change < -1e-9 * chargers.sel(later)) & grows
    assert not bool(falls.any()), (
        f"{name}: chargers fall in {falls.year[falls.any(['region', 'charger_type'])].values}"
    )
    # and where the fleet shrinks, at most in proportion to it
    ratio = (chargers / chargers.shift(year=1)).sel(later)
    fleet = (ev / ev.shift(year=1)).sel(later)
    assert bool((ratio >= np.minimum(fleet, 1.0) - 1e-9).all())


def test_allow_decline_lets_chargers_follow_the_ratio(write_scenario, japan_current_trends):
    """The same scenario with the declines allowed: chargers = EV stock / the trend ratio,
    which falls while the fleet grows (the reason for the rule)."""
    path = write_scenario(
        {
            "extends": "japan-current-trends",
            "charging": {"allow_decline": True, "note": "test: the ratio trend as is"},
        }
    )
    dataset = evpath.run(path).dataset.sel(region="JPN")
    spec = load_scenario(path).charging
    ev = _ev_stock(dataset)
    ratio, _ = evs_per_charger(ev, dataset["public_chargers_observed"], spec, HISTORY_END)
    later = {"year": slice(HISTORY_END + 1, None)}
    np.testing.assert_allclose(
        dataset["public_chargers"].sel(later), (ev / ratio).sel(later), rtol=1e-12
    )
    slow = dataset["public_chargers"].sel(charger_type="slow")
    assert float(slow.sel(year=2035)) < 0.7 * float(slow.sel(year=2024))
    kept = japan_current_trends.dataset["public_chargers"].sel(region="JPN", charger_type="slow")
    assert float(kept.sel(year=2035)) == pytest.approx(float(kept.sel(year=2024)))


def test_japan_meets_the_meti_target_in_2030_and_keeps_its_coverage(japan):
    chargers = japan["public_chargers"]
    assert float(chargers.sel(charger_type="fast", year=2030)) == pytest.approx(30_000)
    assert float(chargers.sel(charger_type="slow", year=2030)) == pytest.approx(270_000)
    # a straight line from the IEA count of 2024
    slow = chargers.sel(charger_type="slow")
    assert float(slow.sel(year=2027)) == pytest.approx(24_000 + (270_000 - 24_000) * 3 / 6)
    # after 2030 the 2030 EVs per charger are kept: chargers grow with the fleet
    ratio = japan["evs_per_charger"].sel(year=slice(2030, None))
    np.testing.assert_allclose(ratio, ratio.sel(year=2030).broadcast_like(ratio), rtol=1e-9)
    assert float(slow.sel(year=2050)) > 5 * float(slow.sel(year=2030))


def test_a_target_is_read_from_the_scenario(write_scenario):
    """A fast target of 50,000 in 2028 replaces the fast path (the slow target is kept):
    met in 2028, a straight line to it, and the 2028 coverage after."""
    path = write_scenario(
        {"charging": {"targets": {"fast": {2028: 50_000}}, "note": "test: an earlier fast target"}}
    )
    dataset = evpath.run(path).dataset.sel(region="JPN")
    fast = dataset["public_chargers"].sel(charger_type="fast")
    assert float(fast.sel(year=2028)) == pytest.approx(50_000)
    assert float(fast.sel(year=2026)) == pytest.approx(10_000 + 40_000 * 2 / 4)
    ev = _ev_stock(dataset)
    expected = 50_000 * float(ev.sel(year=2030)) / float(ev.sel(year=2028))
    assert float(fast.sel(year=2030)) == pytest.approx(expected)
    slow = dataset["public_chargers"].sel(charger_type="slow", year=2030)
    assert float(slow) == pytest.approx(270_000)


def test_a_target_after_the_last_model_year_draws_the_line_up_to_it():
    years = np.arange(2020, 2031)
    chargers = xr.DataArray(
        np.full((1, 2, len(years)), 1_000.0),
        coords={"region": ["JPN"], "charger_type": ["slow", "fast"], "year": years},
    )
    ev_stock = xr.DataArray(
        np.linspace(1.0, 2.0, len(years))[None, :], coords={"region": ["JPN"], "year": years}
    )
    floor = target_floor({"fast": {2040: 21_000.0}}, chargers, ev_stock, history_end=2020)
    fast = floor.sel(region="JPN", charger_type="fast")
    # 1,000 in 2020 to 21,000 in 2040: 1,000 more a year
    np.testing.assert_allclose(fast.sel(year=slice(2021, None)), 1_000.0 * (years[1:] - 2019))
    assert float(fast.sel(year=2020)) == 0.0


@pytest.mark.parametrize(
    ("charging", "expected"),
    [
        (
            {"targets": {"fast": {2020: 30_000}}},
            (
                "charging.targets.fast[2020]: got 2020; allowed: a target year after "
                "years.history_end (2024)"
            ),
        ),
        (
            {"targets": {"fast": {2030: -5}}},
            "charging.targets.fast[2030]: allowed: greater than or equal to 0 (got -5)",
        ),
        ({"targets": {"fast": {}}}, "charging.targets: no target year for ['fast']"),
        (
            {"charger_life_spread": 0.8},
            "charging.charger_life_spread: allowed: 0 to 0.5 of the mean life (got 0.8)",
        ),
        ({"allow_decline": "sometimes"}, "charging.allow_decline"),
    ],
)
def test_bad_charging_options_are_named(write_scenario, charging, expected):
    path = write_scenario({"charging": charging})
    with pytest.raises(ScenarioError) as error:
        evpath.run(path)
    assert expected in str(error.value)


def test_a_spread_life_returns_an_installation_wave_as_a_gentle_replacement():
    """16,000 chargers installed in two years and the count held: with one fixed life
    they all return in two years (a spike); with a normal life of standard deviation
    σ the replacements of a year stay below the wave × the density peak 1/(σ√(2π)),
    and every charger is replaced once over the spread."""
    years = np.arange(2010, 2041)
    required = xr.DataArray(
        np.where(years >= 2015, 16_000.0, np.where(years >= 2014, 8_600.0, 0.0)),
        coords={"year": years},
    )
    fixed = keep_in_service(required, service_life(9.0, 0.0), "chargers")
    assert float(fixed.retired.sel(year=2023)) == pytest.approx(8_600)
    spread = keep_in_service(required, service_life(9.0, 0.25), "chargers")
    sigma = 0.25 * 9.0
    peak = 16_000 / (sigma * np.sqrt(2 * np.pi))
    assert float(spread.retired.max()) < 1.05 * peak < 0.5 * 8_600
    first_life = spread.retired.sel(year=slice(2016, 2027))
    assert float(first_life.sum()) == pytest.approx(16_000, rel=0.15)
    assert int((first_life > 0.05 * 16_000).sum()) >= 6  # spread over six years or more
    np.testing.assert_allclose(
        spread.installed.diff("year"),
        (spread.added - spread.retired).isel(year=slice(1, None)),
        atol=1e-6,
    )


@pytest.mark.parametrize("name", _bundled_with_chargers())
def test_replacement_has_no_spike_and_chargers_balance(shared_run, name):
    """Chargers in service balance with installations and retirements in every year, and
    retirements are never negative. Bound on spikes: no year retires more than the peak
    density of the life, 1/(σ√(2π)), times the chargers installed between 3σ before and
    3σ after one mean life earlier (with one fixed life, 2024 retired all 8,600 slow
    chargers of 2014 at once, above that bound)."""
    scenario = load_scenario(name)
    life = scenario.charging.charger_life
    sigma = scenario.charging.charger_life_spread * life
    dataset = shared_run(name).dataset
    chargers, added = dataset["public_chargers"], dataset["chargers_added"]
    retired = dataset["chargers_retired"]
    np.testing.assert_allclose(
        chargers.diff("year"), (added - retired).isel(year=slice(1, None)), atol=1e-6
    )
    assert float(retired.min()) >= -1e-6
    peak = 1 / (sigma * np.sqrt(2 * np.pi))
    for year in range(HISTORY_END, int(dataset.year.max()) + 1):
        window = slice(
            int(np.floor(year - life - 3 * sigma)), int(np.ceil(year - life + 3 * sigma))
        )
        bound = peak * added.sel(year=window).sum("year")
        assert bool((retired.sel(year=year) <= 1.05 * bound + 1e-6).all()), f"{name}, {year}"


def test_charging_investment_no_longer_jumps_after_the_history(japan_current_trends):
    """Without a target (japan-current-trends), investment from the last history year to
    the next changes by less than a third (was +87%)."""
    invest = japan_current_trends.dataset["charging_investment"].sum("charger_type")
    last, first = (
        float(invest.sel(year=HISTORY_END).sum()),
        float(invest.sel(year=HISTORY_END + 1).sum()),
    )
    assert abs(first / last - 1) < 1 / 3


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


@pytest.mark.long
def test_drawn_charger_and_equipment_inputs_run_at_once_like_one_by_one(write_scenario):
    """Four members drawing the charger life and spread, the fast target, the equipment
    life and utilisation, run in one vectorised pass, equal the same scenarios run one by
    one (charging and plant variables)."""
    from evpath.analysis.ensemble.members import MemberRunner
    from evpath.analysis.ensemble.sampling import design
    from evpath.core.dims import DRAW
    from evpath.model.pipeline import Inputs, run_pipeline
    from evpath.scenario.loader import resolve_scenario
    from evpath.scenario.uncertainty import locate, with_value

    ranges = {
        "charging.charger_life": (7.0, 11.0),
        "charging.charger_life_spread": (0.1, 0.4),
        "charging.targets.fast.2030": (20_000.0, 40_000.0),
        "batteries.manufacturing.equipment_life": (8.0, 14.0),
        "batteries.manufacturing.utilisation": (0.6, 0.9),
    }
    path = write_scenario(
        {
            "uncertainty": {
                "note": "test ranges",
                "parameters": {
                    name: {"distribution": "uniform", "low": low, "high": high}
                    for name, (low, high) in ranges.items()
                },
            }
        }
    )
    scenario = load_scenario(path)
    values = design(scenario.uncertainty, 4, "lhs", 3, sensitivity=False).values
    members = MemberRunner(scenario).run(values)
    document = scenario.model_dump(exclude={"uncertainty"})
    names = [
        "public_chargers",
        "chargers_added",
        "chargers_retired",
        "charging_investment",
        "fast_chargers_by_standard",
        "cell_capacity_installed",
        "capacity_added",
        "equipment_investment",
        "equipment_replacement_investment",
    ]
    for member in range(values.sizes[DRAW]):
        row = values.isel({DRAW: member})
        plain = document
        for name in ranges:
            plain = with_value(plain, locate(document, name), float(row.sel(input=name)))
        single = resolve_scenario(plain)
        expected = run_pipeline(single, Inputs.load(single))
        got = members.isel({DRAW: member})
        for name in names:
            np.testing.assert_allclose(
                got[name].transpose(*expected[name].dims).to_numpy(),
                expected[name].to_numpy(),
                rtol=1e-6,
                atol=1e-6,
                err_msg=f"{name} of member {member}",
            )
