"""The Python entry point: ``evpath.run(scenario) -> Results``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from evpath.io.manifest import build_manifest
from evpath.model.pipeline import Inputs, run_pipeline
from evpath.results import Results
from evpath.scenario.loader import resolve_scenario
from evpath.scenario.schema import Scenario

ProgressHook = Callable[[str], None]
ScenarioLike = Scenario | str | Path | Mapping[str, Any]
"""What :func:`run` accepts as a scenario."""


def run(scenario: ScenarioLike, progress: ProgressHook | None = None) -> Results:
    """Run a scenario: a :class:`Scenario`, a bundled scenario name, a YAML path, or a
    mapping of scenario fields (as a file would hold them, ``extends:`` included).

    Parameters
    ----------
    scenario : Scenario, str, Path or mapping
        A Scenario object is validated again (one built with ``model_copy(update=...)``
        skipped validation) and a mapping is validated like a file, so both give the
        errors a file gives.
    progress : callable, optional
        Called with the name of each step as it starts (the CLI draws a progress bar).

    Raises
    ------
    ScenarioError
        An invalid scenario: where, what was received and what is allowed.
    InputError
        ``scenario`` is none of the above.

    Examples
    --------
    >>> results = run("japan-2050")                     # doctest: +SKIP
    >>> results.dataset["stock"].sel(year=2050).sum()   # doctest: +SKIP
    """
    step = progress or (lambda _name: None)
    step("load scenario")
    resolved = resolve_scenario(scenario)
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
