"""Whether each member of an ensemble meets the scenario's targets, decided in double
precision before the members' results are kept in single precision."""

from __future__ import annotations

import xarray as xr

from evpath.core.tolerances import FULL_SHARE_TOLERANCE, TARGET_TOLERANCE
from evpath.scenario.schema import Scenario

ELECTRIFIED = "electrified_sales"
EMISSIONS = "emissions_per_car"


def target_names(scenario: Scenario) -> dict[str, str]:
    """Target key → what it means, for the scenario's targets."""
    names = {
        ELECTRIFIED: f"every new car electrified in {scenario.target_year}",
    }
    if scenario.emissions is not None:
        target = scenario.emissions.target
        names[EMISSIONS] = (
            f"{target.metric} −{target.reduction:.0%} in {target.year} against {target.base_year}"
        )
    return names


def targets_met(scenario: Scenario, results: xr.Dataset) -> xr.DataArray:
    """Whether each target is met (target, region[, draw]) [bool], from a run's results
    in double precision."""
    flags = {
        ELECTRIFIED: results["electrified_sales_share"].sel(year=scenario.target_year, drop=True)
        >= 1.0 - FULL_SHARE_TOLERANCE
    }
    if scenario.emissions is not None:
        target = scenario.emissions.target
        cut = results["emission_reduction"].sel(year=target.year, drop=True)
        flags[EMISSIONS] = cut >= target.reduction - TARGET_TOLERANCE
    stacked = xr.concat(xr.broadcast(*flags.values()), dim=xr.DataArray(list(flags), dims="target"))
    return stacked.rename("target_met")
