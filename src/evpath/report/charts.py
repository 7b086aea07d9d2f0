"""The charts of a run, or of several runs side by side, as plotly figures.

Every chart is a plain function ``(datasets) -> plotly.graph_objects.Figure``:
``datasets`` maps a label (a run id, a scenario name) to the run's Dataset, stamped with
its manifest (:func:`evpath.report.runs.stamp`; :func:`evpath.report.runs.stored_dataset`
reads one from the results store). Several runs, and several regions of one run, are
drawn side by side: one column ("panel") each for the mixes, one line each elsewhere.
Axis titles carry the units.

:data:`CHARTS` lists them in report order with the variables each needs;
:func:`figures` returns (title, figure, caption) for those the runs can draw, the
caption naming the data behind the chart (the bundled datasets the runs read, from
:mod:`evpath.data.registry`). Both the HTML report and the web dashboard draw from here.

A Dataset with a dimension the model does not produce (an ensemble's ``draw`` or
``quantile``) is refused with an :class:`~evpath.errors.InputError`: these charts draw
one value per year and would otherwise add the draws up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import plotly.graph_objects as go
import xarray as xr
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from evpath.core.dims import METALS, POWERTRAINS, STANDARDS
from evpath.data.histories import HISTORIES
from evpath.data.registry import datasets as registry
from evpath.errors import InputError
from evpath.io.export import DIM_COLUMNS
from evpath.model.stages import BatteryData, ChargingData, UseData
from evpath.report.runs import manifest_of
from evpath.scenario.emissions import Target

Datasets = Mapping[str, xr.Dataset]
"""Label → a run's Dataset stamped with its manifest."""

POWERTRAIN_COLOURS = {
    "ICEV_gasoline": "#7f7f7f",
    "ICEV_diesel": "#4d4d4d",
    "HEV": "#f2b701",
    "PHEV": "#3969ac",
    "BEV": "#11a579",
    "FCEV": "#e73f74",
}
"""One colour per powertrain, the same in every chart."""

STANDARD_COLOURS = dict(zip(STANDARDS, qualitative.Safe, strict=False))
"""One colour per fast-charging connector standard."""

RUN_COLOURS = qualitative.D3
"""Colours of the runs (and regions) drawn as lines, in order."""

FACTOR_LABELS = {
    "activity": "activity (vehicle-km)",
    "mix": "powertrain mix",
    "energy_intensity": "energy per km",
    "carbon_intensity": "carbon per energy",
}
"""The LMDI factors of ``emission_change_factors`` as shown."""

METRIC_LABELS = {
    "wtw_per_new_car": "well-to-wheel GHG per new car",
    "wtw_per_car": "well-to-wheel GHG per car on the road",
    "lifecycle_per_new_car": "life-cycle GHG per new car",
    "lifecycle_per_car": "life-cycle GHG per car on the road",
    "wtw_per_km_new": "well-to-wheel GHG per km, new cars",
    "wtw_per_km_fleet": "well-to-wheel GHG per km, fleet",
}
"""The per-car metrics a scenario's target can be set on, as shown."""

_MODEL_DIMS = frozenset(DIM_COLUMNS)


def _total(array: xr.DataArray, keep: tuple[str, ...]) -> xr.DataArray:
    """``array`` summed over every dim but ``keep``; refuses a dim the model does not have."""
    foreign = sorted(str(d) for d in array.dims if d not in _MODEL_DIMS)
    if foreign:
        msg = (
            f"{array.name}: dims {foreign} are not drawn yet (one value per year per chart); "
            "select one draw or quantile first"
        )
        raise InputError(msg)
    return array.sum([d for d in array.dims if d not in keep], skipna=False)


def _panels(datasets: Datasets) -> list[tuple[str, xr.Dataset]]:
    """One (label, dataset of one region) per run and region, in order."""
    if not datasets:
        msg = "no runs to draw; give at least one"
        raise InputError(msg)
    panels = []
    for label, dataset in datasets.items():
        regions = [str(r) for r in dataset["region"].values]
        for region in regions:
            name = label if len(regions) == 1 else f"{label} · {region}"
            panels.append((name, dataset.sel(region=region)))
    return panels


def _colour(index: int) -> str:
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def _years(array: xr.DataArray) -> list[int]:
    return [int(y) for y in array["year"].values]


