"""The report: one self-contained HTML file of the charts of one or several runs.

plotly's JavaScript is embedded once, in the page's head; the page refers to nothing on
the network, so it opens offline and can be mailed or archived as it is.

Ensemble runs (stored by ``evpath ensemble``, or computed in Python and passed through
:func:`evpath.report.runs.ensemble_dataset`) add a table of the probability that each
target is met and, when their members were drawn for them, a chart of Sobol' indices.

A run that purchase plans were built on (``evpath procure ALLIANCE --run RUN_ID``, read
with the run by :func:`evpath.report.runs.stored_dataset`) adds a chart of each
alliance's plan.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from evpath.report.charts import (
    CHARTS,
    PLAN_NAMES,
    Datasets,
    figures,
    missing,
    procurement_chart,
    sobol_chart,
)
from evpath.report.runs import (
    QUANTILE,
    ensemble_tables,
    members,
    procurement_costs,
    procurement_plans,
)

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.2rem; }
.runs { color: #555; margin-top: 0; }
figure { margin: 2.5rem 0; }
figcaption { font-size: 0.85rem; color: #555; margin-top: 0.3rem; }
.left-out { font-size: 0.85rem; color: #555; }
table.probability { border-collapse: collapse; font-size: 0.9rem; }
table.probability th, table.probability td { padding: 0.3rem 0.8rem; border-bottom: 1px solid #ddd; text-align: left; }
table.probability td.number { text-align: right; font-variant-numeric: tabular-nums; }
"""


def _runs(datasets: Datasets) -> str:
    items = "".join(
        f"<li><b>{html.escape(label)}</b>: scenario {html.escape(str(ds.attrs.get('scenario')))}, "
        f"run {html.escape(str(ds.attrs.get('run_id')))}, evpath "
        f"{html.escape(str(ds.attrs.get('evpath_version')))}"
        f"{f', ensemble of {members(ds)} members' if QUANTILE in ds.dims else ''}</li>"
        for label, ds in datasets.items()
    )
    return f"<ul class='runs'>{items}</ul>"


def _figure(title: str, figure: go.Figure, caption: str) -> str:
    body = pio.to_html(
        figure, include_plotlyjs=False, full_html=False, config={"displaylogo": False}
    )
    return (
        f"<figure><h2>{html.escape(title)}</h2>{body}"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _probabilities(datasets: Datasets) -> str:
    """One table of the probability that each target is met, a row per ensemble run,
    target and region; empty without ensemble runs."""
    rows = [
        (label, row)
        for label, dataset in datasets.items()
        if "ensemble_probability" in (tables := ensemble_tables(dataset))
        for row in tables["ensemble_probability"].itertuples(index=False)
    ]
    if not rows:
        return ""
    head = "".join(
        f"<th>{name}</th>"
        for name in ("run", "target", "region", "probability [%]", "members meeting it")
    )
    body = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{html.escape(str(row.meaning))}</td>"
        f"<td>{html.escape(str(row.region))}</td>"
        f"<td class='number'>{100 * float(row.probability):.1f}</td>"
        f"<td class='number'>{int(row.members_met)} of {int(row.members)}</td></tr>"
        for label, row in rows
    )
    return (
        "<section><h2>How likely each target is met</h2>"
        f"<table class='probability'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        "<p class='left-out'>The share of an ensemble's members that meet each target of "
        "its scenario, in the target year.</p></section>"
    )


def _sensitivity(datasets: Datasets) -> list[str]:
    """A Sobol' chart for each ensemble run that has indices."""
    return [
        _figure(
            f"What moves each answer: Sobol' indices, {label}",
            sobol_chart(tables["ensemble_sobol"]),
            f"Run — {label}: scenario {dataset.attrs.get('scenario')}, run "
            f"{dataset.attrs.get('run_id')}, {members(dataset)} members on Saltelli's design. "
            "Each input's first-order index (its share of the output's variance on its own) "
            "and total index (with all its interactions), with 95% bootstrap intervals, in "
            "the target year; inputs ranked by total index.",
        )
        for label, dataset in datasets.items()
        if "ensemble_sobol" in (tables := ensemble_tables(dataset))
    ]


