"""Results of a run: the labelled Dataset, its tidy table, its manifest, and the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from evpath.core.tolerances import FULL_SHARE_TOLERANCE
from evpath.io import export
from evpath.io.store import ResultsStore
from evpath.model.history_check import compare_with_observed
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
        """The model against every observed fleet figure of its history, where modelled
        (see :func:`evpath.model.history_check.compare_with_observed`)."""
        return compare_with_observed(self.dataset, self.observed)

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
