"""Battery stage: pack capacity and chemistry of new cars, GWh demand, and pack price."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.dims import CHEMISTRIES, POWERTRAINS
from evpath.core.drawn import Value, labelled_array, path_array
from evpath.scenario.batteries import PackPrice, Packs


def pack_kwh(spec: Packs, segments: list[str], cohorts: np.ndarray) -> xr.DataArray:
    """Pack capacity of a new car (segment, powertrain, cohort) [kWh/vehicle]."""
    return labelled_array(
        [
            labelled_array(
                [
                    path_array(spec.kwh.get(s, {}).get(p, 0.0), cohorts, "cohort")
                    for p in POWERTRAINS
                ],
                "powertrain",
                POWERTRAINS,
            )
            for s in segments
        ],
        "segment",
        segments,
    ).transpose("segment", "powertrain", "cohort", ...)


def chemistry_mix(spec: Packs, cohorts: np.ndarray) -> xr.DataArray:
    """Shares of pack capacity by chemistry (powertrain, chemistry, cohort) [fraction]:
    ``chemistry_by_powertrain`` where it names the powertrain, else ``chemistry``."""

    def shares(path: dict[int, dict[str, Value]]) -> xr.DataArray:
        return labelled_array(
            [
                path_array({y: mix.get(c, 0.0) for y, mix in path.items()}, cohorts, "cohort")
                for c in CHEMISTRIES
            ],
            "chemistry",
            CHEMISTRIES,
        )

    common = shares(spec.chemistry)  # type: ignore[arg-type]
    own = {p: shares(path) for p, path in spec.chemistry_by_powertrain.items()}  # type: ignore[arg-type]
    mixes = [own.get(p, common) for p in POWERTRAINS]
    return labelled_array(mixes, "powertrain", POWERTRAINS).transpose(
        "powertrain", "chemistry", "cohort", ...
    )


def cumulative_world_demand(
    history: pd.Series, spec: PackPrice, years: np.ndarray, own: xr.DataArray
) -> xr.DataArray:
    """Cumulative world battery production (year) [GWh]: history, then the scenario path,
    or with ``world_demand: own`` the run's own demand ``own`` (year) [GWh/yr].

    Years before the history have no value (NaN).
    """
    last = int(history.index.max())
    span = np.arange(int(history.index.min()), max(int(years.max()), last) + 1)
    observed = xr.DataArray(history.reindex(span).interpolate().to_numpy(), coords={"year": span})
    if spec.world_demand == "own":
        # held at the run's last year after it (years before it are the history's)
        projected = own.reindex(year=span).fillna(own.isel(year=-1, drop=True))
    else:
        later = {y: v for y, v in spec.world_demand.items() if y > last}
        projected = path_array({last: float(history.iloc[-1]), **later}, span)
    annual = xr.where(observed.year <= last, observed, projected)
    return annual.cumsum("year").reindex(year=years)


def learning_exponent(
    anchors: pd.DataFrame, cumulative: xr.DataArray, rate: Value | None
) -> Value | xr.DataArray:
    """Wright's-law exponent b (price ∝ cumulative^−b) from a learning rate, or from the
    first and last anchor prices when no rate is given: b = ln(P0/P1) / ln(C1/C0)."""
    if rate is not None:
        return -np.log2(1.0 - rate)  # type: ignore[return-value]
    first, last = anchors.iloc[0], anchors.iloc[-1]
    c0 = cumulative.sel(year=int(first["year"]), drop=True)
    c1 = cumulative.sel(year=int(last["year"]), drop=True)
    return np.log(first["value"] / last["value"]) / np.log(c1 / c0)


def pack_price(anchors: pd.DataFrame, cumulative: xr.DataArray, rate: Value | None) -> xr.DataArray:
    """Pack price (year) [USD/kWh, real 2024]: P_last · (C / C_last)^−b, anchored at the
    last anchor year (NaN before the cumulative series starts). The learning rate is kept
    in the ``learning_rate`` attribute unless it differs by ensemble member."""
    exponent = learning_exponent(anchors, cumulative, rate)
    last = anchors.iloc[-1]
    reference = cumulative.sel(year=int(last["year"]), drop=True)
    price = float(last["value"]) * (cumulative / reference) ** (-exponent)
    learning_rate = 1.0 - 2.0 ** (-exponent)
    if isinstance(learning_rate, xr.DataArray) and learning_rate.ndim:
        return price
    return price.assign_attrs(learning_rate=float(learning_rate))
