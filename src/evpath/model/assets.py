"""Installed assets with a service life (public chargers, cell-plant equipment): what must
be installed each year to keep a required stock in service, and what retires.

The stock of assets is a cohort stock on the stock engine. Each year's installations
replace the assets that reach the end of their life and add what the required stock
grows by; when the requirement falls faster than assets retire, nothing is installed and
the surplus stays in service until it retires (assets are not scrapped early).
"""

from __future__ import annotations

from dataclasses import dataclass

import xarray as xr

from evpath.core.drawn import Value, is_drawn
from evpath.model import stock as stock_engine
from evpath.model.lifetimes import Fixed, LifetimeModel, Normal


def service_life(mean: Value, spread: Value) -> LifetimeModel:
    """Lifetime of an asset: normal with the given mean [years] and a standard deviation
    of ``spread`` × mean [fraction of the mean]; one fixed life when the spread is 0.

    A spread keeps a wave of installations from coming back as an equally sharp wave
    of replacements: assets of one year retire over several years around their mean life.
    """
    if not is_drawn(spread) and float(spread) == 0.0:
        return Fixed(mean=mean)
    return Normal(mean=mean, std=spread * mean)


@dataclass(frozen=True)
class InService:
    """Assets in service and their flows, each (year, ...) [unit, unit/yr].

    ``installed[t] - installed[t-1] = added[t] - retired[t]``; ``installed >= required``.
    """

    installed: xr.DataArray
    added: xr.DataArray
    retired: xr.DataArray


def keep_in_service(required: xr.DataArray, life: LifetimeModel, unit: str) -> InService:
    """Installations that keep at least ``required`` (year, ...) [unit] in service.

    added[t] = max(0, required[t] − surviving[t]), with surviving[t] the assets of every
    earlier year still in service at the end of year t (stock-driven model of
    :func:`evpath.model.stock.stock_driven`, installations in the middle of the year).
    """
    target = required.transpose("year", ...).assign_attrs(units=unit)
    result = stock_engine.stock_driven(target, life, negative_inflow="zero")
    return InService(installed=result.stock, added=result.inflow, retired=result.outflow)
