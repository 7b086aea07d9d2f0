"""An ensemble's results: every member's results, their percentiles, the probability that
each target is met, and Sobol' sensitivity indices."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from evpath.analysis.ensemble.sampling import Design
from evpath.analysis.ensemble.targets import target_names
from evpath.core.dims import DRAW
from evpath.errors import InputError
from evpath.scenario.schema import Scenario

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Percentiles reported by default [fraction]."""

OUTPUTS: dict[str, tuple[str, str]] = {
    "wtw_per_new_car": ("wtw_per_new_car", "kg CO2e/vehicle/yr"),
    "lifecycle_per_new_car": ("lifecycle_per_new_car", "kg CO2e/vehicle/yr"),
    "battery_gwh": ("battery_demand", "GWh/yr"),
    "cobalt_demand": ("metal_primary_demand", "t/yr"),
    "public_chargers": ("public_chargers", "chargers"),
}
"""Scalar outputs of each member in the target year, for sensitivity indices: name →
(result variable it is summed from, unit)."""


@dataclass(frozen=True)
class Ensemble:
    """The members of an ensemble and what they say together.

    Attributes
    ----------
    scenario : Scenario
    design : Design
        The drawn inputs (``design.values``: draw × input).
    draws : Dataset
        Every kept result variable of every member, with a ``draw`` dimension where it
        varies (single precision), and ``target_met`` (target, region, draw).
    manifest : dict
        What produced it: the scenario, datasets, sampler, seed, draws.
    work_folder : Path or None
        Where its finished chunks are kept until its results are written.
    """

    scenario: Scenario
    design: Design
    draws: xr.Dataset
    manifest: dict[str, Any]
    work_folder: Path | None = None

    @property
    def run_id(self) -> str:
        return str(self.manifest["run_id"])

    @property
    def size(self) -> int:
        return self.design.size

    def quantiles(self, q: tuple[float, ...] = QUANTILES) -> xr.Dataset:
        """Percentiles over the members of every result variable (quantile, …); a cell
        missing in some members (as the catalogue allows) is taken over the others."""
        values = self.draws.drop_vars("target_met")
        levels = xr.DataArray(list(q), dims="quantile", coords={"quantile": list(q)})
        arrays = {}
        for name, array in values.data_vars.items():
            if DRAW not in array.dims:
                arrays[name] = array.astype(np.float64).expand_dims(quantile=levels)
                continue
            rest = [d for d in array.dims if d != DRAW]
            cells = array.transpose(DRAW, *rest).to_numpy().astype(np.float64)
            arrays[name] = xr.DataArray(
                _quantiles(cells, q),
                coords={"quantile": list(q), **{d: array[d] for d in rest if d in array.coords}},
                dims=("quantile", *rest),
                attrs=array.attrs,
            )
        return xr.Dataset(arrays)

    def probability(self) -> pd.DataFrame:
        """For each target and region: the share of members that meet it, and the counts."""
        met = self.draws["target_met"]
        if DRAW not in met.dims:
            met = met.expand_dims({DRAW: self.size})
        names = target_names(self.scenario)
        rows = []
        for target in met.target.values:
            for region in met.region.values:
                flags = met.sel(target=target, region=region).to_numpy().astype(bool)
                rows.append(
                    {
                        "target": str(target),
                        "meaning": names[str(target)],
                        "region": str(region),
                        "probability": float(flags.mean()),
                        "members_met": int(flags.sum()),
                        "members": int(flags.size),
                    }
                )
        return pd.DataFrame(rows)

    def outputs(self) -> xr.DataArray:
        """Scalar outputs of every member (output, region, draw) in the target year; the
        outputs whose stage the scenario does not run are left out (see :data:`OUTPUTS`)."""
        year = self.scenario.target_year
        ds = self.draws
        totals = {
            "battery_gwh": lambda: ds["battery_demand"].sum(["segment", "powertrain"]),
            "cobalt_demand": lambda: ds["metal_primary_demand"].sel(metal="cobalt", drop=True),
            "public_chargers": lambda: ds["public_chargers"].sum("charger_type"),
        }
        names = [name for name, (variable, _unit) in OUTPUTS.items() if variable in ds]
        arrays = [
            (totals[name]() if name in totals else ds[name])
            .sel(year=year, drop=True)
            .astype(np.float64)
            for name in names
        ]
        stacked = xr.concat(xr.broadcast(*arrays), dim=xr.DataArray(names, dims="output"))
        if DRAW not in stacked.dims:
            stacked = stacked.expand_dims({DRAW: self.size})
        return stacked.transpose("output", "region", DRAW)

    def sobol(self, outputs: tuple[str, ...] | None = None) -> pd.DataFrame:
        """First-order and total Sobol' indices with 95% confidence intervals (SALib),
        one row per output, region and input, ranked by total index.

        Needs an ensemble drawn with ``sensitivity=True`` (Saltelli's design).
        """
        if self.design.sampler != "saltelli":
            msg = (
                "Sobol' indices need the members drawn on Saltelli's design: run the "
                "ensemble with sensitivity=True (evpath ensemble --sobol)"
            )
            raise InputError(msg)
        values = self.outputs()
        chosen = list(values.output.values) if outputs is None else list(outputs)
        unknown = [o for o in chosen if o not in values.output.values]
        if unknown:
            msg = f"outputs: got {unknown}; allowed: {list(map(str, values.output.values))}"
            raise InputError(msg)
        names = [str(name) for name in self.design.values.input.values]
        rows = []
        for output in chosen:
            for region in values.region.values:
                y = values.sel(output=output, region=region).to_numpy()
                indices = sobol_indices(y, names, self.design.seed)
                rows.append(indices.assign(output=str(output), region=str(region)))
        table = pd.concat(rows, ignore_index=True)[["output", "region", *INDEX_COLUMNS]]
        return table.sort_values(["output", "region", "ST"], ascending=[True, True, False])


INDEX_COLUMNS = ("input", "S1", "S1_conf", "ST", "ST_conf")


def _quantiles(cells: np.ndarray, q: tuple[float, ...]) -> np.ndarray:
    """Quantiles over the first axis; NaN only where every member is missing."""
    missing = np.isnan(cells)
    if not missing.any():
        return np.quantile(cells, q, axis=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        return np.nanquantile(cells, q, axis=0)


def sobol_indices(y: np.ndarray, inputs: list[str], seed: int) -> pd.DataFrame:
    """First-order (S1) and total (ST) Sobol' indices of one output with the half-widths
    of their 95% bootstrap intervals, by SALib's estimator, from the output ``y`` at the
    rows of Saltelli's design over unit-uniform ``inputs``. A constant output has every
    index 0 (nothing moves it)."""
    from SALib.analyze import sobol as salib_sobol

    if np.ptp(y) == 0.0:
        zeros = np.zeros(len(inputs))
        found = {"S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
    else:
        problem = {"num_vars": len(inputs), "names": inputs, "bounds": [[0.0, 1.0]] * len(inputs)}
        found = salib_sobol.analyze(
            problem, y, calc_second_order=False, num_resamples=200, conf_level=0.95, seed=seed
        )
    return pd.DataFrame(
        {"input": inputs, **{k: np.asarray(found[k], dtype=float) for k in INDEX_COLUMNS[1:]}}
    )
