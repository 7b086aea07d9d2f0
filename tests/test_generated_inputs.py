"""Generated bad inputs: evpath either accepts a file and computes finite results, or
rejects it with exit code 2, naming the file, the field and what is allowed.

Inputs are mutations of the bundled japan-2050 scenario and japan-cobalt alliance: a
numeric value replaced by NaN, ±inf, a negative, huge or tiny number, a string or null; a
key deleted or added; a list item repeated; random bytes; deep nesting. Every example is
derived from a fixed seed, so failures reproduce.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import evpath
from evpath.cli.app import app
from evpath.core.variables import catalogue
from evpath.errors import EvpathError
from evpath.procurement.instance import resolve
from evpath.procurement.schema import bundled_alliances, load_alliance
from evpath.scenario.loader import bundled_scenarios, format_field_path

runner = CliRunner()
counter = itertools.count()

BASE_SCENARIO: dict[str, Any] = yaml.safe_load(
    bundled_scenarios()["japan-2050"].read_text(encoding="utf-8")
)
BASE_ALLIANCE: dict[str, Any] = yaml.safe_load(
    bundled_alliances()["japan-cobalt"].read_text(encoding="utf-8")
)

Path_ = tuple[Any, ...]

BAD_NUMBERS = [
    math.nan,
    math.inf,
    -math.inf,
    -1.0,
    -1e6,
    0.0,
    1e-300,
    1e300,
    1e9,
    10**30,
    "ten",
    None,
    True,
    [],
]
"""What replaces a numeric value."""

SCALES = [0.0, 1e-6, 0.01, 0.5, 0.9, 1.1, 2.0, 10.0, 1000.0]
"""Factors on a numeric value: results a model run may accept, at the edges of the domain."""

FIELD_LINE = re.compile(r"^\s*(<top level>|\S+): \S")
"""A message line naming a field path (``  sales.milestones[0].year: got ...``)."""


DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's emitter where PyYAML has it: the same YAML as the pure-Python one, faster."""


SAYS_WHAT_IS_ALLOWED = ("allowed", "required field is missing", "give ", "needs ")
"""Phrases by which a message says what is allowed."""


def _walk(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, i))


def _paths(document: dict[str, Any], kind: str) -> list[Path_]:
    def wanted(value: Any) -> bool:
        if kind == "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "mapping":
            return isinstance(value, dict)
        return isinstance(value, list) and bool(value)

    return [path for path, value in _walk(document) if path or kind == "mapping" if wanted(value)]


