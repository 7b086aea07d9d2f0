"""Shared fixtures: scenario files written into a temporary folder, and model results computed
once per test session (by whichever xdist worker needs them first) and shared read-only by
every test that only reads them."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
import typer.main
import typer.testing
import yaml

if TYPE_CHECKING:
    import xarray as xr

    from evpath.analysis.reverse import ReverseAnswer
    from evpath.model.pipeline import Inputs
    from evpath.results import Results


# Typer's test runner builds the click command from evpath's app on every invoke (about
# 30 ms: it reads every command's signature); the command does not change, so build it
# once per app.
typer.testing._get_command = functools.lru_cache(maxsize=8)(typer.main.get_command)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``long`` first, otherwise in the order collected: pytest-xdist hands
    out tests in this order, so the long ones start early on every worker instead of
    running on one at the end while the other waits."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[[dict], Path]:
    """Write a scenario document (extending japan-2050 unless it says otherwise) to a file."""

    def write(document: dict, name: str = "scenario.yaml") -> Path:
        content = {"extends": "japan-2050", "name": "test", **document}
        path = tmp_path / name
        path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
        return path

    return write


def read_only(dataset: xr.Dataset) -> xr.Dataset:
    """A deep copy of ``dataset`` whose arrays refuse in-place writes.

    Results shared between tests are handed out this way, so a test that changed one in
    place would fail at that write instead of silently changing what later tests see. A
    test that needs to change a result works on ``dataset.copy(deep=True)``.
    """
    copy = dataset.copy(deep=True)
    for variable in copy.variables.values():
        variable.values.flags.writeable = False
    return copy


T = TypeVar("T")


@pytest.fixture(scope="session")
def computed_once(tmp_path_factory, worker_id) -> Callable[[str, Callable[[], Any]], Any]:
    """``get(key, compute)``: ``compute()``, called once per test session for each ``key``.

    Under pytest-xdist the workers share the value: the first to ask computes it while
    holding a lock on the key (evpath's own folder lock) and pickles it into the session's
    temporary folder (common to the workers and removed with it); the others wait for it
    and load it. Keys name
    the inputs in full (a bundled scenario, a file, a metric), so the same key is always
    the same computation; ``compute`` asks for no other key (a worker holding one key's
    lock never waits for another's).
    """
    folder = tmp_path_factory.getbasetemp().parent / "computed-once"
    values: dict[str, Any] = {}

    def shared(key: str, compute: Callable[[], T]) -> T:
        """``compute()`` or, if another worker has computed ``key``, its pickled value."""
        from evpath.io.publish import folder_lock

        entry = folder / hashlib.sha256(key.encode()).hexdigest()[:24]
        entry.mkdir(parents=True, exist_ok=True)
        pickled = entry / "value.pickle"
        with folder_lock(entry, wait=3600, notify=lambda message: None):
            if pickled.exists():
                return pickle.loads(pickled.read_bytes())
            value = compute()
            (entry / "value.tmp").write_bytes(pickle.dumps(value))
            os.replace(entry / "value.tmp", pickled)
            return value

    def get(key: str, compute: Callable[[], T]) -> T:
        if key not in values:
            values[key] = compute() if worker_id == "master" else shared(key, compute)
        return values[key]

    return get


@pytest.fixture(scope="session")
def shared_run(computed_once) -> Callable[[str | Path], Results]:
    """``evpath.run`` of a bundled scenario name or a scenario file, computed once.

    The results are shared: their dataset is read-only (see :func:`read_only`). Tests that
    check something about a fresh run (a new run id, say) call ``evpath.run`` themselves.
    """
    import evpath

    cache: dict[str, Results] = {}

    def run(scenario: str | Path) -> Results:
        key = str(scenario)
        if key not in cache:
            results = computed_once(f"evpath.run({key!r})", lambda: evpath.run(scenario))
            cache[key] = dataclasses.replace(results, dataset=read_only(results.dataset))
        return cache[key]

    return run


@pytest.fixture(scope="session")
def japan_2050(shared_run) -> Results:
    """The bundled japan-2050 scenario, run once."""
    return shared_run("japan-2050")


@pytest.fixture(scope="session")
def japan_current_trends(shared_run) -> Results:
    """The bundled japan-current-trends scenario, run once."""
    return shared_run("japan-current-trends")


@pytest.fixture(scope="session")
def japan_2050_inputs(japan_2050) -> Inputs:
    """Every dataset japan-2050 reads (``evpath.api.load_inputs``), loaded once."""
    from evpath.api import load_inputs

    return load_inputs(japan_2050.scenario)


@pytest.fixture(scope="session")
def reverse_answers(
    japan_2050, japan_2050_inputs, computed_once
) -> Callable[[str | None], ReverseAnswer]:
    """``solve_reverse`` for japan-2050 by target metric (None: the scenario's own), each
    metric solved once."""
    from evpath.analysis.reverse import solve_reverse

    def answer(metric: str | None = None) -> ReverseAnswer:
        return computed_once(
            f"solve_reverse(japan-2050, metric={metric!r})",
            lambda: solve_reverse(japan_2050.scenario, japan_2050_inputs, metric=metric),
        )

    return answer


@dataclass(frozen=True)
class StoredRun:
    """A run written into a fresh results store, and the run as read back from it."""

    store: Path
    run_id: str
    dataset: xr.Dataset


@pytest.fixture(scope="session")
def stored_japan(japan_2050, tmp_path_factory, computed_once) -> StoredRun:
    """The shared japan-2050 run in a temporary store (only the store: no published
    files), and its dataset as read back from the store; written once per test session
    (each xdist worker reads its own copy of the file) and only read by the tests that
    use it."""

    def written() -> tuple[bytes, xr.Dataset]:
        from evpath.io.store import ResultsStore
        from evpath.report.runs import stored_dataset

        path = tmp_path_factory.mktemp("written") / "evpath.duckdb"
        ResultsStore(path).write(japan_2050.manifest, japan_2050.tidy)
        return path.read_bytes(), stored_dataset(ResultsStore(path), japan_2050.run_id)

    content, dataset = computed_once(f"stored {japan_2050.run_id}", written)
    store = tmp_path_factory.mktemp("store") / "evpath.duckdb"
    store.write_bytes(content)
    return StoredRun(store, japan_2050.run_id, dataset)
