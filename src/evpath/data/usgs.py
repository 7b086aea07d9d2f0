"""USGS Mineral Commodity Summaries: mine production by metal and country [t/yr].

Two bundled tables: cobalt, nickel and natural graphite (MCS 2024 data release) and
lithium (MCS 2024, transcribed). Both are read here only.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from evpath.data.registry import load_dataset

CO_NI_GRAPHITE = "usgs_mcs_cobalt_nickel_graphite_production"
LITHIUM = "usgs_mcs2024_lithium_production_and_reserves"
DATASETS = (CO_NI_GRAPHITE, LITHIUM)

MINERALS = {
    "cobalt": "Cobalt",
    "nickel": "Nickel",
    "graphite": "Graphite (natural)",
    "lithium": "Lithium",
}
"""USGS mineral name of each metal with production data."""

DATASET_OF = {
    "cobalt": CO_NI_GRAPHITE,
    "nickel": CO_NI_GRAPHITE,
    "graphite": CO_NI_GRAPHITE,
    "lithium": LITHIUM,
}
"""Bundled dataset holding each metal's mine production."""

AGGREGATES = ("Other countries", "World total (rounded)", "World")
"""Rows that are not one country."""

DATA_YEAR = 2023
"""Latest year of mine production in both tables."""


def mine_production(year: int = DATA_YEAR) -> pd.DataFrame:
    """Mine production in ``year``: columns metal, country, tonnes [t contained metal/yr].

    Aggregate rows (see ``AGGREGATES``) are kept; the US lithium figure is withheld by
    the USGS and so missing. A fresh copy each call.
    """
    return _mine_production(year).copy()


@cache
def _mine_production(year: int) -> pd.DataFrame:
    usgs = load_dataset(CO_NI_GRAPHITE)
    rows = usgs[(usgs["year"] == year) & usgs["basis"].fillna("").str.startswith("mine production")]
    frame = pd.DataFrame(
        {
            "metal": rows["mineral"].map({v: k for k, v in MINERALS.items()}),
            "country": rows["country"],
            "tonnes": rows["tonnes"].astype(float),
        }
    )
    lithium = load_dataset(LITHIUM)
    li = lithium[
        (lithium["year"] == year)
        & (lithium["mineral"] == MINERALS["lithium"])
        & (lithium["metric"] == "mine_production")
    ]
    frame = pd.concat(
        [
            frame,
            pd.DataFrame(
                {"metal": "lithium", "country": li["country"], "tonnes": li["value"].astype(float)}
            ),
        ]
    )
    return frame.dropna(subset=["metal", "tonnes"]).reset_index(drop=True)


def production_years(metal: str) -> list[int]:
    """Years with mine production figures of ``metal`` by country."""
    return [year for year in _data_years() if not country_production(metal, year).empty]


@cache
def _data_years() -> tuple[int, ...]:
    years = {*load_dataset(CO_NI_GRAPHITE)["year"], *load_dataset(LITHIUM)["year"]}
    return tuple(sorted(int(y) for y in years))


def country_production(metal: str, year: int = DATA_YEAR) -> pd.Series:
    """Mine production of one metal by country (aggregates included) [t/yr]."""
    production = _mine_production(year)
    rows = production[production["metal"] == metal]
    return rows.set_index("country")["tonnes"]
