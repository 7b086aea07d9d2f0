"""The Python entry point: ``evpath.run(scenario) -> Results``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evpath.io.manifest import build_manifest
from evpath.model.pipeline import Inputs, run_pipeline
from evpath.results import Results
from evpath.scenario.loader import load_scenario
from evpath.scenario.schema import Scenario

ProgressHook = Callable[[str], None]


def run(scenario: Scenario | str | Path, progress: ProgressHook | None = None) -> Results:
    """Run a scenario: a :class:`Scenario`, a bundled scenario name, or a YAML path.

    Parameters
    ----------
    scenario : Scenario, str or Path
    progress : callable, optional
        Called with the name of each step as it starts (the CLI draws a progress bar).

    Examples
    --------
    >>> results = run("japan-2050")                     # doctest: +SKIP
    >>> results.dataset["stock"].sel(year=2050).sum()   # doctest: +SKIP
    """
    step = progress or (lambda _name: None)
    step("load scenario")
    resolved = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    step("load data")
    inputs = load_inputs(resolved)
    step("run model")
    dataset = run_pipeline(resolved, inputs)
    return Results(
        scenario=resolved,
        dataset=dataset,
        manifest=build_manifest(resolved, inputs.datasets),
        history_provenance=inputs.history.provenance,
        observed=inputs.history.observed,
    )


def load_inputs(scenario: Scenario) -> Inputs:
    """Read every dataset the scenario needs, once."""
    return Inputs.load(scenario)
