"""Our World in Data electricity mix: life-cycle carbon intensity of each country's grid."""

from __future__ import annotations

from functools import cache

import pandas as pd

from evpath.data.registry import load_dataset
from evpath.errors import DataError

DATASET = "owid_electricity_mix_carbon_intensity"


@cache
def _table() -> pd.DataFrame:
    table = load_dataset(DATASET)
    return table[table["carbon_intensity_elec"].notna()]


def intensity_history(country: str) -> pd.Series:
    """Historical life-cycle intensity of one country's grid (year -> g CO2e/kWh)."""
    table = _table()
    rows = table[table["country"] == country]
    if rows.empty:
        msg = f"no grid carbon intensity for {country!r} in the bundled OWID data"
        raise DataError(msg)
    return rows.set_index("year")["carbon_intensity_elec"].astype(float).sort_index()
