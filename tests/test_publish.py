"""A run's outputs are one unit: killed, concurrent or failing runs never leave a mixed set.

After every kill, the published set (``OUT/japan-2050/``) and the store show complete
runs: the published manifest, NetCDF and link name one run, that run is in the store
with as many rows as the published Parquet file, and every run folder is a stored run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import netCDF4
import pyarrow.parquet as pq
import pytest

from evpath.io import publish

NAME = "japan-2050"
EVPATH = [str(Path(sys.executable).with_name("evpath"))]

# one worker starts the writer helper once; together the tests take long
pytestmark = [pytest.mark.xdist_group("publish"), pytest.mark.long]


def test_the_group_reaches_the_scheduler(request, worker_id):
    """Under pytest-xdist, tests marked with one xdist_group go to one worker only if the
    mark reaches the scheduler (as a suffix of the test's id); otherwise every shared
    computation of a group runs, or is waited for, on both workers."""
    if worker_id == "master":
        pytest.skip("not run by pytest-xdist")
    assert request.node.nodeid.endswith("@publish")


# A helper process that holds a computed run and, on request, forks a child writing it
# (with a fresh run id) to an output folder and store; the test kills the child. The
# child may kill itself right after a chosen step, to hit each step of publishing.
WRITER = r"""
import hashlib, os, pickle, signal, sys, traceback
from datetime import UTC, datetime
import evpath.io.publish as publish
import evpath.io.store as store
from evpath.errors import EvpathError

with open(sys.argv[1], "rb") as file:
    results = pickle.load(file)
tidy = results.tidy
from evpath.io import export  # noqa: E402 (warm up the writers once, before forking)
export.netcdf_bytes(results.dataset, results.manifest)
export.parquet_bytes(tidy)


def fresh():
    now = datetime.now(UTC)
    digest = hashlib.sha256(f"{now}{os.getpid()}".encode()).hexdigest()[:8]
    run_id = f"{now:%Y%m%dT%H%M%S%f}-{results.scenario.name}-{digest}"
    manifest = {**results.manifest, "run_id": run_id, "created_at": now.isoformat()}
    run = type(results)(
        results.scenario, results.dataset, manifest, results.history_provenance, results.observed
    )
    run.__dict__["tidy"] = tidy
    return run


def die_after(owner, attribute):
    original = getattr(owner, attribute)

    def wrapped(*args, **kwargs):
        value = original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return value

    setattr(owner, attribute, wrapped)


STEPS = {
    "staged": (publish, "_check_link"),
    "committed": (store.ResultsStore, "write"),
    "moved": (os, "rename"),
    "linked-temporarily": (os, "symlink"),
    "replaced": (os, "replace"),
}

for line in sys.stdin:
    command, *args = line.split()
    if command == "write":
        out, store_path, step = args
        run = fresh()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                if step in STEPS:
                    die_after(*STEPS[step])
                run.write(out, store_path, wait=20.0, notify=lambda message: None)
                code = 0
            except EvpathError as exc:
                sys.stderr.write(f"{exc}\n")
                code = 2
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        print(pid, run.run_id, flush=True)
    elif command == "wait":
        _, status = os.waitpid(int(args[0]), 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
"""


class Writer:
    """The helper process: ``write`` starts a child and returns (pid, run id)."""

    def __init__(self, pickled: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(pickled)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _ask(self, line: str) -> str:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def write(self, out: Path, store: Path, step: str = "whole") -> tuple[int, str]:
        pid, run_id = self._ask(f"write {out} {store} {step}").split()
        return int(pid), run_id

    def wait(self, pid: int) -> int:
        return int(self._ask(f"wait {pid}"))

    def close(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)
        self.process.stdout.close()


@pytest.fixture(scope="module")
def small_run(japan_2050):
    """japan-2050 with a few of its variables: quick to write, so that kills at random
    moments mostly land in the steps after the files are built."""
    variables = ["sales_share", "electrified_sales_share"]
    return dataclasses.replace(japan_2050, dataset=japan_2050.dataset[variables])


@pytest.fixture(scope="module")
def writer(small_run, tmp_path_factory):
    pickled = tmp_path_factory.mktemp("writer") / "results.pickle"
    small_run.tidy  # computed once, pickled with the run  # noqa: B018
    pickled.write_bytes(pickle.dumps(small_run))
    helper = Writer(pickled)
    yield helper
    helper.close()


def stored_runs(store: Path) -> dict[str, int]:
    """Run id → number of result rows, for every run in the store."""
    if not store.exists():
        return {}
    with duckdb.connect(str(store), read_only=True) as con:
        runs = [row[0] for row in con.execute("SELECT run_id FROM runs").fetchall()]
        rows = dict(con.execute("SELECT run_id, count(*) FROM results GROUP BY run_id").fetchall())
    return {run_id: rows.get(run_id, 0) for run_id in runs}


def published_run(out: Path, store: Path) -> str | None:
    """The run the published set shows, after checking it is one complete stored run."""
    link = out / NAME
    runs = stored_runs(store)
    folders = {p.name for p in (out / publish.RUNS).iterdir()} if (out / "runs").exists() else set()
    assert folders <= set(runs), f"run folders not in the store: {folders - set(runs)}"
    if not link.is_symlink():
        assert not link.exists()
        return None
    manifest = json.loads((link / f"{NAME}.manifest.json").read_text(encoding="utf-8"))
    run_id = manifest["run_id"]
    assert os.readlink(link) == f"runs/{run_id}"
    with netCDF4.Dataset(link / f"{NAME}.nc", "r") as netcdf:
        assert netcdf.getncattr("run_id") == run_id
    assert run_id in runs
    assert pq.read_metadata(link / f"{NAME}.parquet").num_rows == runs[run_id]
    return str(run_id)


def leftovers(out: Path) -> list[str]:
    """Staging folders and temporary files in ``out``."""
    staging = out / publish.STAGING
    found = [p.name for p in staging.iterdir()] if staging.exists() else []
    return found + [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


STEPS = ["staged", "committed", "moved", "linked-temporarily", "replaced"]


def test_kill_right_after_each_step_of_publishing(writer, tmp_path: Path):
    store = tmp_path / "store.duckdb"
    pid, earlier = writer.write(tmp_path, store)
    assert writer.wait(pid) == 0
    shown = earlier
    for step in STEPS:
        pid, run_id = writer.write(tmp_path, store, step)
        assert writer.wait(pid) == -signal.SIGKILL
        now = published_run(tmp_path, store)
        assert now in (shown, run_id), step
        assert (now == run_id) == (step == "replaced"), step
        shown = now
    pid, last = writer.write(tmp_path, store)
    assert writer.wait(pid) == 0
    assert published_run(tmp_path, store) == last
    assert leftovers(tmp_path) == []


def test_kill_at_random_moments_of_the_write(writer, tmp_path: Path):
    store = tmp_path / "store.duckdb"
    pid, _ = writer.write(tmp_path, store)  # the first write also waits for the helper to start
    assert writer.wait(pid) == 0
    start = time.monotonic()
    pid, _ = writer.write(tmp_path, store)
    assert writer.wait(pid) == 0
    whole = time.monotonic() - start
    chance = random.Random(20260101)
    shown = published_run(tmp_path, store)
    outcomes = []
    for i in range(8):
        pid, run_id = writer.write(tmp_path, store)
        time.sleep(whole * (0.4 + 0.7 * i / 7) * chance.uniform(0.9, 1.1))
        os.kill(pid, signal.SIGKILL)
        outcomes.append(writer.wait(pid))
        now = published_run(tmp_path, store)
        assert now in (shown, run_id)
        shown = now
    assert -signal.SIGKILL in outcomes
    pid, last = writer.write(tmp_path, store)
    assert writer.wait(pid) == 0
    assert published_run(tmp_path, store) == last
    assert leftovers(tmp_path) == []
    assert len(list((tmp_path / "runs").iterdir())) <= publish.KEEP_RUNS


def test_concurrent_runs_on_one_store(writer, tmp_path: Path):
    store = tmp_path / "store.duckdb"
    outs = [tmp_path / "a", tmp_path / "a", tmp_path / "b", tmp_path / "b"]
    started = [(out, *writer.write(out, store)) for out in outs]
    codes = {run_id: (out, writer.wait(pid)) for out, pid, run_id in started}
    runs = stored_runs(store)
    for run_id, (out, code) in codes.items():
        assert code in (0, 2)
        assert (code == 0) == (run_id in runs)
        assert (code == 0) == (out / "runs" / run_id).is_dir()
    for out in set(outs):
        assert published_run(out, store) in {
            r for r, (o, c) in codes.items() if o == out and c == 0
        }
        assert leftovers(out) == []


def test_evpath_run_killed_while_writing(writer, tmp_path: Path):
    """``evpath run japan-2050`` itself, killed at a random moment after it has started
    to stage its files (or, by chance, after it has finished)."""
    out, store = tmp_path / "out", tmp_path / "out" / "store.duckdb"
    pid, earlier = writer.write(out, store)
    assert writer.wait(pid) == 0
    command = [*EVPATH, "run", NAME, "--out", str(out), "--store", str(store)]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    staging = out / publish.STAGING
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        if staging.exists() and any(staging.iterdir()):
            break
        time.sleep(0.002)
    time.sleep(random.uniform(0.0, 0.4))
    run.kill()
    _, errors = run.communicate(timeout=60)
    assert run.returncode in (0, -signal.SIGKILL), errors
    assert b"Traceback" not in errors
    now = published_run(out, store)  # one complete stored run, the earlier or the new one
    assert now is not None
    if run.returncode == 0:
        assert now != earlier
    pid, last = writer.write(out, store)
    assert writer.wait(pid) == 0
    assert published_run(out, store) == last
    assert leftovers(out) == []


@pytest.mark.parametrize("target", ["a file", "read-only", "/dev/full"])
def test_unwritable_out_exits_2_with_the_path(tmp_path: Path, target: str, small_run, monkeypatch):
    from typer.testing import CliRunner

    from evpath.cli.app import app

    if target == "read-only" and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    if target == "/dev/full" and not Path(target).exists():
        pytest.skip("no /dev/full here")
    out = {"a file": tmp_path / "file", "read-only": tmp_path / "ro"}.get(target, Path(target))
    if target == "a file":
        out.write_text("x", encoding="utf-8")
    if target == "read-only":
        out.mkdir()
        out.chmod(0o555)
    monkeypatch.setattr("evpath.api.run", lambda scenario, progress=None: small_run)
    store = tmp_path / "store.duckdb"
    try:
        result = CliRunner().invoke(app, ["run", NAME, "--out", str(out), "--store", str(store)])
    finally:
        if target == "read-only":
            out.chmod(0o755)
    assert result.exit_code == 2, result.output
    assert str(out) in result.output
    assert "Traceback" not in result.output
    assert stored_runs(store) == {}
    if target == "read-only":
        assert list(out.iterdir()) == []
