"""The catalogue of model variables (``variables.csv``): dims, unit and description.

Every variable a run returns is listed there; :func:`annotate` checks a Dataset against
the catalogue and adds each variable's description, so that exports carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd
import xarray as xr

from evpath.errors import InvariantError


@dataclass(frozen=True)
class Variable:
    """One catalogue entry."""

    name: str
    dims: tuple[str, ...]
    unit: str
    description: str


@cache
def catalogue() -> dict[str, Variable]:
    """All model variables by name."""
    path = resources.files("evpath.core") / "variables.csv"
    with resources.as_file(path) as file:
        table = pd.read_csv(file, dtype=str)
    return {
        row.name: Variable(row.name, tuple(row.dims.split()), row.unit, row.description)
        for row in table.itertuples(index=False)
    }


def annotate(dataset: xr.Dataset) -> xr.Dataset:
    """Give every variable its unit and description from the catalogue, checking its dims.

    Raises
    ------
    InvariantError
        A variable missing from the catalogue, with other dims, or carrying another unit.
    """
    known = catalogue()
    annotated = {}
    for name, array in dataset.data_vars.items():
        entry = known.get(str(name))
        if entry is None:
            msg = f"variable {name!r} is not in variables.csv; add its dims, unit and description"
            raise InvariantError(msg)
        unit = array.attrs.get("units", entry.unit)
        if set(array.dims) != set(entry.dims) or unit != entry.unit:
            msg = (
                f"variable {name!r} has dims {sorted(map(str, array.dims))} and unit "
                f"{unit!r}; variables.csv says {sorted(entry.dims)} and "
                f"{entry.unit!r}"
            )
            raise InvariantError(msg)
        annotated[name] = array.assign_attrs(units=entry.unit, long_name=entry.description)
    return dataset.assign(annotated)
