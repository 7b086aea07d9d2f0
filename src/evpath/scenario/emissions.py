"""Scenario blocks for activity, energy use, grids and fuels, vehicle manufacturing and
the per-car emissions target."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, field_validator, model_validator

from evpath.core.dims import Carrier, Powertrain
from evpath.scenario.base import (
    Finite,
    Frozen,
    NonNegative,
    Positive,
    Share,
    Sourced,
    Year,
    check_shares,
    check_shares_by_year,
    within,
)

AnnualKm = Annotated[Positive, within(0.0, 200_000.0, "km/yr")]
Improvement = Annotated[Finite, Field(ge=-0.1, le=0.1)]
"""Fall of energy use per km from one model year to the next [1/yr], −10% to 10%."""
TestUse = Annotated[Positive, within(0.0, 100.0, "per 100 km (L, kWh or kg)")]
GridIntensity = Annotated[NonNegative, within(0.0, 2000.0, "g CO2e/kWh")]

Technology = Literal[
    "coal", "gas", "oil", "nuclear", "hydro", "solar", "wind", "biomass", "geothermal"
]
H2Route = Literal["steam_methane_reforming", "coal_gasification", "electrolysis"]
Metric = Literal[
    "wtw_per_new_car",
    "wtw_per_new_car_lifetime",
    "wtw_per_car",
    "lifecycle_per_new_car",
    "lifecycle_per_car",
    "wtw_per_km_new",
    "wtw_per_km_fleet",
]
METRICS: tuple[str, ...] = get_args(Metric)


class Activity(Sourced):
    """Distance driven per car [km/yr].

    A car of age a drives d(a) = d0 · (1 − age_decline)^a km a year; d0 is set per
    segment so that the fleet's mean distance in ``calibration_year`` equals ``annual_km``.
    ``distance_trend`` changes every car's distance by a constant rate per calendar year
    after ``calibration_year``.
    """

    annual_km: dict[str, AnnualKm] = Field(
        description="Mean distance per car by segment [km/yr], up to 200,000."
    )
    calibration_year: Year
    age_decline: Annotated[Finite, Field(ge=0.0, lt=0.5)] = Field(
        0.0, description="Fall of annual distance per year of age [1/yr]."
    )
    distance_trend: Annotated[Finite, Field(ge=-0.1, le=0.1)] = Field(
        0.0, description="Change of distance per car per calendar year [1/yr]."
    )


class Energy(Sourced):
    """Energy use per km of new cars, by powertrain and model year.

    ``new_car_test`` gives test-cycle consumption of registered new cars of model year
    ``reference_year`` per 100 km, by carrier (gasoline and diesel in L, electricity in
    kWh, hydrogen in kg); PHEVs give both a charge-sustaining fuel and a charge-depleting
    electricity figure. Other model years change by ``improvement`` (fraction per model
    year, by powertrain, a rate or rates by model year; positive = less energy) up to
    ``improvement_until``; kei cars use ``kei_factor`` times the
    registered value. Real-world use is test-cycle × (1 + ``real_world_uplift``) by carrier;
    electricity drawn from the grid is vehicle use / (1 − ``charging_losses``).
    """

    new_car_test: dict[Powertrain, dict[Carrier, TestUse]]
    reference_year: Year
    improvement: dict[Powertrain, Improvement | dict[Year, Improvement]] = Field(
        default_factory=dict,
        description="Fall of energy use from one model year to the next, by powertrain: "
        "a rate, or rates by model year (linear between years, held outside) [1/yr].",
    )
    improvement_until: Year = Field(2050, description="Model year after which use is flat.")
    kei_factor: Annotated[Finite, Field(gt=0.0, le=2.0)] = 1.0
    real_world_uplift: dict[Carrier, Annotated[Finite, Field(ge=0.0, le=2.0)]] = Field(
        default_factory=dict
    )
    charging_losses: Annotated[Finite, Field(ge=0.0, lt=1.0)] = 0.0
    phev_utility_factor: Share = Field(description="Share of PHEV km driven on electricity.")

    @model_validator(mode="after")
    def _carriers_fit_powertrains(self) -> Energy:
        expected = {
            "ICEV_gasoline": {"gasoline"},
            "ICEV_diesel": {"diesel"},
            "MHEV": {"gasoline"},
            "HEV": {"gasoline"},
            "PHEV": {"gasoline", "electricity"},
            "BEV": {"electricity"},
            "FCEV": {"hydrogen"},
        }
        for powertrain, carriers in expected.items():
            given = set(self.new_car_test.get(powertrain, {}))  # type: ignore[call-overload]
            if given != carriers:
                msg = (
                    f"new_car_test.{powertrain}: got carriers {sorted(given)}; allowed: "
                    f"exactly {sorted(carriers)}"
                )
                raise ValueError(msg)
        return self


class GridPoint(Frozen):
    """Grid carbon intensity in one year: given directly, or from a generation mix."""

    intensity: GridIntensity | None = Field(
        None, description="Life-cycle intensity [g CO2e/kWh], 0 to 2,000."
    )
    mix: dict[Technology, Share] | None = Field(None, description="Generation shares [fraction].")

    @model_validator(mode="after")
    def _one_of(self) -> GridPoint:
        if (self.intensity is None) == (self.mix is None):
            msg = "give either 'intensity' (g CO2e/kWh) or 'mix' (shares by technology)"
            raise ValueError(msg)
        if self.mix is not None:
            check_shares(self.mix)
        return self


class Grid(Sourced):
    """Carbon intensity of the grid after the bundled history (OWID/Ember to 2024).

    Between points and from the last historical year intensity is linear; after the last
    point it is held. Mixes become intensities through the life-cycle factors of the
    bundled ``vehicle_emission_factors`` dataset.
    """

    pathway: dict[Year, GridPoint] = Field(min_length=1)


class Hydrogen(Sourced):
    """Hydrogen production routes over time [fraction of supply], linear between years."""

    routes: dict[Year, dict[H2Route, Share]] = Field(min_length=1)

    @field_validator("routes")
    @classmethod
    def _sum_to_one(cls, routes: dict[int, dict[str, float]]) -> dict[int, dict[str, float]]:
        return check_shares_by_year(routes, "route shares")


StackPower = Annotated[Positive, within(0.0, 1000.0, "kW")]
"""Rated power of a fuel-cell stack [kW], up to 1,000."""
HydrogenStored = Annotated[Positive, within(0.0, 100.0, "kg H2")]
"""Hydrogen a car's tanks hold when full [kg], up to 100."""
PartScale = Annotated[Positive, within(0.0, 5.0, "(fraction)")]
"""A powertrain's emissions of a vehicle-cycle part relative to the bundled factor."""


