"""The Python entry point: ``evpath.run(scenario) -> Results``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, overload

import numpy as np
import xarray as xr

from evpath.data.makers import maker_history
from evpath.io.manifest import build_manifest
from evpath.model import scope as makers
from evpath.model.fleet import fleet_stock
from evpath.model.pipeline import Inputs, market_sales, run_pipeline
from evpath.results import Results, ScopeResults
from evpath.scenario.loader import resolve_scenario
from evpath.scenario.schema import Scenario
from evpath.scenario.scope import SCOPE_METRICS, MakersScope, load_scope, scope_reference

ProgressHook = Callable[[str], None]
ScenarioLike = Scenario | MakersScope | str | Path | Mapping[str, Any]
"""What :func:`run` accepts as a scenario."""


@overload
def run(scenario: Scenario, progress: ProgressHook | None = None) -> Results: ...


@overload
def run(scenario: ScenarioLike, progress: ProgressHook | None = None) -> Results | ScopeResults: ...


def run(scenario: ScenarioLike, progress: ProgressHook | None = None) -> Results | ScopeResults:
    """Run a scenario: a :class:`Scenario`, a bundled scenario name, a YAML path, or a
    mapping of scenario fields (as a file would hold them, ``extends:`` included).

    A makers' scope (a bundled scope name, a :class:`MakersScope`, or a file or mapping
    with a ``makers:`` block) runs every market's model on the makers' cars and returns
    :class:`ScopeResults` (see :func:`run_scope`).

    Parameters
    ----------
    scenario : Scenario, str, Path or mapping
        A Scenario object is validated again (one built with ``model_copy(update=...)``
        skipped validation) and a mapping is validated like a file, so both give the
        errors a file gives.
    progress : callable, optional
        Called with the name of each step as it starts (the CLI draws a progress bar).

    Raises
    ------
    ScenarioError
        An invalid scenario: where, what was received and what is allowed.
    InputError
        ``scenario`` is none of the above.

    Examples
    --------
    >>> results = run("japan-2050")                     # doctest: +SKIP
    >>> results.dataset["stock"].sel(year=2050).sum()   # doctest: +SKIP
    """
    if scope_reference(scenario):
        return run_scope(scenario, progress)  # type: ignore[arg-type]
    step = progress or (lambda _name: None)
    step("load scenario")
    resolved = resolve_scenario(scenario)
    step("load data")
    inputs = load_inputs(resolved)
    step("run model")
    dataset = run_pipeline(resolved, inputs)
    return Results(
        scenario=resolved,
        dataset=dataset,
        manifest=build_manifest(resolved, inputs.datasets),
        history_provenance=inputs.history.provenance,
        observed=inputs.history.observed,
    )


def load_inputs(scenario: Scenario) -> Inputs:
    """Read every dataset the scenario needs, once."""
    return Inputs.load(scenario)


def run_scope(
    scope: MakersScope | str | Path | Mapping[str, Any], progress: ProgressHook | None = None
) -> ScopeResults:
    """Run a makers' scope: each market's model on the makers' new cars there.

    For every market: the market's own sales (its scenario's sales stage), the makers'
    share of them and their mix (:mod:`evpath.model.scope`), then the market's fleet,
    battery and use-phase stages on the makers' cars. Chargers are a market's, not a
    maker's, and are left out.

    Raises
    ------
    ScenarioError
        An invalid scope or market scenario, naming the file and field path.
    InputError
        Sales data that cannot give the makers' share of a market.
    """
    step = progress or (lambda _name: None)
    step("load scope")
    spec = load_scope(scope)
    resolved = spec.scope
    history = maker_history(resolved.makers.history)
    last_year = min(s.years.history_end for s in spec.markets.values())
    table, provenance = makers.allocated_sales(history, resolved.makers, last_year)
    step("run markets")
    parts, maker_cars, whole_markets, shares, datasets = {}, [], [], [], [history.dataset]
    for name, scenario in spec.markets.items():
        inputs = load_inputs(scenario)
        datasets += inputs.datasets
        years = np.arange(scenario.years.start, scenario.years.end + 1)
        whole = market_sales(scenario, inputs, years)
        share = makers.maker_shares(
            table.sel(market=name, drop=True),
            whole.sum(["region", "segment", "powertrain"]),
            resolved.markets[name].share,
            f"markets.{name}.share",
        )
        cars = makers.makers_sales(
            whole, share, makers.makers_mix(resolved.markets[name].mix, years)
        )
        variant = makers.makers_fleet_scenario(scenario, float(share.sum("maker").isel(year=0)))
        whole_fleet = fleet_stock(scenario, whole).stock_by_cohort
        parts[name] = run_pipeline(variant, inputs, sales=cars, calibration_stock=whole_fleet)
        maker_cars.append(makers.by_maker(cars, share))
        whole_markets.append(whole.sum("segment"))
        shares.append(share.sum("maker").expand_dims(region=scenario.regions))
    step("combine markets")
    scope_years = slice(resolved.years.start, resolved.years.end)
    dataset = makers.scope_dataset(
        makers.combine_markets(parts).sel(year=scope_years),
        maker_sales=xr.concat(maker_cars, "region", join="outer").sel(year=scope_years),
        market_sales=xr.concat(whole_markets, "region", join="outer").sel(year=scope_years),
        market_share=xr.concat(shares, "region", join="outer").sel(year=scope_years),
        metrics=SCOPE_METRICS,
        target=resolved.target,
    )
    return ScopeResults(
        scope=resolved,
        markets=spec.markets,
        maker_table=provenance,
        dataset=dataset,
        manifest=build_manifest(resolved, tuple(dict.fromkeys(datasets)), spec.markets),
    )
