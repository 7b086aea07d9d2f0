"""The disruption file: named supply shocks an alliance plans against, for ``evpath secure``.

Frozen pydantic models in the style of the alliance file. A disruption file names one
alliance (bundled name or YAML path), lists disruption scenarios with probabilities that
sum to 1, prices a spot market and the shortfall penalty, and sets the risk measure.
Every assumption says why, through ``source:`` or ``note:`` on its block.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from evpath.procurement.schema import (
    Alliance,
    Price,
    SafeName,
    Tonnes,
    YearRange,
    bundled_alliances,
    load_alliance,
)
from evpath.scenario.base import Frozen, NotFlag, Positive, Share, Sourced, within
from evpath.scenario.loader import bundled_files, bundled_or_file, find_file, load_document

PROBABILITY_TOLERANCE = 1e-6
"""Largest gap allowed between the sum of scenario probabilities and 1."""
MAX_PENALTY_RATIO = 1000.0
"""Largest shortfall penalty, as a multiple of the highest spot price [dimensionless]
(an assumption). A tonne short stops the cars it was for: for cobalt, several kg in a car
worth tens of thousands of USD, about 100 times the metal's price. Far above that (10,000
times the highest spot price, on a small alliance) the scenario costs span more than
HiGHS's tolerances resolve, and it reported plans as impossible."""

Multiplier = Annotated[Positive, within(0.0, 1000.0)]
Alpha = Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False), NotFlag]
Lambda = Annotated[float, Field(ge=0.0, le=1e6, allow_inf_nan=False), NotFlag]


class CountryCut(Frozen):
    """Supply from one country cut by ``share`` in ``years`` (an export ban or quota).

    Every supplier in ``country`` delivers (1 − ``share``) of each contract in those years.
    """

    country: str = Field(description="Country as spelled by the alliance's suppliers.")
    share: Share = Field(description="Share of the country's supply cut [fraction].")
    years: YearRange = Field(description="Years of the cut, both included [yr].")


class Disruption(Sourced):
    """One named scenario: what happens to supply, and how likely it is."""

    name: SafeName
    probability: Share = Field(description="Probability of the scenario [fraction].")
    country_cuts: list[CountryCut] = Field(
        default_factory=list, description="Supply cuts by country (export bans)."
    )
    competing_buyer: Share = Field(
        0.0,
        description="Share of every supplier's capacity taken by a competing buyer (state "
        "stockpiling) in every year [fraction].",
    )
    spot_price_multiplier: Multiplier = Field(
        1.0, description="Spot price in this scenario ÷ the spot market's price [-]."
    )


class SpotMarket(Sourced):
    """Tonnes bought after the scenario is known, and the penalty of tonnes not delivered."""

    price: Price = Field(description="Spot price [the file's price_unit].")
    capacity: Tonnes | None = Field(
        None,
        description="Spot tonnes open to the whole alliance per year [t/yr]; null: unlimited.",
    )
    shortfall_penalty: Price = Field(
        description="Cost of a tonne of demand not met (lost car production) [price_unit]."
    )


class RiskMeasure(Sourced):
    """Objective: expected cost + ``lambda`` × CVaR at level ``alpha`` of the cost.

    ``max_expected_shortfall`` [t over all years, for the whole alliance; a member alone
    gets its share of demand] bounds the expected tonnes not delivered.
    """

    lambda_: Lambda = Field(0.0, alias="lambda", description="Weight of CVaR [-].")
    alpha: Alpha = Field(0.9, description="CVaR level: mean of the worst 1 − alpha [fraction].")
    max_expected_shortfall: Tonnes | None = Field(
        None, description="Cap on expected shortfall [t over all years]; null: no cap."
    )


class DisruptionFile(Frozen):
    """Disruption scenarios for one alliance, a spot market and a risk measure."""

    name: SafeName
    description: str = ""
    alliance: str = Field(description="Bundled alliance name or alliance YAML path.")
    price_unit: Literal["USD/kg", "USD/t"] = Field(description="Unit of spot price and penalty.")
    scenarios: list[Disruption] = Field(min_length=1)
    spot: SpotMarket
    risk: RiskMeasure

    @field_validator("scenarios")
    @classmethod
    def _probabilities(cls, scenarios: list[Disruption]) -> list[Disruption]:
        names = [s.name for s in scenarios]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            msg = f"names repeated: {', '.join(repeated)}; allowed: each name once"
            raise ValueError(msg)
        total = sum(s.probability for s in scenarios)
        if abs(total - 1.0) > PROBABILITY_TOLERANCE:
            msg = (
                f"probabilities sum to {total:.6g}; allowed: a sum of 1 "
                f"(within {PROBABILITY_TOLERANCE:g})"
            )
            raise ValueError(msg)
        return scenarios

    @model_validator(mode="after")
    def _penalty_within_reach(self) -> DisruptionFile:
        multiplier = max(1.0, *(s.spot_price_multiplier for s in self.scenarios))
        highest = self.spot.price * multiplier
        if self.spot.shortfall_penalty > MAX_PENALTY_RATIO * highest:
            msg = (
                f"spot.shortfall_penalty: got {self.spot.shortfall_penalty:g} "
                f"{self.price_unit}; allowed: at most {MAX_PENALTY_RATIO:g} times the highest "
                f"spot price ({highest:g} {self.price_unit}): a higher penalty makes the "
                "scenario costs span more than the solver can tell apart"
            )
            raise ValueError(msg)
        return self

    @property
    def usd_per_t(self) -> float:
        """Factor from the file's price unit to USD/t."""
        return 1000.0 if self.price_unit == "USD/kg" else 1.0


def bundled_disruptions() -> dict[str, Path]:
    """Bundled disruption names (``japan-cobalt-disruption``) and their files."""
    return bundled_files("evpath.alliances.disruptions")


def disruption_path(ref: str | Path) -> Path:
    """The file of a bundled disruption name or a path; ScenarioError if neither."""
    return bundled_or_file(ref, bundled_disruptions(), "disruption")


def alliance_of(spec: DisruptionFile, path: Path | None = None) -> Alliance:
    """The alliance a disruption file names: a bundled name, or a path (first relative to
    the disruption file ``path``, then to the working folder)."""
    if spec.alliance in bundled_alliances():
        return load_alliance(spec.alliance)
    found = find_file(spec.alliance, relative_to=path, where="alliance: ")
    return load_alliance(found if found is not None else spec.alliance)


def load_disruptions(ref: str | Path | dict[str, Any]) -> DisruptionFile:
    """Read and validate a disruption file.

    Raises
    ------
    ScenarioError
        Naming the file, the field path, the bad value and what is allowed.
    """
    return load_document(ref, DisruptionFile, "disruption", bundled_disruptions())
