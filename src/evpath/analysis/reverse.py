"""The per-car emissions target: the verdict, and the reverse questions solved on the model.

Reverse questions, both answered by re-running the pipeline on changed sales mixes:

* **Phase-out year**: the latest year by which sales of cars without a plug (gasoline,
  diesel and hybrid cars) must end for the target to hold. From that year on, their share
  of sales goes to BEVs; before it, the scenario's own path is kept up to a milestone in
  that year. The target year itself is tried first (a per-car target in that year often
  holds for any phase-out up to it); otherwise the year is found by bisection over whole
  years (the target metric does not fall when the phase-out comes later).
* **Plug-in shift**: the fraction θ of non-plug-in sales that must move to BEVs at every
  milestone of the scenario. The target metric is continuous in θ, so θ is the root of
  metric(θ) − target, found with :func:`scipy.optimize.brentq`.

And the grid question: the verdict under each bundled grid pathway for the same regions
(:func:`grid_pathway_verdicts`), the scenario's sales and cars unchanged; the grid
intensity at which it changes is in every run (``grid_break_even``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pandas as pd
import xarray as xr
from scipy.optimize import brentq

from evpath.core.dims import POWERTRAINS
from evpath.errors import ScenarioError
from evpath.model.indicators import target_table
from evpath.model.pipeline import Inputs, run_pipeline
from evpath.scenario.emissions import Grid
from evpath.scenario.schema import Scenario, ShareMilestone

NON_PLUG_IN = ("ICEV_gasoline", "ICEV_diesel", "MHEV", "HEV")


@dataclass(frozen=True)
class ReverseAnswer:
    """Answers to the reverse questions for one scenario (first region).

    Attributes
    ----------
    phase_out_year : int or None
        Latest year by which non-plug-in sales must end; None if even ending them right
        after the history misses the target.
    plug_in_shift : float or None
        Fraction of non-plug-in sales moved to BEVs at every milestone that just meets the
        target; 0 if the scenario already meets it, None if moving all of them misses it.
    bev_share_needed : float or None
        BEV share of new sales in the target year under that shift.
    """

    phase_out_year: int | None
    plug_in_shift: float | None
    bev_share_needed: float | None


def _reduction(scenario: Scenario, inputs: Inputs) -> tuple[float, xr.Dataset]:
    if scenario.emissions is None:
        msg = f"{scenario.name}: the reverse questions need an 'emissions' block"
        raise ScenarioError(msg)
    spec = scenario.emissions.target
    dataset = run_pipeline(scenario, inputs, target_only=True)
    table = target_table(dataset, spec)
    return float(table["reduction"].iloc[0]), dataset


def _segment_mix(dataset: xr.Dataset, year: int) -> dict[str, dict[str, float]]:
    sales = dataset["sales"].isel(region=0).sel(year=year)
    shares = sales / sales.sum("powertrain")
    return {
        str(s): {str(p): float(shares.sel(segment=s, powertrain=p)) for p in POWERTRAINS}
        for s in shares.segment.values
    }


def _to_bev(shares: dict[str, float], fraction: float) -> dict[str, float]:
    """Move ``fraction`` of every non-plug-in share to BEV (BEV takes the exact rest)."""
    moved = {p: v * (1 - fraction) if p in NON_PLUG_IN else v for p, v in shares.items()}
    others = {p: v for p, v in moved.items() if p != "BEV" and v > 0}
    return {**others, "BEV": min(max(1.0 - sum(others.values()), 0.0), 1.0)}


def with_phase_out(scenario: Scenario, year: int, base: xr.Dataset) -> Scenario:
    """The scenario with non-plug-in sales ended from ``year`` (their share to BEVs)."""
    kept = [m for m in scenario.sales.milestones if m.year < year]
    note = f"evpath reverse question: non-plug-in sales end in {year}"
    added = [
        ShareMilestone(year=y, segment=segment, shares=_to_bev(mix, 1.0), note=note)
        for y in sorted({year, *(m.year for m in scenario.sales.milestones if m.year >= year)})
        for segment, mix in _segment_mix(base, y).items()
    ]
    return _with_milestones(scenario, kept + added)


def with_plug_in_shift(scenario: Scenario, fraction: float, base: xr.Dataset) -> Scenario:
    """The scenario with ``fraction`` of non-plug-in sales moved to BEVs at every milestone."""
    note = f"evpath reverse question: {fraction:.4f} of non-plug-in sales moved to BEVs"
    years = sorted({m.year for m in scenario.sales.milestones})
    milestones = [
        ShareMilestone(year=y, segment=segment, shares=_to_bev(mix, fraction), note=note)
        for y in years
        for segment, mix in _segment_mix(base, y).items()
    ]
    return _with_milestones(scenario, milestones)


def _with_milestones(scenario: Scenario, milestones: list[ShareMilestone]) -> Scenario:
    ordered = sorted(milestones, key=lambda m: (m.segment or "", m.year))
    sales = scenario.sales.model_copy(update={"milestones": ordered})
    return Scenario.model_validate(scenario.model_copy(update={"sales": sales}).model_dump())


def solve_reverse(
    scenario: Scenario, inputs: Inputs, metric: str | None = None, tolerance: float = 1e-4
) -> ReverseAnswer:
    """Answer both reverse questions for ``scenario`` (see the module docstring).

    ``metric`` replaces the scenario's target metric (same reduction, base and year).
    """
    emissions = scenario.emissions
    if emissions is None:
        msg = f"{scenario.name}: the reverse questions need an 'emissions' block"
        raise ScenarioError(msg)
    if metric is not None:
        target = emissions.target.model_copy(update={"metric": metric})
        emissions = emissions.model_copy(update={"target": target})
        scenario = Scenario.model_validate(
            scenario.model_copy(update={"emissions": emissions}).model_dump()
        )
    if not scenario.sales.milestones:
        msg = f"{scenario.name}: the reverse questions need at least one sales milestone"
        raise ScenarioError(msg)
    spec = emissions.target
    achieved, base = _reduction(scenario, inputs)
    shifted: dict[float, xr.Dataset] = {}

    def gap_after(change: Callable[[Scenario], Scenario]) -> float:
        return _reduction(change(scenario), inputs)[0] - spec.reduction

    def gap_after_shift(fraction: float) -> float:
        cut, shifted[fraction] = _reduction(with_plug_in_shift(scenario, fraction, base), inputs)
        return cut - spec.reduction

    first, last = scenario.years.history_end + 1, spec.year
    if gap_after(partial(with_phase_out, year=last, base=base)) >= 0:
        phase_out: int | None = last  # the latest year asked about; no bisection needed
    elif gap_after(partial(with_phase_out, year=first, base=base)) < 0:
        phase_out = None
    else:
        low, high = first, last  # met at low, missed at high
        while high - low > 1:
            middle = (low + high) // 2
            if gap_after(partial(with_phase_out, year=middle, base=base)) >= 0:
                low = middle
            else:
                high = middle
        phase_out = low

    if achieved >= spec.reduction:
        shift: float | None = 0.0
    elif gap_after_shift(1.0) < 0:
        shift = None
    else:
        shift = float(brentq(gap_after_shift, 0.0, 1.0, xtol=tolerance))
    bev = None
    if shift is not None:
        if shift not in shifted:  # brentq's last evaluation is usually the root itself
            gap_after_shift(shift)
        bev = float(
            shifted[shift]["sales_share"].isel(region=0).sel(powertrain="BEV", year=spec.year)
        )
    return ReverseAnswer(phase_out_year=phase_out, plug_in_shift=shift, bev_share_needed=bev)


GRID_METRICS = ("wtw_per_new_car", "wtw_per_new_car_lifetime")
"""Per-new-car metrics whose verdict :func:`grid_pathway_verdicts` reports (with the
scenario's own target metric)."""


def bundled_grid_pathways(scenario: Scenario) -> dict[str, Grid]:
    """The grid pathways of the bundled scenarios that model the same regions from the
    same sales history, each once, named by the first scenario (by name) that has it; the
    scenario's own pathway first, under its name."""
    from evpath.scenario.loader import bundled_scenarios, load_scenario

    if scenario.emissions is None:
        msg = f"{scenario.name}: the grid pathways need an 'emissions' block"
        raise ScenarioError(msg)
    pathways = {scenario.name: scenario.emissions.grid}
    seen = [scenario.emissions.grid.pathway]
    for name in sorted(bundled_scenarios()):
        other = load_scenario(name)
        if (
            other.emissions is None
            or other.regions != scenario.regions
            or other.sales.history != scenario.sales.history
            or other.emissions.grid.pathway in seen
        ):
            continue
        pathways[name] = other.emissions.grid
        seen.append(other.emissions.grid.pathway)
    return pathways


def grid_pathway_verdicts(
    scenario: Scenario, inputs: Inputs, pathways: dict[str, Grid] | None = None
) -> pd.DataFrame:
    """The per-car target verdict of ``scenario`` under other grid pathways.

    Re-runs the scenario's sales, fleet and use phase with each pathway in place of its
    own grid (everything else unchanged). ``pathways`` (name → grid block): by default
    :func:`bundled_grid_pathways`.

    Returns
    -------
    DataFrame indexed by (pathway, region, metric)
        ``grid`` the intensity in the target year [g CO2e/kWh], ``reduction``
        [fraction] and ``met``, for :data:`GRID_METRICS` and the scenario's target metric.
    """
    emissions = scenario.emissions
    if emissions is None:
        msg = f"{scenario.name}: the grid pathways need an 'emissions' block"
        raise ScenarioError(msg)
    chosen = bundled_grid_pathways(scenario) if pathways is None else pathways
    spec = emissions.target
    metrics = list(dict.fromkeys([spec.metric, *GRID_METRICS]))
    frames = []
    for name, grid in chosen.items():
        changed = scenario.model_copy(
            update={"emissions": emissions.model_copy(update={"grid": grid})}
        )
        dataset = run_pipeline(changed, inputs, target_only=True)
        at_target = dataset["grid_intensity"].sel(year=spec.year)
        for metric in metrics:
            table = target_table(dataset, spec.model_copy(update={"metric": metric}))
            frames.append(
                pd.DataFrame(
                    {
                        "pathway": name,
                        "region": table.index,
                        "metric": metric,
                        "grid": [float(at_target.sel(region=r)) for r in table.index],
                        "reduction": table["reduction"].to_numpy(),
                        "met": table["met"].to_numpy(),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True).set_index(["pathway", "region", "metric"])
