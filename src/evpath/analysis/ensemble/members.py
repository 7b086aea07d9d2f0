"""Running many members of an ensemble at once: each drawn number goes into the scenario
as one value per member (a DataArray over ``draw``), so one pipeline run computes every
member of a chunk. Choices split the chunk into groups, one run per alternative drawn.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from evpath.analysis.ensemble.targets import targets_met
from evpath.core.dims import DRAW
from evpath.model.pipeline import Inputs, run_pipeline
from evpath.scenario.loader import alternative_document, resolve_scenario
from evpath.scenario.schema import Scenario
from evpath.scenario.uncertainty import Uncertainty, locate, value_at, with_value

RESULT_DTYPE = np.float32
"""Members' results are kept in single precision (7 significant digits) to halve memory."""


class MemberRunner:
    """Runs chunks of members of one scenario; keeps each alternative's validated scenario
    and data between chunks."""

    def __init__(self, scenario: Scenario) -> None:
        if scenario.uncertainty is None:
            msg = f"{scenario.name}: the scenario has no 'uncertainty' block to draw from"
            raise ValueError(msg)
        self.scenario = scenario
        self.uncertainty = scenario.uncertainty
        self._document = scenario.model_dump(exclude={"uncertainty"})
        self._keys = {path: locate(self._document, path) for path in self.uncertainty.names}
        self._bases: dict[tuple[int, ...], tuple[Scenario, Inputs]] = {}

    def _base(self, combination: tuple[int, ...]) -> tuple[Scenario, Inputs]:
        """The scenario with the alternatives ``combination`` in place, and its data."""
        if combination not in self._bases:
            document = self._document
            for (path, choice), index in zip(
                self.uncertainty.choices.items(), combination, strict=True
            ):
                name = list(choice.alternatives)[index]
                other = alternative_document(name)
                document = with_value(
                    document, self._keys[path], value_at(other, locate(other, path))
                )
            base = resolve_scenario(document) if combination else self.scenario
            self._bases[combination] = (base, Inputs.load(base))
        return self._bases[combination]

    def run(self, values: xr.DataArray) -> xr.Dataset:
        """Results of the members in ``values`` (draw, input): every result variable
        without a cohort dimension, with ``draw`` where it varies, in single precision;
        and ``target_met`` (target, region[, draw]) decided in double precision."""
        codes, combinations = member_groups(self.uncertainty, values)
        parts = []
        for code, combination in enumerate(combinations):
            members = values if len(combinations) == 1 else values.isel({DRAW: codes == code})
            base, inputs = self._base(combination)
            drawn = base
            for path in self.uncertainty.parameters:
                column = members.sel(input=path, drop=True)
                drawn = with_value(drawn, self._keys[path], column)
            results = run_pipeline(drawn, inputs)
            met = targets_met(base, results)
            kept = _kept(results).astype(RESULT_DTYPE).assign(target_met=met)
            if DRAW not in kept.dims:  # nothing drawn but the choice: the same for each
                kept = kept.expand_dims({DRAW: members[DRAW].to_numpy()})
            parts.append(kept)
        if len(parts) == 1:
            return parts[0]
        return xr.concat(parts, dim=DRAW, data_vars="different", compat="equals").sortby(DRAW)


def member_groups(
    uncertainty: Uncertainty, values: xr.DataArray
) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """The groups the members in ``values`` (draw, input) run in, one per combination of
    alternatives drawn: each member's group (an index) and each group's combination (the
    alternative drawn for each choice, in the order of the choices; ``()`` without
    choices)."""
    choices = list(uncertainty.choices)
    if not choices:
        return np.zeros(values.sizes[DRAW], dtype=int), [()]
    picks = values.sel(input=choices).to_numpy().astype(int)
    combinations, codes = np.unique(picks, axis=0, return_inverse=True)
    return codes.reshape(-1), [tuple(int(i) for i in row) for row in combinations]


def _kept(dataset: xr.Dataset) -> xr.Dataset:
    """The variables an ensemble keeps: all but the by-cohort ones."""
    by_cohort = [name for name, array in dataset.data_vars.items() if "cohort" in array.dims]
    return dataset.drop_vars(by_cohort).drop_vars("cohort", errors="ignore")
