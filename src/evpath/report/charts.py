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

An ensemble run (its percentiles, a ``quantile`` dimension: see
:mod:`evpath.report.runs`) is drawn as its median line over two shaded bands, 5–95%
(lighter) and 25–75% (darker), wherever a single run is drawn as a line; its mixes are
stacked medians and its LMDI bars are medians with 5–95% error bars. Single runs are
drawn as before. :func:`sobol_chart` ranks an ensemble's inputs by their Sobol' indices.

:func:`procurement_chart` draws one alliance's purchase plan built on a run
(:func:`evpath.report.runs.procurement_plans`): tonnes by supplier country and year, the
members alone beside the alliance pooled.

A Dataset with a dimension the model does not produce (an ensemble's every member, a
``draw`` dimension) is refused with an :class:`~evpath.errors.InputError`: these charts
draw one value per year (or its percentiles) and would otherwise add the draws up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import xarray as xr
from plotly.colors import hex_to_rgb, qualitative
from plotly.subplots import make_subplots

from evpath.core.dims import METALS, POWERTRAINS, STANDARDS
from evpath.data.histories import HISTORIES
from evpath.data.registry import datasets as registry
from evpath.errors import InputError
from evpath.io.export import DIM_COLUMNS
from evpath.model.stages import BatteryData, ChargingData, UseData
from evpath.report.runs import QUANTILE, manifest_of, members, scenario_documents
from evpath.scenario.emissions import Target

Datasets = Mapping[str, xr.Dataset]
"""Label → a run's Dataset stamped with its manifest."""

