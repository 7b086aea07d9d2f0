"""The pipeline: the stages in order, from a scenario and the data it reads to one Dataset.

sales → fleet → batteries, plants and metals → activity, energy and emissions → chargers.
Each stage after the fleet runs when the scenario has its block; every stage's data is
read once, before the first stage, by :meth:`Inputs.load`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from evpath.core.alignment import exact_dataset, exactly_aligned
from evpath.core.dims import ELECTRIFIED
from evpath.core.variables import annotate
from evpath.data.histories import HISTORIES
from evpath.data.history import History
from evpath.model import checks
from evpath.model.fleet import FleetResult, fleet_stock
from evpath.model.sales import new_sales
from evpath.model.stages import (
    BatteryData,
    ChargingData,
    UseData,
    battery_stage,
    charging_stage,
    pack_sizes,
    use_phase_stage,
)
from evpath.scenario.schema import Scenario


@dataclass(frozen=True)
class Inputs:
    """Everything a run reads, loaded once: the history and each stage's data (None for a
    stage the scenario does not run)."""

    history: History
    batteries: BatteryData | None
    use: UseData | None
    charging: ChargingData | None

    @classmethod
    def load(cls, scenario: Scenario) -> Inputs:
        """Read the datasets ``scenario`` needs."""
        spec = HISTORIES[scenario.sales.history]
        return cls(
            history=spec.load(),
            batteries=None if scenario.batteries is None else BatteryData.load(),
            use=None
            if scenario.emissions is None
            else UseData.load(scenario.emissions, {r: spec.grid_name(r) for r in scenario.regions}),
            charging=None
            if scenario.charging is None
            else ChargingData.load(scenario, {r: spec.iea_name(r) for r in scenario.regions}),
        )

    @property
    def datasets(self) -> tuple[str, ...]:
        """Bundled datasets read, each once, in the order of the stages."""
        names = list(self.history.datasets)
        for stage in (self.batteries, self.use, self.charging):
            if stage is not None:
                names += stage.DATASETS
        return tuple(dict.fromkeys(names))


@exactly_aligned
def run_pipeline(
    scenario: Scenario,
    inputs: Inputs,
    *,
    target_only: bool = False,
    sales: xr.DataArray | None = None,
    calibration_stock: xr.DataArray | None = None,
) -> xr.Dataset:
    """Every stage of the model for one scenario.

    With ``target_only``, only what the per-car target reads: sales, fleet, pack sizes
    and the use phase (the battery, plant, metal and charging variables, the
    decomposition and the grid break-even are left out);
    the questions that re-run the model many times use it. ``sales`` (region, segment,
    powertrain, year) [vehicles/yr] replaces the sales stage: a makers' scope runs each
    market's model on the makers' cars only (see :mod:`evpath.model.scope`), with
    distances calibrated on the whole market's fleet, ``calibration_stock`` (stock by
    cohort). Arrays whose labels differ are never combined silently
    (:func:`~evpath.core.alignment.exactly_aligned`).

    Returns
    -------
    Dataset
        sales, stock, outflow (region, segment, powertrain, year); stock_by_cohort
        (… , cohort); average_age (region, segment, year); shares and the
        electrification indicators; then the variables of each stage the scenario runs.
        Units in attrs, from the variable catalogue (``core/variables.csv``).
    """
    years = np.arange(scenario.years.start, scenario.years.end + 1)
    if sales is None:
        sales = market_sales(scenario, inputs, years)
    fleet = fleet_stock(scenario, sales)
    parts = [fleet_variables(sales, fleet)]
    pack = use = None
    if scenario.batteries is not None and inputs.batteries is not None:
        if target_only:
            pack = pack_sizes(scenario.batteries, fleet)
        else:
            batteries = battery_stage(scenario.batteries, inputs.batteries, sales, fleet)
            pack = batteries.pack
            parts.append(batteries.variables)
    if scenario.emissions is not None and inputs.use is not None and pack is not None:
        use = use_phase_stage(
            scenario.emissions,
            inputs.use,
            sales,
            fleet,
            pack,
            calibration_stock,
            target_only=target_only,
        )
        parts.append(use)
    if scenario.charging is not None and inputs.charging is not None and not target_only:
        electricity = None if use is None else use["electricity_use"]
        parts.append(
            charging_stage(
                scenario.charging, inputs.charging, fleet, scenario.years.history_end, electricity
            )
        )
    dataset = xr.merge(parts, compat="no_conflicts", join="exact", combine_attrs="drop")
    return annotate(dataset.transpose("region", "segment", "powertrain", "year", ...))


def market_sales(scenario: Scenario, inputs: Inputs, years: np.ndarray) -> xr.DataArray:
    """New sales of the scenario's whole market (region, segment, powertrain, year)."""
    return new_sales(scenario, inputs.history.sales.sel(region=scenario.regions), years)


def fleet_variables(sales: xr.DataArray, fleet: FleetResult) -> xr.Dataset:
    """Sales and fleet variables with their shares, after checking the stock balance,
    shares and signs."""
    checks.check_non_negative(sales, "sales")
    checks.check_non_negative(fleet.stock, "stock")
    checks.check_non_negative(fleet.outflow, "outflow")
    checks.check_stock_balance(fleet.stock, sales, fleet.outflow, fleet.initial_stock)

    sales_share = _share(sales.sum("segment"), "powertrain")
    stock_share = _share(fleet.stock.sum("segment"), "powertrain")
    checks.check_shares(sales_share, "powertrain", "sales_share")
    checks.check_shares(stock_share, "powertrain", "stock_share")
    return exact_dataset(
        {
            "sales": sales,
            "stock": fleet.stock,
            "outflow": fleet.outflow,
            "stock_by_cohort": fleet.stock_by_cohort,
            "average_age": fleet.average_age,
            "sales_share": sales_share,
            "stock_share": stock_share,
            "electrified_sales_share": sales_share.sel(powertrain=list(ELECTRIFIED)).sum(
                "powertrain"
            ),
            "electrified_stock_share": stock_share.sel(powertrain=list(ELECTRIFIED)).sum(
                "powertrain"
            ),
        }
    )


def _share(values: xr.DataArray, dim: str) -> xr.DataArray:
    return values / values.sum(dim)
