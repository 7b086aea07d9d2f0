"""Exports and the results store: round trips, and failures that leave earlier results intact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from evpath.errors import StoreError
from evpath.io import export
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
    assert export.DIM_COLUMNS[-1] == "year"
    stock = table[table.variable == "stock"]
    assert len(stock) == 8
    assert set(stock.unit) == {"vehicles"}
    cohort = table[table.variable == "stock_by_cohort"]
    assert len(cohort) == 3  # (2020, 2020), (2020, 2021), (2021, 2021)
    assert (cohort.cohort <= cohort.year).all()


def test_store_round_trip(tmp_path: Path):
    store = ResultsStore(tmp_path / "store.duckdb")
    table = export.tidy(_dataset())
    store.write(_manifest(), table)
    runs = store.runs()
    assert list(runs.run_id) == ["run-1"]
    back = store.results("run-1", "stock")
    assert back.value.sum() == pytest.approx(table[table.variable == "stock"].value.sum())
    assert store.manifest("run-1")["input_hash"] == "abc"


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
    with xr.open_dataset(path, engine="h5netcdf") as back:
        assert back["stock"].attrs["units"] == "vehicles"
        assert back.attrs["run_id"] == "run-1"
        xr.testing.assert_equal(back["stock"].load(), _dataset()["stock"])
