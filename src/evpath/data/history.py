"""Sales and stock histories that scenarios start from.

A history is built from the bundled datasets by a function; every value carries how it
was obtained (reported, derived, interpolated or assumed) in ``History.provenance``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
    """What a history covers, known without loading it (used to validate scenarios).

    ``country_names`` maps each region code to its name in country-level datasets.
    """

    name: str
    description: str
    regions: tuple[str, ...]
    segments: tuple[str, ...]
    first_year: int
    last_year: int
    country_names: dict[str, str]
    builder: Callable[[], History]

    def load(self) -> History:
        """Build the history from the bundled datasets."""
        return self.builder()


def _japan() -> History:
    from evpath.data.japan import japan_history

    return japan_history()


HISTORIES: dict[str, HistorySpec] = {
    "japan": HistorySpec(
        name="japan",
        description="Japan passenger cars (registered and kei), JADA/Zenkeijikyo/AIRIA/IEA",
        regions=("JPN",),
        segments=("registered", "kei"),
        first_year=1990,
        last_year=2024,
        country_names={"JPN": "Japan"},
        builder=_japan,
    ),
}
