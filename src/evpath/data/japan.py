"""Japan's passenger-car history 1990–2024, by segment (registered, kei) and powertrain.

Built from the bundled datasets in four steps, each value flagged with its basis:

1. Total new sales per segment: reported calendar-year figures (JADA registered,
   Zenkeijikyo kei, JAMA all); a segment missing where the other and the all-segment
   total are reported is *derived* by difference; an all-segment total with no segment
   figure is split at the *interpolated* kei share; remaining gaps are *interpolated*
   linearly in time (held flat beyond the first and last figures).
2. BEV, PHEV and FCEV sales: IEA Global EV Outlook 2025 (all segments); PHEV and FCEV are
   registered cars (no kei PHEV or FCEV is sold); the kei share of BEV sales follows the
   anchors in ``japan_sales_share_anchors.csv`` (assumptions, each with its reason).
3. Hybrid and diesel shares of each segment's sales: anchors in
   ``japan_sales_share_anchors.csv`` (reported, derived or assumed, with sources),
   linear in between and held flat outside. Hybrids are split into mild (MHEV) and full
   (HEV) by the anchors of the mild share of hybrid sales (JADA's hybrid counts include
   mild hybrids; every kei hybrid is mild).
4. Gasoline cars: the rest of each segment's sales.

Observed stock (AIRIA, counted on 31 March) is compared with the model's stock at the end
of the previous calendar year; IEA EV stock is end of year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.dims import POWERTRAINS
from evpath.data.history import History
from evpath.data.iea import car_series
from evpath.data.registry import load_dataset
from evpath.errors import DataError

REGION = "JPN"
SEGMENTS = ("registered", "kei")
FIRST_YEAR, LAST_YEAR = 1990, 2024
DATASETS = (
    "japan_car_market_supplement",
    "japan_car_sales_by_powertrain",
    "japan_car_stock_and_age",
    "japan_sales_share_anchors",
    "iea_gevo2025_ev_data",
    "japan_car_co2_fuel_economy",
    "vehicle_emission_factors",
)
IEA_POWERTRAINS = ("BEV", "PHEV", "FCEV")


def japan_history() -> History:
    """Japan's sales history and stock observations (see the module docstring)."""
    years = np.arange(FIRST_YEAR, LAST_YEAR + 1)
    totals, total_basis = segment_totals(years)
    anchors = load_dataset("japan_sales_share_anchors")
    iea = car_series("Japan", ["EV sales"])

    sales = xr.DataArray(
        np.zeros((1, len(SEGMENTS), len(POWERTRAINS), len(years))),
        coords={
            "region": [REGION],
            "segment": list(SEGMENTS),
            "powertrain": list(POWERTRAINS),
            "year": years,
        },
        dims=("region", "segment", "powertrain", "year"),
    )
    provenance = [
        _rows(
            segment, "total", years, totals[segment], total_basis[segment], "JADA/Zenkeijikyo/JAMA"
        )
        for segment in SEGMENTS
    ]

    kei_bev_share, kei_bev_basis = _anchor_path(
        anchors, "segment_share_of_powertrain_sales", "kei", "BEV", years
    )
    for powertrain in IEA_POWERTRAINS:
        counts = (
            iea.get(powertrain, pd.Series(dtype=float)).reindex(years, fill_value=0.0).to_numpy()
        )
        kei_part = counts * kei_bev_share if powertrain == "BEV" else np.zeros_like(counts)
        for segment, values in (("kei", kei_part), ("registered", counts - kei_part)):
            sales.loc[REGION, segment, powertrain] = values
            basis = np.where(counts > 0, "reported", "assumed zero before the IEA series")
            if powertrain == "BEV":
                basis = np.where(
                    counts > 0, "reported total, segment split " + kei_bev_basis, basis
                )
            provenance.append(_rows(segment, powertrain, years, values, basis, "IEA GEVO 2025"))

    for segment in SEGMENTS:
        share, basis = _anchor_path(
            anchors, "share_of_segment_sales", segment, "ICEV_diesel", years
        )
        diesel = share * totals[segment]
        sales.loc[REGION, segment, "ICEV_diesel"] = diesel
        provenance.append(_rows(segment, "ICEV_diesel", years, diesel, basis, "share anchors"))
        share, basis = _anchor_path(anchors, "share_of_segment_sales", segment, "HEV", years)
        mild, mild_basis = _anchor_path(
            anchors, "mild_share_of_hybrid_sales", segment, "MHEV", years
        )
        hybrids = share * totals[segment]
        split = np.array([f"share anchors; mild/full split {how}" for how in mild_basis])
        for powertrain, values in (("MHEV", hybrids * mild), ("HEV", hybrids * (1.0 - mild))):
            sales.loc[REGION, segment, powertrain] = values
            provenance.append(_rows(segment, powertrain, years, values, basis, split))
        others = sales.sel(region=REGION, segment=segment).drop_sel(powertrain="ICEV_gasoline")
        gasoline = totals[segment] - others.sum("powertrain").to_numpy()
        if (gasoline < 0).any():
            year = int(years[np.argmax(gasoline < 0)])
            msg = (
                f"japan history: {segment} sales in {year} are smaller than the sum of their "
                "non-gasoline powertrains; check japan_sales_share_anchors.csv"
            )
            raise DataError(msg)
        sales.loc[REGION, segment, "ICEV_gasoline"] = gasoline
        provenance.append(
            _rows(
                segment,
                "ICEV_gasoline",
                years,
                gasoline,
                np.full(len(years), "derived (rest of segment sales)"),
                "difference",
            )
        )
    sales.attrs["units"] = "vehicles/yr"
    return History(
        sales=sales,
        observed=observations(),
        provenance=pd.concat(provenance, ignore_index=True),
        datasets=DATASETS,
    )


