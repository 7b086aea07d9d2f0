"""What a sales and stock history is (the registry of histories is :mod:`evpath.data.histories`).

A history is built from the bundled datasets by a function; every value carries how it
was obtained (reported, derived, interpolated or assumed) in ``History.provenance``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache

import pandas as pd
import xarray as xr


@dataclass(frozen=True)
class History:
    """Historical series of one history source.

    Attributes
    ----------
    sales : DataArray (region, segment, powertrain, year) [vehicles/yr]
        New passenger-car sales.
    observed : DataFrame
        Observed fleet figures (stock, average age) to check the model against: region,
        segment, powertrain, metric, year (end of year), value, source.
    provenance : DataFrame
        One row per series and year: region, segment, powertrain, year, value, basis
        ('reported', 'derived', 'interpolated', 'assumed'), source.
    datasets : tuple of str
        Bundled datasets the history was built from (their hashes go in the manifest).
    """

    sales: xr.DataArray
    observed: pd.DataFrame
    provenance: pd.DataFrame
    datasets: tuple[str, ...]


@dataclass(frozen=True)
class HistorySpec:
    """What a history covers, known without building it (used to validate scenarios).

    ``list_regions`` returns the region codes (it may read a dataset, once);
    ``country_names`` maps region codes to their names in country-level datasets and in
    exports, ``grid_names`` to the grid series that stands for a region without one of its
    own (a named assumption), and ``iea_names`` to names in the IEA data, where they differ.
    """

    name: str
    description: str
    list_regions: Callable[[], tuple[str, ...]]
    segments: tuple[str, ...]
    first_year: int
    last_year: int
    country_names: dict[str, str]
    builder: Callable[[], History]
    iea_names: dict[str, str] = field(default_factory=dict)
    grid_names: dict[str, str] = field(default_factory=dict)

    @property
    def regions(self) -> tuple[str, ...]:
        """Region codes of the history."""
        return self.list_regions()

    def country_name(self, region: str) -> str:
        """Name of ``region`` in country-level datasets."""
        return self.country_names.get(region, region)

    def grid_name(self, region: str) -> str:
        """Name of the grid series (country-level data) used for ``region``."""
        return self.grid_names.get(region, self.country_name(region))

    def iea_name(self, region: str) -> str:
        """Name of ``region`` in the IEA Global EV Outlook data."""
        return self.iea_names.get(region, region)

    def load(self) -> History:
        """The history built from the bundled datasets: built once per process, and each
        call gets its own copy."""
        built = _build(self.builder)
        return replace(
            built,
            sales=built.sales.copy(deep=True),
            observed=built.observed.copy(),
            provenance=built.provenance.copy(),
        )


@cache
def _build(builder: Callable[[], History]) -> History:
    return builder()
