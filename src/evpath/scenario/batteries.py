"""Scenario blocks for EV batteries, the plants that make them, and their metals."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from evpath.core.dims import METALS, Chemistry, Metal, Powertrain, Step
from evpath.scenario.base import (
    REPLACED_WHOLE,
    Finite,
    Frozen,
    NonNegative,
    Positive,
    Share,
    SharePath,
    Sourced,
    Year,
    check_shares,
    check_shares_by_year,
    within,
)

PackKwh = Annotated[NonNegative, within(0.0, 500.0, "kWh")]
"""Capacity of one car's battery pack [kWh]."""

ChemistryPath = dict[Year, dict[Chemistry, Share]]
"""Shares of pack capacity by chemistry [fraction] by model year."""


class Packs(Sourced):
    """Battery packs of new cars and their cell chemistry.

    ``kwh``: pack capacity by segment and powertrain [kWh], a number or a path by model
    year. ``chemistry``: shares of pack capacity by chemistry [fraction] by model year,
    linear in between and held outside; ``chemistry_by_powertrain`` replaces it for the
    powertrains it names (e.g. hybrids on NiMH). ``fade``: capacity lost per year of age
    [fraction/yr], for the remaining capacity of batteries leaving the fleet.
    """

    kwh: dict[str, dict[Powertrain, PackKwh | dict[Year, PackKwh]]] = Field(
        description="Pack capacity by segment and powertrain [kWh], 0 to 500."
    )
    chemistry: ChemistryPath = Field(min_length=1)
    chemistry_by_powertrain: dict[Powertrain, ChemistryPath] = Field(
        default_factory=dict,
        description="Chemistry shares by model year for single powertrains [fraction]; "
        "the others use 'chemistry'.",
    )
    fade: Annotated[Finite, Field(ge=0.0, le=0.2)] = 0.0

    @field_validator("chemistry")
    @classmethod
    def _shares(cls, path: dict[int, dict[str, float]]) -> dict[int, dict[str, float]]:
        return check_shares_by_year(path, "chemistry shares")

    @field_validator("chemistry_by_powertrain")
    @classmethod
    def _shares_by_powertrain(
        cls, paths: dict[str, dict[int, dict[str, float]]]
    ) -> dict[str, dict[int, dict[str, float]]]:
        for powertrain, path in paths.items():
            if not path:
                msg = f"{powertrain}: no model year; allowed: at least one year of shares"
                raise ValueError(msg)
            check_shares_by_year(path, f"{powertrain} chemistry shares")
        return paths


class PackPrice(Sourced):
    """Pack price by Wright's law on cumulative world battery production.

    price = P_anchor · (cumulative / cumulative_anchor)^(log2(1 − learning_rate)).
    ``learning_rate`` omitted: the rate that joins the bundled 2010 and 2024 BNEF prices
    over the IEA's cumulative world EV battery demand. World demand after the IEA history
    follows ``world_demand`` [GWh/yr] by year, linear in between and held after, or, with
    ``own``, the scenario's own battery demand summed over its regions.
    """

    learning_rate: Annotated[Finite, Field(gt=0.0, lt=0.6)] | None = None
    world_demand: dict[Year, Annotated[Positive, within(0.0, 1e6, "GWh/yr")]] | Literal["own"] = (
        Field(
            min_length=1,
            description="World battery demand by year [GWh/yr], up to 1,000,000; or 'own': "
            "the scenario's own battery demand (for a scenario of the whole world).",
        )
    )


Utilisation = Annotated[Finite, Field(gt=0.0, le=1.0)]
"""Output of a cell plant over its capacity [fraction], above 0 and at most 1."""


class Manufacturing(Sourced):
    """Cell plants needed for the region's battery demand, their lines and equipment.

    capacity needed = demand / utilisation; lines = capacity / line_gwh. Equipment is a
    stock, installed ``lead_years`` before the capacity is needed: it retires after ``equipment_life`` years on average (spread by
    ``equipment_life_spread``, the standard deviation as a share of the mean) and each
    year's additions replace what retires and add what the needed capacity grows by;
    idle capacity is kept until it retires, not scrapped. Equipment investment =
    capacity added × capex per GWh (falling by ``capex_decline`` a year after
    ``capex_year``), split by process step.
    """

    utilisation: Utilisation | dict[Year, Utilisation] = Field(
        description="Cell output over plant capacity [fraction], a number or a path by year."
    )
    line_gwh: Annotated[Positive, within(0.0, 1000.0, "GWh/yr")] = Field(
        description="Output of one production line [GWh/yr], up to 1,000."
    )
    capex_musd_per_gwh: Annotated[Positive, within(0.0, 10000.0, "million USD per GWh/yr")] = Field(
        description="Equipment investment [million USD per GWh/yr], up to 10,000."
    )
    capex_year: Year
    capex_decline: Annotated[Finite, Field(ge=0.0, lt=0.5)] = 0.0
    equipment_life: Annotated[Positive, within(1.0, 40.0, "years")] = Field(
        10.0, description="Mean years cell-making equipment stays in service [years], 1 to 40."
    )
    equipment_life_spread: Annotated[NonNegative, within(0.0, 0.5, "of the mean life")] = Field(
        0.2,
        description="Standard deviation of the equipment's life as a share of its mean "
        "[fraction], 0 (all retires at the mean life) to 0.5.",
    )
    lead_years: Annotated[int, Field(ge=0, le=5)] = Field(
        0,
        description="Years before it is needed that capacity is in place [years], 0 to 5: "
        "equipment in service each year covers the largest need of the next lead_years.",
    )
    steps: Annotated[dict[Step, Share], REPLACED_WHOLE]

    @field_validator("steps")
    @classmethod
    def _shares(cls, shares: dict[str, float]) -> dict[str, float]:
        return check_shares(shares, "process-step shares")


class Recycling(Sourced):
    """Batteries leaving the fleet: used-car exports, second life, collection, recovery.

    Of the batteries in cars leaving the fleet, ``export_share`` leave the country in
    used cars (one share or path for every segment, or one per segment); the rest reach
    recycling after ``second_life_years``; ``collection_rate`` of those are collected and
    ``recovery`` of each metal recovered (secondary supply); the rest is lost.
    """

    export_share: Share | SharePath | dict[str, Share | SharePath] = Field(
        description="Share of the cars leaving the fleet that are exported used [fraction]: "
        "a number or a path by year for every segment, or one per segment."
    )
    second_life_years: Annotated[int, Field(ge=0, le=30)] = 0
    collection_rate: Share
    recovery: dict[Metal, Share]

    @property
    def export_share_by_segment(self) -> dict[str, Share | SharePath] | None:
        """The export shares keyed by segment, or None when one share is for every segment."""
        share = self.export_share
        if isinstance(share, dict) and all(isinstance(k, str) for k in share):
            return share  # type: ignore[return-value]
        return None

    @model_validator(mode="after")
    def _every_metal(self) -> Recycling:
        missing = [m for m in METALS if m not in self.recovery]
        if missing:
            msg = f"recovery: no rate for {missing}; allowed: a rate in [0, 1] for each of {list(METALS)}"
            raise ValueError(msg)
        return self


class Batteries(Frozen):
    """Every input of the battery, manufacturing and materials stages."""

    packs: Packs
    price: PackPrice
    manufacturing: Manufacturing
    recycling: Recycling