def segment_totals(years: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Total new sales per segment [vehicles/yr] and the basis of each value."""
    reported = _reported_totals()
    table = reported.pivot(index="year", columns="segment", values="value").reindex(
        index=years, columns=["registered", "kei", "all"]
    )
    basis = table.notna().replace({True: "reported", False: ""})
    for missing, known in (("kei", "registered"), ("registered", "kei")):
        fill = table[missing].isna() & table[known].notna() & table["all"].notna()
        table.loc[fill, missing] = table.loc[fill, "all"] - table.loc[fill, known]
        basis.loc[fill, missing] = "derived (all minus other segment)"
    both = table["registered"].notna() & table["kei"].notna()
    kei_share = (table["kei"] / (table["registered"] + table["kei"])).where(both)
    kei_share = kei_share.interpolate(limit_direction="both")
    split = table["all"].notna() & ~both
    for segment, factor in (("kei", kei_share), ("registered", 1.0 - kei_share)):
        fill = split & table[segment].isna()
        table.loc[fill, segment] = table.loc[fill, "all"] * factor[fill]
        basis.loc[fill, segment] = "derived (all-segment total at the interpolated kei share)"
    totals, bases = {}, {}
    for segment in SEGMENTS:
        gaps = table[segment].isna()
        totals[segment] = table[segment].interpolate(limit_direction="both").to_numpy()
        bases[segment] = basis[segment].where(~gaps, "interpolated").to_numpy()
    return totals, bases


def _reported_totals() -> pd.DataFrame:
    """Calendar-year total sales rows: segment, year, value; precise figures before rounded."""
    supplement = load_dataset("japan_car_market_supplement")
    supplement = supplement[
        (supplement["series"] == "new_sales_total") & (supplement["period"] == "calendar")
    ]
    rounded = supplement["note"].fillna("").str.contains("ROUNDED")
    rows = pd.DataFrame(
        {
            "segment": supplement["segment"],
            "year": supplement["year"],
            "value": supplement["value"].astype(float),
            "rounded": rounded,
        }
    )
    partial = load_dataset("japan_car_sales_by_powertrain")
    partial = partial[(partial["powertrain"] == "total") & (partial["period"] == "calendar")]
    scope = {"no": "registered", "kei_only": "kei", "yes": "all"}
    rows = pd.concat(
        [
            rows,
            pd.DataFrame(
                {
                    "segment": partial["includes_kei"].map(scope),
                    "year": partial["year"],
                    "value": partial["vehicles"].astype(float),
                    "rounded": False,
                }
            ),
        ],
        ignore_index=True,
    )
    rows = rows.sort_values(["segment", "year", "rounded"], kind="stable")
    rows = rows.drop_duplicates(["segment", "year"])
    return rows[["segment", "year", "value"]]


def _anchor_path(
    anchors: pd.DataFrame, quantity: str, segment: str, powertrain: str, years: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Anchored values linear in between, flat outside, with the basis of each year."""
    rows = anchors[
        (anchors["quantity"] == quantity)
        & (anchors["segment"] == segment)
        & (anchors["powertrain"] == powertrain)
    ].sort_values("year")
    if rows.empty:
        return np.zeros(len(years)), np.full(len(years), "none sold (no anchor)")
    values = np.interp(years, rows["year"], rows["value"])
    basis = pd.Series(rows["basis"].to_numpy(), index=rows["year"].to_numpy())
    labels = basis.reindex(years).fillna("interpolated between anchors").to_numpy()
    return values, labels


def observations() -> pd.DataFrame:
    """Observed fleet figures the model is checked against.

    Columns: region, segment, powertrain ('all', one powertrain or several joined by
    '+'), metric ('stock' [vehicles], 'average_age' [years], 'vehicle_km' [km/yr],
    'gasoline_use' [L/yr], 'in_use_fuel_economy' [km/L]), year, value, source. Figures counted in the first half of year Y (AIRIA
    counts on 31 March) are assigned to the end of year Y−1; IEA EV stock is end of year.
    Counts of private-use cars only are left out (a different scope). AIRIA's hybrid
    stock (HEV + PHEV, :func:`hybrid_stock`) is compared with the model's.
    """
    airia = load_dataset("japan_car_stock_and_age")
    scope = {
        "passenger cars excl. kei": "registered",
        "passenger cars excl. kei (registered)": "registered",
        "passenger cars incl. kei": "all",
    }
    metrics = {"stock": "stock", "average_vehicle_age": "average_age"}
    airia = airia[airia["scope"].isin(scope) & airia["metric"].isin(metrics)]
    frame = pd.DataFrame(
        {
            "region": REGION,
            "segment": airia["scope"].map(scope),
            "powertrain": "all",
            "metric": airia["metric"].map(metrics),
            "year": airia["as_of"].astype(str).str.slice(0, 4).astype(int) - 1,
            "value": airia["value"].astype(float),
            "source": "AIRIA (" + airia["source_publisher"] + ")",
        }
    )
    supplement = load_dataset("japan_car_market_supplement")
    counted = supplement[
        (supplement["series"] == "stock_total")
        & ~supplement["note"].fillna("").str.contains("PRIVATE-USE")
    ]
    as_of = pd.to_datetime(counted["period"].str.removeprefix("as_of_"))
    frame = pd.concat(
        [
            frame,
            pd.DataFrame(
                {
                    "region": REGION,
                    "segment": counted["segment"],
                    "powertrain": "all",
                    "metric": "stock",
                    "year": np.where(as_of.dt.month <= 6, as_of.dt.year - 1, as_of.dt.year),
                    "value": counted["value"].astype(float),
                    "source": counted["source_publisher"],
                }
            ),
        ],
        ignore_index=True,
    )
    frame = pd.concat([frame, _use_observations(), hybrid_stock()], ignore_index=True)
    for powertrain, series in car_series("Japan", ["EV stock"]).items():
        frame = pd.concat(
            [
                frame,
                pd.DataFrame(
                    {
                        "region": REGION,
                        "segment": "all",
                        "powertrain": powertrain,
                        "metric": "stock",
                        "year": series.index.astype(int),
                        "value": series.to_numpy(),
                        "source": "IEA GEVO 2025 (EV stock)",
                    }
                ),
            ],
            ignore_index=True,
        )
    return frame.reset_index(drop=True)


GASOLINE_CARS = "ICEV_gasoline+MHEV+HEV"
IN_USE_SCOPES = {
    "all gasoline vehicles": ("all", GASOLINE_CARS),
    "HEV passenger": ("all", "HEV"),
    "kei passenger": ("kei", GASOLINE_CARS),
}


def _use_observations() -> pd.DataFrame:
    """MLIT in-use fuel economy (FY2010, FY2017) and FY2016 fleet vehicle-km and gasoline use.

    Fiscal years (April to March) are compared with calendar years.
    """
    economy = load_dataset("japan_car_co2_fuel_economy")
    economy = economy[
        (economy["metric"] == "in_use_fuel_economy_real_world")
        & economy["scope"].isin(IN_USE_SCOPES)
    ]
    scopes = economy["scope"].map(IN_USE_SCOPES)
    rows = pd.DataFrame(
        {
            "region": REGION,
            "segment": scopes.str[0],
            "powertrain": scopes.str[1],
            "metric": "in_use_fuel_economy",
            "year": economy["fiscal_year"].astype(int),
            "value": economy["value"].astype(float),
            "source": economy["source_publisher"],
        }
    )
    fleet = load_dataset("vehicle_emission_factors").set_index(["parameter", "subject"])
    km = (
        fleet.loc[("fleet_vkt", "private_passenger_gasoline"), "value"]
        + fleet.loc[("fleet_vkt", "private_passenger_diesel"), "value"]
    )
    litres = fleet.loc[("fleet_fuel_use", "private_passenger_gasoline"), "value"]
    survey = "MLIT fuel consumption survey FY2016 (private passenger cars)"
    totals = pd.DataFrame(
        {
            "region": REGION,
            "segment": "all",
            "powertrain": "all",
            "metric": ["vehicle_km", "gasoline_use"],
            "year": 2016,
            "value": [float(km) * 1e6, float(litres) * 1e6],
            "source": survey,
        }
    )
    return pd.concat([rows, totals], ignore_index=True)


def _rows(
    segment: str,
    powertrain: str,
    years: np.ndarray,
    values: np.ndarray,
    basis: np.ndarray,
    source: str | np.ndarray,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": REGION,
            "segment": segment,
            "powertrain": powertrain,
            "year": years,
            "value": values,
            "basis": basis,
            "source": source,
        }
    )


