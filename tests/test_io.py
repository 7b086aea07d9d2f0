"""Exports and the results store: round trips, and failures that leave earlier results intact."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from evpath.errors import InputError, StoreError
from evpath.io import export, publish
from evpath.io.store import ResultsStore


def _dataset() -> xr.Dataset:
    years = [2020, 2021]
    stock = xr.DataArray(
        np.arange(8.0).reshape(2, 2, 2),
        coords={"region": ["JPN", "CHN"], "powertrain": ["BEV", "HEV"], "year": years},
        attrs={"units": "vehicles"},
    )
    by_cohort = xr.DataArray(
        np.ones((2, 2)), coords={"cohort": years, "year": years}, attrs={"units": "vehicles"}
    )
    return xr.Dataset({"stock": stock, "stock_by_cohort": by_cohort})


def _manifest(run_id: str = "run-1") -> dict:
    return {
        "run_id": run_id,
        "scenario_name": "test",
        "created_at": "2026-01-01T00:00:00+00:00",
        "evpath_version": "0",
        "input_hash": "abc",
        "scenario": {},
    }


def test_tidy_table_has_units_dims_and_skips_cells_before_the_cohort():
    table = export.tidy(_dataset())
    assert list(table.columns) == ["variable", "unit", *export.DIM_COLUMNS, "value"]
    assert export.DIM_COLUMNS[:3] == ("region", "segment", "powertrain")
    assert export.DIM_COLUMNS[-2:] == ("year", "quantile")  # quantile: ensembles only
    assert table["quantile"].isna().all()
    stock = table[table.variable == "stock"]
    assert len(stock) == 8
    assert set(stock.unit) == {"vehicles"}
    cohort = table[table.variable == "stock_by_cohort"]
    assert len(cohort) == 3  # (2020, 2020), (2020, 2021), (2021, 2021)
    assert (cohort.cohort <= cohort.year).all()


def test_tidy_table_is_each_variables_dataframe_stacked():
    """The table equals the plain pandas construction (one ``to_dataframe`` per variable,
    stacked), values, order and dtypes, on variables with and without each kind of dim."""
    dataset = _dataset().assign(
        spread=xr.DataArray(
            np.arange(6.0).reshape(2, 3),
            coords={"region": ["JPN", "CHN"], "quantile": [0.05, 0.5, 0.95]},
            attrs={"units": "t"},
        ),
        by_age=xr.DataArray(
            np.ones((2, 3)), coords={"region": ["JPN", "CHN"]}, dims=["region", "age"]
        ),
    )
    frames = []
    for name, array in dataset.data_vars.items():
        frame = array.to_dataframe(name="value").reset_index()
        if "cohort" in frame and "year" in frame:
            frame = frame[frame["cohort"] <= frame["year"]]
        frame.insert(0, "unit", array.attrs.get("units", ""))
        frame.insert(0, "variable", str(name))
        frames.append(frame)
    expected = pd.concat(frames, ignore_index=True)
    kinds = {"cohort": "Int64", "age": "Int64", "year": "Int64", "quantile": "Float64"}
    for column in export.DIM_COLUMNS:
        expected[column] = expected.get(column, pd.NA)
        expected[column] = expected[column].astype(kinds.get(column, "string"))
    expected = expected[["variable", "unit", *export.DIM_COLUMNS, "value"]]
    pd.testing.assert_frame_equal(export.tidy(dataset), expected, check_exact=True)


def test_store_round_trip(tmp_path: Path):
    store = ResultsStore(tmp_path / "store.duckdb")
    table = export.tidy(_dataset())
    store.write(_manifest(), table)
    runs = store.runs()
    assert list(runs.run_id) == ["run-1"]
    back = store.results("run-1", "stock")
    assert back.value.sum() == pytest.approx(table[table.variable == "stock"].value.sum())
    assert store.manifest("run-1")["input_hash"] == "abc"


def test_reads_within_reading_share_one_connection_per_thread(tmp_path: Path, monkeypatch):
    import threading

    store = ResultsStore(tmp_path / "store.duckdb")
    table = export.tidy(_dataset())
    store.write(_manifest(), table)
    opened: list[str] = []
    open_file = ResultsStore._open

    def counted(self: ResultsStore):
        opened.append(threading.current_thread().name)
        return open_file(self)

    monkeypatch.setattr(ResultsStore, "_open", counted)

    def read_everything() -> None:
        assert list(store.runs().run_id) == ["run-1"]
        assert store.manifest("run-1")["input_hash"] == "abc"
        assert len(store.results("run-1")) == len(table)
        assert store.table("procurement", "run-1").empty

    with store.reading():
        read_everything()
        with store.reading():  # nested: the outer connection
            read_everything()
        other = threading.Thread(target=read_everything, name="other")
        other.start()
        other.join()
    assert opened == ["MainThread"] + ["other"] * 4  # another thread: a connection per read
    read_everything()  # after reading(): a connection per read again
    assert len(opened) == 9


def test_failed_store_write_leaves_earlier_runs_intact(tmp_path: Path):
    store = ResultsStore(tmp_path / "store.duckdb")
    store.write(_manifest("good"), export.tidy(_dataset()))
    broken = pd.DataFrame({"variable": ["x"], "unit": ["1"], "value": ["not a number"]})
    with pytest.raises(StoreError, match=r"could not store run bad .* the store is unchanged"):
        store.write(_manifest("bad"), broken)
    assert list(store.runs().run_id) == ["good"]
    assert len(store.results("good")) == len(export.tidy(_dataset()))


def test_failed_file_write_keeps_the_previous_file(tmp_path: Path):
    target = tmp_path / "out.json"
    export.to_json({"a": 1}, target)

    def crash(path: Path) -> None:
        path.write_text("partial", encoding="utf-8")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export.write_atomic(target, crash)
    assert target.read_text(encoding="utf-8") == '{\n  "a": 1\n}'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_netcdf_keeps_units_and_manifest(tmp_path: Path):
    path = export.to_netcdf(_dataset(), tmp_path / "r.nc", _manifest())
    with xr.open_dataset(path, engine="netcdf4") as back:
        assert back["stock"].attrs["units"] == "vehicles"
        assert back.attrs["run_id"] == "run-1"
        xr.testing.assert_equal(back["stock"].load(), _dataset()["stock"])


# Publishing a run's files as one unit (evpath.io.publish)


def _files(tag: str, name: str = "demo") -> dict[str, tuple[str, bytes]]:
    return {
        "netcdf": (f"{name}.nc", f"nc {tag}".encode()),
        "manifest": (f"{name}.manifest.json", f'{{"run_id": "{tag}"}}'.encode()),
    }


def _run_id(stamp: str, name: str = "demo") -> str:
    return f"2026010{stamp}T000000000000-{name}-0123abcd"


def _published(out: Path, name: str = "demo") -> str:
    """The run id the published manifest names, after checking the set agrees with it."""
    run_id = json.loads((out / name / f"{name}.manifest.json").read_text(encoding="utf-8"))
    assert (out / name / f"{name}.nc").read_bytes() == f"nc {run_id['run_id']}".encode()
    assert os.readlink(out / name) == f"runs/{run_id['run_id']}"
    return str(run_id["run_id"])


def test_publish_links_the_run_folder_with_usual_permissions(tmp_path: Path):
    old = os.umask(0o022)
    try:
        first = publish.publish(tmp_path, "demo", "r1", _files("r1"))
        second = publish.publish(tmp_path, "demo", "r2", _files("r2"))
    finally:
        os.umask(old)
    assert first["netcdf"] == tmp_path / "demo" / "demo.nc"
    assert second["run"] == tmp_path / "runs" / "r2"
    assert _published(tmp_path) == "r2"
    assert (tmp_path / "runs" / "r1" / "demo.nc").read_bytes() == b"nc r1"
    assert stat.S_IMODE((tmp_path / "runs" / "r2" / "demo.nc").stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == [".evpath.lock", "demo", "runs"]


@pytest.mark.parametrize("failure", [StoreError("store refused"), KeyboardInterrupt()])
def test_failed_commit_publishes_nothing(tmp_path: Path, failure: BaseException):
    publish.publish(tmp_path, "demo", "r1", _files("r1"))

    def commit() -> None:
        assert (tmp_path / publish.STAGING / "r2" / "demo.nc").exists()
        raise failure

    with pytest.raises(type(failure)):
        publish.publish(tmp_path, "demo", "r2", _files("r2"), commit)
    assert _published(tmp_path) == "r1"
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["r1"]
    assert not (tmp_path / publish.STAGING / "r2").exists()


def test_no_space_left_is_a_store_error_and_keeps_the_earlier_run(tmp_path: Path, monkeypatch):
    publish.publish(tmp_path, "demo", "r1", _files("r1"))
    real_write = publish._write_file

    def full_disk(path: Path, data: bytes) -> None:
        real_write(path, data[:2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(publish, "_write_file", full_disk)
    committed = []
    with pytest.raises(StoreError, match=r"demo\.nc: cannot write .*No space left on device"):
        publish.publish(tmp_path, "demo", "r2", _files("r2"), lambda: committed.append(1))
    assert committed == []
    assert _published(tmp_path) == "r1"
    assert not (tmp_path / publish.STAGING).exists()


def test_read_only_output_folder_is_a_store_error(tmp_path: Path, monkeypatch):
    real_open = os.open

    def read_only(path, flags, *args):
        if str(path).endswith(publish.LOCK):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(publish.os, "open", read_only)
    with pytest.raises(StoreError, match=r"cannot write to the output folder \(Read-only file"):
        publish.publish(tmp_path, "demo", "r1", _files("r1"))


@pytest.mark.parametrize("target", ["file", "below-a-file", "/dev/full"])
def test_output_folder_that_is_not_a_folder_is_an_input_error(tmp_path: Path, target: str):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    out = {"file": tmp_path / "file", "below-a-file": tmp_path / "file" / "sub"}.get(
        target, Path(target)
    )
    if not out.parent.exists() and target == "/dev/full":
        pytest.skip("no /dev/full here")
    with pytest.raises(
        InputError, match=re.escape(str(out.parent if target == "below-a-file" else out)) + "|--out"
    ):
        publish.publish(out, "demo", "r1", _files("r1"))


def test_unsafe_names_and_foreign_links_are_refused(tmp_path: Path):
    with pytest.raises(InputError, match="not usable as a file name"):
        publish.publish(tmp_path, "demo", "../r1", _files("r1"))
    with pytest.raises(InputError, match="holds evpath's run folders"):
        publish.publish(tmp_path, "runs", "r1", _files("r1", "runs"))
    (tmp_path / "demo").mkdir()
    with pytest.raises(StoreError, match="is not the link evpath keeps"):
        publish.publish(tmp_path, "demo", "r1", _files("r1"))
    assert not (tmp_path / "runs" / "r1").exists()


def test_next_run_removes_what_killed_runs_left(tmp_path: Path):
    publish.publish(tmp_path, "demo", "r1", _files("r1"))
    stale = tmp_path / publish.STAGING / "r0"
    stale.mkdir(parents=True)
    (stale / "demo.nc").write_bytes(b"half")
    leftovers = [tmp_path / ".demo.nc.ab12cd34.tmp", tmp_path / ".other.link.tmp"]
    leftovers[0].write_bytes(b"x")
    os.utime(leftovers[0], (1, 1))
    leftovers[1].symlink_to("runs/r1")  # a temporary link to a run folder
    os.utime(leftovers[1], (1, 1), follow_symlinks=False)
    fresh = tmp_path / ".demo.parquet.zz99yy88.tmp"  # newer than the run: not touched
    fresh.write_bytes(b"x")
    keep = tmp_path / "notes.tmp"  # not evpath's
    keep.write_bytes(b"x")
    publish.publish(tmp_path, "demo", "r2", _files("r2"), started=fresh.stat().st_mtime - 1)
    assert not (tmp_path / publish.STAGING).exists()
    assert not any(path.exists() for path in leftovers)
    assert fresh.exists()
    assert keep.exists()


def test_a_scenarios_runs_and_its_ensembles_are_pruned_apart(tmp_path: Path):
    """An ensemble's run ids name its scenario, as the scenario's runs do: each is pruned
    by the files its folders hold, so neither deletes the other's (the ensemble's were
    never pruned, and runs of the scenario could delete the ensemble's latest)."""
    ensemble = "demo-ensemble"
    publish.publish(tmp_path, ensemble, _run_id("1"), _files("e1", ensemble), keep=2)
    for day in "234":
        publish.publish(tmp_path, "demo", _run_id(day), _files(_run_id(day)), keep=1)
    assert os.readlink(tmp_path / ensemble) == f"runs/{_run_id('1')}"
    assert (tmp_path / ensemble / f"{ensemble}.nc").read_bytes() == b"nc e1"
    for day in "5678":
        publish.publish(tmp_path, ensemble, _run_id(day), _files(f"e{day}", ensemble), keep=2)
    kept = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert kept == [_run_id("4"), _run_id("7"), _run_id("8")]