def _plan_caption(label: str, dataset: xr.Dataset, alliance: str, plan: pd.DataFrame) -> str:
    """Which alliance and run a purchase plan belongs to, the tonnes of each plan and the
    country each buys most from."""
    years = plan["year"]
    bought = plan.groupby("plan")["tonnes"].sum()
    top = plan.groupby(["plan", "country"])["tonnes"].sum()
    plans = "; ".join(
        f"{PLAN_NAMES[name]}: {bought[name]:,.0f} t, most from "
        f"{top[name].idxmax()} ({100 * top[name].max() / bought[name]:.1f}%)"
        for name in PLAN_NAMES
        if name in bought.index and bought[name] > 0
    )
    run_id = dataset.attrs.get("run_id")
    return (
        f"Alliance {alliance}, planned on the demand of run {run_id} ({label}: scenario "
        f"{dataset.attrs.get('scenario')}) and stored by `evpath procure {alliance} --run "
        f"{run_id}`. Tonnes of metal bought each year by supplier country: the members' "
        "stand-alone plans added up (left) and the alliance buying together (right). Over "
        f"{int(years.min())}–{int(years.max())}: {plans}. {_costs_sentence(dataset, alliance)}"
    )


def _costs_sentence(dataset: xr.Dataset, alliance: str) -> str:
    """Cost alone, pooled and the saving [million USD], as stored with the plan."""
    costs = procurement_costs(dataset).get(alliance)
    if costs is None:
        return "Its costs were not stored with the plan; `evpath procure` prints them."
    musd = {k: v / 1e6 for k, v in costs.items()}
    share = costs["saving"] / costs["cost_alone"] if costs["cost_alone"] else 0.0
    return (
        f"Cost alone {musd['cost_alone']:,.1f} MUSD (cash {musd['cash_cost_alone']:,.1f}, "
        f"risk penalty {musd['risk_penalty_alone']:,.1f}); pooled {musd['cost_pooled']:,.1f} "
        f"MUSD (cash {musd['cash_cost_pooled']:,.1f}, risk penalty "
        f"{musd['risk_penalty_pooled']:,.1f}); saving {musd['saving']:,.1f} MUSD "
        f"({100 * share:.1f}%), of which cash {musd['cash_saving']:,.1f}."
    )


def _procurement(datasets: Datasets) -> list[str]:
    """A chart of each alliance's purchase plan built on each run."""
    return [
        _figure(
            f"Procurement plan of {alliance}, {label}",
            procurement_chart(plan, alliance),
            _plan_caption(label, dataset, alliance, plan),
        )
        for label, dataset in datasets.items()
        for alliance, plan in procurement_plans(dataset).items()
    ]


def report_html(datasets: Datasets, title: str = "evpath report") -> str:
    """The report page of ``datasets`` (label → stamped run Dataset; several are drawn side
    by side): every chart of :data:`evpath.report.charts.CHARTS` the runs can draw, each
    with its caption, and a line naming any chart left out and why. Ensemble runs (see
    :func:`evpath.report.runs.ensemble_dataset`) are drawn as medians and bands, and add
    the probability that each target is met and their Sobol' indices; a run carrying
    purchase plans (see :func:`evpath.report.runs.with_procurement`) adds a chart of each."""
    sections = [_probabilities(datasets)]
    sections += [_figure(*drawn) for drawn in figures(datasets)]
    sections += _sensitivity(datasets)
    sections += _procurement(datasets)
    left_out = [
        f"{html.escape(chart.title)} (not computed by {html.escape(', '.join(lacking))})"
        for chart in CHARTS
        if (lacking := missing(chart, datasets))
    ]
    note = f"<p class='left-out'>Left out: {'; '.join(left_out)}.</p>" if left_out else ""
    made = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='runs'>Made {made} from:</p>{_runs(datasets)}"
        f"{note}{''.join(sections)}</body></html>\n"
    )
