"""The scenario schema: what a user writes in a scenario YAML file.

Frozen pydantic models. Every number that is not read from a bundled dataset is an
assumption and must say why, through ``source:`` or ``note:`` on the block holding it.
Units are stated in each field's description.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from evpath.core.dims import Powertrain
from evpath.core.paths import interpolate_path
from evpath.data.histories import HISTORIES
from evpath.scenario.base import (
    REPLACED_WHOLE,
    Finite,
    Frozen,
    LifetimeParam,
    NonNegative,
    Positive,
    ShapeParam,
    Share,
    SharePath,
    Sourced,
    SpreadParam,
    Year,
    check_shares,
    check_unique,
    shown_name,
    within,
)
from evpath.scenario.batteries import Batteries
from evpath.scenario.charging import Charging
from evpath.scenario.emissions import Emissions
from evpath.scenario.uncertainty import Uncertainty


class Years(Frozen):
    """Model period [calendar years]."""

    start: Year = Field(description="First model year (sales and stock computed from here).")
    history_end: Year = Field(description="Last year of historical sales; projections follow.")
    end: Year = Field(description="Last model year.")

    @model_validator(mode="after")
    def _ordered(self) -> Years:
        if not self.start < self.history_end < self.end:
            msg = (
                f"years out of order: start={self.start}, history_end={self.history_end}, "
                f"end={self.end}; allowed: start < history_end < end"
            )
            raise ValueError(msg)
        return self


class TotalSales(Sourced):
    """Projection of total new passenger-car sales after ``history_end`` [vehicles/yr]."""

    method: Literal["growth", "path"] = Field(
        description="'growth': constant annual rate from the last historical year; "
        "'path': explicit values by year, linear in between."
    )
    rate: Annotated[Finite, Field(ge=-0.5, le=0.5)] = Field(
        0.0, description="Annual growth rate of total sales [1/yr] for method 'growth'."
    )
    path: dict[Year, Annotated[Positive, within(0.0, 1e9, "vehicles/yr")]] | None = Field(
        None,
        description="Total sales by year [vehicles/yr] for method 'path'; more than 0 (a "
        "year without new cars has no sales mix and no per-new-car figures).",
    )

    @model_validator(mode="after")
    def _path_given(self) -> TotalSales:
        if self.method == "path" and not self.path:
            msg = "method 'path' needs a 'path:' of total sales by year (vehicles/yr)"
            raise ValueError(msg)
        return self


class Curve(Frozen):
    """Shape of the move from one share milestone to the next.

    Every powertrain's share moves along the same normalised curve f(τ), τ ∈ [0, 1]:
    share(t) = a + (b − a)·f(τ), so shares stay in [0, 1] and keep summing to one.
    """

    kind: Literal["linear", "logistic", "bass"] = Field(
        "logistic", description="linear: f(τ)=τ; logistic: S-curve; bass: Bass diffusion."
    )
    steepness: Annotated[Finite, Field(gt=0.0, le=50.0)] = Field(
        8.0, description="Logistic steepness over one milestone interval [dimensionless]."
    )
    p: Annotated[Finite, Field(gt=0.0, le=1.0)] = Field(
        0.03, description="Bass coefficient of innovation [1/yr]."
    )
    q: Annotated[Finite, Field(ge=0.0, le=2.0)] = Field(
        0.38, description="Bass coefficient of imitation [1/yr]."
    )


class ShareMilestone(Sourced):
    """Powertrain shares of new sales reached in ``year`` [fraction of sales].

    Powertrains not listed have share 0. Listed shares must sum to 1 within
    ``SHARE_TOLERANCE``; evpath never renormalises.
    """

    year: Year
    segment: str | None = Field(
        None, description="Segment the milestone applies to; omitted: every segment."
    )
    shares: dict[Powertrain, Share]

    @field_validator("shares")
    @classmethod
    def _sum_to_one(cls, shares: dict[str, float]) -> dict[str, float]:
        try:
            return check_shares(shares)
        except ValueError as exc:
            msg = f"{exc} (powertrains not listed count as 0)"
            raise ValueError(msg) from None


class SegmentSplit(Sourced):
    """Share of each segment in total new sales after ``history_end`` [fraction].

    ``hold`` keeps the last historical split; otherwise give a path by year for every
    segment but one (the last segment takes the rest).
    """

    method: Literal["hold", "path"] = "hold"
    path: dict[str, SharePath] | None = Field(
        None, description="Share of new sales by segment and year [fraction]."
    )


class Sales(Frozen):
    """New passenger-car sales: history, total projection and powertrain shares."""

    history: str = Field(description="Bundled sales history to start from, e.g. 'japan'.")
    total: TotalSales
    segment_split: SegmentSplit
    milestones: list[ShareMilestone] = Field(default_factory=list)
    curve: Curve = Curve()


TREND_SLOPE_LIMIT = 1.0
"""Largest change of the mean lifetime per cohort year a trend may have [years/yr]."""


class MeanTrend(Frozen):
    """The mean lifetime's trend after the last cohort of its path.

    A cohort c after the path's last cohort L has the mean
    mean(L) + slope · (min(c, through) − L): the trend runs through cohort ``through``
    and later cohorts keep the mean of that cohort.
    """

    slope: Annotated[
        Finite, within(-TREND_SLOPE_LIMIT, TREND_SLOPE_LIMIT, "years per cohort year")
    ] = Field(description="Change of the mean lifetime per cohort year [years/yr], -1 to 1.")
    through: Year = Field(
        description="Last cohort the trend runs to; later cohorts keep its mean [year]."
    )


class Lifetime(Sourced):
    """Lifetime distribution of cars [years], optionally changing by cohort.

    Parameters are a number, or a path by cohort year (linear in between, flat outside).
    Which parameters a model needs: fixed: mean; normal, folded_normal, lognormal:
    mean and std; weibull: shape and either scale or mean; empirical: survival, the
    fraction of a cohort left at the end of the year it reaches each age, linear between
    the ages given and zero after the last one. ``mean_trend`` continues a ``mean`` path
    after its last cohort instead of holding it flat (see :class:`MeanTrend`).
    """

    model: Literal["fixed", "normal", "folded_normal", "lognormal", "weibull", "empirical"]
    mean: LifetimeParam | None = Field(None, description="Mean lifetime [years], 0.5 to 100.")
    std: SpreadParam | None = Field(None, description="Standard deviation [years], > 0 to 100.")
    shape: ShapeParam | None = Field(None, description="Weibull shape [dimensionless], 0.1 to 20.")
    scale: LifetimeParam | None = Field(None, description="Weibull scale [years], 0.5 to 100.")
    survival: dict[Annotated[int, Field(ge=0, le=150)], Share] | None = Field(
        None, description="Survival fraction by age [years -> fraction], from age 0."
    )
    inflow_at: Literal["start", "middle", "end"] = Field(
        "middle", description="When in the year new cars enter the fleet."
    )
    mean_trend: MeanTrend | None = Field(
        None, description="Trend of the mean after the last cohort of its path; omitted: flat."
    )

    @model_validator(mode="after")
    def _parameters_match_model(self) -> Lifetime:
        needed = {
            "fixed": ("mean",),
            "normal": ("mean", "std"),
            "folded_normal": ("mean", "std"),
            "lognormal": ("mean", "std"),
            "weibull": ("shape", "mean" if self.mean is not None else "scale"),
            "empirical": ("survival",),
        }[self.model]
        for name in ("mean", "std", "shape", "scale", "survival"):
            given = getattr(self, name) is not None
            if name in needed and not given:
                msg = f"lifetime model {self.model!r} needs '{name}'; it takes {list(needed)}"
                raise ValueError(msg)
            if name not in needed and given:
                msg = f"lifetime model {self.model!r} takes no '{name}'; it takes {list(needed)}"
                raise ValueError(msg)
        if self.survival is not None:
            ages = sorted(self.survival)
            values = [self.survival[a] for a in ages]
            if ages[0] != 0:
                msg = f"survival: first age is {ages[0]}; allowed: a table starting at age 0"
                raise ValueError(msg)
            rising = [
                a
                for a, before, after in zip(ages[1:], values, values[1:], strict=False)
                if after > before
            ]
            if rising:
                msg = (
                    f"survival: rises at age {rising[0]}; allowed: fractions that never "
                    "increase with age"
                )
                raise ValueError(msg)
        if self.mean_trend is not None:
            self._check_trend(self.mean_trend)
        return self

    def _check_trend(self, trend: MeanTrend) -> None:
        """The trend continues a ``mean`` path and keeps the mean within its domain."""
        if not isinstance(self.mean, dict):
            got = "no 'mean'" if self.mean is None else f"one mean for every cohort ({self.mean:g})"
            msg = (
                f"mean_trend: the lifetime has {got}; allowed: a trend after the last cohort "
                "of a 'mean' path ({cohort year: years}), or 'mean_trend: null' for none"
            )
            raise ValueError(msg)
        last = max(self.mean)
        if trend.through < last:
            msg = (
                f"mean_trend.through: {trend.through} is before the last cohort of 'mean' "
                f"({last}); allowed: a cohort year from {last} on"
            )
            raise ValueError(msg)
        reached = self.mean[last] + trend.slope * (trend.through - last)
        if not 0.5 <= reached <= 100.0:
            msg = (
                f"mean_trend: the mean reaches {reached:.4g} years at cohort {trend.through} "
                f"({self.mean[last]:g} in {last}, {trend.slope:+g} a year); allowed: 0.5 to "
                "100 years"
            )
            raise ValueError(msg)


class InitialStock(Sourced):
    """Cars on the road at the end of the year before ``years.start``.

    Its age profile is that of a fleet whose past sales grew at ``past_sales_growth`` a
    year: stock(age) = sales(start) · (1 + g)^(−(age + 1)) · S(age), S being the survival
    of the first model cohort. ``total`` rescales that profile to given totals per segment;
    without it the totals follow from the first year's sales.
    """

    total: dict[str, Annotated[NonNegative, within(0.0, 1e10, "vehicles")]] | None = Field(
        None, description="Cars on the road per segment [vehicles]; omitted: from past sales."
    )
    past_sales_growth: Annotated[Finite, Field(ge=-0.3, le=0.3)] = Field(
        0.0, description="Annual growth of sales before the model start [1/yr]."
    )
    max_age: Annotated[int, Field(ge=1, le=100)] = Field(
        40, description="Oldest age class of the initial stock [years]."
    )
    powertrain_shares: Annotated[dict[Powertrain, Share], REPLACED_WHOLE] = Field(
        description="Powertrain split of the initial stock [fraction]."
    )

    @field_validator("powertrain_shares")
    @classmethod
    def _sum_to_one(cls, shares: dict[str, float]) -> dict[str, float]:
        return ShareMilestone._sum_to_one(shares)


class Fleet(Frozen):
    """The stock model: lifetimes by segment and the stock already on the road."""

    lifetime: Lifetime
    lifetime_by_segment: dict[str, Lifetime] = Field(
        default_factory=dict,
        description="Overrides of 'lifetime' for single segments (null: none).",
    )

    @field_validator("lifetime_by_segment", mode="before")
    @classmethod
    def _null_is_none(cls, value: object) -> object:
        return {} if value is None else value

    initial_stock: InitialStock


class Scenario(Frozen):
    """A complete, validated evpath scenario."""

    name: str = Field(
        description="Names the result files: 1 to 64 lowercase letters, digits, '.', '_' "
        "or '-', starting with a letter or digit."
    )
    description: str
    extends: str | None = Field(None, description="Scenario this one overrides (name or path).")
    regions: list[str] = Field(min_length=1, description="Regions of the history, each once.")
    years: Years
    sales: Sales
    fleet: Fleet
    target_year: Year = Field(2050, description="Year by which every new car is electrified.")
    batteries: Batteries | None = Field(
        None, description="Packs, pack price, cell plants and recycling; omitted: none."
    )
    emissions: Emissions | None = Field(
        None, description="Activity, energy, grid and emissions inputs; omitted: fleet only."
    )
    charging: Charging | None = Field(
        None, description="Public chargers and connector standards; omitted: none."
    )
    uncertainty: Uncertainty | None = Field(
        None,
        description="Distributions and alternatives that `evpath ensemble` draws; "
        "`evpath run` uses the scenario's own values.",
    )

    @field_validator("name")
    @classmethod
    def _file_name(cls, name: str) -> str:
        if not NAME_PATTERN.fullmatch(name):
            shown = shown_name(name)
            msg = (
                f"got {shown}; allowed: 1 to {NAME_LENGTH} lowercase letters, digits, '.', "
                "'_' or '-', starting with a letter or digit (it names the result files)"
            )
            raise ValueError(msg)
        return name

    @field_validator("regions")
    @classmethod
    def _regions_once(cls, regions: list[str]) -> list[str]:
        return check_unique(regions, "region")

    @model_validator(mode="after")
    def _years_inside_model(self) -> Scenario:
        first, last = self.years.start, self.years.end
        uses = [("target_year", self.target_year)]
        if self.emissions is not None:
            target = self.emissions.target
            uses += [
                ("emissions.target.base_year", target.base_year),
                ("emissions.target.year", target.year),
                ("emissions.activity.calibration_year", self.emissions.activity.calibration_year),
            ]
        for where, year in uses:
            if not first <= year <= last:
                msg = (
                    f"{where}: got {year}; allowed: a model year from years.start ({first}) "
                    f"to years.end ({last})"
                )
                raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _emissions_need_packs(self) -> Scenario:
        if self.emissions is not None and self.batteries is None:
            msg = (
                "emissions: the vehicle cycle needs battery pack sizes; allowed: add a "
                "'batteries' block (batteries.packs.kwh) or drop 'emissions'"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _milestones_fit_years(self) -> Scenario:
        last: dict[str | None, int] = {}
        for i, milestone in enumerate(self.sales.milestones):
            where = f"sales.milestones[{i}].year"
            if not self.years.history_end < milestone.year <= self.years.end:
                msg = (
                    f"{where}: got {milestone.year}; allowed: a year after history_end "
                    f"({self.years.history_end}) and no later than end ({self.years.end})"
                )
                raise ValueError(msg)
            previous = last.get(milestone.segment)
            if previous is not None and milestone.year <= previous:
                msg = (
                    f"{where}: got {milestone.year} after {previous}; allowed: milestone years "
                    "strictly increasing (per segment)"
                )
                raise ValueError(msg)
            last[milestone.segment] = milestone.year
        return self

    @model_validator(mode="after")
    def _paths_after_history(self) -> Scenario:
        history_end = self.years.history_end
        _years_from(
            "sales.total.path",
            self.sales.total.path or {},
            history_end,
            f"a year from years.history_end ({history_end}) on (the sales before it are "
            "the history's, which the path does not change)",
        )
        targets = {} if self.charging is None else self.charging.targets or {}
        for kind, path in targets.items():
            _years_from(
                f"charging.targets.{kind}",
                path,
                history_end + 1,
                f"a target year after years.history_end ({history_end}), when the chargers "
                "are no longer observed",
            )
        return self

    @model_validator(mode="after")
    def _known_to_history(self) -> Scenario:
        spec = HISTORIES.get(self.sales.history)
        if spec is None:
            msg = f"sales.history: got {self.sales.history!r}; allowed: one of {sorted(HISTORIES)}"
            raise ValueError(msg)
        for i, region in enumerate(self.regions):
            if region not in spec.regions:
                msg = f"regions[{i}]: got {region!r}; allowed: {_choices(region, spec.regions)}"
                raise ValueError(msg)
        if not spec.first_year <= self.years.start:
            msg = (
                f"years.start: got {self.years.start}; allowed: {spec.first_year} or later "
                f"(first year of the {spec.name!r} sales history)"
            )
            raise ValueError(msg)
        if not self.years.history_end <= spec.last_year:
            msg = (
                f"years.history_end: got {self.years.history_end}; allowed: {spec.last_year} or "
                f"earlier (last year of the {spec.name!r} sales history)"
            )
            raise ValueError(msg)
        segment_uses = [
            (f"sales.milestones[{i}].segment", m.segment)
            for i, m in enumerate(self.sales.milestones)
            if m.segment is not None
        ]
        segment_uses += [
            (f"fleet.lifetime_by_segment.{s}", s) for s in self.fleet.lifetime_by_segment
        ]
        totals = self.fleet.initial_stock.total
        segment_uses += [(f"fleet.initial_stock.total.{s}", s) for s in totals or {}]
        segment_uses += [
            (f"sales.segment_split.path.{s}", s) for s in (self.sales.segment_split.path or {})
        ]
        if self.batteries is not None:
            segment_uses += [(f"batteries.packs.kwh.{s}", s) for s in self.batteries.packs.kwh]
            exports = self.batteries.recycling.export_share_by_segment
            if exports is not None:
                where = "batteries.recycling.export_share"
                segment_uses += [(f"{where}.{s}", s) for s in exports]
                _every_segment(
                    where,
                    exports,
                    spec.segments,
                    "no share",
                    "a share or path for",
                    ", or one for all",
                )
        if self.emissions is not None:
            annual_km = self.emissions.activity.annual_km
            segment_uses += [(f"emissions.activity.annual_km.{s}", s) for s in annual_km]
            _every_segment(
                "emissions.activity.annual_km",
                annual_km,
                spec.segments,
                "no value",
                "a distance in km/yr for",
            )
        for where, segment in segment_uses:
            if segment not in spec.segments:
                msg = f"{where}: got {segment!r}; allowed: one of {list(spec.segments)}"
                raise ValueError(msg)
        if totals is not None:
            _every_segment(
                "fleet.initial_stock.total",
                totals,
                spec.segments,
                "no value",
                "a number of vehicles for",
            )
        future = np.arange(self.years.history_end + 1, self.years.end + 1)
        _check_segment_split(self.sales.segment_split, spec.segments, future)
        return self


def _years_from(where: str, path: Mapping[int, object], first: int, allowed: str) -> None:
    """ValueError naming the earliest year of ``path`` before ``first``."""
    early = [year for year in path if year < first]
    if early:
        year = min(early)
        msg = f"{where}[{year}]: got {year}; allowed: {allowed}"
        raise ValueError(msg)


def _every_segment(
    where: str,
    given: Mapping[str, object],
    segments: tuple[str, ...],
    lacking: str,
    allowed: str,
    otherwise: str = "",
) -> None:
    """ValueError naming the segments of the history that ``given`` has no entry for."""
    unset = [s for s in segments if s not in given]
    if unset:
        msg = (
            f"{where}: {lacking} for {unset}; allowed: {allowed} every segment of "
            f"{list(segments)}{otherwise}"
        )
        raise ValueError(msg)


def _check_segment_split(split: SegmentSplit, segments: tuple[str, ...], years: np.ndarray) -> None:
    """A path for every segment but one, and listed shares summing to at most 1 in ``years``."""
    if split.method != "path":
        return
    given = split.path or {}
    rest = [s for s in segments if s not in given]
    if len(rest) != 1:
        msg = (
            f"sales.segment_split.path: got paths for {sorted(given)}; allowed: a path for "
            f"every segment but one of {list(segments)} (that one takes the rest)"
        )
        raise ValueError(msg)
    total = sum(
        (interpolate_path(dict(path), years) for path in given.values()), np.zeros(len(years))
    )
    over = years[total > 1.0]
    if over.size:
        msg = (
            f"sales.segment_split.path: segment shares sum to more than 1 in {int(over[0])}; "
            "allowed: shares of the listed segments summing to at most 1"
        )
        raise ValueError(msg)


NAME_LENGTH = 64
NAME_PATTERN = re.compile(rf"[a-z0-9][a-z0-9_.-]{{0,{NAME_LENGTH - 1}}}")


def _choices(value: str, allowed: tuple[str, ...], shown: int = 8) -> str:
    """'one of [...]' for short lists; the closest names and the count for long ones."""
    if len(allowed) <= shown:
        return f"one of {list(allowed)}"
    close = difflib.get_close_matches(value, allowed, n=3, cutoff=0.5)
    hint = f"did you mean {close}? " if close else ""
    return (
        f"{hint}one of {len(allowed)} regions of this history ({', '.join(allowed[:shown])}, ...)"
    )
