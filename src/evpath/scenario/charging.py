"""Scenario block for public charging: chargers needed, connector standards, costs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from evpath.core.dims import Standard
from evpath.scenario.base import Positive, Share, Sourced, Year, YearPath, check_shares_by_year


class Charging(Sourced):
    """Public chargers for the region's electric cars (BEV + PHEV).

    Chargers needed = EV stock / EVs per charger, by type (slow, fast). The ratios of the
    history years are the model's EV stock over the IEA's charger counts, so history is
    reproduced; after it the ratio is held (``hold``), continues its fitted log-linear
    trend of the last ``trend_years`` until ``trend_until`` (``trend``), or follows
    ``ratio_path`` (``path``). Fast chargers are split by connector standard through the
    standards of new installations (``charger_standards``) and a charger lifetime; EVs by
    the inlet standard of their model year (``vehicle_standards``). An EV is stranded when
    it can use (natively, or with an adapter if ``adapters``) less than
    ``access_threshold`` of the region's fast chargers.
    """

    ratio_method: Literal["hold", "trend", "path"] = "trend"
    trend_years: Annotated[int, Field(ge=2, le=15)] = 5
    trend_until: Year = 2035
    ratio_path: dict[Literal["slow", "fast"], YearPath] | None = None
    charger_life: Annotated[float, Field(gt=0.0, le=40.0)] = Field(
        10.0, description="Years a public charger stays in service [years]."
    )
    charger_standards: dict[Year, dict[Standard, Share]] = Field(min_length=1)
    vehicle_standards: dict[Year, dict[Standard, Share]] = Field(min_length=1)
    adapters: bool = True
    access_threshold: Share = 0.1
    capex_usd: dict[Literal["slow", "fast"], Positive | YearPath]
    fast_kw: Positive | YearPath = Field(description="Mean power of fast chargers in service [kW].")
    public_energy_share: Share = Field(
        description="Share of EV electricity charged at public chargers (rest: home and work)."
    )

    @field_validator("charger_standards", "vehicle_standards")
    @classmethod
    def _sum_to_one(cls, path: dict[int, dict[str, float]]) -> dict[int, dict[str, float]]:
        return check_shares_by_year(path, "standard shares")
