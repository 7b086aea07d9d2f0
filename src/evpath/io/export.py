"""Exports of a run: tidy table, NetCDF, Parquet. Single files are written atomically;
a run's set of files is published as one unit by :mod:`evpath.io.publish`."""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from evpath.errors import StoreError
from evpath.io import publish

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
    "maker",
    "metric",
    "cohort",
    "age",
    "year",
    "quantile",
)
"""Dimension columns of the tidy table, in order; a variable without a dim leaves it empty."""

INTEGER_DIMS = ("cohort", "age", "year")
REAL_DIMS = ("quantile",)
"""Dimension columns holding numbers that are not whole: an ensemble's percentiles [fraction]."""


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
    for column in REAL_DIMS:
        table[column] = table[column].astype("Float64")
    for column in set(DIM_COLUMNS) - set(INTEGER_DIMS) - set(REAL_DIMS):
        table[column] = table[column].astype("string")
    return table[["variable", "unit", *DIM_COLUMNS, "value"]]


def write_atomic(path: Path, write: Callable[[Path], Any]) -> Path:
    """Write through a temporary file in the same folder, then rename over ``path``.

    An interrupted or failed write leaves any earlier file at ``path`` untouched and no
    temporary file behind. The file gets the usual permissions (0644 under umask 022).
    A file system error (read-only, no space left, not a folder) becomes a StoreError
    naming ``path`` and the reason.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except (FileExistsError, NotADirectoryError):
        msg = f"{path}: cannot write (a part of {path.parent} is a file, not a folder)"
        raise StoreError(msg) from None
    except OSError as exc:
        msg = f"{path}: cannot write ({publish.reason(exc)})"
        raise StoreError(msg) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, publish.file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        msg = f"{path}: cannot write ({publish.reason(exc)}); any earlier file is unchanged"
        raise StoreError(msg) from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def netcdf_bytes(dataset: xr.Dataset, manifest: dict[str, Any]) -> bytes:
    """NetCDF-4 file, in memory, with units on every variable and the manifest as a JSON
    attribute (``run_id``, ``scenario`` and ``evpath_version`` also as attributes).

    Built in memory so that a full disk is met by Python's own write, with its error,
    rather than inside the HDF5 library.
    """
    stamped = dataset.assign_attrs(
        run_id=manifest["run_id"],
        scenario=manifest["scenario_name"],
        evpath_version=manifest["evpath_version"],
        manifest=json.dumps(manifest),
    )
    return bytes(stamped.to_netcdf(engine="h5netcdf"))


def parquet_bytes(table: pd.DataFrame) -> bytes:
    """Tidy table as a Parquet file, in memory."""
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()


def json_bytes(document: dict[str, Any]) -> bytes:
    """A JSON document (the manifest), pretty-printed."""
    return json.dumps(document, indent=2).encode("utf-8")


def to_netcdf(dataset: xr.Dataset, path: Path, manifest: dict[str, Any]) -> Path:
    """NetCDF-4 file at ``path`` (see :func:`netcdf_bytes`), written atomically."""
    data = netcdf_bytes(dataset, manifest)
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))


def to_parquet(table: pd.DataFrame, path: Path) -> Path:
    """Tidy table as Parquet, written atomically."""
    data = parquet_bytes(table)
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))


def to_json(document: dict[str, Any], path: Path) -> Path:
    """A JSON document (the manifest), pretty-printed, written atomically."""
    data = json_bytes(document)
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))


def file_stem(name: str) -> str:
    """``name`` made into one safe file name part: characters other than letters, digits,
    ``_``, ``.`` and ``-`` become ``_``, leading and trailing dots and underscores go
    (``../x`` → ``x``, ``Japan/Korea`` → ``Japan_Korea``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "unnamed"


def to_table_file(table: pd.DataFrame, path: Path, file_format: str) -> Path:
    """A table as ``parquet`` or ``csv`` at ``path``, written atomically."""
    if file_format == "csv":
        data = table.to_csv(index=False).encode("utf-8")
    else:
        data = parquet_bytes(table)
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))
