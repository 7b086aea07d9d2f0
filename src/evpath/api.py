"""The Python entry point: ``evpath.run(scenario) -> Results``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from evpath.errors import InputError, ScenarioError
from evpath.io.manifest import build_manifest
from evpath.model.pipeline import Inputs, run_pipeline
from evpath.results import Results
from evpath.scenario.loader import (
    _merged_document,
    bundled_scenarios,
    deep_merge,
    format_validation_error,
    load_scenario,
    resolve_path,
)
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


def resolve_scenario(scenario: object) -> Scenario:
    """The validated :class:`Scenario` of anything :func:`run` accepts; InputError otherwise."""
    if isinstance(scenario, Scenario):
        return _revalidated(scenario)
    if isinstance(scenario, str | Path):
        return load_scenario(scenario)
    if isinstance(scenario, Mapping):
        return _from_mapping(scenario)
    names = ", ".join(bundled_scenarios())
    msg = (
        f"scenario: got {_described(scenario)}; allowed: a Scenario, a bundled scenario name "
        f"({names}), a YAML file path, or a mapping of scenario fields"
    )
    raise InputError(msg)


def _described(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _revalidated(scenario: Scenario) -> Scenario:
    name = getattr(scenario, "name", None)
    where = f"scenario {name!r} (a Scenario object)" if isinstance(name, str) else "Scenario"
    try:
        document = scenario.model_dump(warnings=False)
    except PydanticSerializationError as exc:
        msg = f"{where}: cannot be read back as a scenario: {exc}"
        raise ScenarioError(msg) from None
    return _validated(document, where)


def _from_mapping(mapping: Mapping[Any, Any]) -> Scenario:
    name = mapping.get("name")
    where = f"scenario mapping {name!r}" if isinstance(name, str) else "scenario mapping"
    document = dict(mapping)
    base_ref = document.get("extends")
    if base_ref is not None:
        if not isinstance(base_ref, str | Path):
            msg = (
                f"{where}: extends: got {_described(base_ref)}; allowed: a bundled scenario "
                "name or a path"
            )
            raise ScenarioError(msg)
        base, _chain = _merged_document(resolve_path(base_ref), depth=1)
        document = deep_merge(base, document)
    return _validated(document, where)


def _validated(document: dict[str, Any], where: str) -> Scenario:
    try:
        return Scenario.model_validate(document)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(where, exc, Scenario)) from None


def load_inputs(scenario: Scenario) -> Inputs:
    """Read every dataset the scenario needs, once."""
    return Inputs.load(scenario)
