"""Materials stage: metals in batteries put on the market, in the fleet and leaving it;
used-car exports, second life, collection and recovery; primary demand; supply side.

Balance, exact by construction and checked on every run:
in_fleet(t) − in_fleet(t−1) = put_on_market(t) − retired(t), and
retired = exported + Δin_second_life + recovered + lost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.alignment import exact_dataset
from evpath.core.contraction import dot
from evpath.core.dims import METALS
from evpath.core.drawn import Value, labelled_array, path_array
from evpath.data.usgs import AGGREGATES
from evpath.scenario.batteries import Recycling

LCE_PER_LI = 5.323
"""kg of lithium carbonate equivalent per kg of lithium metal."""


def export_shares(spec: Recycling, segments: list[str], years: np.ndarray) -> xr.DataArray:
    """Share of the cars leaving the fleet that are exported used (segment, year) [fraction]."""
    given = spec.export_share_by_segment
    by_segment = (
        {s: given[s] for s in segments}
        if given is not None
        else dict.fromkeys(segments, spec.export_share)
    )
    return labelled_array(
        [path_array(by_segment[s], years) for s in segments],  # type: ignore[arg-type]
        "segment",
        segments,
    )


def capacity_leaving(
    outflow_by_cohort: xr.DataArray,
    pack: xr.DataArray,
    mix: xr.DataArray,
    fade: Value = 0.0,
    age_offset: xr.DataArray | float = 0.0,
) -> xr.Dataset:
    """Battery capacity of the cars leaving the fleet, by segment and chemistry (region,
    segment, chemistry, year) [kWh/yr]: ``nameplate``, Σ over powertrains and cohorts of
    outflow · pack size · chemistry share, and ``remaining``, the same after ``fade`` per
    year of age (age t − c + ``age_offset`` at the end of year t).

    The metal and capacity balances of retired batteries start from it, so the
    cohort-sized outflow is read once for all of them: the fade is split into a factor of
    the cohort and one of the year, (1 − f)^(t − c + o) = (1 − f)^(T − c + o) ·
    (1 − f)^(t − T) with T the last year, so both capacities come from one product.

    Parameters
    ----------
    outflow_by_cohort : DataArray (region, segment, powertrain, year, cohort) [vehicles/yr]
    pack : DataArray (segment, powertrain, cohort) [kWh/vehicle]
    mix : DataArray (powertrain, chemistry, cohort) [fraction]
    fade : float or DataArray (draw) [1/yr]
    age_offset : float or DataArray (segment) [years]
    """
    years, cohorts = outflow_by_cohort.year, outflow_by_cohort.cohort
    last = years[-1].drop_vars("year")
    per_car = pack * mix
    kept_to_last = (1.0 - fade) ** (last - cohorts + age_offset)  # exponent ≥ 0: at most 1
    weights = xr.concat([per_car, per_car * kept_to_last], dim=_CAPACITY, coords="minimal")
    both = dot(outflow_by_cohort, weights, dim=("powertrain", "cohort"))
    # the nameplate does not vary along the dims only the fade brings (a drawn fade's draw)
    fade_only = set(kept_to_last.dims) - {*per_car.dims, *outflow_by_cohort.dims}
    return exact_dataset(
        {
            "nameplate": both.isel({_CAPACITY: 0, **dict.fromkeys(fade_only, 0)}, drop=True),
            "remaining": both.isel({_CAPACITY: 1}) * (1.0 - fade) ** (years - last),
        }
    )


_CAPACITY = "capacity"
"""Stacks the nameplate (0) and the faded (1) weights of :func:`capacity_leaving`."""


def material_flows(
    *,
    sales: xr.DataArray,
    stock_by_cohort: xr.DataArray,
    leaving: xr.DataArray,
    pack: xr.DataArray,
    mix: xr.DataArray,
    intensity: xr.DataArray,
    spec: Recycling,
) -> xr.Dataset:
    """Metal flows (region, metal, year) [t/yr; stocks in t].

    Parameters
    ----------
    sales : DataArray (region, segment, powertrain, year) [vehicles/yr]
    stock_by_cohort : DataArray (region, segment, powertrain, year, cohort) [vehicles]
    leaving : DataArray (region, segment, chemistry, year) [kWh/yr]
        Battery capacity leaving the fleet (:func:`capacity_leaving`).
    pack : DataArray (segment, powertrain, cohort) [kWh/vehicle]
    mix : DataArray (powertrain, chemistry, cohort) [fraction]
    intensity : DataArray (chemistry, metal) [kg/kWh]
    """
    per_kwh = dot(mix, intensity, dim="chemistry") / 1000.0  # t/kWh
    years = sales.year.values
    per_car = pack * per_kwh  # t/vehicle
    at_sale = per_car.sel(cohort=xr.DataArray(years, dims="year")).drop_vars("cohort")
    groups = ("segment", "powertrain")
    put = (sales * at_sale).sum(groups)
    in_fleet = dot(stock_by_cohort, per_car, dim=("powertrain", "cohort")).sum("segment")
    retired_by_segment = dot(leaving, intensity, dim="chemistry") / 1000.0
    retired = retired_by_segment.sum("segment")
    export = export_shares(spec, [str(s) for s in leaving.segment.values], years)
    exported = dot(retired_by_segment, export, dim="segment")
    domestic = retired - exported
    lag = spec.second_life_years
    to_recycling = domestic.shift(year=lag, fill_value=0.0) if lag else domestic
    in_second_life = domestic.cumsum("year") - to_recycling.cumsum("year")
    recovery = labelled_array([spec.recovery[m] for m in METALS], "metal", METALS)  # type: ignore[index]
    recovered = to_recycling * spec.collection_rate * recovery
    flows = {
        "metal_put_on_market": put,
        "metal_in_fleet": in_fleet,
        "metal_retired": retired,
        "metal_exported": exported,
        "metal_in_second_life": in_second_life,
        "metal_recovered": recovered,
        "metal_lost": to_recycling - recovered,
        "metal_primary_demand": put - recovered,
    }
    return exact_dataset(
        {name: value.transpose("region", "metal", "year", ...) for name, value in flows.items()}
    )


def retired_capacity(leaving: xr.Dataset, export: xr.DataArray) -> xr.Dataset:
    """Battery capacity leaving the fleet by chemistry (region, chemistry, year) [GWh/yr]:
    nameplate and what is left after the fade (``leaving``, :func:`capacity_leaving`);
    and the nameplate capacity exported in used cars (region, year) [GWh/yr], ``export``
    (segment, year) being the share of each segment's cars leaving the fleet that are
    exported (the chemistry shares of a pack sum to one)."""
    nameplate = leaving["nameplate"]
    remaining = leaving["remaining"].sum("segment") / 1e6
    exported = dot(nameplate.sum("chemistry"), export, dim="segment") / 1e6
    return exact_dataset(
        {
            "battery_retired": (nameplate.sum("segment") / 1e6).transpose(
                "region", "chemistry", "year", ...
            ),
            "battery_retired_remaining": remaining.transpose("region", "chemistry", "year", ...),
            "battery_exported": exported.transpose("region", "year", ...),
        }
    )


def supply_indicators(production: pd.DataFrame) -> pd.DataFrame:
    """Per metal: world production [t/yr], Herfindahl–Hirschman index of country shares
    [0–10,000], largest producer and its share.

    World = the USGS rounded world total where given, else the sum of countries; the
    "Other countries" aggregate counts in the world total but not in the HHI.
    """
    out = []
    for metal, rows in production.groupby("metal"):
        countries = rows[~rows["country"].isin(AGGREGATES)]
        world_rows = rows[rows["country"].str.startswith("World")]
        world = (
            float(world_rows["tonnes"].iloc[0])
            if len(world_rows)
            else float(rows[~rows["country"].str.startswith("World")]["tonnes"].sum())
        )
        shares = countries.set_index("country")["tonnes"] / world
        out.append(
            {
                "metal": metal,
                "world_production_t": world,
                "hhi": float(((100 * shares) ** 2).sum()),
                "largest_producer": str(shares.idxmax()),
                "largest_share": float(shares.max()),
            }
        )
    return pd.DataFrame(out).set_index("metal")


def share_of_world_production(primary: xr.DataArray, supply: pd.DataFrame) -> xr.DataArray:
    """Primary demand over world mine production in the data year (region, metal, year)
    [fraction], for the metals with production data."""
    metals = [m for m in METALS if m in supply.index]
    world = xr.DataArray(
        supply.loc[metals, "world_production_t"].to_numpy(), coords={"metal": metals}
    )
    return primary.sel(metal=metals) / world