def _layout(figure: go.Figure, title: str, **extra: object) -> go.Figure:
    figure.update_layout(
        title=title,
        template="plotly_white",
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "top", "y": -0.15},
        margin={"t": 70, "l": 70, "r": 30, "b": 40},
        **extra,
    )
    return figure


def _stacked(
    datasets: Datasets,
    variable: str,
    label_dim: str,
    labels: tuple[str, ...],
    colours: Mapping[str, str],
    *,
    scale: float,
    y_title: str,
    title: str,
) -> go.Figure:
    """Stacked areas of ``variable`` by ``label_dim``, one column per run and region."""
    panels = _panels(datasets)
    figure = make_subplots(
        rows=1,
        cols=len(panels),
        shared_yaxes=True,
        subplot_titles=[name for name, _ in panels],
        horizontal_spacing=0.03,
    )
    for column, (_, dataset) in enumerate(panels, start=1):
        values = _total(dataset[variable], ("year", label_dim))
        present = [label for label in labels if label in values[label_dim].values]
        for label in present:
            series = values.sel({label_dim: label})
            figure.add_trace(
                go.Scatter(
                    x=_years(series),
                    y=series.values * scale,
                    name=label,
                    legendgroup=label,
                    showlegend=column == 1,
                    stackgroup="one",
                    mode="lines",
                    line={"width": 0.5, "color": colours[label]},
                ),
                row=1,
                col=column,
            )
        figure.update_xaxes(title_text="year", row=1, col=column)
    figure.update_yaxes(title_text=y_title, row=1, col=1)
    return _layout(figure, title)


def sales_mix(datasets: Datasets) -> go.Figure:
    """New car sales by powertrain [million vehicles/yr], stacked, all segments."""
    return _stacked(
        datasets,
        "sales",
        "powertrain",
        POWERTRAINS,
        POWERTRAIN_COLOURS,
        scale=1e-6,
        y_title="new cars [million vehicles/yr]",
        title="New car sales by powertrain",
    )


def fleet_mix(datasets: Datasets) -> go.Figure:
    """Cars on the road at the end of each year by powertrain [million vehicles], stacked."""
    return _stacked(
        datasets,
        "stock",
        "powertrain",
        POWERTRAINS,
        POWERTRAIN_COLOURS,
        scale=1e-6,
        y_title="cars on the road [million vehicles]",
        title="Cars on the road by powertrain",
    )


def _target(dataset: xr.Dataset) -> Target:
    """The scenario's per-car target (metric, reduction, base year, year) from the manifest."""
    emissions = manifest_of(dataset)["scenario"].get("emissions")
    if not emissions:
        msg = f"run {dataset.attrs.get('run_id')}: the scenario has no emissions block"
        raise InputError(msg)
    return Target.model_validate(emissions["target"])


def emissions_per_car(datasets: Datasets) -> go.Figure:
    """The target's per-car metric (well-to-wheel GHG per new car unless the scenario says
    otherwise) [kg CO2e/vehicle/yr or g CO2e/km], its base-year value and the target level
    (base × (1 − reduction)), one line per run and region."""
    figure = go.Figure()
    units = set()
    metrics = set()
    for index, (label, dataset) in enumerate(datasets.items()):
        target = _target(dataset)
        metrics.add(target.metric)
        array = dataset[target.metric]
        units.add(array.attrs["units"])
        base_year, year, reduction = target.base_year, target.year, target.reduction
        for offset, region in enumerate(str(r) for r in array["region"].values):
            series = _total(array.sel(region=region), ("year",))
            name = label if array.sizes["region"] == 1 else f"{label} · {region}"
            colour = _colour(index + offset)
            base = float(series.sel(year=base_year))
            figure.add_trace(
                go.Scatter(
                    x=_years(series),
                    y=series.values,
                    name=name,
                    mode="lines",
                    line={"color": colour},
                )
            )
            for level, what, dash in (
                (base, f"{base_year} baseline", "dot"),
                (base * (1.0 - reduction), f"−{100 * reduction:.0f}% target", "dash"),
            ):
                figure.add_trace(
                    go.Scatter(
                        x=[base_year, year],
                        y=[level, level],
                        name=f"{name}: {what}",
                        mode="lines",
                        line={"color": colour, "dash": dash, "width": 1.5},
                    )
                )
    what = " / ".join(METRIC_LABELS.get(m, m) for m in sorted(metrics))
    figure.update_xaxes(title_text="year")
    figure.update_yaxes(title_text=f"{what} [{' or '.join(sorted(units))}]", rangemode="tozero")
    return _layout(figure, "Greenhouse gases per car against the target")


