"""``evpath calibrate`` and ``evpath fit-lifetime``: scenarios started from history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from evpath.cli.console import check_output, console, report_errors
from evpath.errors import InputError


def _write_yaml(path: Path, document: dict[str, Any]) -> None:
    """Write a scenario document whole or not at all (an interrupted write leaves any
    earlier file as it was); a path that cannot be written exits 2 with the reason."""
    import yaml

    from evpath.io.export import write_atomic

    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def calibrate(
    region: Annotated[
        str, typer.Argument(help="IEA region or country, e.g. Japan, China, Europe.")
    ],
    model: Annotated[str, typer.Option(help="Adoption curve: logistic or bass.")] = "logistic",
    out: Annotated[Path | None, typer.Option(help="Scenario file to write.")] = None,
) -> None:
    """Write a scenario whose electric sales share follows the curve fitted to history."""
    from evpath.analysis.adoption import is_model
    from evpath.analysis.calibration import RESTS_ON_LAST_YEAR, scenario_from_fit

    if not is_model(model):
        msg = f"--model: got {model!r}; allowed: 'logistic' or 'bass'"
        raise InputError(msg)
    if out is not None:
        check_output("--out", out)
    with console.status(f"fitting the {model} curve to {escape(region)}'s sales shares"):
        fitted = scenario_from_fit(region, model)
    document, without, dropped = fitted.document, fitted.without_last_year, fitted.last_history_year
    path = out or Path(f"{document['name']}.yaml")
    _write_yaml(path, document)
    for index, milestone in enumerate(document["sales"]["milestones"]):
        electric = 1.0 - milestone["shares"].get("ICEV_gasoline", 0.0)
        check = "" if without is None else f" ({100 * without[index]:.1f}% without {dropped})"
        console.print(f"  {milestone['year']}: electric share {100 * electric:.1f}%{check}")
    moved = fitted.resting_on_last_year()
    if moved:
        console.print(
            f"[yellow]the fit rests on {dropped}:[/] leaving that year out moves the share in "
            f"{', '.join(map(str, moved))} by more than {RESTS_ON_LAST_YEAR:.0%} of sales; "
            "treat these milestones as one reading of a short history"
        )
    console.print(f"wrote {escape(str(path))} (run it with `evpath run {escape(str(path))}`)")


def fit_lifetime_command(
    scenario: Annotated[str, typer.Argument(help="A bundled scenario name or a YAML file.")],
    out: Annotated[Path | None, typer.Option(help="Scenario file to write.")] = None,
) -> None:
    """Fit the lifetime to the history's stock and age; write the fitted scenario."""
    from evpath.analysis.calibration import fit_lifetime
    from evpath.scenario.loader import load_scenario

    if out is not None:
        check_output("--out", out)
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
    _write_yaml(path, document)
    console.print(f"wrote {escape(str(path))}")


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` and ``fit-lifetime`` to ``app``."""
    app.command("calibrate")(report_errors(calibrate))
    app.command("fit-lifetime")(report_errors(fit_lifetime_command))
