"""The report: one self-contained HTML file of the charts of one or several runs.

plotly's JavaScript is embedded once, in the page's head; the page refers to nothing on
the network, so it opens offline and can be mailed or archived as it is.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

import plotly.io as pio
from plotly.offline import get_plotlyjs

from evpath.report.charts import CHARTS, Datasets, figures, missing

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.2rem; }
.runs { color: #555; margin-top: 0; }
figure { margin: 2.5rem 0; }
figcaption { font-size: 0.85rem; color: #555; margin-top: 0.3rem; }
.left-out { font-size: 0.85rem; color: #555; }
"""


def _runs(datasets: Datasets) -> str:
    items = "".join(
        f"<li><b>{html.escape(label)}</b>: scenario {html.escape(str(ds.attrs.get('scenario')))}, "
        f"run {html.escape(str(ds.attrs.get('run_id')))}, evpath "
        f"{html.escape(str(ds.attrs.get('evpath_version')))}</li>"
        for label, ds in datasets.items()
    )
    return f"<ul class='runs'>{items}</ul>"


def report_html(datasets: Datasets, title: str = "evpath report") -> str:
    """The report page of ``datasets`` (label → stamped run Dataset; several are drawn side
    by side): every chart of :data:`evpath.report.charts.CHARTS` the runs can draw, each
    with its caption, and a line naming any chart left out and why."""
    sections = []
    for chart_title, figure, caption in figures(datasets):
        body = pio.to_html(
            figure, include_plotlyjs=False, full_html=False, config={"displaylogo": False}
        )
        sections.append(
            f"<figure><h2>{html.escape(chart_title)}</h2>{body}"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
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