def emission_change(datasets: Datasets) -> go.Figure:
    """The LMDI decomposition of the fleet's well-to-wheel GHG change from the target's
    base year to its target year [Mt CO2e/yr]: activity, mix, energy intensity, carbon
    intensity and their total, one bar group per run and region."""
    figure = go.Figure()
    for index, (name, dataset) in enumerate(_panels(datasets)):
        target = _target(dataset)
        parts = _total(dataset["emission_change_factors"], ("factor",)) * 1e-9
        factors = [str(f) for f in parts["factor"].values]
        figure.add_trace(
            go.Bar(
                x=[*(FACTOR_LABELS.get(f, f) for f in factors), "total"],
                y=[*parts.values, float(parts.sum())],
                name=f"{name} ({target.base_year}→{target.year})",
                marker_color=_colour(index),
            )
        )
    figure.update_xaxes(title_text="factor (LMDI)")
    figure.update_yaxes(title_text="change in fleet well-to-wheel GHG [Mt CO2e/yr]")
    return _layout(figure, "What changed the fleet's emissions", barmode="group")


def _lines(
    figure: go.Figure,
    datasets: Datasets,
    variable: str,
    *,
    scale: float = 1.0,
    row: int | None = None,
    suffix: str = "",
    dash: str | None = None,
    select: Mapping[str, str] | None = None,
    show_legend: bool = True,
) -> None:
    """One line of ``variable`` (summed over its other dims) per run and region."""
    for index, (name, dataset) in enumerate(_panels(datasets)):
        array = dataset[variable]
        if select:
            array = array.sel(select)
        series = _total(array, ("year",)) * scale
        figure.add_trace(
            go.Scatter(
                x=_years(series),
                y=series.values,
                name=f"{name}{suffix}",
                legendgroup=f"{name}{suffix}",
                showlegend=show_legend,
                mode="lines",
                line={"color": _colour(index), "dash": dash},
            ),
            **({"row": row, "col": 1} if row is not None else {}),
        )


def batteries(datasets: Datasets) -> go.Figure:
    """Battery capacity in new cars [GWh/yr] and battery-making equipment to buy
    [million USD/yr], one line per run and region."""
    figure = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=("Battery capacity in new cars", "Equipment investment, cell and pack"),
    )
    _lines(figure, datasets, "battery_demand", row=1)
    _lines(figure, datasets, "equipment_investment", row=2, show_legend=False)
    figure.update_yaxes(title_text="GWh/yr", row=1, col=1, rangemode="tozero")
    figure.update_yaxes(title_text="million USD/yr", row=2, col=1, rangemode="tozero")
    figure.update_xaxes(title_text="year", row=2, col=1)
    return _layout(figure, "Batteries and the plants to make them", height=650)


def metals(datasets: Datasets) -> go.Figure:
    """Metal in the batteries of new cars (solid) and recovered by recycling (dashed)
    [t/yr], one small chart per metal, one colour per run and region."""
    present = [m for m in METALS if any(m in d["metal"].values for d in datasets.values())]
    columns = 4
    rows = -(-len(present) // columns)
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=present,
        vertical_spacing=0.14,
        horizontal_spacing=0.07,
    )
    for position, metal in enumerate(present):
        row, column = divmod(position, columns)
        for index, (name, dataset) in enumerate(_panels(datasets)):
            for variable, what, dash in (
                ("metal_put_on_market", "in new batteries", None),
                ("metal_recovered", "recycled supply", "dash"),
            ):
                series = _total(dataset[variable].sel(metal=metal), ("year",))
                figure.add_trace(
                    go.Scatter(
                        x=_years(series),
                        y=series.values,
                        name=f"{name}: {what}",
                        legendgroup=f"{name}: {what}",
                        showlegend=position == 0,
                        mode="lines",
                        line={"color": _colour(index), "dash": dash},
                    ),
                    row=row + 1,
                    col=column + 1,
                )
        figure.update_yaxes(title_text="t/yr", row=row + 1, col=column + 1, rangemode="tozero")
    return _layout(figure, "Metals in new batteries and recycled supply", height=300 * rows + 150)


def chargers(datasets: Datasets) -> go.Figure:
    """Public fast chargers in service by connector standard [chargers], stacked, one
    column per run and region."""
    return _stacked(
        datasets,
        "fast_chargers_by_standard",
        "standard",
        STANDARDS,
        STANDARD_COLOURS,
        scale=1.0,
        y_title="public fast chargers [chargers]",
        title="Public fast chargers by connector standard",
    )


