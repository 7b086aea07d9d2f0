"""The model against observed fleet figures: stock, age, fuel use, battery demand."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from evpath.data.factors import emission_factors

SOURCES = {
    "stock": "stock",
    "average_age": "average_age",
    "vehicle_km": "vehicle_km",
    "gasoline_use": "energy_use",
    "in_use_fuel_economy": "energy_use",
    "battery_demand": "battery_demand",
}
"""Observed metric → the run variable it is compared with."""


def compare_with_observed(dataset: xr.Dataset, observed: pd.DataFrame) -> pd.DataFrame:
    """The model against every observed fleet figure, where modelled.

    Metrics: stock, average_age; with a batteries block battery_demand [GWh/yr]; with
    an emissions block vehicle_km, gasoline_use and in_use_fuel_economy (vehicle-km
    per litre of gasoline). ``observed`` has the columns of ``History.observed``;
    returned: region, segment, powertrain, metric, year, observed, model,
    relative_difference, source.
    """
    cells = {name: _Cells(dataset[name]) for name in set(SOURCES.values()) if name in dataset}
    gasoline_mj_per_litre = emission_factors().energy_content["gasoline"]
    rows = []
    for row in observed.itertuples(index=False):
        value = _modelled(cells, gasoline_mj_per_litre, row)
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


class _Cells:
    """A run variable's values picked by labels in plain numpy (xarray's selection is too
    slow for one observation at a time)."""

    def __init__(self, array: xr.DataArray) -> None:
        self.dims = array.dims
        self.values = array.values
        self.positions = {
            dim: {label: i for i, label in enumerate(array[dim].values.tolist())}
            for dim in self.dims
        }

    def covers(self, region: str, year: int) -> bool:
        return region in self.positions["region"] and int(year) in self.positions["year"]

    def pick(self, row: Any, **fixed: str) -> tuple[np.ndarray, list[Hashable]]:
        """The cells of an observation (``row``): its region and year, its segment unless
        "all", its powertrains (``+``-joined) unless "all", and each ``fixed`` label;
        with the dims left (a powertrain list keeps its dim)."""
        labels: dict[Hashable, object] = {"region": row.region, "year": int(row.year)}
        labels.update(fixed)
        if row.segment != "all":
            labels["segment"] = row.segment
        key = tuple(
            self.positions[dim][labels[dim]] if dim in labels else slice(None) for dim in self.dims
        )
        left = [dim for dim in self.dims if dim not in labels]
        cells = self.values[key]
        if row.powertrain != "all" and "powertrain" in left:
            chosen = [self.positions["powertrain"][p] for p in row.powertrain.split("+")]
            cells = np.take(cells, chosen, axis=left.index("powertrain"))
        return cells, left


def _modelled(cells: dict[str, _Cells], mj_per_litre: float, row: Any) -> float | None:
    """The modelled value of one observation; None where the run does not model it."""
    source = cells.get(SOURCES.get(row.metric, ""))
    if source is None or not source.covers(row.region, row.year):
        return None
    if row.metric in ("stock", "vehicle_km", "battery_demand"):
        return float(source.pick(row)[0].sum())
    if row.metric == "average_age":
        stock, left = cells["stock"].pick(row)
        by_segment = stock.sum(axis=left.index("powertrain"))
        return float((source.pick(row)[0] * by_segment).sum() / by_segment.sum())
    litres = float(source.pick(row, carrier="gasoline")[0].sum()) / mj_per_litre
    if row.metric == "gasoline_use":
        return litres
    return float(cells["vehicle_km"].pick(row)[0].sum()) / litres