def test_old_run_folders_are_pruned_to_keep_runs(tmp_path: Path):
    for day in "1234":
        publish.publish(tmp_path, "demo", _run_id(day), _files(_run_id(day)), keep=2)
    publish.publish(tmp_path, "demo-x", _run_id("1", "demo-x"), _files("x", "demo-x"), keep=2)
    kept = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert kept == [_run_id("1", "demo-x"), _run_id("3"), _run_id("4")]
    publish.publish(tmp_path, "demo", _run_id("0"), _files(_run_id("0")), keep=1)
    assert _published(tmp_path) == _run_id("0")  # the linked run is kept even if older
    assert sorted(p.name for p in (tmp_path / "runs").iterdir())[:2] == [
        _run_id("0"),
        _run_id("1", "demo-x"),
    ]


def test_without_symbolic_links_a_latest_file_names_the_run(tmp_path: Path, monkeypatch):
    """Where no link can be made (Windows without the privilege, FAT drives), ``OUT/<name>.latest``
    names the latest run's folder, replaced in one rename, and the paths returned are in it."""
    publish.publish(tmp_path, "demo", _run_id("1"), _files(_run_id("1")))  # a link, as before

    def refused(*args, **kwargs):
        raise OSError(errno.EPERM, "A required privilege is not held by the client")

    monkeypatch.setattr(publish.os, "symlink", refused)
    for day in "234":
        paths = publish.publish(tmp_path, "demo", _run_id(day), _files(_run_id(day)), keep=2)
    latest = tmp_path / "demo.latest"
    assert latest.read_text(encoding="utf-8") == f"runs/{_run_id('4')}\n"
    assert not (tmp_path / "demo").exists()  # the earlier run's link is gone with it
    assert paths["netcdf"] == tmp_path / "runs" / _run_id("4") / "demo.nc"
    assert paths["netcdf"].read_bytes() == f"nc {_run_id('4')}".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".evpath.lock", "demo.latest", "runs"]
    publish.publish(tmp_path, "demo", _run_id("0"), _files(_run_id("0")), keep=1)
    kept = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert kept == [_run_id("0"), _run_id("4")]  # the named run is kept even if older

    monkeypatch.undo()  # links again: the link replaces the file
    publish.publish(tmp_path, "demo", _run_id("5"), _files(_run_id("5")))
    assert _published(tmp_path) == _run_id("5")
    assert not latest.exists()


