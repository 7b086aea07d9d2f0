"""The alliance file: carmakers buying one battery metal together.

Frozen pydantic models, like the scenario schema. Every number that is not read from a
bundled dataset or an evpath run is an assumption and must say why, through ``source:``
or ``note:`` on the block that holds it. Units are in each field's description.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, Field, field_validator, model_validator

from evpath.core.dims import Metal
from evpath.core.paths import values_at
from evpath.scenario.base import (
    Finite,
    Frozen,
    NonNegative,
    Positive,
    Share,
    Sourced,
    Year,
    shown_name,
    within,
)
from evpath.scenario.loader import YAML_SUFFIXES, bundled_files, bundled_scenarios, load_document

KG_PER_T = 1000.0

MAX_TONNES = 1e9
"""Largest demand, capacity or volume [t/yr]: above world production of any battery metal."""
Tonnes = Annotated[NonNegative, within(0.0, MAX_TONNES, "t/yr")]
PositiveTonnes = Annotated[Positive, within(0.0, MAX_TONNES, "t/yr")]
Price = Annotated[Positive, within(0.0, 1e7, "in the file's price_unit")]
Usd = Annotated[NonNegative, within(0.0, 1e12, "USD")]
PriceFactor = Annotated[Positive, within(0.0, 100.0, "times the tier prices")]
UsdPerTonne = Annotated[NonNegative, within(0.0, 1e9, "USD/t")]

NAME_LENGTH = 64
FORMULA_STARTS = ("=", "+", "-", "@")
"""First characters that make a spreadsheet read a cell as a formula: names go into the
CSV and Excel files users open, so a name may not start with one."""
_NOT_A_FORMULA = (
    f"not starting with {', '.join(map(repr, FORMULA_STARTS[:-1]))} or {FORMULA_STARTS[-1]!r}"
)


def _safe_name(name: str) -> str:
    """A member, supplier or alliance name that can be part of a file name and of a
    spreadsheet cell."""
    bad = (
        not name.strip()
        or name != name.strip()
        or len(name) > NAME_LENGTH
        or "/" in name
        or "\\" in name
        or ".." in name
        or not name.isprintable()
        or name.startswith(FORMULA_STARTS)
    )
    if bad:
        shown = shown_name(name)
        msg = (
            f"got {shown}; allowed: 1 to {NAME_LENGTH} printable characters without '/', "
            f"'\\' or '..', {_NOT_A_FORMULA}, and no space at either end (names become "
            "part of file names and spreadsheet cells)"
        )
        raise ValueError(msg)
    return name


def _cell_text(text: str) -> str:
    """A name shown in spreadsheet cells: printable, and not read as a formula."""
    if not text.strip() or not text.isprintable() or text.startswith(FORMULA_STARTS):
        msg = (
            f"got {shown_name(text)}; allowed: printable text, {_NOT_A_FORMULA} (it becomes "
            "a spreadsheet cell)"
        )
        raise ValueError(msg)
    return text


SafeName = Annotated[str, AfterValidator(_safe_name)]
CellText = Annotated[str, AfterValidator(_cell_text), Field(max_length=NAME_LENGTH)]

PRODUCTION_METALS = ("cobalt", "nickel", "lithium", "graphite")
"""Metals whose supplier capacity can be a share of USGS mine production, read through
:mod:`evpath.data.usgs` [t contained metal/yr]."""


class YearRange(Frozen):
    """Consecutive calendar years from ``start`` to ``end``, both included."""

    start: Year
    end: Year

    @model_validator(mode="after")
    def _ordered(self) -> YearRange:
        if self.end < self.start:
            msg = f"end {self.end} is before start {self.start}; allowed: start <= end"
            raise ValueError(msg)
        return self


class RunShare(Frozen):
    """A member's demand as a share of a variable of an evpath run [t/yr].

    demand(year) = ``share`` × ``variable``(region, metal, year) of scenario ``scenario``
    at ``region``; or, for a makers' scope run, ``share`` × the sum of
    ``variable``(maker, metal, year) over the member's ``makers``.
    """

    scenario: str = Field(description="Bundled scenario or scope name, or YAML path, to run.")
    variable: str = Field(
        "metal_primary_demand",
        description="Run variable with dims (region, metal, year) or (maker, metal, year) [t/yr].",
    )
    region: str | None = Field(None, description="Region of the run, e.g. 'JPN'.")
    makers: list[str] | None = Field(
        None, min_length=1, description="Maker groups of a makers' scope run, e.g. ['Toyota']."
    )
    share: Share = Field(description="Member's share of the variable [fraction].")

    @field_validator("scenario")
    @classmethod
    def _scenario_reference(cls, scenario: str) -> str:
        """A bundled name, or a YAML file (as a scenario's ``extends:``): a reference in a
        file never reads a file of another kind."""
        bundled = {*bundled_scenarios(), *bundled_files("evpath.scopes")}
        if scenario not in bundled and Path(scenario).suffix not in YAML_SUFFIXES:
            msg = "allowed: a bundled scenario or makers' scope name, or a .yaml or .yml file"
            raise ValueError(msg)
        return scenario

    @field_validator("makers")
    @classmethod
    def _each_maker_once(cls, makers: list[str] | None) -> list[str] | None:
        if makers is not None and len(set(makers)) < len(makers):
            repeated = sorted({m for m in makers if makers.count(m) > 1})
            msg = f"makers repeated: {', '.join(repeated)}; allowed: each maker once"
            raise ValueError(msg)
        return makers

    @model_validator(mode="after")
    def _region_or_makers(self) -> RunShare:
        if (self.region is None) == (self.makers is None):
            msg = (
                "give exactly one of 'region:' (a scenario run) or 'makers:' (a makers' scope run)"
            )
            raise ValueError(msg)
        return self

    @property
    def rows(self) -> tuple[str, list[str]]:
        """The run's dimension the member's demand is read along, and its labels."""
        if self.makers is not None:
            return "maker", list(self.makers)
        assert self.region is not None  # the validator requires one of them
        return "region", [self.region]


class Member(Sourced):
    """A carmaker in the alliance and its demand for the metal [t/yr].

    Give exactly one of ``demand`` (t/yr by year, linear between the years given; every
    alliance year must lie within them) or ``share_of_run``.
    """

    name: SafeName
    demand: dict[Year, Tonnes] | None = Field(None, description="Demand by year [t/yr].")
    share_of_run: RunShare | None = None

    @model_validator(mode="after")
    def _one_demand(self) -> Member:
        if (self.demand is None) == (self.share_of_run is None):
            msg = "give exactly one of 'demand:' (t/yr by year) or 'share_of_run:'"
            raise ValueError(msg)
        if self.demand is not None and not self.demand:
            msg = "'demand:' is empty; allowed: t/yr by year, e.g. {2025: 120, 2030: 300}"
            raise ValueError(msg)
        return self


class ProductionShare(Frozen):
    """Capacity as a share of a country's mine production in a bundled USGS dataset.

    capacity = ``share`` × production of ``country`` in ``year`` [t/yr], the same every
    alliance year.
    """

    production_of: str = Field(description="Country as spelled in the USGS dataset.")
    year: Year = Field(2023, description="Data year of the production figure.")
    share: Share = Field(description="Share of that production open to the buyer [fraction].")


class Tier(Frozen):
    """One price bracket: ``price`` applies to the volume up to ``up_to`` [t/yr]."""

    up_to: PositiveTonnes | None = Field(
        description="Upper end of the bracket [t/yr per buyer and year]; null: no upper end."
    )
    price: Price = Field(description="Price in the bracket [the file's price_unit].")


class Supplier(Sourced):
    """A seller of the metal: capacity, price tiers, contract terms and risk.

    Tiers are **incremental** volume discounts: each bracket's price applies only to the
    tonnes inside that bracket, so the cost of a volume is a piecewise-linear, concave
    (for discounts) function of the volume bought from this supplier in a year.
    """

    name: SafeName
    country: CellText = Field(description="Producing country, for the country cap and shares.")
    capacity: PositiveTonnes | dict[Year, Tonnes] | ProductionShare = Field(
        description="Volume the supplier can sell to the alliance [t/yr]: a number, a path "
        "by year (linear between the years given, flat outside) or a share of production."
    )
    tiers: list[Tier] = Field(min_length=1)
    min_order: Tonnes = Field(
        0.0, description="Smallest volume a buyer may take if it buys at all [t/yr]."
    )
    fixed_cost: Usd = Field(
        0.0, description="Contract cost of buying from this supplier in a year [USD/yr]."
    )
    risk: Share = Field(0.0, description="Supply risk score [0 = none, 1 = highest].")
    price_index: dict[Year, PriceFactor] | None = Field(
        None,
        description="Factor on every tier price by year [-], linear between the years given "
        "and flat outside (a price path; e.g. {2025: 1.0, 2035: 0.8}); null: the tier prices "
        "hold in every year.",
    )

    @field_validator("price_index")
    @classmethod
    def _index_given(cls, index: dict[int, float] | None) -> dict[int, float] | None:
        if index is not None and not index:
            msg = "price_index is empty; allowed: factors by year, e.g. {2025: 1.0, 2035: 0.8}"
            raise ValueError(msg)
        return index

    @field_validator("tiers")
    @classmethod
    def _tiers_ordered(cls, tiers: list[Tier]) -> list[Tier]:
        ends = [t.up_to for t in tiers]
        if ends[-1] is not None or any(e is None for e in ends[:-1]):
            msg = (
                f"up_to values {ends}: allowed: numbers for every tier but the last, "
                "and null (no upper end) for the last"
            )
            raise ValueError(msg)
        finite = [e for e in ends if e is not None]
        if any(b <= a for a, b in pairwise(finite)):
            msg = f"up_to values {finite} [t/yr]; allowed: strictly increasing"
            raise ValueError(msg)
        prices = [t.price for t in tiers]
        if any(b > a for a, b in pairwise(prices)):
            msg = (
                f"prices {prices}: allowed: non-increasing from one tier to the next (volume "
                "discounts; a rising price would make buying together cost more)"
            )
            raise ValueError(msg)
        return tiers


class Stockpile(Frozen):
    """Strategic stock held by each buyer [months of its own demand].

    From year ``by`` on, the stock at the end of each year is at least
    ``months`` / 12 × that year's demand; before ``by`` there is no floor, so the
    optimiser chooses when to build it up.
    """

    months: Annotated[Finite, Field(ge=0.0, le=60.0)] = Field(description="Target [months].")
    by: Year = Field(description="First year the target must be held.")


class Policy(Sourced):
    """Rules every buyer (a member alone, or the alliance) follows in every year."""

    country_cap: Annotated[Finite, Field(gt=0.0, le=1.0)] = Field(
        1.0,
        description="Largest share of a buyer's purchases in a year from one country "
        "[fraction]; 1 means no cap.",
    )
    min_suppliers: Annotated[int, Field(ge=0, le=1000)] = Field(
        0, description="Fewest suppliers a buyer must buy from in every year."
    )
    stockpile: Stockpile | None = None
    holding_cost: UsdPerTonne = Field(
        0.0, description="Cost of holding one tonne in stock for one year [USD/(t·yr)]."
    )
    min_volume_per_supplier: Tonnes = Field(
        1.0,
        description="Smallest volume a buyer must take from a supplier in a year for the "
        "supplier to count towards min_suppliers [t/yr] (the supplier's min_order, if "
        "larger, applies instead).",
    )
    leftover_value: Annotated[NonNegative, within(0.0, 1e7, "in the file's price_unit")] = Field(
        0.0,
        description="Value credited for each tonne of stock left at the end of the last "
        "year [the file's price_unit]; 0: leftover stock is worth nothing.",
    )
    discount_rate: Annotated[NonNegative, within(0.0, 0.5, "1/yr")] = Field(
        0.0,
        description="Rate at which every cost is discounted to the first planned year "
        "[1/yr]: a cost in year t counts (1 + rate)^-(t - first year); 0: undiscounted.",
    )
    objective: Literal["cost", "cost_plus_risk"] = Field(
        "cost",
        description="'cost': purchase and contract cost; 'cost_plus_risk' adds "
        "risk_weight × risk × tonnes bought.",
    )
    risk_weight: UsdPerTonne = Field(
        0.0,
        description="Penalty per tonne per unit of risk score [USD/t], for "
        "objective 'cost_plus_risk'.",
    )

    @model_validator(mode="after")
    def _risk_weight_used(self) -> Policy:
        if self.objective == "cost" and self.risk_weight > 0:
            msg = (
                f"risk_weight {self.risk_weight:g} is ignored with objective 'cost'; "
                "allowed: objective 'cost_plus_risk', or no risk_weight"
            )
            raise ValueError(msg)
        return self


class Alliance(Frozen):
    """A joint procurement alliance for one metal: members, suppliers and policy."""

    name: SafeName
    description: str = ""
    metal: Metal
    years: YearRange | list[Year] = Field(description="Consecutive years planned [yr].")
    price_unit: Literal["USD/kg", "USD/t"] = Field(description="Unit of every tier price.")
    members: list[Member] = Field(min_length=1)
    suppliers: list[Supplier] = Field(min_length=1)
    policy: Policy

    @field_validator("years")
    @classmethod
    def _consecutive(cls, years: YearRange | list[int]) -> YearRange | list[int]:
        if isinstance(years, list):
            if not years:
                msg = "no years given; allowed: a list of consecutive years or {start, end}"
                raise ValueError(msg)
            if any(b != a + 1 for a, b in pairwise(years)):
                msg = (
                    f"years {years} are not consecutive and increasing; allowed: consecutive "
                    "years (stock carries from one year to the next)"
                )
                raise ValueError(msg)
        return years

    @field_validator("members", "suppliers")
    @classmethod
    def _unique_names(cls, items: list[Any]) -> list[Any]:
        names = [item.name for item in items]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            msg = f"names repeated: {', '.join(repeated)}; allowed: each name once"
            raise ValueError(msg)
        return items

    @model_validator(mode="after")
    def _consistent(self) -> Alliance:
        first, last = int(self.year_values[0]), int(self.year_values[-1])
        stock = self.policy.stockpile
        if stock is not None and not first <= stock.by <= last:
            msg = f"policy.stockpile.by: got {stock.by}; allowed: a year from {first} to {last}"
            raise ValueError(msg)
        for i, member in enumerate(self.members):
            if member.demand is not None and (
                min(member.demand) > first or max(member.demand) < last
            ):
                msg = (
                    f"members[{i}].demand: years {min(member.demand)}-{max(member.demand)} do "
                    f"not cover the alliance years {first}-{last}; allowed: demand given at or "
                    f"before {first} and at or after {last}"
                )
                raise ValueError(msg)
        for i, supplier in enumerate(self.suppliers):
            if (
                isinstance(supplier.capacity, ProductionShare)
                and self.metal not in PRODUCTION_METALS
            ):
                msg = (
                    f"suppliers[{i}].capacity: production data exist for "
                    f"{', '.join(PRODUCTION_METALS)}, not {self.metal}; allowed: a number or "
                    "a path by year"
                )
                raise ValueError(msg)
        self._leftover_below_prices()
        return self

    def _leftover_below_prices(self) -> None:
        """Stock left over must be worth less than any tonne costs: else buying to hold
        pays for itself, and every plan buys all the capacity it can."""
        leftover = self.policy.leftover_value
        if leftover == 0.0:
            return
        years = np.array(self.year_values)
        prices = np.array(  # each supplier's lowest tier price in each year (supplier, year)
            [
                min(t.price for t in supplier.tiers) * values_at(supplier.price_index or 1.0, years)
                for supplier in self.suppliers
            ]
        )
        j, t = np.unravel_index(np.argmin(prices), prices.shape)
        lowest, year = float(prices[j, t]), int(years[t])
        if leftover >= lowest:
            msg = (
                f"policy.leftover_value: got {leftover:g} {self.price_unit}; allowed: less than "
                f"the cheapest price a supplier asks ({lowest:g} {self.price_unit}, "
                f"{self.suppliers[j].name} in {year}), or stock bought only to be left over "
                "would pay for itself"
            )
            raise ValueError(msg)

    @property
    def year_values(self) -> list[int]:
        """The planned years, in order [yr]."""
        if isinstance(self.years, YearRange):
            return list(range(self.years.start, self.years.end + 1))
        return list(self.years)

    @property
    def usd_per_t(self) -> float:
        """Factor from the file's price unit to USD/t."""
        return KG_PER_T if self.price_unit == "USD/kg" else 1.0


def bundled_alliances() -> dict[str, Path]:
    """Bundled alliance names (``japan-cobalt``) and their files."""
    return bundled_files("evpath.alliances")


def load_alliance(ref: str | Path | dict[str, Any]) -> Alliance:
    """Read and validate an alliance file.

    Parameters
    ----------
    ref : str, Path or dict
        A bundled alliance name (see :func:`bundled_alliances`), a YAML file path, or the
        file's content already parsed.

    Raises
    ------
    ScenarioError
        Naming the file, the field path, the bad value and what is allowed.
    """
    return load_document(ref, Alliance, "alliance", bundled_alliances())
