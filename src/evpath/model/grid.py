"""Grid carbon intensity by region and year: history from data, then the scenario pathway."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.drawn import Value, path_array
from evpath.scenario.base import Label
from evpath.scenario.emissions import Grid


def mix_intensity(mix: Mapping[Label, Value], lifecycle: Mapping[str, float]) -> Value:
    """Life-cycle intensity of a generation mix [g CO2e/kWh]: Σ share × factor."""
    return sum((share * lifecycle[technology] for technology, share in mix.items()), 0.0)


def pathway_points(spec: Grid, lifecycle: dict[str, float]) -> dict[int, Value]:
    """The scenario's pathway as intensities by year [g CO2e/kWh]."""
    return {
        year: point.intensity
        if point.intensity is not None
        else mix_intensity(point.mix or {}, lifecycle)
        for year, point in spec.pathway.items()
    }


def grid_intensity(history: pd.Series, points: dict[int, Value], years: np.ndarray) -> xr.DataArray:
    """Grid intensity (year) [g CO2e/kWh] over ``years``.

    Historical years take the data (years before the first observation hold it); later
    years run linearly from the last observation through the pathway ``points`` after it
    and are held after the last point (or after the history when there is none).
    """
    last = int(history.index.max())
    later = {year: value for year, value in points.items() if year > last}
    future = path_array({last: float(history.iloc[-1]), **later}, years)
    past = np.interp(years, history.index.to_numpy(), history.to_numpy())
    return xr.where(future.year <= last, xr.DataArray(past, coords={"year": years}), future)
