"""Manufacturing stage: cell capacity, production lines and equipment investment."""

from __future__ import annotations

import numpy as np
import xarray as xr

from evpath.core.dims import STEPS
from evpath.core.drawn import labelled_array
from evpath.scenario.batteries import Manufacturing


def manufacturing(demand_gwh: xr.DataArray, spec: Manufacturing) -> xr.Dataset:
    """Plants and equipment for a battery demand.

    Parameters
    ----------
    demand_gwh : DataArray (region, year) [GWh/yr]

    Returns
    -------
    Dataset
        cell_capacity [GWh/yr] = demand / utilisation; capacity_added [GWh/yr] = yearly
        increase (never negative; idle capacity is kept, not rebuilt); production_lines
        [lines] = capacity / line output; equipment_investment (region, step, year)
        [million USD/yr] = capacity added × capex per GWh × step share, capex falling by
        ``capex_decline`` per year from ``capex_year``.
    """
    capacity = demand_gwh / spec.utilisation
    peak = xr.apply_ufunc(
        np.maximum.accumulate,
        capacity,
        input_core_dims=[["year"]],
        output_core_dims=[["year"]],
        kwargs={"axis": -1},
    ).transpose(*capacity.dims)
    added = peak.diff("year", label="upper").reindex(year=capacity.year, fill_value=0.0)
    added = added.where(added.year != capacity.year[0], capacity.isel(year=0))
    capex = spec.capex_musd_per_gwh * (1.0 - spec.capex_decline) ** (
        capacity.year - spec.capex_year
    )
    shares = labelled_array([spec.steps.get(s, 0.0) for s in STEPS], "step", STEPS)  # type: ignore[call-overload]
    return xr.Dataset(
        {
            "cell_capacity": capacity,
            "capacity_added": added,
            "production_lines": (capacity / spec.line_gwh),
            "equipment_investment": (added * capex * shares).transpose(
                "region", "step", "year", ...
            ),
        }
    )
