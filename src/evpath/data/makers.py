"""Carmakers' new-car sales by market, as the makers report them (``makers.history``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pandas as pd
import xarray as xr

from evpath.data.registry import load_dataset
from evpath.errors import DataError

MAKER_HISTORIES = {"japanese-makers": "japanese_makers_sales_by_market"}
"""Makers' histories by name (the ``makers.history`` of a scope file) → bundled dataset."""

WORLD = "World"
"""The market label of a maker's worldwide total."""

REST = "Rest of world"
"""The market of everything not listed; a row of it derived as the worldwide total less
the listed markets is left out of ``sales`` (the scope allocates that remainder itself,
over every market the maker does not report that year)."""


@dataclass(frozen=True)
class MakerHistory:
    """Reported new-car sales of a group of makers.

    Attributes
    ----------
    sales : DataArray (maker, market, year) [vehicles/yr]
        Sales by maker and market (the ``World`` market is each maker's total); NaN where
        nothing is reported, and for a ``Rest of world`` derived as a remainder.
    world_production : DataArray (maker, year) [vehicles/yr]
        Each maker's worldwide production; NaN where not reported.
    provenance : DataFrame
        The rows read: year, maker, market, value, basis, source_publisher, source_url, note.
    dataset : str
        The bundled dataset (its hash goes in the manifest).
    """

    sales: xr.DataArray
    world_production: xr.DataArray
    provenance: pd.DataFrame
    dataset: str

    @property
    def makers(self) -> tuple[str, ...]:
        return tuple(str(m) for m in self.sales.maker.values)

    @property
    def markets(self) -> tuple[str, ...]:
        return tuple(str(m) for m in self.sales.market.values if m != WORLD)


@cache
def maker_history(name: str) -> MakerHistory:
    """The bundled makers' history ``name`` (a key of :data:`MAKER_HISTORIES`)."""
    dataset = MAKER_HISTORIES[name]
    table = load_dataset(dataset)
    residual = (table["market"] == REST) & (table["basis"] == "derived")
    rows = table[(table["series"] == "sales") & ~residual]
    made = table[(table["series"] == "production") & (table["market"] == WORLD)]
    if rows.empty:
        msg = f"{dataset}: no 'sales' rows"
        raise DataError(msg)
    repeated = rows.duplicated(["year", "maker", "market"])
    if repeated.any():
        first = rows[repeated].iloc[0]
        msg = f"{dataset}: two sales rows for {first['maker']}, {first['market']}, {first['year']}"
        raise DataError(msg)
    sales = (
        rows.set_index(["maker", "market", "year"])["value"]
        .astype(float)
        .to_xarray()
        .rename("maker_sales_reported")
    )
    makers = sorted(table["maker"].unique())
    sales = sales.reindex(maker=makers, market=sorted(table["market"].unique()))
    production = (
        made.set_index(["maker", "year"])["value"].astype(float).to_xarray().reindex(maker=makers)
    )
    return MakerHistory(
        sales=sales,
        world_production=production,
        provenance=table.reset_index(drop=True),
        dataset=dataset,
    )
