"""Building blocks shared by every part of the scenario schema: names, types, base models.

Every number a user writes has a declared domain. The shared types below are finite
(NaN and ±inf are errors) and carry their sign; quantities with a physical range add
bounds with :func:`within`, which reports ``field.path: allowed: LOW to HIGH UNIT (got
VALUE)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from evpath.core.tolerances import SHARE_TOLERANCE

FIRST_YEAR = 1900
LAST_YEAR = 2200


def _not_a_flag(value: object) -> object:
    """YAML's true/false are not numbers (Python would read them as 1 and 0)."""
    if isinstance(value, bool):
        msg = "a true/false flag; allowed: a number"
        raise ValueError(msg)
    return value


NotFlag = BeforeValidator(_not_a_flag)
Finite = Annotated[float, Field(allow_inf_nan=False), NotFlag]
"""Any finite number (no NaN, no ±inf, no true/false)."""
Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False), NotFlag]
Year = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR), NotFlag]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False), NotFlag]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False), NotFlag]
YearPath = dict[Year, Finite]
"""A value by year; evpath interpolates linearly between years and holds it flat outside."""
SharePath = dict[Year, Share]
"""A share by year [fraction], linear between years and flat outside."""


def bounded(low: float, high: float, unit: str = "") -> Callable[[float], float]:
    """A check that a number is finite and lies in ``[low, high]``; ``ValueError`` if not."""
    shown = f"{_number(low)} to {_number(high)}" + (f" {unit}" if unit else "")

    def check(value: float) -> float:
        if not (math.isfinite(value) and low <= value <= high):
            msg = f"allowed: {shown}"
            raise ValueError(msg)
        return value

    return check


def _number(value: float) -> str:
    """``1,000,000`` for whole numbers, ``0.5`` otherwise."""
    return f"{int(value):,}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def within(low: float, high: float, unit: str = "") -> AfterValidator:
    """:func:`bounded` as a pydantic check, run after the type's own checks.

    Added to :data:`Positive` or :data:`NonNegative`, so that a number of the wrong sign
    still reads ``allowed: greater than 0`` and one out of range ``allowed: LOW to HIGH
    UNIT``.
    """
    return AfterValidator(bounded(low, high, unit))


LifetimeYears = Annotated[Positive, within(0.5, 100.0, "years")]
"""Mean or scale of a car's lifetime [years]."""
LifetimeParam = LifetimeYears | dict[Year, LifetimeYears]
"""A lifetime in years, or a path of them by cohort year."""
LifetimeSpread = Annotated[Positive, within(0.0, 100.0, "years")]
"""Standard deviation of a car's lifetime [years]."""
SpreadParam = LifetimeSpread | dict[Year, LifetimeSpread]
"""A standard deviation in years, or a path of them by cohort year."""
WeibullShape = Annotated[Positive, within(0.1, 20.0, "(dimensionless)")]
"""Weibull shape of the lifetime distribution [dimensionless]."""
ShapeParam = WeibullShape | dict[Year, WeibullShape]

REPLACED_WHOLE = "replaced whole"
"""Marks a mapping of shares that sum to one: an ``extends:`` override replaces it whole
(merging label by label would leave old shares behind)."""

Label = TypeVar("Label", bound=str)
"""Keys of a share vector: powertrains, chemistries, standards, …"""


class Frozen(BaseModel):
    """A scenario block: immutable, unknown fields are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Sourced(Frozen):
    """A block of assumptions: it must say where its numbers come from."""

    source: str | None = Field(None, description="Published source of the numbers in this block.")
    note: str | None = Field(None, description="Why this assumption, when no source gives it.")

    @model_validator(mode="after")
    def _has_provenance(self) -> Sourced:
        if not (self.source or self.note):
            msg = "this block holds assumptions: give a 'source:' or a 'note:' saying why"
            raise ValueError(msg)
        return self


def check_shares(shares: dict[Label, float], what: str = "shares") -> dict[Label, float]:
    """Shares that sum to 1 within ``SHARE_TOLERANCE``; never renormalised.

    Raises ``ValueError`` (reported by pydantic with the field path) otherwise.
    """
    total = sum(shares.values())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        msg = f"{what} sum to {total:.6g}; allowed: a sum of 1 within {SHARE_TOLERANCE:g}"
        raise ValueError(msg)
    return shares


def check_shares_by_year(
    path: dict[int, dict[Label, float]], what: str = "shares"
) -> dict[int, dict[Label, float]]:
    """Every year's shares of a path sum to 1 (see :func:`check_shares`)."""
    for year, shares in path.items():
        check_shares(shares, f"{what} in {year}")
    return path


def check_unique(items: list[str], what: str) -> list[str]:
    """``items`` without repeats; ``ValueError`` naming the first repeated one otherwise."""
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        if item in first:
            msg = f"got {item!r} at [{first[item]}] and [{i}]; allowed: each {what} once"
            raise ValueError(msg)
        first[item] = i
    return items


def shown_name(name: str) -> str:
    """A name quoted for an error message; a long one cut, with its length."""
    return repr(name) if len(name) <= 80 else f"{name[:60]!r}... ({len(name)} characters)"
