"""Energy use per km by model year: improvement as a rate or as rates by model year."""

from __future__ import annotations

import numpy as np
import pytest

from evpath.model.energy import improvement_trend
from evpath.scenario.loader import load_scenario


@pytest.fixture(scope="module")
def energy():
    scenario = load_scenario("japan-2050")
    assert scenario.emissions is not None
    return scenario.emissions.energy


COHORTS = np.arange(1990, 2061)


def test_a_constant_path_is_the_constant_rate(energy):
    constant = energy.model_copy(update={"improvement": {"ICEV_gasoline": 0.014}})
    as_path = energy.model_copy(
        update={"improvement": {"ICEV_gasoline": {2000: 0.014, 2030: 0.014}}}
    )
    a = improvement_trend(constant, COHORTS).sel(powertrain="ICEV_gasoline")
    b = improvement_trend(as_path, COHORTS).sel(powertrain="ICEV_gasoline")
    np.testing.assert_allclose(a, b, rtol=1e-12)
    until = min(energy.improvement_until, 2060)
    expected = 0.986 ** (np.minimum(COHORTS, until) - energy.reference_year)
    np.testing.assert_allclose(a, expected, rtol=1e-12)


def test_a_rate_from_a_later_model_year_leaves_earlier_ones_alone(energy):
    spec = energy.model_copy(update={"improvement": {"HEV": {2024: 0.0, 2025: 0.014}}})
    trend = improvement_trend(spec, COHORTS).sel(powertrain="HEV")
    assert np.allclose(trend.sel(cohort=slice(None, 2024)), 1.0)
    until = spec.improvement_until
    assert float(trend.sel(cohort=2030)) == pytest.approx(0.986**6)
    assert float(trend.sel(cohort=2060)) == pytest.approx(0.986 ** (until - 2024))
    assert np.allclose(improvement_trend(spec, COHORTS).sel(powertrain="BEV"), 1.0)


def test_the_hybrid_lever_changes_only_the_rates_after_the_history():
    from evpath.scenario.loader import resolve_scenario
    from evpath.web import levers
    from evpath.web.schemas import Levers

    base = resolve_scenario(
        {
            "extends": "japan-2050",
            "name": "stepped",
            "emissions": {"energy": {"improvement": {"HEV": {2024: 0.0, 2025: 0.014}}}},
        }
    )
    assert levers.current(base).hev_improvement == 0.014
    document = levers.override(base, Levers(hev_improvement=0.02))
    improvement = document["emissions"]["energy"]["improvement"]
    assert improvement["HEV"] == {2024: 0.0, 2025: 0.02}
    assert improvement["BEV"] == 0.01
