"""Battery stage: pack capacity and chemistry of new cars, GWh demand, and pack price."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.dims import CHEMISTRIES, POWERTRAINS
from evpath.core.paths import interpolate_path, values_at
from evpath.scenario.batteries import PackPrice, Packs


def pack_kwh(spec: Packs, segments: list[str], cohorts: np.ndarray) -> xr.DataArray:
    """Pack capacity of a new car (segment, powertrain, cohort) [kWh/vehicle]."""
    values = [
        [values_at(spec.kwh.get(s, {}).get(p, 0.0), cohorts) for p in POWERTRAINS] for s in segments
    ]
    return xr.DataArray(
        values,
        coords={"segment": segments, "powertrain": list(POWERTRAINS), "cohort": cohorts},
    )


def chemistry_mix(spec: Packs, cohorts: np.ndarray) -> xr.DataArray:
    """Shares of pack capacity by chemistry (chemistry, cohort) [fraction]."""
    shares = [
        interpolate_path({y: mix.get(c, 0.0) for y, mix in spec.chemistry.items()}, cohorts)  # type: ignore[call-overload]
        for c in CHEMISTRIES
    ]
    return xr.DataArray(shares, coords={"chemistry": list(CHEMISTRIES), "cohort": cohorts})


def cumulative_world_demand(history: pd.Series, spec: PackPrice, years: np.ndarray) -> xr.DataArray:
    """Cumulative world battery production (year) [GWh]: history, then the scenario path.

    Years before the history have no value (NaN).
    """
    last = int(history.index.max())
    span = np.arange(int(history.index.min()), max(int(years.max()), last) + 1)
    later = {y: v for y, v in spec.world_demand.items() if y > last}
    annual = np.where(
        span <= last,
        history.reindex(span).interpolate().to_numpy(),
        interpolate_path({last: float(history.iloc[-1]), **later}, span),
    )
    cumulative = pd.Series(np.cumsum(annual), index=span).reindex(years)
    return xr.DataArray(cumulative.to_numpy(), coords={"year": years})


def learning_exponent(anchors: pd.DataFrame, cumulative: xr.DataArray, rate: float | None) -> float:
    """Wright's-law exponent b (price ∝ cumulative^−b) from a learning rate, or from the
    first and last anchor prices when no rate is given: b = ln(P0/P1) / ln(C1/C0)."""
    if rate is not None:
        return float(-np.log2(1.0 - rate))
    first, last = anchors.iloc[0], anchors.iloc[-1]
    c0 = float(cumulative.sel(year=int(first["year"])))
    c1 = float(cumulative.sel(year=int(last["year"])))
    return float(np.log(first["value"] / last["value"]) / np.log(c1 / c0))


def pack_price(anchors: pd.DataFrame, cumulative: xr.DataArray, rate: float | None) -> xr.DataArray:
    """Pack price (year) [USD/kWh, real 2024]: P_last · (C / C_last)^−b, anchored at the
    last anchor year (NaN before the cumulative series starts)."""
    exponent = learning_exponent(anchors, cumulative, rate)
    last = anchors.iloc[-1]
    reference = float(cumulative.sel(year=int(last["year"])))
    price = float(last["value"]) * (cumulative / reference) ** (-exponent)
    return price.assign_attrs(learning_rate=float(1.0 - 2.0 ** (-exponent)))
