"""Battery data: BloombergNEF pack-price anchor points and BatPaC material intensities."""

from __future__ import annotations

from functools import cache

import pandas as pd
import xarray as xr

from evpath.core.dims import CHEMISTRIES, METALS
from evpath.data.registry import load_dataset

PRICES = "battery_pack_price_bnef_anchor_points"
INTENSITY = "battery_material_intensity_batpac"

BATPAC_VERSION = 5.1
BATPAC_CHEMISTRY = {
    "NMC111": "NMC 111",
    "NMC532": "NMC 532",
    "NMC622": "NMC 622",
    "NMC811": "NMC 811",
    "NCA": "NCA",
    "LFP": "LFP",
    "SIB": "SIB",
    "SSB": "SS NMC 811",
}
"""BatPaC design of each evpath chemistry."""
BATPAC_METAL = {
    "lithium": "Lithium",
    "nickel": "Nickel",
    "cobalt": "Cobalt",
    "manganese": "Manganese",
    "graphite": "Graphite",
    "copper": "Copper",
    "aluminium": "Aluminum",
}
"""BatPaC material name of each evpath metal."""


def price_anchors() -> pd.DataFrame:
    """Historical global average pack prices, real 2024 USD/kWh (columns year, value)."""
    table = load_dataset(PRICES)
    rows = table[
        (table["series"] == "global_avg_pack_all_segments")
        & (table["kind"] == "historical")
        & (table["price_basis"] == "real 2024 USD")
    ]
    return rows[["year", "value"]].sort_values("year").reset_index(drop=True)


@cache
def material_intensity() -> xr.DataArray:
    """Metal per kWh of pack (chemistry, metal) [kg/kWh], BatPaC 5.1 default designs;
    0 where BatPaC lists none."""
    table = load_dataset(INTENSITY)
    rows = table[table["batpac_version"] == BATPAC_VERSION]
    lookup = rows.set_index(["chemistry", "material"])["kg_per_kwh"]
    values = [
        [float(lookup.get((BATPAC_CHEMISTRY[c], BATPAC_METAL[m]), 0.0)) for m in METALS]
        for c in CHEMISTRIES
    ]
    return xr.DataArray(values, coords={"chemistry": list(CHEMISTRIES), "metal": list(METALS)})
