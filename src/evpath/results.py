"""Results of a run: the labelled Dataset, its tidy table, its manifest, and the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.dims import ELECTRIFIED
from evpath.core.tolerances import FULL_SHARE_TOLERANCE
from evpath.io import export, publish
from evpath.io.store import ResultsStore
from evpath.model.history_check import compare_with_observed
from evpath.model.indicators import first_year_fully_electrified, target_table
from evpath.model.scope import ALL_MARKETS, market_sums, scope_target_table
from evpath.model.stages import BREAK_EVEN
from evpath.scenario.schema import Scenario
from evpath.scenario.scope import MakersScope

SUMMARY_YEARS = (2010, 2024, 2030, 2035, 2040, 2050)


class RunOutputs:
    """What every run has, whatever it modelled: its Dataset and manifest, its tidy table,
    and the files and store entry it writes (subclasses give ``name``)."""

    dataset: xr.Dataset
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        """Names the run's files: its scenario's (or scope's) name."""
        raise NotImplementedError

    @property
    def run_id(self) -> str:
        return str(self.manifest["run_id"])

    @cached_property
    def tidy(self) -> pd.DataFrame:
        """Long table: variable, unit, one column per dimension, value."""
        return export.tidy(self.dataset)

    def write(
        self,
        out_dir: str | Path,
        store: str | Path | None,
        *,
        keep_runs: int | None = publish.KEEP_RUNS,
        wait: float = publish.WAIT_SECONDS,
        notify: publish.Notify = publish.say,
    ) -> dict[str, Path]:
        """Write NetCDF, Parquet and the manifest to ``out_dir``; add the run to ``store``.

        The run's files and its store entry are one unit: the files are written into a
        staging folder, the store transaction is committed, then the files are published
        at once as ``out_dir/runs/<run_id>/`` with the link ``out_dir/<name>`` pointing at
        it. A failed or interrupted write leaves the earlier run's files and the store as
        they were. ``keep_runs`` run folders of the same name are kept (None: all);
        another process holding the folder or the store is waited for up to ``wait``
        seconds. Returns kind → path (``netcdf``, ``parquet``, ``manifest`` through the
        link, ``run`` the run's folder, ``store``).
        """
        publish.output_folder(Path(out_dir))  # a bad --out fails before any work
        stem, manifest, table = self.name, self.manifest, self.tidy
        files = {
            "netcdf": (f"{stem}.nc", export.netcdf_bytes(self.dataset, manifest)),
            "parquet": (f"{stem}.parquet", export.parquet_bytes(table)),
            "manifest": (f"{stem}.manifest.json", export.json_bytes(manifest)),
        }
        commit = None
        if store is not None:
            results_store = ResultsStore(store, wait=wait, notify=notify)

            def commit() -> None:
                results_store.write(manifest, table)

        paths = publish.publish(
            out_dir,
            stem,
            self.run_id,
            files,
            commit,
            started=_posix_time(manifest.get("created_at")),
            keep=keep_runs,
            wait=wait,
            notify=notify,
        )
        if store is not None:
            paths["store"] = Path(store)
        return paths


def electrification_verdict(share: xr.DataArray, target_year: int) -> pd.DataFrame:
    """Per label of ``share``'s other dimension (region or market): the electrified share
    of new cars (…, year) [fraction] in ``target_year`` (NaN when it is not modelled), the
    first year from which every new car is electrified, and whether the target is met."""
    at_target = (
        share.sel(year=target_year) if target_year in share.year else share.isel(year=0) * np.nan
    )
    return pd.DataFrame(
        {
            "target_year": target_year,
            "electrified_share": at_target.to_series(),
            "first_year_all_electrified": first_year_fully_electrified(share).to_series(),
            "met": (at_target >= 1.0 - FULL_SHARE_TOLERANCE).to_series(),
        }
    )


@dataclass(frozen=True)
class Results(RunOutputs):
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
    def name(self) -> str:
        return self.scenario.name

    def summary_mix(self, variable: str, years: tuple[int, ...] = SUMMARY_YEARS) -> pd.DataFrame:
        """Powertrain shares of ``sales_share`` or ``stock_share`` (region, powertrain × year)."""
        present = [y for y in years if y in self.dataset.year.values]
        shares = self.dataset[variable].sel(year=present)
        return shares.to_dataframe(name="share")["share"].unstack("year")

    def target_verdict(self) -> pd.DataFrame:
        """Per region: electrified share of sales in the target year and the year it hits 100%."""
        return electrification_verdict(
            self.dataset["electrified_sales_share"], self.scenario.target_year
        )

    def emissions_target(self) -> pd.DataFrame:
        """The per-car emissions target per region (empty without an emissions block)."""
        if self.scenario.emissions is None:
            return pd.DataFrame()
        return target_table(self.dataset, self.scenario.emissions.target)

    def grid_break_even(self) -> pd.DataFrame:
        """How the per-car verdict depends on the grid, per region and per-new-car metric
        (``grid_break_even`` and ``grid_break_even_lifetime``).

        Columns: ``grid`` (the modelled intensity in the target year), ``break_even`` (the
        intensity held from the target year on at which the metric just meets the target;
        negative when no grid meets it, NaN when the metric does not depend on the grid),
        both [g CO2e/kWh]; ``reduction`` and ``met`` as modelled. The metrics rise with
        the grid, so the target is met with any grid at or below the break-even. Empty
        without an emissions block or the ``grid_break_even`` variable (a run stored by an
        earlier evpath).
        """
        if self.scenario.emissions is None or "grid_break_even" not in self.dataset:
            return pd.DataFrame()
        spec = self.scenario.emissions.target
        grid = self.dataset["grid_intensity"].sel(year=spec.year)
        rows: list[dict[str, object]] = []
        for metric, variable in BREAK_EVEN.items():
            break_even = self.dataset[variable]
            verdict = target_table(self.dataset, spec.model_copy(update={"metric": metric}))
            rows.extend(
                {
                    "region": str(region),
                    "metric": metric,
                    "target_year": spec.year,
                    "grid": float(grid.sel(region=region)),
                    "break_even": float(break_even.sel(region=region)),
                    "reduction": float(verdict.loc[str(region), "reduction"]),
                    "met": bool(verdict.loc[str(region), "met"]),
                }
                for region in break_even.region.values
            )
        return pd.DataFrame(rows).set_index(["region", "metric"])

    def grid_contribution(self) -> pd.DataFrame:
        """The grid's part in the fleet's well-to-wheel change, per region [kg CO2e/yr].

        Columns: ``base`` and ``target`` (fleet WTW in the target's base and target years),
        ``at_base_grid`` (the target year at the base year's grid intensity,
        ``fleet_wtw_at_base_grid``), ``grid`` = target − at_base_grid (what the grid's
        change from the base year does to the target year's emissions) and ``lmdi_carbon``
        (the LMDI carbon-intensity factor, for comparison); ``grid_base`` and
        ``grid_target`` [g CO2e/kWh]. Empty without an emissions block or the variable.
        """
        if self.scenario.emissions is None or "fleet_wtw_at_base_grid" not in self.dataset:
            return pd.DataFrame()
        spec = self.scenario.emissions.target
        ds = self.dataset
        wtw = (
            ds["emissions"]
            .sel(stage=["tank_to_wheel", "well_to_tank"])
            .sum(["segment", "powertrain", "stage"])
        )
        at_target = wtw.sel(year=spec.year)
        counterfactual = ds["fleet_wtw_at_base_grid"].sel(year=spec.year)
        table = xr.Dataset(
            {
                "grid_base": ds["grid_intensity"].sel(year=spec.base_year, drop=True),
                "grid_target": ds["grid_intensity"].sel(year=spec.year, drop=True),
                "base": wtw.sel(year=spec.base_year, drop=True),
                "target": at_target.drop_vars("year"),
                "at_base_grid": counterfactual.drop_vars("year"),
                "grid": (at_target - counterfactual).drop_vars("year"),
                "lmdi_carbon": ds["emission_change_factors"].sel(
                    factor="carbon_intensity", drop=True
                ),
            }
        )
        return table.to_dataframe()

    def history_check(self) -> pd.DataFrame:
        """The model against every observed fleet figure of its history, where modelled
        (see :func:`evpath.model.history_check.compare_with_observed`)."""
        return compare_with_observed(self.dataset, self.observed)


@dataclass(frozen=True)
class ScopeResults(RunOutputs):
    """What a makers' scope run computed: the makers' cars in every market.

    Attributes
    ----------
    scope : MakersScope
        The scope as validated.
    markets : dict
        Market → the scenario its model ran (over the scope's years).
    maker_table : DataFrame
        Each maker's sales by market in its data year: maker, market, year, vehicles,
        basis (reported, or allocated from its worldwide total).
    dataset : xarray.Dataset
        The makers' cars in every region of every market (the variables of a scenario
        run, without chargers), their sales by maker, the markets' own sales, the makers'
        share of each market, and the scope's per-car figures.
    manifest : dict
        Run id, input hashes, versions, the scope and every market's resolved scenario.
    """

    scope: MakersScope
    markets: dict[str, Scenario]
    maker_table: pd.DataFrame = field(repr=False)
    dataset: xr.Dataset
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return self.scope.name

    @property
    def regions(self) -> dict[str, tuple[str, ...]]:
        """Market → its regions in the dataset."""
        return {name: tuple(s.regions) for name, s in self.markets.items()}

    def target_verdict(self) -> pd.DataFrame:
        """Per market and for all markets: the electrified share of the makers' new cars in
        the target year and the first year from which every one is electrified."""
        cars = self.dataset["maker_sales"].sum("maker")
        markets = {**self.regions, ALL_MARKETS: tuple(str(r) for r in cars.region.values)}
        by_market = market_sums(cars, markets)
        share = by_market.sel(powertrain=list(ELECTRIFIED)).sum("powertrain") / by_market.sum(
            "powertrain"
        )
        return electrification_verdict(share, self.scope.target_year)

    def emissions_target(self) -> pd.DataFrame:
        """The per-car target for all markets and per market (see
        :func:`evpath.model.scope.scope_target_table`)."""
        return scope_target_table(self.dataset, self.scope.target, self.regions)


def _posix_time(stamp: object) -> float | None:
    """The POSIX time of an ISO timestamp (a manifest's ``created_at``), if it is one."""
    try:
        return datetime.fromisoformat(str(stamp)).timestamp()
    except ValueError:
        return None
