"""The makers' scope: what a group of carmakers sells in every market it sells in.

A scope file names the makers, the model years, the per-car target and one entry per
market. Each market is a whole-market scenario (its own sales, lifetimes, packs, grid and
fuels); the scope adds the makers' share of that market's new cars and the makers' own
powertrain mix there. evpath then runs every market's model on the makers' cars only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from evpath.core.dims import Powertrain
from evpath.data.makers import maker_history
from evpath.errors import ScenarioError
from evpath.scenario.base import (
    REPLACED_WHOLE,
    Frozen,
    Share,
    SharePath,
    Sourced,
    Year,
    check_shares,
    check_unique,
)
from evpath.scenario.emissions import Target
from evpath.scenario.loader import (
    YAML_SUFFIXES,
    bundled_files,
    bundled_or_file,
    bundled_scenarios,
    find_file,
    load_document,
    read_yaml_mapping,
    resolve_scenario,
)
from evpath.scenario.schema import NAME_LENGTH, NAME_PATTERN, Curve, Scenario, Years

SCOPE_METRICS = (
    "wtw_per_new_car",
    "wtw_per_new_car_lifetime",
    "lifecycle_per_new_car",
    "wtw_per_car",
    "lifecycle_per_car",
)
"""Per-car metrics a scope's target can use: each market's value weighted by the makers'
new cars (per new car) or by their cars on the road (per car)."""

Mix = Annotated[dict[Powertrain, Share], REPLACED_WHOLE]


class MakersShare(Sourced):
    """The makers' share of the market's new cars by year [fraction].

    Linear between the years of ``path`` and held before the first and after the last.
    Unless the path has a year at or before the makers' data year, the share in the data
    year is derived: the makers' sales there (reported or allocated, see
    :class:`Makers`) over the market's new cars.
    """

    path: SharePath | None = Field(
        None, description="Makers' share of the market's new cars by year [fraction]."
    )


class MakersMix(Sourced):
    """The makers' powertrain mix of their new cars in one market [fraction].

    ``market``: the mix of the whole market in each year (the makers sell what the market
    buys). ``path``: mixes by year, each summing to one, moving from one year's mix to the
    next along ``curve`` and held before the first and after the last year.
    """

    method: Literal["market", "path"]
    path: Annotated[dict[Year, Mix], REPLACED_WHOLE] | None = Field(
        None, description="Powertrain shares of the makers' new cars by year [fraction]."
    )
    curve: Curve = Curve(kind="linear")

    @field_validator("path")
    @classmethod
    def _mixes_sum_to_one(cls, path: dict[int, dict[str, float]] | None) -> object:
        for year, mix in (path or {}).items():
            try:
                check_shares(mix, f"{year}: shares")
            except ValueError as exc:
                msg = f"{exc} (powertrains not listed count as 0)"
                raise ValueError(msg) from None
        return path

    @model_validator(mode="after")
    def _path_given(self) -> MakersMix:
        if (self.method == "path") != bool(self.path):
            msg = (
                f"method {self.method!r} with {'a' if self.path else 'no'} path; allowed: "
                "'path' with mixes by year, or 'market' without a path"
            )
            raise ValueError(msg)
        return self


class Market(Frozen):
    """One market of the scope: its whole-market scenario and the makers' place in it."""

    scenario: str = Field(
        description="The market's scenario (bundled name or YAML path); evpath runs it "
        "over the scope's years."
    )
    share: MakersShare
    mix: MakersMix


class Makers(Sourced):
    """The carmakers of the scope and the bundled sales data they are read from.

    Each maker's sales by market are read for its data year, the last year up to the
    markets' history in which it reports a worldwide total (sales, or production where no
    sales total is reported). Where a market figure is not reported, the maker's
    worldwide total less its reported markets is allocated over its unreported markets by
    ``allocation`` (shares over markets; those given for reported markets are ignored).
    """

    history: Literal["japanese-makers"] = Field(
        description="Bundled sales of the makers by market (see `evpath data`)."
    )
    groups: list[str] = Field(min_length=1, description="Maker groups, each once.")
    allocation: dict[str, Annotated[dict[str, Share], REPLACED_WHOLE]] = Field(
        default_factory=dict,
        description="Per maker: its split over markets where no figure is reported [fraction].",
    )

    @field_validator("allocation")
    @classmethod
    def _allocation_sums_to_one(cls, allocation: dict[str, dict[str, float]]) -> object:
        for maker, shares in allocation.items():
            check_shares(shares, f"{maker}: shares")
        return allocation

    @field_validator("groups")
    @classmethod
    def _groups_once(cls, groups: list[str]) -> list[str]:
        return check_unique(groups, "maker group")


class MakersScope(Frozen):
    """A complete, validated makers' scope."""

    name: str = Field(
        description="Names the result files: 1 to 64 lowercase letters, digits, '.', '_' "
        "or '-', starting with a letter or digit."
    )
    description: str
    makers: Makers
    years: Years
    target_year: Year = Field(2050, description="Year by which every new car is electrified.")
    target: Target
    markets: dict[str, Market] = Field(min_length=1, description="Markets by name.")

    @field_validator("name")
    @classmethod
    def _file_name(cls, name: str) -> str:
        if not NAME_PATTERN.fullmatch(name):
            msg = (
                f"got {name[:80]!r}; allowed: 1 to {NAME_LENGTH} lowercase letters, digits, "
                "'.', '_' or '-', starting with a letter or digit (it names the result files)"
            )
            raise ValueError(msg)
        return name

    @model_validator(mode="after")
    def _years_inside(self) -> MakersScope:
        first, last = self.years.start, self.years.end
        for where, year in (
            ("target_year", self.target_year),
            ("target.base_year", self.target.base_year),
            ("target.year", self.target.year),
        ):
            if not first <= year <= last:
                msg = (
                    f"{where}: got {year}; allowed: a model year from years.start ({first}) "
                    f"to years.end ({last})"
                )
                raise ValueError(msg)
        if self.target.metric not in SCOPE_METRICS:
            msg = (
                f"target.metric: got {self.target.metric!r}; allowed: one of "
                f"{list(SCOPE_METRICS)} (per-km metrics have no makers' weighting)"
            )
            raise ValueError(msg)
        return self


