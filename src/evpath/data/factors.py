"""Emission factors, energy contents and manufacturing factors from the bundled dataset."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from evpath.data.registry import load_dataset
from evpath.errors import DataError

DATASET = "evpath_emission_factors"


@dataclass(frozen=True)
class EmissionFactors:
    """Factors the emissions stage needs, in evpath's units.

    Attributes
    ----------
    tank_to_wheel : dict [kg CO2e per L] for gasoline and diesel
    well_to_tank : dict [kg CO2e per L] for gasoline and diesel
    energy_content : dict [MJ per carrier unit]: gasoline, diesel (L), electricity (kWh),
        hydrogen (kg)
    hydrogen_routes : dict [kg CO2e per kg H2], electricity of electrolysis excluded
        (electrolysis itself: 0, its emissions come from the grid)
    electrolysis_kwh_per_kg : float [kWh per kg H2]
    lifecycle_intensity : dict [g CO2e per kWh] by generation technology
    battery_other : float [kg CO2e per kWh of pack], electricity of cell making excluded
    battery_electricity : float [kWh of electricity per kWh of pack]
    manufacturing : dict [kg CO2e per vehicle] for chassis, engine and electric_drive
    fuel_cell_stack : float [kg CO2e per kW of fuel-cell stack]
    hydrogen_tank : float [kg CO2e per kg of hydrogen the tanks hold]
    end_of_life : float [kg CO2e per vehicle scrapped]
    maintenance : float [kg CO2e per km driven]
    """

    tank_to_wheel: dict[str, float]
    well_to_tank: dict[str, float]
    energy_content: dict[str, float]
    hydrogen_routes: dict[str, float]
    electrolysis_kwh_per_kg: float
    lifecycle_intensity: dict[str, float]
    battery_other: float
    battery_electricity: float
    manufacturing: dict[str, float]
    fuel_cell_stack: float
    hydrogen_tank: float
    end_of_life: float
    maintenance: float


def _lookup(
    table: dict[tuple[str, str], tuple[float, str]], parameter: str, subject: str, unit: str
) -> float:
    try:
        value, found_unit = table[(parameter, subject)]
    except KeyError:
        msg = f"{DATASET}: no row for parameter {parameter!r}, subject {subject!r}"
        raise DataError(msg) from None
    if found_unit != unit:
        msg = f"{DATASET}: {parameter}/{subject} is in {found_unit!r}; evpath expects {unit!r}"
        raise DataError(msg)
    return value


@cache
def emission_factors() -> EmissionFactors:
    """The bundled factors (see ``files/SOURCES.md``, section 15)."""
    rows = load_dataset(DATASET)
    table = {
        (str(r.parameter), str(r.subject)): (float(r.value), str(r.unit))
        for r in rows.itertuples(index=False)
    }
    if len(table) != len(rows):
        msg = f"{DATASET}: more than one row for a parameter and subject"
        raise DataError(msg)

    def get(parameter: str, subject: str, unit: str) -> float:
        return _lookup(table, parameter, subject, unit)

    return EmissionFactors(
        tank_to_wheel={f: get("ttw_co2", f, "kg CO2/L") for f in ("gasoline", "diesel")},
        well_to_tank={f: get("wtt", f, "kg CO2e/L") for f in ("gasoline", "diesel")},
        energy_content={
            "gasoline": get("heating_value", "gasoline", "MJ/L"),
            "diesel": get("heating_value", "diesel", "MJ/L"),
            "electricity": 3.6,
            "hydrogen": get("heating_value", "hydrogen", "MJ/kg"),
        },
        hydrogen_routes={
            route: get("h2_production", route, "kg CO2e/kg H2")
            for route in ("steam_methane_reforming", "coal_gasification")
        }
        | {"electrolysis": 0.0},
        electrolysis_kwh_per_kg=get("h2_production", "electrolysis_electricity", "kWh/kg H2"),
        lifecycle_intensity={
            t: get("lifecycle_intensity", t, "g CO2e/kWh")
            for t in (
                "coal",
                "gas",
                "oil",
                "nuclear",
                "hydro",
                "solar",
                "wind",
                "biomass",
                "geothermal",
            )
        },
        battery_other=get("battery_manufacturing", "pack_excluding_electricity", "kg CO2e/kWh"),
        battery_electricity=get("battery_manufacturing", "electricity_use", "kWh/kWh"),
        manufacturing={
            part: get("manufacturing", part, "kg CO2e/vehicle")
            for part in ("chassis", "engine", "electric_drive")
        },
        fuel_cell_stack=get("fuel_cell_manufacturing", "stack", "kg CO2e/kW"),
        hydrogen_tank=get("hydrogen_tank_manufacturing", "per_kg_h2", "kg CO2e/kg H2"),
        end_of_life=get("end_of_life", "car", "kg CO2e/vehicle"),
        maintenance=get("maintenance", "car", "g CO2e/km") / 1000.0,
    )