def _set(document: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


def _get(document: dict[str, Any], path: Path_) -> Any:
    node: Any = document
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> bytes:
    """A file: ``base`` with one mutation, or bytes that are barely YAML."""
    kind = draw(
        st.sampled_from(
            ["number", "number", "number", "delete", "repeat", "unknown", "bytes", "nesting"]
        )
    )
    document = copy.deepcopy(base)
    if kind == "number":
        path = draw(st.sampled_from(_paths(base, "number")))
        value = draw(st.sampled_from(BAD_NUMBERS) | st.integers(-(10**6), 10**6))
        document = _set(document, path, value)
    elif kind == "delete":
        path = draw(st.sampled_from(_paths(base, "mapping")))
        keys = list(_get(base, path))
        if keys:
            del _get(document, path)[draw(st.sampled_from(keys))]
    elif kind == "repeat":
        path = draw(st.sampled_from(_paths(base, "list")))
        items = _get(document, path)
        items.append(copy.deepcopy(items[draw(st.integers(0, len(items) - 1))]))
    elif kind == "unknown":
        path = draw(st.sampled_from(_paths(base, "mapping")))
        _get(document, path)[draw(st.sampled_from(["speed", "Extra", "9x"]))] = 1.0
    elif kind == "bytes":
        return draw(st.binary(max_size=300))
    else:
        depth = draw(st.integers(30, 600))
        return b"name: " + b"[" * depth + b"1" + b"]" * depth + b"\n"
    return yaml.dump(document, Dumper=DUMPER, sort_keys=False, allow_unicode=True).encode("utf-8")


def _write(folder: Path, content: bytes) -> Path:
    path = folder / f"input-{next(counter)}.yaml"
    path.write_bytes(content)
    return path


def _assert_reported(path: Path, message: str) -> None:
    """A rejection names the file and, line by line, a field path and what is allowed."""
    assert "Traceback" not in message, message
    assert str(path) in message, message
    assert any(says in message for says in SAYS_WHAT_IS_ALLOWED), message
    detail = message.split(str(path), 1)[1]
    lines = [line for line in detail.splitlines()[1:] if line.strip()]
    assert all(FIELD_LINE.match(line) for line in lines), message


def _assert_finite(dataset: Any) -> None:
    """No ±inf anywhere; NaN only in the variables the catalogue allows it in."""
    known = catalogue()
    for name, array in dataset.data_vars.items():
        values = np.asarray(array.values, dtype=float)
        assert not np.isinf(values).any(), name
        if not known[str(name)].missing:
            assert np.isfinite(values).all(), name


def _validate(path: Path) -> int:
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    if result.exit_code == 2:
        _assert_reported(path, result.output)
    return result.exit_code


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(content=mutated(BASE_SCENARIO))
def test_validate_accepts_or_names_the_field(tmp_path_factory: pytest.TempPathFactory, content):
    path = _write(tmp_path_factory.getbasetemp(), content)
    _validate(path)


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_what_validate_accepts_runs_to_finite_results(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
):
    path_to = data.draw(st.sampled_from(_paths(BASE_SCENARIO, "number")))
    original = _get(BASE_SCENARIO, path_to)
    scaled = st.sampled_from(SCALES).map(lambda f: type(original)(original * f))
    value = data.draw(st.one_of(scaled, scaled, scaled, st.sampled_from(BAD_NUMBERS)))
    document = _set(BASE_SCENARIO, path_to, value)
    document["name"] = "generated"
    path = _write(
        tmp_path_factory.getbasetemp(), yaml.dump(document, Dumper=DUMPER).encode("utf-8")
    )
    if _validate(path) == 0:
        try:
            results = evpath.run(path)
        except EvpathError as exc:  # validate accepted what the run rejects
            pytest.fail(f"{path_to} = {value!r} passed validate, run said: {exc}")
        _assert_finite(results.dataset)


YEAR_PATHS = [
    path
    for path, value in _walk(BASE_SCENARIO)
    if isinstance(value, dict) and value and all(isinstance(k, int) for k in value)
]
"""Paths of the scenario given by year ({year: value}): lifetimes, packs, grid, hydrogen,
vehicle cycle, charging targets and standards."""


def _related(path: str, field: str) -> bool:
    """Whether the field paths ``path`` and ``field`` are the same or one lies inside the
    other."""
    inside = path.startswith((f"{field}.", f"{field}[")) or field.startswith(
        (f"{path}.", f"{path}[")
    )
    return path == field or inside


@pytest.mark.parametrize("moved", [1950, 2020, 2061])
def test_years_of_every_path_moved_are_refused_by_validate_or_run(tmp_path, moved):
    """Every path's nearest year moved to ``moved`` (before the scenario's start, in its
    history, past its end) at once: validate refuses some, naming each; with those put
    back, what validate accepts runs to finite results."""
    pending = list(YEAR_PATHS)
    while True:
        document = copy.deepcopy(BASE_SCENARIO)
        document["name"] = "generated"
        for path_to in pending:
            path = _get(document, path_to)
            if moved not in path:
                path[moved] = path.pop(min(path, key=lambda year: abs(year - moved)))
        file = _write(tmp_path, yaml.dump(document, Dumper=DUMPER).encode("utf-8"))
        if _validate(file) == 0:
            break
        message = runner.invoke(app, ["validate", str(file)]).output
        fields = [line.strip().split(": ", 1)[0] for line in message.splitlines()[2:]]
        refused = [p for p in pending if any(_related(format_field_path(p), f) for f in fields)]
        assert refused, message  # a refusal names a moved path, a year in it, or its block
        pending = [p for p in pending if p not in refused]
    try:
        results = evpath.run(file)
    except EvpathError as exc:  # validate accepted what the run rejects
        pytest.fail(f"years moved to {moved} in {pending} passed validate, run said: {exc}")
    _assert_finite(results.dataset)


@pytest.fixture(scope="module")
def run_data(japan_2050):
    return japan_2050.dataset


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(content=mutated(BASE_ALLIANCE))
def test_alliance_loads_to_finite_instance_or_names_the_field(
    tmp_path_factory: pytest.TempPathFactory, run_data, content
):
    path = _write(tmp_path_factory.getbasetemp(), content)
    try:
        alliance = load_alliance(path)
    except EvpathError as exc:
        _assert_reported(path, str(exc))
        return
    try:
        instance = resolve(alliance, run_data=run_data)
    except EvpathError as exc:  # data the file names but the bundled datasets lack
        refused = str(exc)
    else:
        refused = ""
    if refused:
        assert any(says in refused for says in SAYS_WHAT_IS_ALLOWED), refused
        return
    padding = np.isnan(instance.tier_price)
    assert np.isfinite(instance.tier_price[~padding]).all()
    assert (np.isinf(instance.tier_end) <= ~np.isnan(instance.tier_end)).all()
    for values in (
        instance.demand,
        instance.capacity,
        instance.min_order,
        instance.fixed_cost,
        instance.risk,
        np.array([instance.holding_cost, instance.risk_weight, instance.stock_months]),
    ):
        assert np.isfinite(values).all(), alliance
