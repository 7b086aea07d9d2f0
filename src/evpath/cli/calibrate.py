"""``evpath calibrate`` and ``evpath fit-lifetime``: scenarios started from history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
import yaml

from evpath.cli.console import console, report_errors
from evpath.errors import InputError

MILESTONE_YEARS = (2030, 2035, 2040, 2045, 2050)


def scenario_from_fit(region: str, model: str = "logistic") -> dict:
    """A scenario document for an IEA region whose electric share follows the fitted curve.

    The electric share at each milestone year is the fitted curve (saturation 100%); it is
    split between BEV and PHEV in their 2024 proportions; the rest are cars without a plug.
    The document extends ``world-current-trends`` (lifetime, batteries, plants, recycling).
    """
    from evpath.analysis.adoption import fit_region, share_history
    from evpath.data.iea import iea_regions

    if region not in iea_regions():
        msg = f"region: got {region!r}; allowed: an IEA region with usable sales shares (see `evpath compare`)"
        raise InputError(msg)
    fit = fit_region(region, "EV", model)  # type: ignore[arg-type]
    bev = float(share_history(region, "BEV").sel(year=2024))
    phev = float(share_history(region, "PHEV").sel(year=2024))
    bev_part = bev / (bev + phev) if bev + phev > 0 else 1.0
    shares = np.clip(fit.predict(np.array(MILESTONE_YEARS)).values, 0.0, 1.0)
    milestones = []
    for year, electric in zip(MILESTONE_YEARS, shares, strict=True):
        mix = {"BEV": round(float(electric) * bev_part, 6)}
        mix["PHEV"] = round(float(electric) - mix["BEV"], 6)
        mix["ICEV_gasoline"] = round(1.0 - mix["BEV"] - mix["PHEV"], 6)
        milestones.append(
            {
                "year": year,
                "shares": {k: v for k, v in mix.items() if v > 0},
                "source": (
                    f"evpath {model} fit to the IEA GEVO 2025 electric share of car sales "
                    f"in {region} (R² {fit.r2:.2f}, {fit.n_points} years)"
                ),
                "note": f"BEV:PHEV split of 2024 ({bev_part:.2f} BEV); cars without a plug as ICEV_gasoline",
            }
        )
    slug = "".join(c if c.isalnum() else "-" for c in region.lower()).strip("-")
    return {
        "name": f"{slug}-fitted",
        "extends": "world-current-trends",
        "description": f"{region}: the electric share of car sales follows its fitted {model} curve.",
        "regions": [region],
        "sales": {"curve": {"kind": "linear"}, "milestones": milestones},
    }


def calibrate(
    region: Annotated[
        str, typer.Argument(help="IEA region or country, e.g. Japan, China, Europe.")
    ],
    model: Annotated[str, typer.Option(help="Adoption curve: logistic or bass.")] = "logistic",
    out: Annotated[Path | None, typer.Option(help="Scenario file to write.")] = None,
) -> None:
    """Write a scenario whose electric sales share follows the curve fitted to history."""
    if model not in ("logistic", "bass"):
        msg = f"--model: got {model!r}; allowed: 'logistic' or 'bass'"
        raise InputError(msg)
    document = scenario_from_fit(region, model)
    path = out or Path(f"{document['name']}.yaml")
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    for milestone in document["sales"]["milestones"]:
        electric = 1.0 - milestone["shares"].get("ICEV_gasoline", 0.0)
        console.print(f"  {milestone['year']}: electric share {100 * electric:.1f}%")
    console.print(f"wrote {path} (run it with `evpath run {path}`)")


def fit_lifetime_command(
    scenario: Annotated[str, typer.Argument(help="A bundled scenario name or a YAML file.")],
    out: Annotated[Path | None, typer.Option(help="Scenario file to write.")] = None,
) -> None:
    """Fit the lifetime to the history's stock and age; write the fitted scenario."""
    from evpath.analysis.calibration import fit_lifetime
    from evpath.scenario.loader import load_scenario

    with console.status("fitting the lifetime (re-runs the model)"):
        fit = fit_lifetime(load_scenario(scenario))
    for name, value in fit.parameters.items():
        console.print(f"  {name:<20} {value:.4f}")
    worst = fit.residuals.groupby("metric")["relative_difference"].agg(lambda d: d.abs().max())
    for metric, gap in worst.items():
        console.print(f"  largest gap, {metric:<12} {100 * gap:.1f}%")
    document = fit.scenario.model_dump(mode="json", exclude_none=True)
    document["name"] = f"{fit.scenario.name}-fitted-lifetime"
    path = out or Path(f"{document['name']}.yaml")
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` and ``fit-lifetime`` to ``app``."""
    app.command("calibrate")(report_errors(calibrate))
    app.command("fit-lifetime")(report_errors(fit_lifetime_command))
