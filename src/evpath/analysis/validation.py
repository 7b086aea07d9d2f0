"""evpath against published figures: every comparison a run allows, in one table.

Rows come from :meth:`Results.history_check` (stock, age, in-use fuel economy, fleet
fuel use, EV stock, battery demand) and, where the run's region and variables allow it,
from bundled figures the history check does not read: Japan's transport CO2, owners' surveys of distance per car, and the IEA's Stated Policies (STEPS)
figures for 2030. ``docs/validation.md`` prints the table and explains the gaps.
"""

from __future__ import annotations

import pandas as pd

from evpath.data.iea import steps_cars
from evpath.data.japan import REGION as JAPAN
from evpath.data.japan import distance_surveys, published_co2
from evpath.results import Results

COLUMNS = ["quantity", "scenario", "year", "unit", "evpath", "reference", "ratio", "source"]

METRICS = {
    "stock": ("stock", "vehicles", 1.0),
    "average_age": ("average age", "years", 1.0),
    "in_use_fuel_economy": ("in-use fuel economy", "km/L", 1.0),
    "vehicle_km": ("vehicle-km", "billion km/yr", 1e9),
    "gasoline_use": ("gasoline use", "billion L/yr", 1e9),
    "battery_demand": ("battery demand", "GWh/yr", 1.0),
}
"""History-check metric -> name in the table, unit, divisor from evpath's unit."""

CO2_CHECKS = (
    (2013, "private cars", ("share_private_cars_in_transport_co2", 2014), 2013),
    (
        2021,
        "passenger vehicles (private cars, taxis, buses, two-wheelers)",
        ("share_passenger_vehicles_in_transport_co2", 2021),
        2021,
    ),
)
"""Model year, what the share counts, (share metric, fiscal year), fiscal year of the
transport CO2."""

STEPS_YEAR = 2030
STEPS_VARIABLES = {
    "EV sales": ("sales", "vehicles/yr"),
    "EV stock": ("stock", "vehicles"),
    "Battery demand": ("battery_demand", "GWh/yr"),
}
"""IEA STEPS parameter (cars) -> evpath variable and unit."""
STEPS_SOURCE = "IEA GEVO 2025, Stated Policies (STEPS)"


def validation_table(*runs: Results) -> pd.DataFrame:
    """Every comparison of ``runs`` with published figures.

    Columns: quantity, scenario, year, unit, evpath, reference (in ``unit``), ratio
    (evpath / reference), source. Years are the model's calendar years (fiscal years and
    end-of-March counts as :func:`evpath.data.japan.observations` assigns them).
    """
    frames = []
    for run in runs:
        parts = (
            _history_rows(run.history_check()),
            _co2_rows(run),
            _distance_rows(run),
            _steps_rows(run),
        )
        rows = pd.concat([p for p in parts if not p.empty], ignore_index=True)
        frames.append(rows.assign(scenario=run.scenario.name).sort_values(["quantity", "year"]))
    table = pd.concat(frames, ignore_index=True)
    table["ratio"] = table["evpath"] / table["reference"]
    return table[COLUMNS]


def _history_rows(check: pd.DataFrame) -> pd.DataFrame:
    """History-check rows in the table's quantities and units."""
    if check.empty:
        return pd.DataFrame()
    metric = pd.DataFrame(
        check["metric"].map(METRICS).tolist(), columns=["name", "unit", "scale"], index=check.index
    )
    scope = [
        ", ".join(part for part in (segment, powertrain) if part != "all") or "all cars"
        for segment, powertrain in zip(check["segment"], check["powertrain"], strict=True)
    ]
    return pd.DataFrame(
        {
            "quantity": metric["name"] + ", " + scope,
            "year": check["year"].astype(int),
            "unit": metric["unit"],
            "evpath": check["model"] / metric["scale"],
            "reference": check["observed"] / metric["scale"],
            "source": check["source"],
        }
    )


