"""Words for labelled cells in error messages: labels, label lists and the first bad cell."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr


def label(value: object) -> str:
    """``repr`` of a coordinate label, with numpy scalars shown as Python values."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def labels(values: Sequence[object] | pd.Index | np.ndarray, limit: int = 6) -> str:
    """First ``limit`` labels as a list, e.g. ``[1, 2, 3] ...``."""
    items = list(values)
    shown = ", ".join(label(v) for v in items[:limit])
    return f"[{shown}]{' ...' if len(items) > limit else ''}"


@dataclass(frozen=True)
class Cell:
    """One cell of a labelled array.

    Attributes
    ----------
    position : tuple of int
        Index of the cell along each dim of the array.
    coords : dict of str to object
        Label of the cell on each dim, in the array's dim order.
    """

    position: tuple[int, ...]
    coords: dict[str, object]

    def describe(self, show: Callable[[object], str] = label, exclude: Collection[str] = ()) -> str:
        """``"dim=label, ..."`` over the dims not in ``exclude``, e.g. ``"region='JP'"``."""
        return ", ".join(f"{d}={show(v)}" for d, v in self.coords.items() if d not in exclude)

    def at(self) -> str:
        """``" at dim=label, ..."``, or ``""`` for a cell of a 0-d array."""
        return f" at {self.describe()}" if self.coords else ""


def first_true(mask: xr.DataArray) -> Cell:
    """The first True cell of a boolean array, in C order of its dims.

    Parameters
    ----------
    mask : DataArray of bool
        Must hold at least one True value.

    Returns
    -------
    Cell
    """
    values = np.asarray(mask.values)
    flat = int(np.argmax(values))
    position = tuple(int(i) for i in np.unravel_index(flat, values.shape))
    coords = {str(d): mask.get_index(d)[i] for d, i in zip(mask.dims, position, strict=True)}
    return Cell(position=position, coords=coords)
