"""The model against observed fleet figures: stock, age, fuel use, battery demand."""

from __future__ import annotations

import pandas as pd
import xarray as xr

from evpath.data.factors import emission_factors


def compare_with_observed(dataset: xr.Dataset, observed: pd.DataFrame) -> pd.DataFrame:
    """The model against every observed fleet figure, where modelled.

    Metrics: stock, average_age; with a batteries block battery_demand [GWh/yr]; with
    an emissions block vehicle_km, gasoline_use and in_use_fuel_economy (vehicle-km
    per litre of gasoline). ``observed`` has the columns of ``History.observed``;
    returned: region, segment, powertrain, metric, year, observed, model,
    relative_difference, source.
    """
    rows = []
    for row in observed.itertuples(index=False):
        value = _modelled(dataset, row.metric, row.region, row.segment, row.powertrain, row.year)
        if value is None:
            continue
        rows.append(
            {
                "region": row.region,
                "segment": row.segment,
                "powertrain": row.powertrain,
                "metric": row.metric,
                "year": row.year,
                "observed": row.value,
                "model": value,
                "relative_difference": value / row.value - 1.0,
                "source": row.source,
            }
        )
    return pd.DataFrame(rows)


def _modelled(
    dataset: xr.Dataset, metric: str, region: str, segment: str, powertrain: str, year: int
) -> float | None:
    ds = dataset
    needed = {
        "average_age": "average_age",
        "vehicle_km": "vehicle_km",
        "gasoline_use": "energy_use",
        "in_use_fuel_economy": "energy_use",
        "battery_demand": "battery_demand",
    }
    if metric != "stock" and needed.get(metric) not in ds:
        return None
    if year not in ds.year.values or region not in ds.region.values:
        return None

    def pick(name: str) -> xr.DataArray:
        array = ds[name].sel(region=region, year=year)
        if segment != "all":
            array = array.sel(segment=segment)
        if powertrain != "all" and "powertrain" in array.dims:
            array = array.sel(powertrain=powertrain.split("+"))
        return array

    if metric == "stock":
        return float(pick("stock").sum())
    if metric == "average_age":
        stock = pick("stock").sum("powertrain")
        return float((pick("average_age") * stock).sum() / stock.sum())
    if metric == "vehicle_km":
        return float(pick("vehicle_km").sum())
    if metric == "battery_demand":
        return float(pick("battery_demand").sum())
    litres = (
        float(pick("energy_use").sel(carrier="gasoline").sum())
        / (emission_factors().energy_content["gasoline"])
    )
    if metric == "gasoline_use":
        return litres
    return float(pick("vehicle_km").sum()) / litres
