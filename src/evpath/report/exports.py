"""A stored run written as one file: NetCDF, Parquet, CSV, an Excel workbook or IAMC CSV.

NetCDF holds the Dataset (units in attributes, the manifest as JSON); Parquet and CSV
the tidy table (variable, unit, one column per dimension, value; by-cohort cells before
the cohort entered left out); the workbook one sheet per group of variables, years
across, and a ``metadata`` sheet; IAMC the table of :mod:`evpath.report.iamc`. Every
file is written atomically (:func:`evpath.io.export.write_atomic`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from evpath.core.variables import catalogue
from evpath.data.registry import datasets as registry
from evpath.errors import InputError
from evpath.io import export
from evpath.report.iamc import iamc_table
from evpath.report.runs import manifest_of

SUFFIXES = {
    "netcdf": ".nc",
    "parquet": ".parquet",
    "csv": ".csv",
    "xlsx": ".xlsx",
    "iamc": ".iamc.csv",
}
"""Export formats and the suffix of their default file name."""

SHEET_STARTS = {
    "sales": "sales and fleet",
    "vehicle_km": "energy and emissions",
    "battery_demand": "batteries and metals",
    "evs_per_charger": "charging",
    "maker_sales": "makers' scope",
}
"""Workbook sheets: the first catalogue variable of each group. ``variables.csv`` lists
the variables stage by stage; each sheet takes the variables from its first one to the
next sheet's."""

WORKBOOK_LEFT_OUT = {
    "stock_by_cohort": "in the csv, parquet and netcdf exports (over 100 cohorts by year)",
}
"""Variables not in the workbook, and where to find them (the metadata sheet says so)."""

METADATA_SHEET = "metadata"


def sheet_groups() -> dict[str, list[str]]:
    """Sheet name → the catalogue variables it holds, in catalogue order."""
    groups: dict[str, list[str]] = {}
    sheet = next(iter(SHEET_STARTS.values()))
    for name in catalogue():
        sheet = SHEET_STARTS.get(name, sheet)
        groups.setdefault(sheet, []).append(name)
    return groups


def _wide(dataset: xr.Dataset, names: list[str]) -> pd.DataFrame:
    """Variables as rows (variable, unit, their dims' labels) and years as columns; a
    variable without a year has its value in the ``value`` column."""
    frames = []
    for name in names:
        array = dataset[name]
        series = array.to_series()
        if array.dims == ("year",):
            frame = series.to_frame().T.reset_index(drop=True)
        elif "year" in array.dims:
            frame = series.unstack("year").reset_index()
        else:
            frame = series.to_frame("value").reset_index()
        frames.append(frame.assign(variable=name, unit=array.attrs["units"]))
    table = pd.concat(frames, ignore_index=True)
    labels = [c for c in export.DIM_COLUMNS if c in table.columns and c != "year"]
    years = sorted(c for c in table.columns if isinstance(c, int))
    values = ["value"] if "value" in table.columns else []
    return table[["variable", "unit", *labels, *values, *years]]


def metadata(dataset: xr.Dataset) -> pd.DataFrame:
    """The run (id, scenario, times, versions), the datasets it read, and every variable
    with its unit and description, as one table (section, name, unit, value)."""
    manifest = manifest_of(dataset)
    rows: list[tuple[str, str, str, str]] = [
        ("run", key, "", str(manifest[key]))
        for key in ("run_id", "scenario_name", "created_at", "evpath_version", "input_hash")
    ]
    rows.append(("run", "scenario description", "", str(manifest["scenario"]["description"])))
    known = registry()
    for name, record in manifest["inputs"].items():
        info = known.get(name)
        where = f"{info.title}; {info.publisher}; {info.source}; {info.licence}" if info else ""
        rows.append(
            (
                "dataset",
                name,
                "",
                f"{where}; version {record['version']}; sha256 {record['sha256']}",
            )
        )
    for name, entry in catalogue().items():
        if name in dataset.data_vars:
            note = WORKBOOK_LEFT_OUT.get(name)
            rows.append(
                (
                    "variable",
                    name,
                    entry.unit,
                    entry.description + (f" (not in this workbook: {note})" if note else ""),
                )
            )
    return pd.DataFrame(rows, columns=["section", "name", "unit", "value"])


def workbook_sheets(dataset: xr.Dataset) -> dict[str, pd.DataFrame]:
    """The workbook's sheets: one per variable group the run has, then ``metadata``."""
    sheets = {}
    for sheet, names in sheet_groups().items():
        present = [n for n in names if n in dataset.data_vars and n not in WORKBOOK_LEFT_OUT]
        if present:
            sheets[sheet] = _wide(dataset, present)
    sheets[METADATA_SHEET] = metadata(dataset)
    return sheets


def xlsx_bytes(dataset: xr.Dataset) -> bytes:
    """The Excel workbook (see :func:`workbook_sheets`), in memory."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet, table in workbook_sheets(dataset).items():
            table.to_excel(writer, sheet_name=sheet, index=False, freeze_panes=(1, 2))
    return buffer.getvalue()


def _bytes(dataset: xr.Dataset, file_format: str) -> bytes:
    writers: dict[str, Callable[[], Any]] = {
        "netcdf": lambda: export.netcdf_bytes(dataset, manifest_of(dataset)),
        "parquet": lambda: export.parquet_bytes(export.tidy(dataset)),
        "csv": lambda: export.tidy(dataset).to_csv(index=False).encode("utf-8"),
        "xlsx": lambda: xlsx_bytes(dataset),
        "iamc": lambda: iamc_table(dataset).to_csv(index=False).encode("utf-8"),
    }
    return bytes(writers[file_format]())


def check_format(file_format: str) -> str:
    """``file_format`` if evpath exports it; an InputError naming the allowed ones otherwise."""
    if file_format not in SUFFIXES:
        msg = f"--format: got {file_format!r}; allowed: one of {', '.join(SUFFIXES)}"
        raise InputError(msg)
    return file_format


def export_run(dataset: xr.Dataset, file_format: str, path: Path) -> Path:
    """Write the stamped run ``dataset`` as ``file_format`` to ``path``, atomically."""
    data = _bytes(dataset, check_format(file_format))
    return export.write_atomic(path, lambda tmp: tmp.write_bytes(data))