def adoption(datasets: Datasets) -> go.Figure:
    """Electrified share (HEV, PHEV, BEV, FCEV) of new sales (solid) and of the cars on
    the road (dashed) [%], one colour per run and region."""
    figure = go.Figure()
    _lines(figure, datasets, "electrified_sales_share", scale=100.0, suffix=": new sales")
    _lines(
        figure,
        datasets,
        "electrified_stock_share",
        scale=100.0,
        suffix=": on the road",
        dash="dash",
    )
    figure.update_xaxes(title_text="year")
    figure.update_yaxes(title_text="electrified share [%]", range=[0, 102])
    return _layout(figure, "Adoption: the electrified share over time")


def _history_sources(dataset: xr.Dataset) -> list[str]:
    history = manifest_of(dataset)["scenario"]["sales"]["history"]
    return [f"sales history: {HISTORIES[history].description}"]


def _stage_sources(names: tuple[str, ...]) -> Callable[[xr.Dataset], list[str]]:
    def sources(dataset: xr.Dataset) -> list[str]:
        read = manifest_of(dataset)["inputs"]
        known = registry()
        return [
            f"{known[name].title} ({known[name].publisher}, {known[name].version})"
            for name in names
            if name in read
        ]

    return sources


@dataclass(frozen=True)
class Chart:
    """One chart of the report: its title, how to draw it, the variables it needs, and
    where its data come from (the sources one run read)."""

    key: str
    title: str
    draw: Callable[[Datasets], go.Figure]
    variables: tuple[str, ...]
    sources: Callable[[xr.Dataset], list[str]]


CHARTS: tuple[Chart, ...] = (
    Chart("sales_mix", "New car sales by powertrain", sales_mix, ("sales",), _history_sources),
    Chart("fleet_mix", "Cars on the road by powertrain", fleet_mix, ("stock",), _history_sources),
    Chart(
        "emissions_per_car",
        "Greenhouse gases per car against the target",
        emissions_per_car,
        ("wtw_per_new_car", "wtw_per_car"),
        _stage_sources(UseData.DATASETS),
    ),
    Chart(
        "emission_change",
        "What changed the fleet's emissions (LMDI)",
        emission_change,
        ("emission_change_factors",),
        _stage_sources(UseData.DATASETS),
    ),
    Chart(
        "batteries",
        "Batteries and equipment investment",
        batteries,
        ("battery_demand", "equipment_investment"),
        _stage_sources(BatteryData.DATASETS),
    ),
    Chart(
        "metals",
        "Metals in new batteries and recycled supply",
        metals,
        ("metal_put_on_market", "metal_recovered"),
        _stage_sources(BatteryData.DATASETS),
    ),
    Chart(
        "chargers",
        "Public fast chargers by connector standard",
        chargers,
        ("fast_chargers_by_standard",),
        _stage_sources(ChargingData.DATASETS),
    ),
    Chart(
        "adoption",
        "Adoption: the electrified share",
        adoption,
        ("electrified_sales_share", "electrified_stock_share"),
        _history_sources,
    ),
)
"""Every chart, in report order."""


def missing(chart: Chart, datasets: Datasets) -> list[str]:
    """Labels of the runs that lack a variable ``chart`` needs (their scenario does not
    compute that stage)."""
    return [
        label
        for label, dataset in datasets.items()
        if not all(v in dataset.data_vars for v in chart.variables)
    ]


def caption(chart: Chart, datasets: Datasets) -> str:
    """What ``chart`` shows from which runs, and the data behind it."""
    runs = "; ".join(
        f"{label}: scenario {dataset.attrs.get('scenario', '?')}, run {dataset.attrs.get('run_id', '?')}"
        for label, dataset in datasets.items()
    )
    sources = list(dict.fromkeys(s for d in datasets.values() for s in chart.sources(d)))
    return f"Runs — {runs}. Data — {'; '.join(sources)}; and each scenario's assumptions."


def figures(datasets: Datasets) -> list[tuple[str, go.Figure, str]]:
    """(title, figure, caption) of every chart all the runs can draw, in report order.

    A chart needing a stage some run does not compute (no batteries block, say) is left
    out; :func:`missing` says which runs lack it.
    """
    return [
        (chart.title, chart.draw(datasets), caption(chart, datasets))
        for chart in CHARTS
        if not missing(chart, datasets)
    ]