POWERTRAIN_COLOURS = {
    "ICEV_gasoline": "#7f7f7f",
    "ICEV_diesel": "#4d4d4d",
    "MHEV": "#b8a04a",
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

MEDIAN = 0.5
BANDS = ((0.05, 0.95, 0.15), (0.25, 0.75, 0.3))
"""An ensemble's shaded bands: (lower, upper percentile [fraction], fill opacity), the
wide light one first."""

_MODEL_DIMS = frozenset(DIM_COLUMNS)
_LEVELS = frozenset((MEDIAN, *(level for band in BANDS for level in band[:2])))


def _total(array: xr.DataArray, keep: tuple[str, ...]) -> xr.DataArray:
    """``array`` summed over every dim but ``keep`` (and an ensemble's percentiles, each
    summed on its own); refuses a dim the model does not have."""
    foreign = sorted(str(d) for d in array.dims if d not in _MODEL_DIMS)
    if foreign:
        msg = (
            f"{array.name}: dims {foreign} are not drawn (one value per year per chart, or "
            "an ensemble's percentiles); draw an ensemble from Ensemble.quantiles() "
            "(evpath.report.runs.ensemble_dataset)"
        )
        raise InputError(msg)
    if QUANTILE in array.dims:
        lacking = sorted(_LEVELS - {float(q) for q in array[QUANTILE].values})
        if lacking:
            msg = f"{array.name}: an ensemble is drawn from its percentiles {sorted(_LEVELS)}; missing {lacking}"
            raise InputError(msg)
        keep = (*keep, QUANTILE)
    return array.sum([d for d in array.dims if d not in keep], skipna=False)


def _median(array: xr.DataArray) -> xr.DataArray:
    """An ensemble's median of ``array``; a single run's ``array`` itself."""
    return array.sel({QUANTILE: MEDIAN}, drop=True) if QUANTILE in array.dims else array


def _fill(colour: str, opacity: float) -> str:
    red, green, blue = hex_to_rgb(colour)
    return f"rgba({red}, {green}, {blue}, {opacity})"


def _line(
    figure: go.Figure,
    series: xr.DataArray,
    *,
    name: str,
    colour: str,
    dash: str | None = None,
    position: Mapping[str, int] | None = None,
    **legend: object,
) -> None:
    """``series`` (over year) as one line; an ensemble's (a ``quantile`` dim) as its
    median over its 5–95% and 25–75% bands, which share the line's legend entry.
    ``legend``: the line's legendgroup and showlegend, if any."""
    years = _years(series)
    line = {"color": colour, "dash": dash}
    where = dict(position or {})
    if QUANTILE not in series.dims:
        figure.add_trace(
            go.Scatter(x=years, y=series.values, name=name, mode="lines", line=line, **legend),
            **where,
        )
        return
    group = legend.pop("legendgroup", name)
    for lower, upper, opacity in BANDS:
        for level, fill in ((lower, None), (upper, "tonexty")):
            figure.add_trace(
                go.Scatter(
                    x=years,
                    y=series.sel({QUANTILE: level}).values,
                    name=f"{name} ({100 * level:.0f}th percentile)",
                    legendgroup=group,
                    showlegend=False,
                    mode="lines",
                    line={"color": colour, "width": 0},
                    fill=fill,
                    fillcolor=_fill(colour, opacity) if fill else None,
                ),
                **where,
            )
    figure.add_trace(
        go.Scatter(
            x=years,
            y=series.sel({QUANTILE: MEDIAN}).values,
            name=f"{name} (median)",
            legendgroup=group,
            mode="lines",
            line=line,
            **legend,
        ),
        **where,
    )


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


_DRAWN_LAYOUT = (
    "annotationdefaults",
    "autotypenumbers",
    "colorway",
    "font",
    "hoverlabel",
    "hovermode",
    "paper_bgcolor",
    "plot_bgcolor",
    "shapedefaults",
    "title",
    "xaxis",
    "yaxis",
)
_DRAWN_TRACES = ("scatter", "bar")


@cache
def _template() -> go.layout.Template:
    """plotly's "plotly_white" template, limited to what these charts draw (x-y axes,
    scatter and bar traces). A figure holds its own copy of its template: the whole one
    (with defaults for every other kind of plot) takes about 20 ms to copy, this part a
    few, and the charts look the same."""
    white = pio.templates["plotly_white"].to_plotly_json()
    return go.layout.Template(
        layout={key: white["layout"][key] for key in _DRAWN_LAYOUT if key in white["layout"]},
        data={kind: white["data"][kind] for kind in _DRAWN_TRACES if kind in white["data"]},
    )


def _layout(figure: go.Figure, title: str, **extra: object) -> go.Figure:
    figure.update_layout(
        title=title,
        template=_template(),
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
        values = _median(_total(dataset[variable], ("year", label_dim)))
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
    """The run's per-car target (metric, reduction, base year, year) from the manifest: the
    scenario's, or a makers' scope's own."""
    resolved = manifest_of(dataset)["scenario"]
    if "market_scenarios" in resolved:
        return Target.model_validate(resolved["target"])
    emissions = resolved.get("emissions")
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
            base = float(_median(series).sel(year=base_year))
            _line(figure, series, name=name, colour=colour)
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
    intensity and their total, one bar group per run and region. An ensemble's bars are
    each factor's median with its 5–95% range; its total is left out (the members' totals
    are not kept, and the sum of the factors' percentiles is not the total's)."""
    figure = go.Figure()
    for index, (name, dataset) in enumerate(_panels(datasets)):
        target = _target(dataset)
        parts = _total(dataset["emission_change_factors"], ("factor",)) * 1e-9
        labels = [FACTOR_LABELS.get(str(f), str(f)) for f in parts["factor"].values]
        bars: dict[str, object]
        if QUANTILE in parts.dims:
            median = parts.sel({QUANTILE: MEDIAN})
            low, high = (parts.sel({QUANTILE: level}) for level in BANDS[0][:2])
            bars = {
                "x": labels,
                "y": median.values,
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": (high - median).values,
                    "arrayminus": (median - low).values,
                },
            }
        else:
            bars = {"x": [*labels, "total"], "y": [*parts.values, float(parts.sum())]}
        figure.add_trace(
            go.Bar(
                name=f"{name} ({target.base_year}→{target.year})",
                marker_color=_colour(index),
                **bars,
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
        _line(
            figure,
            series,
            name=f"{name}{suffix}",
            colour=_colour(index),
            dash=dash,
            position={"row": row, "col": 1} if row is not None else None,
            legendgroup=f"{name}{suffix}",
            showlegend=show_legend,
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
                _line(
                    figure,
                    series,
                    name=f"{name}: {what}",
                    colour=_colour(index),
                    dash=dash,
                    position={"row": row + 1, "col": column + 1},
                    legendgroup=f"{name}: {what}",
                    showlegend=position == 0,
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


INDEX_COLOURS = {"S1": "#3969ac", "ST": "#f2b701"}
"""Colours of the first-order and total Sobol' indices."""

INDEX_NAMES = {"S1": "first-order (S1)", "ST": "total (ST)"}


def sobol_chart(table: pd.DataFrame) -> go.Figure:
    """An ensemble's Sobol' indices (``Ensemble.sobol()``, or the ``ensemble_sobol`` rows of
    one run): one small chart per output and region, each input's first-order and total
    index as horizontal bars with their 95% intervals, inputs ranked by total index."""
    if table.empty:
        msg = "no Sobol' indices to draw: the ensemble's members were not drawn for them (--sobol)"
        raise InputError(msg)
    facets = list(table.groupby(["output", "region"], sort=True))
    inputs = table["input"].nunique()
    height = len(facets) * (28 * inputs + 110) + 120
    figure = make_subplots(
        rows=len(facets),
        cols=1,
        subplot_titles=[f"{output} ({region})" for (output, region), _ in facets],
        vertical_spacing=110 / height,
    )
    for row, (_, rows) in enumerate(facets, start=1):
        ranked = rows.sort_values("ST", ascending=False, kind="stable")
        for index in ("S1", "ST"):
            figure.add_trace(
                go.Bar(
                    x=ranked[index],
                    y=ranked["input"],
                    orientation="h",
                    error_x={"type": "data", "array": ranked[f"{index}_conf"]},
                    name=INDEX_NAMES[index],
                    legendgroup=index,
                    showlegend=row == 1,
                    marker_color=INDEX_COLOURS[index],
                ),
                row=row,
                col=1,
            )
        figure.update_yaxes(title_text="uncertain input", autorange="reversed", row=row, col=1)
    indices = table[["S1", "ST"]].to_numpy()
    figure.update_xaxes(
        title_text="Sobol' index [share of the output's variance]",
        range=[min(0.0, float(indices.min())) - 0.05, max(1.0, float(indices.max())) + 0.05],
    )
    _layout(figure, "What moves each answer: Sobol' indices", barmode="group")
    return figure.update_layout(
        hovermode="y unified",
        height=height,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        margin={"l": 300},
    )


PLAN_NAMES = {
    "alone": "members alone (their plans added up)",
    "pooled": "the alliance pooled",
}
"""The two plans of a procurement solve, in the order drawn, as shown."""

COUNTRY_COLOURS = qualitative.Dark24
"""Colours of the supplier countries, in order of tonnes bought."""


def procurement_chart(plan: pd.DataFrame, alliance: str) -> go.Figure:
    """One alliance's purchase plan (rows: plan, member, supplier, country, year, tonnes;
    see :func:`evpath.report.runs.procurement_plans`): tonnes bought by supplier country
    and year [t/yr] as stacked bars, the members' stand-alone plans added up beside the
    alliance pooled, on a shared axis; countries ordered by tonnes over both plans (those
    neither plan buys from left out)."""
    if plan.empty:
        msg = f"no purchase plan of {alliance} to draw"
        raise InputError(msg)
    tonnes = plan.groupby(["plan", "country", "year"], sort=True)["tonnes"].sum()
    plans = [name for name in PLAN_NAMES if name in tonnes.index.get_level_values("plan")]
    by_country = tonnes.groupby("country").sum().sort_values(ascending=False, kind="stable")
    countries = by_country[by_country > 0].index
    figure = make_subplots(
        rows=1,
        cols=len(plans),
        shared_yaxes=True,
        subplot_titles=[PLAN_NAMES[name] for name in plans],
        horizontal_spacing=0.04,
    )
    shown: set[str] = set()
    for column, name in enumerate(plans, start=1):
        bought = tonnes.loc[name]
        for index, country in enumerate(str(c) for c in countries):
            if country not in bought.index.get_level_values("country"):
                continue
            series = bought.loc[country]
            figure.add_trace(
                go.Bar(
                    x=[int(year) for year in series.index],
                    y=series.to_numpy(),
                    name=country,
                    legendgroup=country,
                    showlegend=country not in shown,
                    marker_color=COUNTRY_COLOURS[index % len(COUNTRY_COLOURS)],
                    hovertemplate=f"{country}: %{{y:,.0f}} t/yr<extra></extra>",
                ),
                row=1,
                col=column,
            )
            shown.add(country)
        figure.update_xaxes(title_text="year", row=1, col=column)
    figure.update_yaxes(title_text="metal bought [t/yr]", row=1, col=1)
    return _layout(
        figure, f"Procurement plan of {alliance}: tonnes by supplier country", barmode="stack"
    )


def _history_sources(dataset: xr.Dataset) -> list[str]:
    histories = dict.fromkeys(
        d["sales"]["history"] for d in scenario_documents(manifest_of(dataset))
    )
    return [f"sales history: {HISTORIES[h].description}" for h in histories]


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


STACKED_MEDIAN = "median of {members} members, each area on its own"
"""How a stacked chart draws an ensemble run."""

BANDED = "median of {members} members, with 25–75% (darker) and 5–95% (lighter) bands"
"""How a line chart draws an ensemble run (caption; ``{members}``: its number of members)."""


@dataclass(frozen=True)
class Chart:
    """One chart of the report: its title, how to draw it, the variables it needs, where
    its data come from (the sources one run read), and how it draws an ensemble run (a
    caption phrase with ``{members}``)."""

    key: str
    title: str
    draw: Callable[[Datasets], go.Figure]
    variables: tuple[str, ...]
    sources: Callable[[xr.Dataset], list[str]]
    ensemble: str = BANDED


CHARTS: tuple[Chart, ...] = (
    Chart(
        "sales_mix",
        "New car sales by powertrain",
        sales_mix,
        ("sales",),
        _history_sources,
        STACKED_MEDIAN,
    ),
    Chart(
        "fleet_mix",
        "Cars on the road by powertrain",
        fleet_mix,
        ("stock",),
        _history_sources,
        STACKED_MEDIAN,
    ),
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
        "median of {members} members with 5–95% error bars; no total (the members' totals "
        "are not kept)",
    ),
    Chart(
        "batteries",
        "Batteries and equipment investment",
        batteries,
        ("battery_demand", "equipment_investment"),
        _stage_sources(BatteryData.DATASETS),
        f"{BANDED}; totals over segments, powertrains and process steps add up each "
        "cell's percentiles (the total's own percentiles when the cells move together)",
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
        STACKED_MEDIAN,
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
        + (
            f", ensemble: {chart.ensemble.format(members=members(dataset))}"
            if QUANTILE in dataset.dims
            else ""
        )
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
