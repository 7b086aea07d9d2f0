"""Scenario block for public charging: chargers needed, connector standards, costs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from evpath.core.dims import CHARGER_TYPES, ChargerType, Standard
from evpath.scenario.base import (
    NonNegative,
    Positive,
    Share,
    Sourced,
    Year,
    check_shares_by_year,
    within,
)

EvsPerCharger = Annotated[Positive, within(0.0, 100_000.0, "EVs per charger")]
ChargerCapex = Annotated[NonNegative, within(0.0, 10_000_000.0, "USD per charger")]
ChargerKw = Annotated[Positive, within(0.0, 1000.0, "kW")]
ChargerCount = Annotated[NonNegative, within(0.0, 100_000_000.0, "chargers")]
LifeSpread = Annotated[NonNegative, within(0.0, 0.5, "of the mean life")]


class Charging(Sourced):
    """Public chargers for the region's electric cars (BEV + PHEV).

    Chargers needed = EV stock / EVs per charger, by type (slow, fast). The ratios of the
    history years are the model's EV stock over the IEA's charger counts, so history is
    reproduced; after it the ratio is held (``hold``), continues its fitted log-linear
    trend of the last ``trend_years`` until ``trend_until`` (``trend``), or follows
    ``ratio_path`` (``path``). ``targets`` (chargers by type and year) are floors: the
    chargers in service rise linearly from the last history year to each target, and after
    the last target year keep that year's EVs per charger, so they grow with the fleet.
    Unless ``allow_decline``, chargers never fall while the EV fleet grows, and fall at
    most in proportion to it when it shrinks. Chargers retire after ``charger_life``
    years on average, spread by ``charger_life_spread`` (standard deviation as a share of
    the mean), and are replaced. Fast chargers are split by connector standard through the
    standards of new installations (``charger_standards``) and a charger lifetime; EVs by
    the inlet standard of their model year (``vehicle_standards``). An EV is stranded when
    it can use (natively, or with an adapter if ``adapters``) less than
    ``access_threshold`` of the region's fast chargers.
    """

    ratio_method: Literal["hold", "trend", "path"] = "trend"
    trend_years: Annotated[int, Field(ge=2, le=15)] = 5
    trend_until: Year = 2035
    ratio_path: dict[ChargerType, dict[Year, EvsPerCharger]] | None = Field(
        None, description="EVs per charger by type and year, for ratio_method 'path'."
    )
    targets: dict[ChargerType, dict[Year, ChargerCount]] | None = Field(
        None,
        description="Chargers in service by type and year [chargers] at least, e.g. a "
        "government target; linear from the last history year, coverage held after.",
    )
    allow_decline: bool = Field(
        False,
        description="true: chargers follow EV stock / EVs per charger even where that falls "
        "while the EV fleet grows; false: they never fall while the fleet grows.",
    )
    charger_life: Annotated[Positive, within(0.5, 40.0, "years")] = Field(
        10.0, description="Mean years a public charger stays in service [years], 0.5 to 40."
    )
    charger_life_spread: LifeSpread = Field(
        0.3,
        description="Standard deviation of a charger's life as a share of its mean "
        "[fraction], 0 (every charger retires at the mean life) to 0.5.",
    )
    charger_standards: dict[Year, dict[Standard, Share]] = Field(min_length=1)
    vehicle_standards: dict[Year, dict[Standard, Share]] = Field(min_length=1)
    adapters: bool = True
    access_threshold: Share = 0.1
    capex_usd: dict[ChargerType, ChargerCapex | dict[Year, ChargerCapex]] = Field(
        description="Investment per charger by type [USD], a number or a path by year; "
        "every charger type needs a value."
    )
    fast_kw: ChargerKw | dict[Year, ChargerKw] = Field(
        description="Mean power of fast chargers in service [kW], up to 1,000."
    )
    public_energy_share: Share = Field(
        description="Share of EV electricity charged at public chargers (rest: home and work)."
    )

    @field_validator("charger_standards", "vehicle_standards")
    @classmethod
    def _sum_to_one(cls, path: dict[int, dict[str, float]]) -> dict[int, dict[str, float]]:
        return check_shares_by_year(path, "standard shares")

    @field_validator("targets")
    @classmethod
    def _target_years(
        cls, targets: dict[str, dict[int, float]] | None
    ) -> dict[str, dict[int, float]] | None:
        empty = [t for t, path in (targets or {}).items() if not path]
        if empty:
            msg = f"no target year for {empty}; allowed: chargers by year, e.g. {{2030: 30000}}"
            raise ValueError(msg)
        return targets

    @field_validator("capex_usd")
    @classmethod
    def _every_charger_type(cls, capex: dict[str, object]) -> dict[str, object]:
        missing = [t for t in CHARGER_TYPES if t not in capex]
        if missing:
            msg = (
                f"no value for {missing}; allowed: a cost in USD for each of {list(CHARGER_TYPES)}"
            )
            raise ValueError(msg)
        return capex

    @model_validator(mode="after")
    def _path_given(self) -> Charging:
        if self.ratio_method == "path" and not self.ratio_path:
            msg = "ratio_method 'path' needs a 'ratio_path:' of EVs per charger by type and year"
            raise ValueError(msg)
        return self
