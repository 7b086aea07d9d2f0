"""Draws of a scenario's uncertain inputs: points of the unit hypercube (Latin hypercube,
scrambled Sobol' sequence, plain random, or Saltelli's design for Sobol' indices), mapped
through each distribution's quantile function and each choice's probabilities."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import xarray as xr
from scipy.stats import qmc

from evpath.core.dims import DRAW
from evpath.errors import InputError
from evpath.scenario.uncertainty import QUANTILE_RANGE, Uncertainty

Sampler = Literal["lhs", "sobol", "random"]
SAMPLERS: tuple[Sampler, ...] = ("lhs", "sobol", "random")
MAX_DRAWS = 1_000_000


@dataclass(frozen=True)
class Design:
    """The drawn inputs of an ensemble.

    Attributes
    ----------
    unit : ndarray (draw, input)
        Points in (0, 1), one column per input (parameters, then choices).
    values : DataArray (draw, input)
        The parameter values in their fields' units; for a choice, the index of the
        alternative drawn (in the order the scenario lists them).
    base_draws : int
        For Saltelli's design, the N of its N·(D + 2) rows; else the number of draws.
    requested : int
        The number of draws asked for (Saltelli's design may use fewer).
    """

    unit: np.ndarray
    values: xr.DataArray
    sampler: str
    seed: int
    base_draws: int
    requested: int

    @property
    def size(self) -> int:
        return int(self.unit.shape[0])


def unit_points(n: int, dimensions: int, sampler: Sampler, seed: int) -> np.ndarray:
    """``n`` points of the unit hypercube (n, dimensions), in (0, 1), reproducible from
    ``seed``. Sobol' points keep their balance only for n a power of two."""
    if sampler == "lhs":
        points = qmc.LatinHypercube(d=dimensions, seed=seed).random(n)
    elif sampler == "sobol":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # n not a power of two: allowed
            points = qmc.Sobol(d=dimensions, scramble=True, seed=seed).random(n)
    else:
        points = np.random.default_rng(seed).random((n, dimensions))
    return np.clip(points, *QUANTILE_RANGE)


def saltelli_points(base: int, dimensions: int, seed: int) -> np.ndarray:
    """Saltelli's design for first-order and total Sobol' indices (SALib): base·(D + 2)
    rows; ``base`` must be a power of two."""
    from SALib.sample import sobol as salib_sobol

    rows = salib_sobol.sample(
        _problem(dimensions), base, calc_second_order=False, scramble=True, seed=seed
    )
    return np.clip(np.asarray(rows), *QUANTILE_RANGE)


def _problem(dimensions: int) -> dict[str, object]:
    return {
        "num_vars": dimensions,
        "names": [f"x{i}" for i in range(dimensions)],
        "bounds": [[0.0, 1.0]] * dimensions,
    }


def design(
    uncertainty: Uncertainty, n: int, sampler: Sampler, seed: int, *, sensitivity: bool
) -> Design:
    """Draw ``n`` members (with ``sensitivity``, Saltelli's design with the largest power
    of two N such that N·(D + 2) ≤ n)."""
    if not 1 <= n <= MAX_DRAWS:
        msg = f"-n: got {n}; allowed: 1 to {MAX_DRAWS:,} draws"
        raise InputError(msg)
    if sampler not in SAMPLERS:
        msg = f"--sampler: got {sampler!r}; allowed: one of {', '.join(SAMPLERS)}"
        raise InputError(msg)
    if not 0 <= seed < 2**32:
        msg = f"--seed: got {seed}; allowed: 0 to {2**32 - 1}"
        raise InputError(msg)
    names = uncertainty.names
    dimensions = len(names)
    if sensitivity:
        per_base = dimensions + 2
        if n < 2 * per_base:
            msg = (
                f"-n: got {n}; allowed: at least {2 * per_base} draws for Sobol' indices of "
                f"{dimensions} inputs (N·(D + 2) with N ≥ 2)"
            )
            raise InputError(msg)
        base = 2 ** int(np.log2(n // per_base))
        unit = saltelli_points(base, dimensions, seed)
        used = "saltelli"
    else:
        base, unit, used = n, unit_points(n, dimensions, sampler, seed), sampler
    columns = [
        distribution.ppf(unit[:, i])
        for i, distribution in enumerate(uncertainty.parameters.values())
    ]
    offset = len(uncertainty.parameters)
    for j, choice in enumerate(uncertainty.choices.values()):
        cumulative = np.cumsum(list(choice.alternatives.values()))
        index = np.searchsorted(cumulative / cumulative[-1], unit[:, offset + j], side="right")
        columns.append(np.minimum(index, len(cumulative) - 1).astype(float))
    values = xr.DataArray(
        np.column_stack(columns),
        coords={DRAW: np.arange(unit.shape[0]), "input": names},
        dims=(DRAW, "input"),
    )
    return Design(unit=unit, values=values, sampler=used, seed=seed, base_draws=base, requested=n)