class FuelCell(Frozen):
    """The fuel-cell system of the scenario's FCEVs by model year: a number, or a path
    ``{year: value}`` (linear between years, held outside).

    Making it emits stack_kw × the bundled factor per kW of stack plus hydrogen_kg × the
    bundled factor per kg of hydrogen stored (the tank).
    """

    stack_kw: StackPower | dict[Year, StackPower] = Field(
        description="Rated power of the fuel-cell stack [kW] by model year."
    )
    hydrogen_kg: HydrogenStored | dict[Year, HydrogenStored] = Field(
        description="Hydrogen the tanks hold when full [kg] by model year."
    )

    @field_validator("stack_kw", "hydrogen_kg")
    @classmethod
    def _path_given(cls, value: float | dict[int, float]) -> float | dict[int, float]:
        if isinstance(value, dict) and not value:
            msg = "an empty path; allowed: a number, or at least one {year: value}"
            raise ValueError(msg)
        return value


class VehicleCycle(Sourced):
    """Emissions of making, servicing and scrapping a car.

    Making [kg CO2e per car] = (chassis + engine if it has one + electric drive if it has
    one) × ``kei_scale`` for kei cars × ``body_path`` of the model year + fuel-cell stack
    and hydrogen tank for FCEVs (``fuel_cell``) + pack [kWh, from ``batteries.packs``] ×
    (battery_other + battery_electricity × grid intensity where the battery is made).
    Scrapping [kg CO2e per car] = end_of_life × ``kei_scale``; making and scrapping are
    spread evenly over the expected years a car spends in the fleet. Servicing [g CO2e
    per km] = maintenance × ``kei_scale`` × ``maintenance_by_powertrain``, booked in the
    year the km are driven. Factors from the bundled dataset.
    """

    kei_scale: Annotated[Finite, Field(gt=0.0, le=2.0)] = Field(
        1.0,
        description="Making, servicing and scrapping a kei car relative to a registered car "
        "(fuel cell and battery excepted) [fraction].",
    )
    body_path: dict[Year, Annotated[Positive, within(0.05, 2.0, "(fraction)")]] | None = Field(
        None,
        description="Emissions of making the chassis and drive parts by model year, relative "
        "to the bundled factors [fraction]; linear between years, held outside; omitted: 1.",
    )
    battery_grid: Literal["own"] | str = Field(
        "own", description="'own': the region's grid; else an OWID country name."
    )
    fuel_cell: FuelCell = Field(
        description="Stack power and hydrogen stored of the scenario's FCEVs by model year."
    )
    maintenance_by_powertrain: dict[Powertrain, PartScale] = Field(
        default_factory=dict,
        description="Servicing emissions per km of a powertrain relative to the bundled "
        "factor [fraction], up to 5; powertrains not listed: 1.",
    )


class Target(Sourced):
    """Greenhouse-gas reduction per car against a base year."""

    metric: Metric = "wtw_per_new_car"
    reduction: Annotated[Finite, Field(gt=0.0, le=1.0)] = 0.9
    base_year: Year = Field(2010, description="Base year, a model year before 'year'.")
    year: Year = Field(2050, description="Target year, a model year.")

    @model_validator(mode="after")
    def _base_before_target(self) -> Target:
        if self.base_year >= self.year:
            msg = (
                f"base_year: got {self.base_year}; allowed: a year before the target year "
                f"({self.year})"
            )
            raise ValueError(msg)
        return self


class Emissions(Frozen):
    """Every input of the activity, energy and emissions stages."""

    activity: Activity
    energy: Energy
    grid: Grid
    hydrogen: Hydrogen
    vehicle_cycle: VehicleCycle
    target: Target
