"""Results of a run: the labelled Dataset, its tidy table, its manifest, and the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from evpath.core.tolerances import FULL_SHARE_TOLERANCE
from evpath.data.factors import emission_factors
from evpath.io import export
from evpath.io.store import ResultsStore
from evpath.model.indicators import first_year_fully_electrified, target_table
from evpath.scenario.schema import Scenario

SUMMARY_YEARS = (2010, 2024, 2030, 2035, 2040, 2050)


@dataclass(frozen=True)
class Results:
    """What a run computed.

    Attributes
    ----------
    scenario : Scenario
        The scenario as resolved (inheritance applied).
    dataset : xarray.Dataset
        Every variable with named dims and ``units`` attrs.
    manifest : dict
        Run id, input hashes, versions and the resolved scenario.
    history_provenance : DataFrame
        Basis (reported, derived, interpolated, assumed) of every historical sales value.
    observed : DataFrame
        Observed fleet figures (stock, average age) the model is checked against.
    """

    scenario: Scenario
    dataset: xr.Dataset
    manifest: dict[str, Any]
    history_provenance: pd.DataFrame = field(repr=False)
    observed: pd.DataFrame = field(repr=False)

    @property
    def run_id(self) -> str:
        return str(self.manifest["run_id"])

    @cached_property
    def tidy(self) -> pd.DataFrame:
        """Long table: variable, unit, region, segment, powertrain, cohort, age, year, value."""
        return export.tidy(self.dataset)

    def summary_mix(self, variable: str, years: tuple[int, ...] = SUMMARY_YEARS) -> pd.DataFrame:
        """Powertrain shares of ``sales_share`` or ``stock_share`` (region, powertrain × year)."""
        present = [y for y in years if y in self.dataset.year.values]
        shares = self.dataset[variable].sel(year=present)
        return shares.to_dataframe(name="share")["share"].unstack("year")

    def target_verdict(self) -> pd.DataFrame:
        """Per region: electrified share of sales in the target year and the year it hits 100%."""
        target = self.scenario.target_year
        electrified = self.dataset["electrified_sales_share"]
        first = first_year_fully_electrified(electrified)
        share = (
            electrified.sel(year=target)
            if target in electrified.year
            else electrified * float("nan")
        )
        return pd.DataFrame(
            {
                "target_year": target,
                "electrified_share": share.to_series(),
                "first_year_all_electrified": first.to_series(),
                "met": (share >= 1.0 - FULL_SHARE_TOLERANCE).to_series(),
            }
        )

    def emissions_target(self) -> pd.DataFrame:
        """The per-car emissions target per region (empty without an emissions block)."""
        if self.scenario.emissions is None:
            return pd.DataFrame()
        return target_table(self.dataset, self.scenario.emissions.target)

    def history_check(self) -> pd.DataFrame:
        """The model against every observed fleet figure of its history, where modelled.

        Metrics: stock, average_age; with a batteries block battery_demand [GWh/yr]; with
        an emissions block vehicle_km, gasoline_use and in_use_fuel_economy (vehicle-km
        per litre of gasoline).
        """
        rows = []
        for row in self.observed.itertuples(index=False):
            value = self._modelled(row.metric, row.region, row.segment, row.powertrain, row.year)
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
        self, metric: str, region: str, segment: str, powertrain: str, year: int
    ) -> float | None:
        ds = self.dataset
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

    def write(self, out_dir: str | Path, store: str | Path | None) -> dict[str, Path]:
        """Write NetCDF, Parquet and the manifest to ``out_dir``; add the run to ``store``.

        Files are replaced atomically; the store is written in one transaction.
        """
        out = Path(out_dir)
        stem = self.scenario.name
        paths = {
            "netcdf": export.to_netcdf(self.dataset, out / f"{stem}.nc", self.manifest),
            "parquet": export.to_parquet(self.tidy, out / f"{stem}.parquet"),
            "manifest": export.to_json(self.manifest, out / f"{stem}.manifest.json"),
        }
        if store is not None:
            ResultsStore(store).write(self.manifest, self.tidy)
            paths["store"] = Path(store)
        return paths
