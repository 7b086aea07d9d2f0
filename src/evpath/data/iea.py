"""Car sales histories of every IEA region and country, 2010–2024 (Global EV Outlook 2025).

The IEA gives electric-car sales by powertrain (BEV, PHEV, FCEV) and their share of all
new cars. evpath derives the total from them, total = EV sales / EV share, where the
share is at least ``MIN_SHARE`` (below it the IEA's rounding to two significant figures
makes the ratio unreliable); other years are interpolated between derived totals and
held flat before the first and after the last one. Cars without a plug are the rest,
booked as ``ICEV_gasoline``: the IEA does not split them (hybrids included), an
assumption every IEA-based scenario states. One segment, ``all``.

One region is not in the IEA file: ``Other markets`` (``DERIVED_REGION``), the World less
the markets of ``DERIVED_FROM`` (the IEA's North America aggregate, which holds the USA and
Mexico but not Canada; Europe; China; India; Japan; and the four ASEAN members the IEA
reports), by powertrain and year. A cell that rounding in the IEA figures makes negative
is set to 0, and the provenance says in how many powertrains that happened.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.dims import POWERTRAINS
from evpath.data.history import History
from evpath.data.registry import load_dataset

DATASET = "iea_gevo2025_ev_data"
FIRST_YEAR, LAST_YEAR = 2010, 2024
MIN_SHARE = 0.01
"""Smallest EV share of sales [fraction] from which total sales are derived."""
EV_POWERTRAINS = ("BEV", "PHEV", "FCEV")


DERIVED_REGION = "Other markets"
"""The World less the markets of ``DERIVED_FROM`` (a derived region, not an IEA one)."""
DERIVED_FROM = (
    "North America",
    "Europe",
    "China",
    "India",
    "Japan",
    "Indonesia",
    "Thailand",
    "Malaysia",
    "Viet Nam",
)
"""IEA regions subtracted from the World to give ``DERIVED_REGION``; they do not overlap."""
DERIVED_BASIS = "derived (World less the listed markets)"


CHARGER_TYPES = {"Publicly available slow": "slow", "Publicly available fast": "fast"}
"""IEA name of each public charger type and its evpath label."""


@cache
def _historical() -> pd.DataFrame:
    iea = load_dataset(DATASET)
    return iea[iea["category"] == "Historical"]


def steps_cars(year: int) -> pd.DataFrame:
    """The IEA's Stated Policies (STEPS) projection for cars in ``year``: region_country,
    parameter, powertrain, unit, value."""
    iea = load_dataset(DATASET)
    rows = iea[
        (iea["category"] == "Projection-STEPS") & (iea["mode"] == "Cars") & (iea["year"] == year)
    ]
    return rows[["region_country", "parameter", "powertrain", "unit", "value"]].reset_index(
        drop=True
    )


@cache
def _cars() -> pd.DataFrame:
    historical = _historical()
    return historical[historical["mode"] == "Cars"]


@cache
def all_regions() -> tuple[str, ...]:
    """Every region and country in the IEA file, sorted."""
    return tuple(sorted(load_dataset(DATASET)["region_country"].unique()))


def ev_sales_share(region: str) -> pd.Series:
    """Electric (BEV + PHEV + FCEV) share of new car sales by year [fraction]; reported
    years only."""
    cars = _cars()
    rows = cars[(cars["region_country"] == region) & (cars["parameter"] == "EV sales share")]
    return rows.groupby("year")["value"].sum().astype(float) / 100.0


def ev_sales(region: str) -> pd.DataFrame:
    """Electric car sales (year × BEV, PHEV, FCEV) [vehicles/yr]; NaN where not reported."""
    cars = _cars()
    rows = cars[
        (cars["region_country"] == region)
        & (cars["parameter"] == "EV sales")
        & cars["powertrain"].isin(EV_POWERTRAINS)
    ]
    return rows.pivot_table(index="year", columns="powertrain", values="value", aggfunc="sum")


def car_series(region: str, parameters: list[str]) -> dict[str, pd.Series]:
    """Historical car series of one region by powertrain (indexed by year) for
    ``parameters`` (e.g. "EV sales", "EV stock") [vehicles or vehicles/yr]."""
    cars = _cars()
    rows = cars[(cars["region_country"] == region) & (cars["parameter"].isin(parameters))]
    return {p: g.set_index("year")["value"].astype(float) for p, g in rows.groupby("powertrain")}


def world_battery_demand() -> pd.Series:
    """World EV battery demand, every vehicle mode (year -> GWh/yr)."""
    historical = _historical()
    rows = historical[
        (historical["region_country"] == "World") & (historical["parameter"] == "Battery demand")
    ]
    return rows.groupby("year")["value"].sum().astype(float).sort_index()


def public_chargers(names: dict[str, str], years: np.ndarray) -> xr.DataArray:
    """Public charging points (region, charger_type, year) [chargers]; NaN where missing.

    ``names`` maps each region code to its IEA name; charger types are ``slow``, ``fast``.
    """
    historical = _historical()
    rows = historical[
        (historical["parameter"] == "EV charging points")
        & historical["powertrain"].isin(CHARGER_TYPES)
    ]
    values = []
    for name in names.values():
        mine = rows[rows["region_country"] == name]
        table = mine.pivot_table(index="powertrain", columns="year", values="value")
        values.append(
            [
                table.reindex(columns=years).loc[t].to_numpy()
                if t in table.index
                else np.full(len(years), np.nan)
                for t in CHARGER_TYPES
            ]
        )
    return xr.DataArray(
        np.array(values, dtype=float),
        coords={"region": list(names), "charger_type": list(CHARGER_TYPES.values()), "year": years},
        attrs={"units": "chargers"},
    )


@cache
def iea_regions() -> tuple[str, ...]:
    """Regions with at least one year whose EV share allows a total to be derived."""
    cars = _cars()
    share = cars[cars["parameter"] == "EV sales share"]
    usable = share[share["value"] / 100.0 >= MIN_SHARE]["region_country"].unique()
    return tuple(sorted([*usable, DERIVED_REGION]))


def iea_history() -> History:
    """Sales by region and powertrain, observed EV stock and car battery demand."""
    cars = _cars()
    regions = [r for r in iea_regions() if r != DERIVED_REGION]
    years = np.arange(FIRST_YEAR, LAST_YEAR + 1)
    ev = (
        cars[cars["parameter"] == "EV sales"]
        .pivot_table(index=["region_country", "powertrain"], columns="year", values="value")
        .reindex(columns=years)
    )
    share = (
        cars[cars["parameter"] == "EV sales share"]
        .pivot_table(index="region_country", columns="year", values="value")
        .reindex(index=regions, columns=years)
        / 100.0
    )
    ev_sales = xr.DataArray(
        np.stack(
            [
                [
                    ev.loc[(r, p)].to_numpy() if (r, p) in ev.index else np.zeros(len(years))
                    for p in EV_POWERTRAINS
                ]
                for r in regions
            ]
        ),
        coords={"region": regions, "powertrain": list(EV_POWERTRAINS), "year": years},
    ).fillna(0.0)
    ev_total = ev_sales.sum("powertrain").to_pandas()
    derived = (ev_total / share).where(share >= MIN_SHARE)
    total = derived.interpolate(axis=1, limit_area="inside").ffill(axis=1).bfill(axis=1)
    basis = np.where(
        derived.notna(),
        "derived (EV sales / EV share)",
        np.where(total.notna(), "interpolated or held", "missing"),
    )
    rest = (total - ev_total).clip(lower=0.0)

    sales = xr.DataArray(
        np.zeros((len(regions), 1, len(POWERTRAINS), len(years))),
        coords={
            "region": regions,
            "segment": ["all"],
            "powertrain": list(POWERTRAINS),
            "year": years,
        },
        dims=("region", "segment", "powertrain", "year"),
    )
    sales.loc[{"segment": "all", "powertrain": "ICEV_gasoline"}] = rest.to_numpy()
    for powertrain in EV_POWERTRAINS:
        sales.loc[{"segment": "all", "powertrain": powertrain}] = ev_sales.sel(
            powertrain=powertrain
        )
    other, floored = _other_markets(sales)
    sales = xr.concat([sales, other], dim="region")
    sales.attrs["units"] = "vehicles/yr"

    provenance = pd.DataFrame(
        {
            "region": np.repeat(regions, len(years)),
            "segment": "all",
            "powertrain": "total",
            "year": np.tile(years, len(regions)),
            "value": total.to_numpy().ravel(),
            "basis": basis.ravel(),
            "source": "IEA GEVO 2025",
        }
    )
    derived = pd.DataFrame(
        {
            "region": DERIVED_REGION,
            "segment": "all",
            "powertrain": "total",
            "year": years,
            "value": other.sum(["segment", "powertrain"]).squeeze("region").to_numpy(),
            "basis": [
                DERIVED_BASIS + (f"; {n} powertrain(s) negative by rounding, set to 0" if n else "")
                for n in floored
            ],
            "source": "IEA GEVO 2025: World less " + ", ".join(DERIVED_FROM),
        }
    )
    return History(
        sales=sales,
        observed=_observations(cars, regions),
        provenance=pd.concat([provenance, derived], ignore_index=True),
        datasets=(DATASET,),
    )


def _other_markets(sales: xr.DataArray) -> tuple[xr.DataArray, np.ndarray]:
    """``DERIVED_REGION``'s sales (one region) [vehicles/yr] and, per year, how many
    powertrains were negative by rounding and set to 0."""
    rest = sales.sel(region="World") - sales.sel(region=list(DERIVED_FROM)).sum("region")
    floored = (rest < 0.0).sum(["segment", "powertrain"]).to_numpy()
    other = rest.clip(min=0.0).expand_dims(region=[DERIVED_REGION])
    return other.transpose(*sales.dims), floored


def _observations(cars: pd.DataFrame, regions: list[str]) -> pd.DataFrame:
    """IEA EV stock by powertrain (end of year) and car battery demand [GWh/yr]."""
    stock = cars[
        (cars["parameter"] == "EV stock")
        & cars["powertrain"].isin(EV_POWERTRAINS)
        & cars["region_country"].isin(regions)
    ]
    battery = cars[(cars["parameter"] == "Battery demand") & cars["region_country"].isin(regions)]
    frames = [
        pd.DataFrame(
            {
                "region": stock["region_country"],
                "segment": "all",
                "powertrain": stock["powertrain"],
                "metric": "stock",
                "year": stock["year"],
                "value": stock["value"].astype(float),
                "source": "IEA GEVO 2025 (EV stock)",
            }
        ),
        pd.DataFrame(
            {
                "region": battery["region_country"],
                "segment": "all",
                "powertrain": "all",
                "metric": "battery_demand",
                "year": battery["year"],
                "value": battery["value"].astype(float),
                "source": "IEA GEVO 2025 (battery demand, cars)",
            }
        ),
    ]
    return pd.concat(frames, ignore_index=True)