# --------------------------------------------------------------------------- loading


def bundled_scopes() -> dict[str, Path]:
    """Bundled makers' scope names and their files."""
    return bundled_files("evpath.scopes")


def scope_reference(ref: object) -> bool:
    """Whether ``ref`` names a makers' scope rather than a scenario: a bundled scope name, a
    scope object, a mapping or YAML file with a top-level ``makers:`` block."""
    if isinstance(ref, MakersScope):
        return True
    if isinstance(ref, Mapping):
        return "makers" in ref
    if isinstance(ref, str) and ref in bundled_scopes():
        return True
    if isinstance(ref, str | Path) and str(ref).endswith(YAML_SUFFIXES):
        path = find_file(ref)
        return path is not None and "makers" in read_yaml_mapping(path)
    return False


def load_scope(ref: str | Path | Mapping[str, Any] | MakersScope) -> ScopeSpec:
    """Read and validate a makers' scope and the scenario of each of its markets.

    Raises
    ------
    ScenarioError
        Naming the file, the field path, the bad value and what is allowed; a market's
        scenario error is prefixed with the market's field path.
    """
    if isinstance(ref, MakersScope):
        scope, where, folder = ref, f"scope {ref.name!r}", None
    elif isinstance(ref, Mapping):
        scope = load_document(dict(ref), MakersScope, "scope", bundled_scopes())
        where, folder = "<scope>", None
    else:
        path = bundled_or_file(ref, bundled_scopes(), "scope")
        scope = load_document(path, MakersScope, "scope", bundled_scopes())
        where, folder = str(path), path
    history = maker_history(scope.makers.history)
    for i, group in enumerate(scope.makers.groups):
        if group not in history.makers:
            msg = f"{where}: makers.groups[{i}]: got {group!r}; allowed: one of {list(history.makers)}"
            raise ScenarioError(msg)
    for maker, shares in scope.makers.allocation.items():
        if maker not in scope.makers.groups:
            msg = f"{where}: makers.allocation.{maker}: not a maker of makers.groups {scope.makers.groups}"
            raise ScenarioError(msg)
        for label in shares:
            if label not in history.markets:
                msg = (
                    f"{where}: makers.allocation.{maker}.{label}: unknown market; allowed: "
                    f"one of {list(history.markets)}"
                )
                raise ScenarioError(msg)
    markets: dict[str, Scenario] = {}
    seen: dict[str, str] = {}
    for name, market in scope.markets.items():
        if name not in history.markets:
            msg = (
                f"{where}: markets.{name}: unknown market; allowed: one of {list(history.markets)}"
            )
            raise ScenarioError(msg)
        markets[name] = _market_scenario(scope, name, market, folder, where)
        for region in markets[name].regions:
            if region in seen:
                msg = (
                    f"{where}: markets.{name}.scenario: region {region!r} is already in market "
                    f"{seen[region]!r}; allowed: markets whose regions do not overlap"
                )
                raise ScenarioError(msg)
            seen[region] = name
    return ScopeSpec(scope=scope, markets=markets)


def _market_scenario(
    scope: MakersScope, name: str, market: Market, folder: Path | None, where: str
) -> Scenario:
    """The market's scenario up to the scope's last year (from its own first year, so that
    its fleet is the one it models alone), without chargers or draws."""
    ref: str | Path = market.scenario
    if market.scenario not in bundled_scenarios():
        found = find_file(market.scenario, folder, f"{where}: markets.{name}.scenario: ")
        ref = found.resolve() if found is not None else market.scenario
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    try:
        scenario = resolve_scenario(
            {
                "extends": str(ref),
                "name": f"{scope.name}.{slug}"[:NAME_LENGTH],
                "years": {"end": scope.years.end},
                "charging": None,
                "uncertainty": None,
            }
        )
    except ScenarioError as exc:
        msg = f"{where}: markets.{name}.scenario ({market.scenario}): {exc}"
        raise ScenarioError(msg) from None
    if scenario.years.start > scope.years.start:
        msg = (
            f"{where}: markets.{name}.scenario: starts in {scenario.years.start}; allowed: a "
            f"market scenario starting no later than the scope's years.start ({scope.years.start})"
        )
        raise ScenarioError(msg)
    missing = [b for b in ("batteries", "emissions") if getattr(scenario, b) is None]
    if missing:
        msg = (
            f"{where}: markets.{name}.scenario: got {market.scenario!r} without "
            f"{' and '.join(missing)}; allowed: a market scenario with 'batteries' and "
            "'emissions' blocks (the scope's per-car target needs them)"
        )
        raise ScenarioError(msg)
    return scenario


@dataclass(frozen=True)
class ScopeSpec:
    """A validated scope and its markets' scenarios (over the scope's years)."""

    scope: MakersScope
    markets: dict[str, Scenario]
