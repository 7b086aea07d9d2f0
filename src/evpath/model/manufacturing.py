"""Manufacturing stage: cell capacity, production lines, and the equipment that is built,
retires and is replaced."""

from __future__ import annotations

import numpy as np
import xarray as xr

from evpath.core.alignment import exact_dataset
from evpath.core.dims import STEPS
from evpath.core.drawn import labelled_array, path_array
from evpath.model.assets import keep_in_service, service_life
from evpath.scenario.batteries import Manufacturing


def manufacturing(demand_gwh: xr.DataArray, spec: Manufacturing) -> xr.Dataset:
    """Plants and equipment for a battery demand.

    Parameters
    ----------
    demand_gwh : DataArray (region, year) [GWh/yr]

    Returns
    -------
    Dataset
        cell_capacity [GWh/yr] = demand / utilisation (capacity needed);
        cell_capacity_installed K [GWh/yr]: equipment in service, a stock with the
        equipment's life, K >= the largest capacity needed in the next ``lead_years``
        years (idle capacity is kept until it retires);
        capacity_added A and capacity_retired R [GWh/yr], with K[t] − K[t−1] = A[t] − R[t]
        and A[t] = max(0, needed[t] − surviving[t]): growth plus replacement;
        production_lines [lines] = capacity needed / line output; equipment_investment
        (region, step, year) [million USD/yr] = A × capex per GWh × step share, capex
        falling by ``capex_decline`` per year from ``capex_year``;
        equipment_replacement_investment (region, year) [million USD/yr] = min(A, R) ×
        capex: the part of the investment that replaces retired equipment.
    """
    years = demand_gwh.year.values
    capacity = demand_gwh / path_array(spec.utilisation, years)
    life = service_life(spec.equipment_life, spec.equipment_life_spread)
    plants = keep_in_service(ahead(capacity, spec.lead_years), life, "GWh")
    order = list(capacity.dims)
    installed = plants.installed.transpose(*order, ...)
    added = plants.added.transpose(*order, ...)
    retired = plants.retired.transpose(*order, ...)
    capex = spec.capex_musd_per_gwh * (1.0 - spec.capex_decline) ** (
        capacity.year - spec.capex_year
    )
    shares = labelled_array([spec.steps.get(s, 0.0) for s in STEPS], "step", STEPS)  # type: ignore[call-overload]
    return exact_dataset(
        {
            "cell_capacity": capacity,
            "cell_capacity_installed": installed,
            "capacity_added": added,
            "capacity_retired": retired,
            "production_lines": (capacity / spec.line_gwh),
            "equipment_investment": (added * capex * shares).transpose(
                "region", "step", "year", ...
            ),
            "equipment_replacement_investment": np.minimum(added, retired) * capex,
        }
    )


def ahead(capacity: xr.DataArray, lead_years: int) -> xr.DataArray:
    """Capacity to have in service (…, year): the largest capacity needed in the year and
    the ``lead_years`` years after it (fewer at the end of the horizon)."""
    if lead_years == 0:
        return capacity
    backward = capacity.isel(year=slice(None, None, -1))
    peak = backward.rolling(year=lead_years + 1, min_periods=1).max()
    return peak.isel(year=slice(None, None, -1)).transpose(*capacity.dims)
