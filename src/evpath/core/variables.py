"""The catalogue of model variables (``variables.csv``): dims, unit, description, and
where a value may be missing.

Every variable a run returns is listed there; :func:`annotate` checks a Dataset against
the catalogue (dims, finite values) and gives each variable its unit and description, so
that exports carry them.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.dims import DRAW
from evpath.core.messages import first_true
from evpath.errors import InvariantError


@dataclass(frozen=True)
class Variable:
    """One catalogue entry."""

    name: str
    dims: tuple[str, ...]
    unit: str
    description: str
    missing: str
    """Where the variable is NaN by design (e.g. "before the first data year"); empty:
    never."""


@cache
def catalogue() -> dict[str, Variable]:
    """All model variables by name."""
    path = resources.files("evpath.core") / "variables.csv"
    with resources.as_file(path) as file:
        table = pd.read_csv(file, dtype=str, keep_default_na=False)
    return {
        row.name: Variable(
            row.name, tuple(row.dims.split()), row.unit, row.description, row.missing
        )
        for row in table.itertuples(index=False)
    }


def annotate(dataset: xr.Dataset) -> xr.Dataset:
    """Give every variable its unit and description from the catalogue, checking its dims
    and values.

    Raises
    ------
    InvariantError
        A variable missing from the catalogue, with other dims, carrying another unit,
        holding ±inf, or NaN where the catalogue says it is never missing.
    """
    known = catalogue()
    annotated = dataset.copy(deep=False)  # new attrs, the same values
    for name in dataset.data_vars:
        # the variables themselves: a DataArray for each would cost more than the checks
        variable = dataset.variables[name]
        entry = known.get(str(name))
        if entry is None:
            msg = f"variable {name!r} is not in variables.csv; add its dims, unit and description"
            raise InvariantError(msg)
        unit = variable.attrs.get("units", entry.unit)
        if set(variable.dims) - {DRAW} != set(entry.dims) or unit != entry.unit:
            msg = (
                f"variable {name!r} has dims {sorted(map(str, variable.dims))} and unit "
                f"{unit!r}; variables.csv says {sorted(entry.dims)} and "
                f"{entry.unit!r}"
            )
            raise InvariantError(msg)
        _check_finite(dataset, name, entry)
        annotated.variables[name].attrs.update(units=entry.unit, long_name=entry.description)
    return annotated


def _check_finite(dataset: xr.Dataset, name: Hashable, entry: Variable) -> None:
    """No ±inf anywhere in variable ``name``; no NaN unless the catalogue says where it
    may be missing."""
    values = np.asarray(dataset.variables[name].values, dtype=float)
    bad = np.isinf(values) if entry.missing else ~np.isfinite(values)
    if not bad.any():
        return
    cell = first_true(dataset[name].copy(data=bad))
    value = values[cell.position]
    allowed = f"NaN only for {entry.missing}" if entry.missing else "finite values only"
    msg = (
        f"variable {entry.name!r} is {value}{cell.at()}; allowed: {allowed} (variables.csv). "
        "An input outside its sensible range usually causes this."
    )
    raise InvariantError(msg)
