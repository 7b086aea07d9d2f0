"""Exports of a run: tidy table, NetCDF, Parquet. Files are written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

DIM_COLUMNS = (
    "region",
    "segment",
    "powertrain",
    "carrier",
    "stage",
    "factor",
    "chemistry",
    "metal",
    "step",
    "charger_type",
    "standard",
    "vehicle",
    "cohort",
    "age",
    "year",
)
"""Dimension columns of the tidy table, in order; a variable without a dim leaves it empty."""

INTEGER_DIMS = ("cohort", "age", "year")


def tidy(dataset: xr.Dataset) -> pd.DataFrame:
    """Long table: variable, unit, one column per dimension, value.

    Cells of by-cohort variables before their cohort entered (cohort > year) are
    structurally zero and left out.
    """
    frames = []
    for name, array in dataset.data_vars.items():
        unknown = set(array.dims) - set(DIM_COLUMNS)
        if unknown:
            msg = f"variable {name!r} has dims {sorted(map(str, unknown))} the tidy table has no column for"
            raise ValueError(msg)
        frame = array.to_dataframe(name="value").reset_index()
        if "cohort" in frame and "year" in frame:
            frame = frame[frame["cohort"] <= frame["year"]]
        frame.insert(0, "unit", array.attrs.get("units", ""))
        frame.insert(0, "variable", str(name))
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    for column in DIM_COLUMNS:
        if column not in table:
            table[column] = pd.NA
    for column in INTEGER_DIMS:
        table[column] = table[column].astype("Int64")
    for column in set(DIM_COLUMNS) - set(INTEGER_DIMS):
        table[column] = table[column].astype("string")
    return table[["variable", "unit", *DIM_COLUMNS, "value"]]


def write_atomic(path: Path, write: Callable[[Path], Any]) -> Path:
    """Write through a temporary file in the same folder, then rename over ``path``.

    An interrupted or failed write leaves any earlier file at ``path`` untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def to_netcdf(dataset: xr.Dataset, path: Path, manifest: dict[str, Any]) -> Path:
    """NetCDF-4 file with units on every variable and the manifest as a JSON attribute."""
    stamped = dataset.assign_attrs(
        run_id=manifest["run_id"],
        scenario=manifest["scenario_name"],
        evpath_version=manifest["evpath_version"],
        manifest=json.dumps(manifest),
    )
    return write_atomic(path, lambda tmp: stamped.to_netcdf(tmp, engine="h5netcdf"))


def to_parquet(table: pd.DataFrame, path: Path) -> Path:
    """Tidy table as Parquet."""
    return write_atomic(path, lambda tmp: table.to_parquet(tmp, index=False))


def to_json(document: dict[str, Any], path: Path) -> Path:
    """A JSON document (the manifest), pretty-printed."""
    return write_atomic(
        path, lambda tmp: tmp.write_text(json.dumps(document, indent=2), encoding="utf-8")
    )
