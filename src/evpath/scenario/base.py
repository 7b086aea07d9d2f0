"""Building blocks shared by every part of the scenario schema: names, types, base models."""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evpath.core.tolerances import SHARE_TOLERANCE

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Year = Annotated[int, Field(ge=1900, le=2200)]
YearPath = dict[Year, float]
"""A value by year; evpath interpolates linearly between years and holds it flat outside."""
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
PositiveParam = Positive | dict[Year, Positive]
"""A positive number, or a path of positive numbers by cohort year."""
NonNegativeParam = NonNegative | dict[Year, NonNegative]

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
