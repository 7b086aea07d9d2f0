"""Scenarios started from history: adoption curves written as milestones; lifetimes fitted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import evpath
from evpath.analysis.calibration import fit_lifetime, scenario_from_fit
from evpath.cli.app import app
from evpath.errors import InputError
from evpath.scenario import load_scenario
from evpath.scenario.loader import resolve_scenario
from evpath.scenario.schema import Scenario

runner = CliRunner()


def test_calibrated_scenario_follows_the_fitted_curve(tmp_path: Path):
    result = runner.invoke(app, ["calibrate", "China", "--out", str(tmp_path / "c.yaml")])
    assert result.exit_code == 0, result.output
    results = evpath.run(tmp_path / "c.yaml")
    from evpath.analysis.adoption import fit_region

    fit = fit_region("China", "EV", "logistic")
    share = results.dataset["sales_share"].sel(region="China", year=2035)
    electric = float(share.sel(powertrain=["BEV", "PHEV"]).sum())
    assert electric == pytest.approx(float(fit.predict([2035]).values[0]), abs=1e-5)


@pytest.mark.parametrize(("region", "rests"), [("India", True), ("China", False)])
def test_calibrate_says_when_the_fit_rests_on_the_last_year(tmp_path: Path, region, rests):
    """The curve is fitted again without the last year of history: each milestone's note
    gives that fit's share, and the command warns where it moves by more than a tenth of
    sales (India's share held at 2.1% in 2024 halves its fitted 2030 share)."""
    from evpath.analysis.adoption import fit_adoption, share_history

    history = share_history(region, "EV")
    without = fit_adoption(history.isel(year=slice(0, -1)), "logistic").predict([2030, 2035])
    full = fit_adoption(history, "logistic").predict([2030, 2035])
    assert (abs(full - without).max() > 0.1) == rests
    document = scenario_from_fit(region).document
    note = document["sales"]["milestones"][0]["note"]
    assert f"the fit without 2024 gives {100 * float(without[0]):.1f}%" in note
    result = runner.invoke(app, ["calibrate", region, "--out", str(tmp_path / "c.yaml")])
    assert result.exit_code == 0, result.output
    assert f"({100 * float(without[0]):.1f}% without 2024)" in result.output
    assert ("the fit rests on 2024" in result.output) == rests


def test_calibrate_refuses_unknown_regions():
    with pytest.raises(InputError, match="region: got 'Atlantis'"):
        scenario_from_fit("Atlantis")
    with pytest.raises(InputError, match="region: got 'Other markets'; allowed: an IEA region"):
        scenario_from_fit("Other markets")  # derived by evpath: no shares to fit
    assert runner.invoke(app, ["calibrate", "Atlantis"]).exit_code == 2


def test_a_region_whose_history_ends_early_is_split_on_its_last_year():
    """Regions whose IEA shares end before 2024 take their last year's BEV:PHEV split."""
    from evpath.analysis.adoption import regions, share_history
    from evpath.data.iea import iea_regions

    fitted = sorted(set(iea_regions()) & set(regions()))
    early = next(r for r in fitted if int(share_history(r, "BEV").year.max()) < 2024)
    last = int(share_history(early, "BEV").year.max())
    document = scenario_from_fit(early).document
    assert f"BEV:PHEV split of {last}" in document["sales"]["milestones"][0]["note"]
    assert resolve_scenario(document).regions == [early]


@pytest.mark.parametrize(
    ("lifetime", "reason"),
    [
        ({"model": "fixed", "mean": 13.0}, "a fixed lifetime retires cars at whole ages"),
        ({"model": "empirical", "survival": {0: 1.0, 20: 0.0}}, "it has no 'mean' to fit"),
    ],
)
def test_a_lifetime_the_fit_cannot_move_is_refused(lifetime: dict, reason: str):
    document = {
        "extends": "japan-2050",
        "name": "x",
        "fleet": {"lifetime": {**lifetime, "note": "n"}},
    }
    with pytest.raises(InputError, match=reason):
        fit_lifetime(resolve_scenario(document))


def _up_to(scenario: Scenario, end: int) -> Scenario:
    """``scenario`` modelled only up to ``end``: milestones after it dropped, no batteries
    or emissions. The lifetime fit runs the sales and fleet stages, whose stock and ages up
    to the last observation do not depend on later years."""
    document = scenario.model_dump()
    document["years"]["end"] = document["target_year"] = end
    milestones = document["sales"]["milestones"]
    document["sales"]["milestones"] = [m for m in milestones if m["year"] <= end]
    document["batteries"] = document["emissions"] = None
    return Scenario.model_validate(document)


@pytest.mark.long
def test_lifetime_fit_recovers_a_shifted_lifetime():
    # japan's observed stock and ages run to 2021
    base = _up_to(load_scenario("japan-2050"), 2026)
    lifetime = base.fleet.lifetime
    shorter = base.model_copy(
        update={
            "fleet": base.fleet.model_copy(
                update={
                    "lifetime": lifetime.model_copy(
                        update={"mean": {y: v - 1.5 for y, v in lifetime.mean.items()}}
                    ),
                }
            )
        }
    )
    fit = fit_lifetime(shorter)
    assert fit.parameters["mean_shift"] == pytest.approx(1.5, abs=0.6)
    check = fit.residuals
    assert check[check.metric == "stock"].relative_difference.abs().max() < 0.03


def test_a_shape_path_is_fitted_point_by_point_on_its_own_cohorts():
    """Each point of a Weibull shape path is one fitted parameter; the path's cohorts stay
    as the scenario says, and every segment's lifetime takes the fitted path."""
    from evpath.analysis.calibration import _start_shape, _with

    japan = load_scenario("japan-2050")
    assert _start_shape(japan) == ([], [japan.fleet.lifetime.shape])
    document = japan.model_dump()
    for spec in [document["fleet"]["lifetime"], *document["fleet"]["lifetime_by_segment"].values()]:
        spec["shape"] = {1990: 2.9, 2009: 1.7}
    path = Scenario.model_validate(document)
    cohorts, start = _start_shape(path)
    assert (cohorts, start) == ([1990, 2009], [2.9, 1.7])
    # mean shift, two shapes, trend slope, kei shift, past sales growth
    fitted = _with(path, [0.5, 3.0, 1.5, 0.1, 2.0, 0.25], ["registered", "kei"], cohorts, True)
    registered, kei = fitted.fleet.lifetime, fitted.fleet.lifetime_by_segment["kei"]
    assert registered.shape == kei.shape == {1990: 3.0, 2009: 1.5}
    assert registered.mean_trend is not None
    assert registered.mean_trend.slope == 0.1
    assert registered.mean[2009] == pytest.approx(japan.fleet.lifetime.mean[2009] + 0.5)
    assert kei.mean[2009] == pytest.approx(registered.mean[2009] + 2.0)
    assert fitted.fleet.initial_stock.past_sales_growth == 0.25
    # one shape: one parameter, written back as a number
    one = _with(japan, [0.0, 2.2, 0.0, 0.0, 0.2], ["registered", "kei"], [], True)
    assert one.fleet.lifetime.shape == 2.2


def test_the_fits_candidates_run_at_once_like_one_by_one():
    """The Jacobian's points run as one drawn fleet run: each candidate's stock and ages
    are those of its own run, and only the numbers the candidates differ in are drawn."""
    from evpath.analysis.calibration import _as_draws, _difference_steps, _with
    from evpath.core.dims import DRAW
    from evpath.data.histories import HISTORIES
    from evpath.model.fleet import fleet_stock
    from evpath.model.sales import new_sales

    japan = load_scenario("japan-2050")
    history = HISTORIES[japan.sales.history].load()
    sales = new_sales(japan, history.sales.sel(region=japan.regions), np.arange(1990, 2031))
    x = np.array([0.3, 2.2, -0.05, 2.0, 0.2])  # mean shift, shape, trend, kei shift, growth
    steps = _difference_steps(x, np.full(5, -8.0), np.array([8.0, 8.0, 0.05, 8.0, 0.2]))
    assert steps[-1] < 0 < steps[0]  # a step past the bound is taken the other way
    candidates = [
        _with(japan, point, ["registered", "kei"], [], True) for point in x + np.diag(steps)
    ]
    drawn = _as_draws(candidates)
    assert drawn.fleet.lifetime.shape.sizes == {DRAW: 5}  # type: ignore[union-attr]
    assert drawn.fleet.initial_stock.max_age == japan.fleet.initial_stock.max_age  # not drawn
    at_once = fleet_stock(drawn, sales)
    for i, candidate in enumerate(candidates):
        alone = fleet_stock(candidate, sales)
        for name in ("stock", "average_age"):
            np.testing.assert_allclose(
                getattr(at_once, name).isel({DRAW: i}).transpose(*getattr(alone, name).dims),
                getattr(alone, name),
                rtol=1e-12,
            )
