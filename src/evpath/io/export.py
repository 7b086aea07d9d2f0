"""Exports of a run: tidy table, NetCDF, Parquet. Single files are written atomically;
a run's set of files is published as one unit by :mod:`evpath.io.publish`."""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
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

    Rows run over each variable's cells in the order of its dims (the last dim fastest),
    variable after variable. Cells of by-cohort variables before their cohort entered
    (cohort > year) are structurally zero and left out. Values are one numeric column
    (numbers of every variable in NumPy's common type).
    """
    blocks = [_Block.of(str(name), array) for name, array in dataset.data_vars.items()]
    if not blocks:
        msg = "the dataset has no variables to tabulate"
        raise ValueError(msg)
    variable = np.repeat(np.arange(len(blocks)), [block.rows for block in blocks])
    table = pd.DataFrame(
        {
            "variable": pd.array([block.name for block in blocks], dtype="str").take(variable),
            "unit": pd.array([block.unit for block in blocks], dtype="str").take(variable),
        }
    )
    for column in DIM_COLUMNS:
        table[column] = _dim_column(column, blocks)
    table["value"] = np.concatenate([block.values for block in blocks])
    return table


@dataclass(frozen=True)
class _Block:
    """One variable's rows of the tidy table: for each dim, its labels and the position in
    them of every row; and the values."""

    name: str
    unit: str
    labels: dict[str, tuple[np.ndarray, np.ndarray]]
    values: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.values)

    @classmethod
    def of(cls, name: str, array: xr.DataArray) -> _Block:
        unknown = set(array.dims) - set(DIM_COLUMNS)
        if unknown:
            msg = f"variable {name!r} has dims {sorted(map(str, unknown))} the tidy table has no column for"
            raise ValueError(msg)
        shape = array.shape
        labels = {}
        for axis, dim in enumerate(array.dims):
            index = array.indexes[dim] if dim in array.indexes else range(shape[axis])
            inner, outer = int(np.prod(shape[axis + 1 :])), int(np.prod(shape[:axis]))
            positions = np.tile(np.repeat(np.arange(shape[axis]), inner), outer)
            labels[str(dim)] = (np.asarray(index), positions)
        values = np.asarray(array.values).ravel()
        if "cohort" in labels and "year" in labels:
            (cohorts, cohort), (years, year) = labels["cohort"], labels["year"]
            keep = cohorts[cohort] <= years[year]
            labels = {dim: (index, positions[keep]) for dim, (index, positions) in labels.items()}
            values = values[keep]
        return cls(name, str(array.attrs.get("units", "")), labels, values)


def _dim_column(column: str, blocks: list[_Block]) -> pd.api.extensions.ExtensionArray:
    """One dimension column over all variables (missing where a variable has no such dim),
    typed as the tidy table types it: Int64, Float64 or string."""
    positions = np.full(sum(block.rows for block in blocks), -1)
    labels: list[np.ndarray] = []
    start = offset = 0
    for block in blocks:
        if column in block.labels:
            index, rows = block.labels[column]
            positions[start : start + block.rows] = rows + offset
            labels.append(index.astype(object))
            offset += len(index)
        start += block.rows
    every = np.concatenate(labels) if labels else np.array([], dtype=object)
    if column in INTEGER_DIMS or column in REAL_DIMS:
        numbers = pd.array(every, dtype="Int64" if column in INTEGER_DIMS else "Float64")
        return numbers.take(positions, allow_fill=True)
    return pd.array(every, dtype="string").take(positions, allow_fill=True)


def write_atomic(path: Path, write: Callable[[Path], Any]) -> Path:
    """Write through a temporary file in the same folder, then rename over ``path``.

    An interrupted or failed write leaves any earlier file at ``path`` untouched and no
    temporary file behind. The file gets the usual permissions (0644 under umask 022).
    A file system error (read-only, no space left, not a folder) becomes a StoreError
    naming ``path`` and the reason; so does a ``path`` that is there and is not a regular
    file (a device such as /dev/full, a pipe), which the rename would replace.
    """
    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file: a device, a pipe or a socket"
        msg = f"{path}: cannot write (it is {kind})"
        raise StoreError(msg)
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
    attribute (``run_id``, ``scenario`` and ``evpath_version`` also as attributes)."""
    stamped = dataset.assign_attrs(
        run_id=manifest["run_id"],
        scenario=manifest["scenario_name"],
        evpath_version=manifest["evpath_version"],
        manifest=json.dumps(manifest),
    )
    return dataset_bytes(stamped)


def dataset_bytes(dataset: xr.Dataset) -> bytes:
    """A Dataset as a NetCDF-4 file, in memory.

    The bytes of ``Dataset.to_netcdf(engine="netcdf4")``: built in memory, so that a full
    disk is met by Python's own write, with its error, rather than inside the netCDF
    library, and written through xarray's netCDF4 store directly, so that no Dask
    scheduler is looked up (which imports ``distributed``, about 0.5 s).
    """
    from xarray.backends import NetCDF4DataStore
    from xarray.backends.common import ArrayWriter, BytesIOProxy

    target = BytesIOProxy()
    store = NetCDF4DataStore.open(target, mode="w", format="NETCDF4")
    writer = ArrayWriter()
    try:
        dataset.dump_to_store(store, writer=writer)
        writer.sync()
    finally:
        store.close()
    return bytes(target.getbuffer())


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
    """``name`` made into one safe file name part: characters other than letters, digits
    (of any script: ``同盟`` stays), ``_``, ``.`` and ``-`` become ``_``, leading and
    trailing dots and underscores go (``../x`` → ``x``, ``Japan/Korea`` → ``Japan_Korea``)."""
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "unnamed"


def to_table_file(table: pd.DataFrame, path: Path, file_format: str) -> Path:
    """A table as ``parquet`` or ``csv`` at ``path``, written atomically."""
    if file_format == "csv":
        data = table.to_csv(index=False).encode("utf-8")
    else:
        data = parquet_bytes(table)
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))
