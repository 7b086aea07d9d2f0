"""Levers of the dashboard: a bundled scenario's values of them, and a set of changed levers
as a scenario override mapping (``extends:`` the bundled scenario plus the changed fields),
which :func:`evpath.scenario.loader.resolve_scenario` validates exactly like a file."""

from __future__ import annotations

from typing import Any

import numpy as np

from evpath.core.paths import interpolate_path
from evpath.errors import InputError
from evpath.scenario.schema import Scenario
from evpath.web.schemas import Levers

BLOCK_OF = {
    "grid_intensity": "emissions",
    "grid_pathway": "emissions",
    "hev_improvement": "emissions",
    "chemistry": "batteries",
    "collection_rate": "batteries",
    "evs_per_charger": "charging",
}
"""The scenario block a lever changes (``target_year`` needs none)."""


def available(scenario: Scenario) -> list[str]:
    """The levers ``scenario`` can take (those whose block it has)."""
    return [
        lever
        for lever in Levers.model_fields
        if lever not in BLOCK_OF or getattr(scenario, BLOCK_OF[lever]) is not None
    ]


def current(scenario: Scenario) -> Levers:
    """The scenario's own values of the levers; null where it states none directly (a grid
    point given as a generation mix, a charger ratio that follows a trend)."""
    values: dict[str, Any] = {"target_year": scenario.target_year}
    if scenario.emissions is not None:
        pathway = scenario.emissions.grid.pathway
        point = pathway.get(scenario.target_year)
        values["grid_intensity"] = point.intensity if point is not None else None
        if all(p.intensity is not None for p in pathway.values()):
            values["grid_pathway"] = {year: p.intensity for year, p in pathway.items()}
        values["hev_improvement"] = _latest(scenario.emissions.energy.improvement.get("HEV"))
    if scenario.batteries is not None:
        values["chemistry"] = scenario.batteries.packs.chemistry
        values["collection_rate"] = scenario.batteries.recycling.collection_rate
    charging = scenario.charging
    if charging is not None and charging.ratio_method == "path" and charging.ratio_path:
        values["evs_per_charger"] = {
            kind: path[scenario.target_year]
            for kind, path in charging.ratio_path.items()
            if scenario.target_year in path
        } or None
    return Levers.model_validate(values)


def _latest(rate: float | dict[int, float] | None) -> float | None:
    """A rate, or the rate of the last model year of a path of rates."""
    if isinstance(rate, dict):
        return rate[max(rate)]
    return rate


def override(base: Scenario, levers: Levers, name: str | None = None) -> dict[str, Any]:
    """The scenario mapping that applies ``levers`` to the bundled scenario ``base``.

    Raises
    ------
    InputError
        A lever whose block ``base`` lacks, or both grid levers at once.
    """
    changed = levers.model_dump(exclude_none=True)
    usable = available(base)
    for lever in changed:
        if lever not in usable:
            msg = (
                f"levers.{lever}: scenario {base.name!r} has no '{BLOCK_OF[lever]}' block; "
                f"allowed: the levers {usable}"
            )
            raise InputError(msg)
    if "grid_intensity" in changed and "grid_pathway" in changed:
        msg = (
            "levers: got both grid_intensity and grid_pathway; allowed: one of them (the "
            "intensity in the target year, or the pathway by year)"
        )
        raise InputError(msg)
    shown = ", ".join(f"{lever}={value}" for lever, value in changed.items()) or "no change"
    document: dict[str, Any] = {
        "extends": base.name,
        "name": name if name is not None else f"{base.name}-what-if",
        "description": f"{base.name} with levers changed: {shown}",
    }
    target = levers.target_year if levers.target_year is not None else base.target_year
    if levers.target_year is not None:
        document["target_year"] = levers.target_year
    if levers.grid_intensity is not None and base.emissions is not None:
        kept = {
            year: point.model_dump(exclude_none=True)
            for year, point in base.emissions.grid.pathway.items()
            if year < target
        }
        _put(
            document,
            ("emissions", "grid", "pathway"),
            {**kept, target: {"intensity": levers.grid_intensity}},
        )
    if levers.grid_pathway is not None:
        pathway = {year: {"intensity": value} for year, value in levers.grid_pathway.items()}
        _put(document, ("emissions", "grid", "pathway"), pathway)
    if levers.hev_improvement is not None and base.emissions is not None:
        improvement = base.emissions.energy.improvement
        history_end = base.years.history_end
        hybrid = improvement.get("HEV", 0.0)
        if isinstance(hybrid, dict):  # keep the rates of the history, change those after it
            before = interpolate_path(hybrid, np.array([history_end]))[0]
            hybrid = {history_end: float(before), history_end + 1: levers.hev_improvement}
        else:
            hybrid = levers.hev_improvement
        _put(document, ("emissions", "energy", "improvement"), {**improvement, "HEV": hybrid})
    if levers.chemistry is not None:
        _put(document, ("batteries", "packs", "chemistry"), levers.chemistry)
    if levers.collection_rate is not None:
        _put(document, ("batteries", "recycling", "collection_rate"), levers.collection_rate)
    if levers.evs_per_charger is not None:
        ratio_path = {kind: {target: value} for kind, value in levers.evs_per_charger.items()}
        _put(document, ("charging", "ratio_method"), "path")
        _put(document, ("charging", "ratio_path"), ratio_path)
    return document


def _put(document: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    """Set ``document[path[0]][path[1]]...`` to ``value``, creating the mappings on the way."""
    *parents, last = path
    for key in parents:
        document = document.setdefault(key, {})
    document[last] = value