HYBRID_SCOPES = {
    "passenger cars incl. kei": "all",
    "passenger cars excl. kei": "registered",
    "all vehicle types incl. kei": "all",
}
"""AIRIA hybrid-stock scope -> the evpath segment it is compared with (cars only)."""


def hybrid_stock() -> pd.DataFrame:
    """AIRIA's hybrid (HEV + PHEV) stock as observations (region, segment, powertrain
    'HEV+PHEV', metric 'stock', year, value [vehicles], source); end-of-March counts are
    the stock at the end of the previous year."""
    airia = load_dataset("japan_car_stock_and_age")
    airia = airia[
        airia["metric"].str.startswith("stock_hybrid") & airia["scope"].isin(HYBRID_SCOPES)
    ]
    return pd.DataFrame(
        {
            "region": REGION,
            "segment": airia["scope"].map(HYBRID_SCOPES),
            "powertrain": "HEV+PHEV",
            "metric": "stock",
            "year": airia["as_of"].str.slice(0, 4).astype(int) - 1,
            "value": airia["value"].astype(float),
            "source": "AIRIA, " + airia["scope"] + " (" + airia["source_publisher"] + ")",
        }
    ).reset_index(drop=True)


def published_co2() -> pd.DataFrame:
    """Japan's published transport CO2 figures and shares, indexed by (metric,
    fiscal_year): value (Mt CO2/yr or %), source_publisher."""
    table = load_dataset("japan_car_co2_fuel_economy")
    return table.set_index(["metric", "fiscal_year"])[["value", "source_publisher"]]


DISTANCE_SURVEYS = ("passenger_car", "passenger_car_driver_survey")
"""Subjects of the bundled ``annual_distance`` rows that are owners' surveys."""


def distance_surveys() -> pd.DataFrame:
    """Owners' surveys of the distance a car drives: year, value [km/vehicle/yr],
    source_publisher."""
    table = load_dataset("vehicle_emission_factors")
    rows = table[
        (table["parameter"] == "annual_distance") & table["subject"].isin(DISTANCE_SURVEYS)
    ]
    return rows[["year", "value", "source_publisher"]].reset_index(drop=True)