def _co2_rows(run: Results) -> pd.DataFrame:
    """Tank-to-wheel CO2 of Japan's cars against a published share of transport CO2
    [Mt CO2/yr]."""
    if "emissions" not in run.dataset or JAPAN not in run.dataset.region.values:
        return pd.DataFrame()
    published = published_co2()
    ttw = run.dataset["emissions"].sel(region=JAPAN, stage="tank_to_wheel")
    rows = []
    for year, counted, share_key, total_year in CO2_CHECKS:
        share, total = published.loc[share_key], published.loc[("co2_transport", total_year)]
        rows.append(
            {
                "quantity": "tank-to-wheel CO2, all cars",
                "year": year,
                "unit": "Mt CO2/yr",
                "evpath": float(ttw.sel(year=year).sum()) / 1e9,
                "reference": share["value"] / 100.0 * total["value"],
                "source": (
                    f"{counted}: {share['value']:g}% (FY{share_key[1]}) of {total['value']:g} Mt "
                    f"transport CO2 (FY{total_year}); "
                    + "; ".join(
                        dict.fromkeys([share["source_publisher"], total["source_publisher"]])
                    )
                ),
            }
        )
    return pd.DataFrame(rows)


def _distance_rows(run: Results) -> pd.DataFrame:
    """Mean distance per car on the road against owners' surveys [km/vehicle/yr], Japan."""
    if "vehicle_km" not in run.dataset or JAPAN not in run.dataset.region.values:
        return pd.DataFrame()
    surveys = distance_surveys()
    ds = run.dataset.sel(region=JAPAN)
    rows = []
    for survey in surveys.itertuples(index=False):
        year = int(survey.year)
        km = float(ds["vehicle_km"].sel(year=year).sum()) / float(ds["stock"].sel(year=year).sum())
        rows.append(
            {
                "quantity": "distance per car, all cars",
                "year": year,
                "unit": "km/vehicle/yr",
                "evpath": km,
                "reference": float(survey.value),
                "source": survey.source_publisher,
            }
        )
    return pd.DataFrame(rows)


def _steps_rows(run: Results) -> pd.DataFrame:
    """The IEA's STEPS cars in 2030 (EV sales, the total they imply, EV stock, battery
    demand) against evpath's, for a run of a region the IEA projects."""
    steps = steps_cars(STEPS_YEAR)
    rows = []
    for region in run.dataset.region.values:
        mine = steps[steps["region_country"] == region]
        if mine.empty or STEPS_YEAR not in run.dataset.year.values:
            continue
        ds = run.dataset.sel(region=region, year=STEPS_YEAR)
        for row in mine[mine["parameter"].isin(STEPS_VARIABLES)].itertuples(index=False):
            variable, unit = STEPS_VARIABLES[row.parameter]
            if variable not in ds:
                continue
            values = ds[variable]
            if row.powertrain in values.powertrain.values:
                values = values.sel(powertrain=row.powertrain)
            scope = "all cars" if row.powertrain == "EV" else row.powertrain
            rows.append(
                {
                    "quantity": f"{variable.replace('_', ' ')}, {scope}",
                    "unit": unit,
                    "evpath": float(values.sum()),
                    "reference": float(row.value),
                    "source": f"{STEPS_SOURCE}, {row.parameter}",
                }
            )
        ev = mine[mine["parameter"] == "EV sales"]["value"].sum()
        share = mine[mine["parameter"] == "EV sales share"]["value"].sum() / 100.0
        rows.append(
            {
                "quantity": "sales, all cars",
                "unit": "vehicles/yr",
                "evpath": float(ds["sales"].sum()),
                "reference": ev / share,
                "source": f"{STEPS_SOURCE}: EV sales / EV sales share (derived)",
            }
        )
    return pd.DataFrame(rows).assign(year=STEPS_YEAR) if rows else pd.DataFrame()
