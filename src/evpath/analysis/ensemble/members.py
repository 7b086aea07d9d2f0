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
from evpath.scenario.uncertainty import locate, value_at, with_value

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
        choices = list(self.uncertainty.choices)
        picks = values.sel(input=choices).to_numpy().astype(int) if choices else None
        combinations = (
            [()]
            if picks is None
            else [tuple(int(i) for i in row) for row in np.unique(picks, axis=0)]
        )
        parts = []
        for combination in combinations:
            members = values
            if picks is not None:
                members = values.isel({DRAW: np.all(picks == combination, axis=1)})
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


def _kept(dataset: xr.Dataset) -> xr.Dataset:
    """The variables an ensemble keeps: all but the by-cohort ones."""
    by_cohort = [name for name, array in dataset.data_vars.items() if "cohort" in array.dims]
    return dataset.drop_vars(by_cohort).drop_vars("cohort", errors="ignore")