def test_an_output_folder_that_cannot_take_a_link_for_another_reason_is_a_store_error(
    tmp_path: Path, monkeypatch
):
    def refused(*args, **kwargs):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(publish.os, "symlink", refused)
    with pytest.raises(StoreError, match=r"could not be published \(Input/output error\)"):
        publish.publish(tmp_path, "demo", "r1", _files("r1"))
    assert not (tmp_path / "demo.latest").exists()


HOLD_STORE = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
connection.close()
"""


def _hold_store(path: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_STORE, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    with holder.stdout:
        assert holder.stdout.readline().strip() == "holding"
    return holder


def test_store_held_by_another_process_is_waited_for(tmp_path: Path):
    path = tmp_path / "store.duckdb"
    told: list[str] = []
    holder = _hold_store(path, 1.0)
    try:
        ResultsStore(path, wait=20, notify=told.append).write(_manifest(), export.tidy(_dataset()))
    finally:
        holder.wait()
    assert list(ResultsStore(path).runs().run_id) == ["run-1"]
    assert len(told) == 1
    assert "held by another process" in told[0]


def test_store_held_too_long_publishes_nothing(tmp_path: Path):
    path = tmp_path / "store.duckdb"
    ResultsStore(path).write(_manifest("earlier"), export.tidy(_dataset()))
    publish.publish(tmp_path, "demo", "r1", _files("r1"))
    store = ResultsStore(path, wait=0.3, notify=lambda _: None)
    holder = _hold_store(path, 10.0)
    try:
        with pytest.raises(StoreError, match=r"still held by another process after 0\.3 s"):
            publish.publish(
                tmp_path,
                "demo",
                "r2",
                _files("r2"),
                lambda: store.write(_manifest("r2"), export.tidy(_dataset())),
            )
    finally:
        holder.kill()
        holder.wait()
    assert _published(tmp_path) == "r1"
    assert list(ResultsStore(path).runs().run_id) == ["earlier"]


def test_interrupt_after_commit_is_not_hidden_by_the_rollback(tmp_path: Path):
    store = ResultsStore(tmp_path / "store.duckdb")

    def commit_then_interrupt() -> None:
        with store._transaction("test") as connection:
            connection.execute("CREATE TABLE t (x INTEGER)")
            connection.execute("COMMIT")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        commit_then_interrupt()


def test_a_store_under_a_file_names_the_file(tmp_path: Path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    store = ResultsStore(tmp_path / "file" / "runs.duckdb")
    with pytest.raises(
        StoreError,
        match=r"runs\.duckdb: cannot open the results store \(a part of .*file is a file",
    ):
        store.write(_manifest(), export.tidy(_dataset()))
    assert (tmp_path / "file").read_text(encoding="utf-8") == "x"


def test_write_atomic_uses_usual_permissions_and_names_the_path(tmp_path: Path):
    old = os.umask(0o022)
    try:
        path = export.to_json({"a": 1}, tmp_path / "a.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(
        StoreError, match=r"file/b\.json: cannot write \(a part of .*file is a file, not a folder\)"
    ):
        export.to_json({"a": 1}, tmp_path / "file" / "b.json")
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    with pytest.raises(StoreError, match=r"pipe\.json: cannot write \(it is not a regular file"):
        export.to_json({"a": 1}, pipe)
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(StoreError, match=r"folder\.json: cannot write \(it is a folder\)"):
        export.to_json({"a": 1}, tmp_path / "folder.json")


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("../x", "x"),
        ("/etc/passwd", "etc_passwd"),
        ("Japan/Korea cobalt", "Japan_Korea_cobalt"),
        ("..", "unnamed"),
        ("tiny", "tiny"),
        ("同盟 コバルト", "同盟_コバルト"),  # letters of any script stay
        ("Zürich/Ünion", "Zürich_Ünion"),
    ],
)
def test_file_stem_stays_one_path_component(name: str, stem: str):
    assert export.file_stem(name) == stem


def test_table_file_is_written_atomically_inside_its_folder(tmp_path: Path):
    table = pd.DataFrame({"plan": ["alone", "pooled"], "tonnes": [1.0, 2.0]})
    path = tmp_path / f"{export.file_stem('../../etc/x')}-purchases.csv"
    export.to_table_file(table, path, "csv")
    assert path.parent == tmp_path
    assert pd.read_csv(path).equals(table)
    export.to_table_file(table, tmp_path / "t.parquet", "parquet")
    assert pd.read_parquet(tmp_path / "t.parquet").equals(table)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["etc_x-purchases.csv", "t.parquet"]


def test_a_duckdb_file_of_another_program_is_read_without_change_or_refused(tmp_path: Path):
    """Reading never adds the store's tables to another program's database; a database
    whose ``runs`` table is not the store's is refused by name, for reading and writing."""
    import duckdb

    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as connection:
        connection.execute("CREATE TABLE measurements (x INTEGER)")
    store = ResultsStore(other)
    assert store.runs().empty
    assert store.table("procurement", "some-run").empty
    with duckdb.connect(str(other)) as connection:
        assert connection.execute("SHOW TABLES").fetchall() == [("measurements",)]

    clash = tmp_path / "clash.duckdb"
    with duckdb.connect(str(clash)) as connection:
        connection.execute("CREATE TABLE runs (x INTEGER)")
    before = clash.read_bytes()
    with pytest.raises(
        StoreError,
        match=r"clash\.duckdb: not an evpath results store \(its table 'runs' has columns x",
    ):
        ResultsStore(clash).runs()
    with pytest.raises(StoreError, match="not an evpath results store"):
        ResultsStore(clash).write_tables("r", {"procurement": pd.DataFrame({"a": [1]})})
    assert clash.read_bytes() == before


def test_writers_in_one_process_take_turns_on_a_new_store(tmp_path: Path):
    """The dashboard stores runs from several threads: each one's run is stored (they
    conflicted on making the store's tables, and all but one failed)."""
    import threading

    path = tmp_path / "store.duckdb"
    table = export.tidy(_dataset())
    failed: list[Exception] = []

    def write(run_id: str) -> None:
        try:
            ResultsStore(path).write(_manifest(run_id), table)
        except Exception as exc:  # collected for the assertion below
            failed.append(exc)

    writers = [threading.Thread(target=write, args=(f"run-{i}",)) for i in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert failed == []
    assert sorted(ResultsStore(path).runs().run_id) == [f"run-{i}" for i in range(4)]
