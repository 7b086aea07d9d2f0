"""The scenario's uncertainty block: distributions, choices and field paths are validated
like every other field (exit 2 naming the uncertainty path), generated blocks included."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from evpath.cli.app import app
from evpath.errors import ScenarioError
from evpath.scenario.loader import load_scenario
from evpath.scenario.uncertainty import (
    QUANTILE_RANGE,
    LogNormal,
    Normal,
    Triangular,
    TruncatedNormal,
    Uniform,
)

runner = CliRunner()


def uncertain(parameters: dict | None = None, choices: dict | None = None) -> dict:
    block: dict = {"note": "test ranges"}
    if parameters is not None:
        block["parameters"] = parameters
    if choices is not None:
        block["choices"] = choices
    return {"uncertainty": block}


def test_the_bundled_uncertain_scenario_validates():
    scenario = load_scenario("japan-2050-uncertain")
    assert scenario.uncertainty is not None
    assert "emissions.grid.pathway" in scenario.uncertainty.choices
    assert len(scenario.uncertainty.names) == 11


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        (
            {"fleet.lifetime.shap": {"distribution": "uniform", "low": 1.5, "high": 2.5}},
            "uncertainty.parameters.fleet.lifetime.shap: no field 'shap' in fleet.lifetime",
        ),
        (
            {"years.end": {"distribution": "uniform", "low": 2050, "high": 2060}},
            "uncertainty.parameters.years.end: the field holds 2060",
        ),
        (
            {"fleet.lifetime": {"distribution": "uniform", "low": 1, "high": 2}},
            "uncertainty.parameters.fleet.lifetime: the field holds a block",
        ),
        (
            {
                "batteries.recycling.collection_rate": {
                    "distribution": "uniform",
                    "low": 0.5,
                    "high": 1.2,
                }
            },
            "the scenario is invalid at 1.2: batteries.recycling.collection_rate",
        ),
        (
            {"emissions.energy.kei_factor": {"distribution": "normal", "mean": 0.76, "sd": 0.2}},
            "uncertainty.parameters.emissions.energy.kei_factor: the scenario is invalid at -0.4",
        ),
        (
            {"fleet.lifetime.shape": {"distribution": "uniform", "low": 3.0, "high": 2.0}},
            "allowed: low < high",
        ),
        (
            {"fleet.lifetime.shape": {"distribution": "lognormal", "median": 2.0, "sigma": -1}},
            "sigma",
        ),
        (
            {
                "fleet.lifetime.shape": {
                    "distribution": "triangular",
                    "low": 1.0,
                    "mode": 4.0,
                    "high": 3.0,
                }
            },
            "mode: got 4.0; allowed: from low (1.0) to high (3.0)",
        ),
        (
            {"fleet.lifetime.shape": {"distribution": "beta", "a": 1}},
            "uncertainty.parameters.fleet.lifetime.shape",
        ),
    ],
)
def test_bad_parameters_exit_2_naming_the_uncertainty_path(write_scenario, parameters, expected):
    path = write_scenario(uncertain(parameters))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("choices", "expected"),
    [
        (
            {"emissions.grid.pathway": {"alternatives": {"no-such-scenario": 1.0}}},
            "no-such-scenario",
        ),
        (
            {
                "emissions.grid.pathway": {
                    "alternatives": {"japan-2050": 0.5, "usa-current-trends": 0.4}
                }
            },
            "probabilities of the alternatives sum to 0.9",
        ),
        (
            {"emissions.grid.pathways": {"alternatives": {"japan-2050": 1.0}}},
            "uncertainty.choices.emissions.grid.pathways: no field 'pathways'",
        ),
        (
            {"years": {"alternatives": {"japan-2050": 0.5, "world-current-trends": 0.5}}},
            "choices.years.alternatives.world-current-trends: its years differ from the",
        ),
        (
            {"regions": {"alternatives": {"japan-2050": 0.5, "usa-current-trends": 0.5}}},
            "choices.regions.alternatives.usa-current-trends: its regions differ from the",
        ),
    ],
)
def test_bad_choices_exit_2_naming_the_uncertainty_path(write_scenario, choices, expected):
    path = write_scenario(uncertain(choices=choices))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output


def test_a_number_cannot_be_drawn_inside_a_chosen_block(write_scenario):
    path = write_scenario(
        uncertain(
            {
                "emissions.grid.pathway.2050.intensity": {
                    "distribution": "uniform",
                    "low": 20,
                    "high": 80,
                }
            },
            {"emissions.grid.pathway": {"alternatives": {"japan-2050": 1.0}}},
        )
    )
    with pytest.raises(ScenarioError, match="a number drawn or a block chosen, not both"):
        load_scenario(path)


distributions = st.one_of(
    st.builds(
        dict,
        distribution=st.just("normal"),
        mean=st.floats(-5, 30),
        sd=st.floats(-1, 5),
    ),
    st.builds(
        dict,
        distribution=st.just("truncnormal"),
        mean=st.floats(-5, 30),
        sd=st.floats(0.01, 5),
        low=st.floats(-5, 30),
        high=st.floats(-5, 30),
    ),
    st.builds(
        dict, distribution=st.just("lognormal"), median=st.floats(-1, 30), sigma=st.floats(0, 2)
    ),
    st.builds(dict, distribution=st.just("uniform"), low=st.floats(-5, 30), high=st.floats(-5, 30)),
    st.builds(
        dict,
        distribution=st.just("triangular"),
        low=st.floats(-5, 30),
        mode=st.floats(-5, 30),
        high=st.floats(-5, 30),
    ),
)
PATHS = (
    "fleet.lifetime.shape",
    "emissions.energy.kei_factor",
    "batteries.recycling.collection_rate",
    "emissions.grid.pathway.2050.intensity",
)


@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(path=st.sampled_from(PATHS), distribution=distributions)
def test_generated_blocks_validate_or_name_the_field(write_scenario, path, distribution):
    """Either every draw the block can make is a valid value of the field, or validation
    exits 2 naming the uncertainty path; never a traceback."""
    file = write_scenario(uncertain({path: distribution}))
    result = runner.invoke(app, ["validate", str(file)])
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert f"uncertainty.parameters.{path}" in result.output or "uncertainty" in result.output
    else:
        scenario = load_scenario(file)
        assert scenario.uncertainty is not None
        low, high = scenario.uncertainty.parameters[path].extremes()
        assert np.isfinite(low)
        assert np.isfinite(high)


@pytest.mark.parametrize(
    "distribution",
    [
        Normal(distribution="normal", mean=1.0, sd=0.5),
        TruncatedNormal(distribution="truncnormal", mean=1.0, sd=0.5, low=0.2, high=1.4),
        LogNormal(distribution="lognormal", median=2.0, sigma=0.3),
        Uniform(distribution="uniform", low=-1.0, high=3.0),
        Triangular(distribution="triangular", low=0.0, mode=1.0, high=4.0),
    ],
)
def test_quantile_functions_rise_and_stay_within_the_extremes(distribution):
    quantiles = np.linspace(*QUANTILE_RANGE, 201)
    values = distribution.ppf(quantiles)
    low, high = distribution.extremes()
    assert np.all(np.diff(values) > 0)
    assert values.min() >= low - 1e-12
    assert values.max() <= high + 1e-12
    assert np.all(np.isfinite(values))


def test_a_distribution_whose_extreme_overflows_is_refused_without_a_warning(write_scenario):
    """The extreme is inf, which the field refuses; numpy's overflow warning is not shown."""
    lognormal = {"distribution": "lognormal", "median": 1e308, "sigma": 5.0}
    path = write_scenario(uncertain(parameters={"fleet.lifetime.shape": lognormal}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ScenarioError, match=r"fleet\.lifetime\.shape: allowed: 0\.1 to 20"):
            load_scenario(path)
