"""A run in the IAMC format: model, scenario, region, variable, unit, one column per year.

The variables follow the IAMC common-definitions codelists (``Sales|Transportation|
Light-Duty Vehicle|Battery-Electric`` in ``million``, ``Emissions|Kyoto Gases|Energy|
Demand|Transportation|Light-Duty Vehicle`` in ``Mt CO2-equiv/yr``) and extend them in the
same style where evpath is finer (hybrids, kei and registered cars, well-to-tank and
vehicle-cycle emissions, battery chemistries, metals, chargers by standard). Which evpath
variable gives which IAMC variable, in which unit and by which factor is one data file,
``iamc_mapping.csv`` (documented in ``docs/exports.md``):

variable, unit
    The IAMC variable and unit.
evpath_variable
    The evpath variable (``core/variables.csv``).
select
    ``dim=label+label; dim=label``: the labels kept (added up); every other dim but
    region and year is added up. Empty: everything.
factor
    IAMC value = evpath value (in its catalogue unit) × factor.
origin
    ``codelist`` (the name exists in common-definitions) or ``extension``.

A row whose evpath variable the run did not compute (its scenario has no batteries
block, say), or whose selected labels the run does not have (kei cars in an IEA
history), is left out. Regions are named as the country-level datasets name them
(``JPN`` → ``Japan``; IEA regions keep their IEA names).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.variables import catalogue
from evpath.data.histories import HISTORIES
from evpath.errors import DataError, InputError
from evpath.report.runs import manifest_of, scenario_documents

IAMC_COLUMNS = ("model", "scenario", "region", "variable", "unit")
"""The index columns of the IAMC format, before the years."""


@dataclass(frozen=True)
class IamcVariable:
    """One row of ``iamc_mapping.csv``."""

    variable: str
    unit: str
    evpath_variable: str
    select: dict[str, tuple[str, ...]]
    factor: float
    origin: str

    def values(self, dataset: xr.Dataset) -> xr.DataArray | None:
        """The IAMC values (region, year) of ``dataset``, or None where the run lacks
        the variable or a selected label."""
        if self.evpath_variable not in dataset.data_vars:
            return None
        array = dataset[self.evpath_variable]
        for dim, labels in self.select.items():
            if not set(labels) <= {str(v) for v in array[dim].values}:
                return None
            array = array.sel({dim: list(labels)})
        summed = array.sum([d for d in array.dims if d not in ("region", "year")], skipna=False)
        return summed * self.factor


def _select(text: str, where: str) -> dict[str, tuple[str, ...]]:
    select = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        dim, _, labels = part.partition("=")
        if not labels:
            msg = f"{where}: select {part!r}; allowed: dim=label+label"
            raise DataError(msg)
        select[dim.strip()] = tuple(label.strip() for label in labels.split("+"))
    return select


@cache
def mapping() -> tuple[IamcVariable, ...]:
    """The rows of ``iamc_mapping.csv``, checked against the variable catalogue."""
    path = resources.files("evpath.report") / "iamc_mapping.csv"
    with resources.as_file(path) as file:
        table = pd.read_csv(file, dtype=str, keep_default_na=False)
    known = catalogue()
    rows = []
    for number, row in enumerate(table.itertuples(index=False), start=2):
        where = f"iamc_mapping.csv line {number} ({row.variable})"
        entry = known.get(row.evpath_variable)
        if entry is None or "year" not in entry.dims:
            msg = f"{where}: {row.evpath_variable!r} is not a yearly variable of variables.csv"
            raise DataError(msg)
        select = _select(row.select, where)
        if not set(select) <= set(entry.dims) - {"region", "year"}:
            msg = f"{where}: selects {sorted(select)}; {row.evpath_variable} has dims {entry.dims}"
            raise DataError(msg)
        rows.append(
            IamcVariable(
                row.variable, row.unit, row.evpath_variable, select, float(row.factor), row.origin
            )
        )
    return tuple(rows)


def iamc_table(dataset: xr.Dataset) -> pd.DataFrame:
    """The run as an IAMC wide table: model, scenario, region, variable, unit, years.

    ``dataset`` is stamped with its manifest (:func:`evpath.report.runs.stamp`). The model
    is ``evpath <version>``, the scenario the scenario's name; for an ensemble's
    percentiles, one scenario per percentile, named ``<scenario> p05``, ``… p50`` (the
    median), ``… p95``, since IAMC rows hold one value per year.

    Raises
    ------
    InputError
        A mapped value is missing (NaN): the IAMC file would not say why.
    """
    manifest = manifest_of(dataset)
    if "quantile" in dataset.dims:
        return pd.concat(
            [
                _wide(
                    dataset.sel(quantile=q, drop=True), manifest, f" p{round(100 * float(q)):02d}"
                )
                for q in dataset["quantile"].values
            ],
            ignore_index=True,
        )
    return _wide(dataset, manifest, "")


def region_names(manifest: dict[str, Any]) -> dict[str, str]:
    """Region code → the name exports give it, from the history of each scenario the run
    ran (a makers' scope ran one per market)."""
    names = {}
    for document in scenario_documents(manifest):
        history = HISTORIES[document["sales"]["history"]]
        names.update({region: history.country_name(region) for region in document["regions"]})
    return names


def _wide(dataset: xr.Dataset, manifest: dict[str, Any], suffix: str) -> pd.DataFrame:
    """One scenario's rows: each mapped variable's values (region, year), one row per
    region, built as one table."""
    found = [(row, values) for row in mapping() if (values := row.values(dataset)) is not None]
    for row, values in found:
        if bool(values.isnull().any()):
            msg = f"{row.variable}: {row.evpath_variable} has missing values; nothing was written"
            raise InputError(msg)
    names = region_names(manifest)
    regions = [names.get(str(region), str(region)) for region in dataset["region"].values]
    years = [int(year) for year in dataset["year"].values]
    cells = np.array([values.transpose("region", "year").to_numpy() for _, values in found])
    labels = pd.DataFrame(
        {
            "model": f"evpath {manifest['evpath_version']}",
            "scenario": manifest["scenario_name"] + suffix,
            "region": regions * len(found),
            "variable": np.repeat([row.variable for row, _ in found], len(regions)),
            "unit": np.repeat([row.unit for row, _ in found], len(regions)),
        }
    )
    table = pd.concat([labels, pd.DataFrame(cells.reshape(-1, len(years)), columns=years)], axis=1)
    return table[[*IAMC_COLUMNS, *sorted(years)]]
