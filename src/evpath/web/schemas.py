"""Request and response models of the dashboard's JSON API (they make its OpenAPI document).

Lever values are typed here (numbers, mappings) but not bounded: their domains are the
scenario schema's, checked when the overridden scenario is validated like a file.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from evpath.scenario.loader import bundled_scenarios


class Strict(BaseModel):
    """A request body: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class Levers(Strict):
    """Changes to a bundled scenario; a lever left out (or null) keeps the scenario's value."""

    target_year: int | None = Field(
        None, description="Year by which every new car should be electrified (target_year)."
    )
    grid_intensity: float | None = Field(
        None,
        description="Grid carbon intensity reached in the target year [g CO2e/kWh]: the "
        "pathway's earlier points are kept, later ones dropped (held after). Needs an "
        "emissions block; not with grid_pathway.",
    )
    grid_pathway: dict[int, float] | None = Field(
        None,
        description="Grid carbon intensity by year [g CO2e/kWh], replacing "
        "emissions.grid.pathway whole (linear between years, held after the last).",
    )
    hev_improvement: float | None = Field(
        None,
        description="Yearly energy-use improvement of new hybrids (HEV) after the history "
        "[fraction per model year] (emissions.energy.improvement.HEV; where the scenario "
        "gives rates by model year, those of the history are kept).",
    )
    chemistry: dict[int, dict[str, float]] | None = Field(
        None,
        description="Battery chemistry shares of pack capacity by model year, replacing "
        "batteries.packs.chemistry whole.",
    )
    collection_rate: float | None = Field(
        None,
        description="Share of retired batteries collected for recycling "
        "(batteries.recycling.collection_rate).",
    )
    evs_per_charger: dict[str, float] | None = Field(
        None,
        description="EVs per public charger reached in the target year, by charger type "
        "(slow, fast): charging.ratio_method becomes 'path' from the last historical ratio; "
        "a type left out is held at its last historical ratio.",
    )


class RunRequest(Strict):
    """A bundled scenario run with some levers changed."""

    scenario: str = Field(description="A bundled scenario name (GET /api/scenarios).")
    levers: Levers = Field(default_factory=Levers)
    name: str | None = Field(
        None, description="Name of the changed scenario; default '<scenario>-what-if'."
    )
    store: bool = Field(
        False,
        description="Add the run to the results store; needs the server's write token as "
        "'Authorization: Bearer <token>'.",
    )

    @field_validator("scenario")
    @classmethod
    def _bundled(cls, name: str) -> str:
        names = list(bundled_scenarios())
        if name not in names:
            msg = f"no bundled scenario {name[:80]!r}; allowed: one of {names}"
            raise ValueError(msg)
        return name


class ErrorResponse(BaseModel):
    """Every error: its kind, one line, and one line per problem (field path, value, what
    is allowed)."""

    error: str = Field(description="Kind of error, e.g. ScenarioError, InputError, http.")
    message: str
    problems: list[str] = Field(default_factory=list)


class RunInfo(BaseModel):
    """A run the dashboard can show: stored, or computed by this server and kept in memory."""

    run_id: str
    scenario: str
    created_at: str = Field(description="ISO 8601 time the run was made.")
    evpath_version: str
    stored: bool = Field(description="Whether the run is in the results store.")


class Verdict(BaseModel):
    """Whether every new car is electrified in the target year, per region."""

    region: str
    target_year: int
    electrified_share: float | None
    first_year_all_electrified: int | None
    met: bool


class EmissionsTarget(BaseModel):
    """The per-car emissions target of one region."""

    region: str
    metric: str
    unit: str
    base_year: int
    base_value: float
    target_year: int
    value: float
    target_reduction: float
    reduction: float
    met: bool
    gap: float
    first_year_met: int | None


class VariableInfo(BaseModel):
    name: str
    unit: str
    dims: list[str]


class RunSummary(BaseModel):
    """One run: what it is, its verdicts and its variables."""

    run: RunInfo
    ensemble_members: int | None = Field(
        None,
        description="Members of an ensemble run (its verdicts are those of the median of "
        "each value; its variables have a quantile dimension); null for a single run.",
    )
    target: list[Verdict]
    emissions_target: list[EmissionsTarget] = Field(
        description="Empty when the scenario has no emissions block."
    )
    variables: list[VariableInfo]


class RunResult(RunSummary):
    """A run made by POST /api/runs, with the scenario override it ran."""

    override: dict[str, Any] = Field(
        description="The scenario mapping that was validated and run (extends + changes)."
    )
    seconds: float = Field(description="Time to compute the run [s].")


class TidyRow(BaseModel):
    """One value of a run, with the labels of its dimensions (only those it has)."""

    variable: str
    unit: str
    region: str | None = None
    segment: str | None = None
    powertrain: str | None = None
    carrier: str | None = None
    stage: str | None = None
    factor: str | None = None
    chemistry: str | None = None
    metal: str | None = None
    step: str | None = None
    charger_type: str | None = None
    standard: str | None = None
    vehicle: str | None = None
    maker: str | None = Field(None, description="Maker group (makers' scope runs).")
    metric: str | None = Field(None, description="Per-car metric (makers' scope runs).")
    cohort: int | None = None
    age: int | None = None
    year: int | None = None
    quantile: float | None = Field(
        None, description="Percentile over an ensemble's members [fraction]; null for a single run."
    )
    value: float | None = Field(description="null where the value is missing (NaN).")


class ScenarioInfo(BaseModel):
    """A bundled scenario and the levers it can take, at its own values."""

    name: str
    description: str
    regions: list[str]
    start: int
    end: int
    levers: Levers = Field(
        description="The scenario's values of the levers (null where it states none directly)."
    )
    available: list[str] = Field(description="Levers this scenario can take.")


class Figure(BaseModel):
    """One chart of the report (:mod:`evpath.report.charts`)."""

    title: str
    caption: str = Field(description="What the chart shows from which runs, and its data.")
    figure: dict[str, Any] = Field(description="The plotly figure (data and layout) as JSON.")


class Comparison(BaseModel):
    """Several runs drawn together."""

    runs: list[RunInfo]
    figures: list[Figure] = Field(
        description="The charts every run can draw (a chart needing a stage one run lacks is "
        "left out)."
    )
