"""Battery data: BloombergNEF pack-price anchor points, BatPaC material intensities of
lithium-ion chemistries and published NiMH battery compositions."""

from __future__ import annotations

from functools import cache

import pandas as pd
import xarray as xr

from evpath.core.dims import CHEMISTRIES, METALS
from evpath.data.registry import load_dataset

PRICES = "battery_pack_price_bnef_anchor_points"
INTENSITY = "battery_material_intensity_batpac"
NIMH = "nimh_battery_composition"

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
"""BatPaC design of each lithium-ion (and sodium-ion) evpath chemistry."""
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


NIMH_METALS = {
    "nickel": "nickel_mass_share",
    "cobalt": "cobalt_mass_share",
    "rare_earths": "rare_earth_mass_share",
}
"""Metals of NiMH packs and the row of their mass share in the NiMH dataset."""


def nimh_intensity() -> dict[str, float]:
    """Metal per kWh of a NiMH pack [kg/kWh]: mass share / module specific energy."""
    table = load_dataset(NIMH).set_index("quantity")["value"].astype(float)
    kg_per_kwh = 1000.0 / table["module_specific_energy"]
    return {metal: float(table[row] * kg_per_kwh) for metal, row in NIMH_METALS.items()}


@cache
def material_intensity() -> xr.DataArray:
    """Metal per kWh of pack (chemistry, metal) [kg/kWh]: BatPaC 5.1 default designs, and
    the NiMH composition for NiMH; 0 where a source lists none."""
    table = load_dataset(INTENSITY)
    rows = table[table["batpac_version"] == BATPAC_VERSION]
    lookup = rows.set_index(["chemistry", "material"])["kg_per_kwh"]
    nimh = nimh_intensity()
    values = [
        [
            nimh.get(m, 0.0)
            if c == "NiMH"
            else float(lookup.get((BATPAC_CHEMISTRY[c], BATPAC_METAL.get(m, "")), 0.0))
            for m in METALS
        ]
        for c in CHEMISTRIES
    ]
    return xr.DataArray(values, coords={"chemistry": list(CHEMISTRIES), "metal": list(METALS)})
