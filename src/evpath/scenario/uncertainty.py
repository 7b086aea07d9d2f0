"""Uncertain inputs of a scenario: distributions and choices that ``evpath ensemble`` draws.

A scenario's ``uncertainty`` block names scenario numbers by their field path (dots
between keys, years as written: ``emissions.grid.pathway.2050.intensity``) and gives each
a distribution, or names a block by its path and gives named alternatives for it, each
taken from another scenario (a bundled name or a file) with a probability::

    uncertainty:
      note: Why these ranges.
      parameters:
        emissions.energy.improvement.HEV.2025: {distribution: uniform, low: 0.0, high: 0.014}
        fleet.lifetime.shape: {distribution: truncnormal, mean: 2.17, sd: 0.2, low: 1.6, high: 2.8}
      choices:
        emissions.grid.pathway:
          alternatives: {japan-2050: 0.5, japan-2050-slow-grid: 0.5}

The deterministic run (``evpath run``) ignores the block and uses the scenario's own values.
Every draw is a number the field accepts: the loader checks the scenario at both ends of
each distribution's range (:data:`QUANTILE_RANGE`) and with every alternative.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator

from evpath.scenario.base import (
    REPLACED_WHOLE,
    Finite,
    Frozen,
    Positive,
    Share,
    Sourced,
    check_shares,
)

QUANTILE_RANGE = (1e-9, 1.0 - 1e-9)
"""Quantiles drawn from: the tails of unbounded distributions are cut here, so that the
extremes checked by the loader are the extremes any draw can reach."""

MAX_PARAMETERS = 100
"""Most uncertain parameters and choices in one scenario."""
MAX_PATH_LENGTH = 200


class _Distribution(Frozen, ABC):
    """A distribution of one scenario number (SciPy's quantile functions, imported when a
    draw is made, so that loading a scenario stays light)."""

    note: str | None = Field(None, description="Why this distribution (optional).")

    @abstractmethod
    def ppf(self, quantiles: np.ndarray) -> np.ndarray:
        """Values at ``quantiles`` ∈ (0, 1), in the unit of the field."""

    def extremes(self) -> tuple[float, float]:
        """The smallest and largest value a draw can take (±inf where it overflows: the
        check of the field says what is allowed)."""
        with np.errstate(over="ignore"):
            low, high = self.ppf(np.array(QUANTILE_RANGE))
        return float(low), float(high)


class _Bounded(_Distribution, ABC):
    """A distribution between ``low`` and ``high``, which are its extremes."""

    low: Finite
    high: Finite

    @model_validator(mode="after")
    def _ordered(self) -> _Bounded:
        if not self.low < self.high:
            msg = f"low ({self.low}) and high ({self.high}); allowed: low < high"
            raise ValueError(msg)
        return self

    def extremes(self) -> tuple[float, float]:
        return self.low, self.high


class Normal(_Distribution):
    """Normal with ``mean`` and standard deviation ``sd`` (tails cut at 1e-9)."""

    distribution: Literal["normal"]
    mean: Finite
    sd: Positive

    def ppf(self, quantiles: np.ndarray) -> np.ndarray:
        from scipy.stats import norm

        return np.asarray(norm.ppf(quantiles, loc=self.mean, scale=self.sd))


class TruncatedNormal(_Bounded):
    """Normal with ``mean`` and ``sd``, truncated to [``low``, ``high``]."""

    distribution: Literal["truncnormal"]
    mean: Finite
    sd: Positive

    def ppf(self, quantiles: np.ndarray) -> np.ndarray:
        from scipy.stats import truncnorm

        a, b = (self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd
        return np.asarray(truncnorm.ppf(quantiles, a, b, loc=self.mean, scale=self.sd))


class LogNormal(_Distribution):
    """Log-normal with ``median`` and ``sigma``, the standard deviation of the log."""

    distribution: Literal["lognormal"]
    median: Positive
    sigma: Annotated[Positive, Field(le=5.0)]

    def ppf(self, quantiles: np.ndarray) -> np.ndarray:
        from scipy.stats import lognorm

        return np.asarray(lognorm.ppf(quantiles, self.sigma, scale=self.median))


class Uniform(_Bounded):
    """Uniform between ``low`` and ``high``."""

    distribution: Literal["uniform"]

    def ppf(self, quantiles: np.ndarray) -> np.ndarray:
        return self.low + (self.high - self.low) * np.asarray(quantiles, dtype=float)


class Triangular(_Bounded):
    """Triangular between ``low`` and ``high`` with its peak at ``mode``."""

    distribution: Literal["triangular"]
    mode: Finite

    @model_validator(mode="after")
    def _mode_within(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            msg = f"mode: got {self.mode}; allowed: from low ({self.low}) to high ({self.high})"
            raise ValueError(msg)
        return self

    def ppf(self, quantiles: np.ndarray) -> np.ndarray:
        from scipy.stats import triang

        width = self.high - self.low
        return np.asarray(triang.ppf(quantiles, (self.mode - self.low) / width, self.low, width))


Distribution = Annotated[
    Normal | TruncatedNormal | LogNormal | Uniform | Triangular,
    Field(discriminator="distribution"),
]


class Choice(Frozen):
    """Named alternatives for one block, each a scenario (bundled name or file) whose block
    of the same path is used, with its probability; probabilities sum to 1."""

    alternatives: Annotated[dict[str, Share], REPLACED_WHOLE] = Field(min_length=1, max_length=20)
    note: str | None = Field(None, description="Why these alternatives (optional).")

    @model_validator(mode="after")
    def _sum_to_one(self) -> Choice:
        check_shares(self.alternatives, "probabilities of the alternatives")
        return self


class Uncertainty(Sourced):
    """Distributions of scenario numbers and choices among alternative blocks."""

    parameters: dict[str, Distribution] = Field(
        default_factory=dict, description="Field path → distribution of that number."
    )
    choices: dict[str, Choice] = Field(
        default_factory=dict, description="Field path → alternatives for that block."
    )

    @model_validator(mode="after")
    def _bounded(self) -> Uncertainty:
        paths = [*self.parameters, *self.choices]
        if not paths:
            msg = "no parameters or choices; allowed: at least one of them"
            raise ValueError(msg)
        if len(paths) > MAX_PARAMETERS:
            msg = f"{len(paths)} parameters and choices; allowed: at most {MAX_PARAMETERS}"
            raise ValueError(msg)
        for path in paths:
            if not 0 < len(path) <= MAX_PATH_LENGTH:
                msg = f"a field path of {len(path)} characters; allowed: 1 to {MAX_PATH_LENGTH}"
                raise ValueError(msg)
        for path in self.parameters:
            overlapping = [c for c in self.choices if _within(path, c) or _within(c, path)]
            if overlapping:
                msg = (
                    f"parameters.{path} lies in choices.{overlapping[0]}; allowed: a number "
                    "drawn or a block chosen, not both"
                )
                raise ValueError(msg)
        return self

    @property
    def names(self) -> list[str]:
        """The drawn inputs in order: parameters, then choices."""
        return [*self.parameters, *self.choices]


def _within(path: str, block: str) -> bool:
    return path == block or path.startswith(block + ".")


# ----------------------------------------------------------------------- field paths

Key = str | int
Document = dict[Any, Any]


def locate(document: Mapping[Any, Any], path: str) -> tuple[Key, ...]:
    """The keys of ``path`` (dotted) in a scenario document, with their own types (years
    are integers); ValueError naming the first key that is not there."""
    keys: list[Key] = []
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, Mapping):
            where = ".".join(map(str, keys))
            msg = f"{where} is a value, not a block: no field {part!r} under it"
            raise ValueError(msg)
        matches = [k for k in node if str(k) == part]
        if not matches:
            where = ".".join(map(str, keys)) or "the scenario"
            allowed = ", ".join(str(k) for k in node if node[k] is not None)
            msg = f"no field {part!r} in {where}; allowed: {allowed}"
            raise ValueError(msg)
        keys.append(matches[0])
        node = node[matches[0]]
    return tuple(keys)


def value_at(document: Mapping[Any, Any], keys: tuple[Key, ...]) -> Any:
    """The value at ``keys`` (from :func:`locate`)."""
    node: Any = document
    for key in keys:
        node = node[key]
    return node


def with_value(node: Any, keys: tuple[Key, ...], value: Any) -> Any:
    """A copy of ``node`` (a scenario document, a validated scenario or one of its
    blocks) with ``value`` at ``keys``; the rest is shared, not copied, and nothing is
    validated: a drawn value (a DataArray over ``draw``, every number of it checked) goes
    into a validated scenario as it is."""
    if not keys:
        return value
    head, rest = keys[0], keys[1:]
    if isinstance(node, BaseModel):
        return node.model_copy(
            update={str(head): with_value(getattr(node, str(head)), rest, value)}
        )
    copy = dict(node)
    copy[head] = with_value(node[head], rest, value)
    return copy


SHARED_AXES = ("years", "regions")
"""Scenario fields every member of an ensemble shares: a choice may not change them."""


def check_drawable(
    document: Mapping[Any, Any],
    uncertainty: Uncertainty,
    validate: Callable[[Document], object],
    alternative: Callable[[str], Document],
) -> None:
    """Check every uncertain input against the scenario ``document`` (without its
    ``uncertainty``): each parameter names a number the model reads as a real number, and
    the scenario stays valid at both extremes of its distribution; each choice names a
    block, and the scenario stays valid with every alternative.

    ``validate`` validates a scenario document (raising ValueError or a pydantic
    ValidationError); ``alternative`` returns the document of an alternative scenario.
    Raises ValueError starting with the ``uncertainty.…`` path of the first problem.
    """
    for path, distribution in uncertainty.parameters.items():
        where = f"uncertainty.parameters.{path}"
        keys = _keys(document, path, where)
        value = value_at(document, keys)
        if not isinstance(value, float):
            shown = "a block" if isinstance(value, Mapping) else f"{value!r}"
            msg = (
                f"{where}: the field holds {shown}; allowed: a field holding a real number "
                "(years, counts, names and flags are not drawn)"
            )
            raise ValueError(msg)
        for extreme in distribution.extremes():
            _check_valid(with_value(document, keys, extreme), validate, where, f"at {extreme:.6g}")
    for path, choice in uncertainty.choices.items():
        where = f"uncertainty.choices.{path}"
        keys = _keys(document, path, where)
        for name in choice.alternatives:
            other = alternative(name)
            try:
                block = value_at(other, locate(other, path))
            except ValueError as exc:
                msg = f"{where}.alternatives.{name}: that scenario has no such block ({exc})"
                raise ValueError(msg) from None
            chosen = with_value(document, keys, block)
            for axis in SHARED_AXES:
                if chosen.get(axis) != document.get(axis):
                    msg = (
                        f"{where}.alternatives.{name}: its {axis} differ from the scenario's; "
                        "allowed: alternatives that keep the years and regions modelled (the "
                        "members of an ensemble are compared year by year and region by region)"
                    )
                    raise ValueError(msg)
            _check_valid(chosen, validate, where, f"with {name!r}")


def _keys(document: Mapping[Any, Any], path: str, where: str) -> tuple[Key, ...]:
    try:
        return locate(document, path)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _check_valid(
    document: Document, validate: Callable[[Document], object], where: str, case: str
) -> None:
    try:
        validate(document)
    except ValueError as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        msg = f"{where}: the scenario is invalid {case}: {'; '.join(lines[:2])}"
        raise ValueError(msg) from None
