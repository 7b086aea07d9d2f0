"""The pipeline: the stages in order, from a scenario and its history to one Dataset."""

from __future__ import annotations

import numpy as np
import xarray as xr

from evpath.data.history import History
from evpath.model import checks
from evpath.model.fleet import fleet_stock
from evpath.model.sales import new_sales
from evpath.scenario.schema import ELECTRIFIED, Scenario
from evpath.variables import annotate

ELECTRIFIED_TOLERANCE = 1e-9
"""Electrified share counted as 100% when within this of 1 [dimensionless]."""


def run_pipeline(scenario: Scenario, history: History) -> xr.Dataset:
    """Every stage of the model for one scenario.

    Returns
    -------
    Dataset
        sales, stock, outflow (region, segment, powertrain, year); stock_by_cohort
        (… , cohort); average_age (region, segment, year); shares and the
        electrification indicators. Units in attrs.
    """
    years = np.arange(scenario.years.start, scenario.years.end + 1)
    sales = new_sales(scenario, history.sales.sel(region=scenario.regions), years)
    fleet = fleet_stock(scenario, sales)

    checks.check_non_negative(sales, "sales")
    checks.check_non_negative(fleet.stock, "stock")
    checks.check_non_negative(fleet.outflow, "outflow")
    stock_before = fleet.initial_stock
    checks.check_stock_balance(fleet.stock, sales, fleet.outflow, stock_before)

    sales_share = _share(sales.sum("segment"), "powertrain")
    stock_share = _share(fleet.stock.sum("segment"), "powertrain")
    checks.check_shares(sales_share, "powertrain", "sales_share")
    checks.check_shares(stock_share, "powertrain", "stock_share")
    electrified = sales_share.sel(powertrain=list(ELECTRIFIED)).sum("powertrain")
    electrified.attrs["units"] = "1"

    dataset = xr.Dataset({
        "sales": sales,
        "stock": fleet.stock.assign_attrs(units="vehicles"),
        "outflow": fleet.outflow.assign_attrs(units="vehicles/yr"),
        "stock_by_cohort": fleet.stock_by_cohort.assign_attrs(units="vehicles"),
        "average_age": fleet.average_age,
        "sales_share": sales_share,
        "stock_share": stock_share,
        "electrified_sales_share": electrified,
        "electrified_stock_share": stock_share.sel(powertrain=list(ELECTRIFIED))
        .sum("powertrain")
        .assign_attrs(units="1"),
    })
    return annotate(dataset.transpose("region", "segment", "powertrain", "year", ...))


def _share(values: xr.DataArray, dim: str) -> xr.DataArray:
    share = values / values.sum(dim)
    share.attrs["units"] = "1"
    return share


def first_year_fully_electrified(electrified_share: xr.DataArray) -> xr.DataArray:
    """First year (region) from which every new car is electrified; NaN if never."""
    full = electrified_share >= 1.0 - ELECTRIFIED_TOLERANCE
    stays = full.isel(year=slice(None, None, -1)).cumprod("year").isel(year=slice(None, None, -1))
    first = stays.year.where(stays.astype(bool)).min("year")
    return first
