"""Adoption curves, milestone years and lags between regions (evpath.analysis.adoption, evpath compare)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import typer
import xarray as xr
from typer.testing import CliRunner

from evpath.analysis import adoption
from evpath.analysis.adoption import (
    FULL_SHARE,
    AdoptionFit,
    fit_adoption,
    fit_region,
    lag,
    lag_table,
    milestones,
    observed_crossing,
    share_history,
)
from evpath.cli.regions import register
from evpath.data.registry import load_dataset
from evpath.errors import InputError

YEARS = np.arange(2010, 2025)


def _history(
    values: np.ndarray, years: np.ndarray = YEARS, region: str = "Synthetic"
) -> xr.DataArray:
    return xr.DataArray(
        values,
        coords={"year": years},
        dims="year",
        attrs={"region": region, "kind": "EV", "units": "fraction"},
    )


def _logistic(t, r, t0, K=1.0):
    return K / (1.0 + np.exp(-r * (t - t0)))


def _bass(t, p, q, ts, K=1.0):
    e = np.exp(-(p + q) * np.maximum(t - ts, 0.0))
    return K * (1.0 - e) / (1.0 + q / p * e)


def _noisy(values: np.ndarray, scale: float, seed: int = 1) -> np.ndarray:
    return np.clip(values + np.random.default_rng(seed).normal(0.0, scale, values.size), 1e-5, 1)


# ---------------------------------------------------------------- recovering known curves


def test_logistic_fit_recovers_exact_parameters():
    fit = fit_adoption(_history(_logistic(YEARS, 0.45, 2026.0)))
    assert fit.model == "logistic"
    assert fit.free == ("r", "t0")
    assert fit.params["K"] == 1.0
    assert fit.params["r"] == pytest.approx(0.45, rel=1e-6)
    assert fit.params["t0"] == pytest.approx(2026.0, abs=1e-5)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.rmse < 1e-8
    assert fit.n_points == len(YEARS)


def test_logistic_fit_recovers_parameters_from_noisy_history_within_their_errors():
    truth = {"r": 0.4, "t0": 2025.0}
    fit = fit_adoption(_history(_noisy(_logistic(YEARS, **truth), 0.01)))
    for name, value in truth.items():
        assert abs(fit.params[name] - value) < 3 * fit.stderr[name]
    assert fit.params["r"] == pytest.approx(0.4, rel=0.1)
    assert fit.params["t0"] == pytest.approx(2025.0, abs=0.5)


def test_logistic_fit_with_saturation_recovers_k():
    years = np.arange(2008, 2025)
    fit = fit_adoption(_history(_logistic(years, 0.6, 2018.0, K=0.8), years), fit_saturation=True)
    assert fit.free == ("r", "t0", "K")
    assert fit.params["K"] == pytest.approx(0.8, rel=1e-5)
    assert fit.year_reaching(0.85) == np.inf


def test_bass_fit_recovers_exact_and_noisy_parameters():
    years = np.arange(2012, 2025)
    exact = _bass(years, 0.002, 0.5, ts=2011.0)
    fit = fit_adoption(_history(exact, years), "bass")
    assert fit.params["ts"] == 2011.0
    assert fit.free == ("ln_p", "q")
    assert fit.params["p"] == pytest.approx(0.002, rel=1e-4)
    assert fit.params["q"] == pytest.approx(0.5, rel=1e-5)
    noisy = fit_adoption(_history(_noisy(exact, 0.01, seed=3), years), "bass")
    assert noisy.params["q"] == pytest.approx(0.5, rel=0.1)
    assert abs(noisy.params["q"] - 0.5) < 3 * noisy.stderr["q"]


@pytest.mark.parametrize("model", ["logistic", "bass"])
def test_year_reaching_is_the_inverse_of_predict(model):
    fit = fit_region("China", model=model)
    levels = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    years = fit.year_reaching(levels)
    np.testing.assert_allclose(
        [fit.predict([y]).item() for y in years.to_numpy()], levels, rtol=1e-9
    )
    assert fit.year_reaching(1.0) == np.inf


def test_draws_are_vectorised_and_in_range():
    fit = fit_region("Japan", model="bass")
    draws = fit.sample(500, seed=4)
    assert draws.sizes == {"draw": 500}
    assert set(draws) == {"p", "q", "K", "ts"}
    assert float(draws["p"].min()) > 0
    assert float(draws["q"].min()) >= 0
    band = fit.predict(np.arange(2025, 2051), draws)
    assert band.dims == ("draw", "year")
    assert band.shape == (500, 26)
    assert float(band.min()) >= 0
    assert float(band.max()) <= 1
    years = fit.year_reaching([0.1, 0.5], draws)
    assert set(years.dims) == {"draw", "level"}
    xr.testing.assert_identical(fit.sample(500, seed=4), draws)


# ---------------------------------------------------------------- lags and milestones


@pytest.mark.parametrize("model", ["logistic", "bass"])
@pytest.mark.parametrize("k", [3, 7])
def test_lag_against_a_shifted_copy_equals_the_shift(model, k):
    curve = (
        (lambda t: _logistic(t, 0.5, 2022.0))
        if model == "logistic"
        else (lambda t: _bass(t, 0.003, 0.45, ts=2009.0))
    )
    years = np.arange(2010, 2025)
    lead = fit_adoption(_history(_noisy(curve(years), 0.005), years, "lead"), model)
    # the copy is the same noisy history k years later
    trail = fit_adoption(_history(lead.history.to_numpy(), years + k, "trail"), model)
    for level in (0.1, 0.25, 0.5, 0.9):
        # the fitted curves are the same curve k years apart
        assert trail.year_reaching(level) - lead.year_reaching(level) == pytest.approx(k, abs=1e-4)
        median, low, high = lag(trail, lead, level, use_history=False, n_draws=1000)
        assert median == pytest.approx(k, abs=0.1)
        assert low < k < high
        # observed crossings, where the history reached the level, shift by k too
        assert lag(trail, lead, level, n_draws=1000).median == pytest.approx(k, abs=0.1)


def test_lag_sign_and_table():
    fits = [fit_region(r) for r in ("China", "Japan", "Europe")]
    behind = lag(fits[1], fits[0], 0.25)
    assert behind.low < behind.median < behind.high
    assert behind.median > 5
    table = lag_table(fits, "China", levels=(0.10, 0.25))
    assert list(table["region"]) == ["Japan", "Japan", "Europe", "Europe"]
    # both China and Europe reached 10 % in the data: a fixed, observed lag
    europe = table[(table["region"] == "Europe") & (table["level"] == 0.10)].iloc[0]
    assert europe["low"] == europe["median"] == europe["high"]
    with pytest.raises(InputError, match="reference: got 'USA'"):
        lag_table(fits, "USA")


def _first_year_at_or_above(region: str, level: float) -> int:
    iea = load_dataset("iea_gevo2025_ev_data")
    rows = iea[
        (iea["region_country"] == region)
        & (iea["parameter"] == "EV sales share")
        & (iea["category"] == "Historical")
        & (iea["mode"] == "Cars")
    ]
    return int(rows[rows["value"] >= 100 * level]["year"].min())


@pytest.mark.parametrize(
    ("region", "level", "year"),
    [
        ("Norway", 0.10, 2014),
        ("China", 0.10, 2021),
        ("Norway", 0.5, 2019),
        ("Europe", 0.10, 2020),
        ("China", 0.25, 2022),
    ],
)
def test_milestones_in_history_are_the_years_of_the_data(region, level, year):
    assert _first_year_at_or_above(region, level) == year
    table = milestones([fit_region(region)], levels=(level,))
    row = table.iloc[0]
    assert row["basis"] == "observed"
    assert row["year"] == year
    assert row["low"] == row["crossing"] == row["high"]
    assert year - 1 < row["crossing"] <= year


def test_milestones_beyond_history_come_from_the_curve_with_intervals():
    japan = fit_region("Japan")
    table = milestones([japan], n_draws=500).set_index("level")
    assert list(table.index) == [0.05, 0.10, 0.25, 0.50, 0.90, 1.0]
    assert (table["basis"] == "fitted").all()
    assert table.loc[1.0, "target"] == FULL_SHARE
    assert (table["low"] < table["crossing"]).all()
    assert (table["crossing"] < table["high"]).all()
    assert table["year"].is_monotonic_increasing
    assert (table["year"] > 2024).all()
    assert (table["year_low"] <= table["year"]).all()
    assert (table["year"] <= table["year_high"]).all()


def test_a_regions_intervals_do_not_depend_on_the_regions_compared():
    japan, china, usa = (fit_region(r) for r in ("Japan", "China", "USA"))
    alone = milestones([japan], n_draws=300)
    among = milestones([china, usa, japan], n_draws=300)
    among = among[among["region"] == "Japan"].reset_index(drop=True)
    assert alone.equals(among)
    assert lag(japan, china, 0.25, n_draws=300) == lag(japan, china, 0.25, n_draws=300)


def test_curve_ahead_of_the_data_is_not_reported_in_the_past():
    # Europe's share stalled at 21–22 % in 2022–2024, below its fitted curve
    row = milestones([fit_region("Europe")], levels=(0.25,)).iloc[0]
    assert row["basis"] == "fitted"
    assert bool(row["ahead_of_data"])
    assert row["year"] == 2025
    assert row["low"] >= 2024


def test_saturation_below_a_level_means_never():
    years = np.arange(2008, 2025)
    fit = fit_adoption(_history(_logistic(years, 0.6, 2018.0, K=0.6), years), fit_saturation=True)
    row = milestones([fit], levels=(0.9,), n_draws=200).iloc[0]
    assert row["basis"] == "never"
    assert row["crossing"] == np.inf


def test_observed_crossing_interpolates_between_years():
    hist = _history(np.array([0.02, 0.06, 0.14]), np.array([2020, 2021, 2022]))
    assert observed_crossing(hist, 0.10) == pytest.approx(2021.5)
    assert observed_crossing(hist, 0.01) == 2020.0
    assert np.isnan(observed_crossing(hist, 0.5))


# ---------------------------------------------------------------- data and refusals


def test_share_history_kinds():
    ev, bev, phev = (share_history("China", kind) for kind in ("EV", "BEV", "PHEV"))
    assert ev.sel(year=2024).item() == pytest.approx(0.48)
    assert ev.attrs == {"region": "China", "kind": "EV", "units": "fraction"}
    # BEV + PHEV is the EV share less fuel-cell cars
    np.testing.assert_allclose((bev + phev).sel(year=2024), 0.48, rtol=1e-4)
    assert 0.25 < bev.sel(year=2024).item() < 0.30


def test_unknown_region_and_kind_are_explained():
    with pytest.raises(InputError, match=r"unknown region 'Japn'.*close matches: Japan"):
        share_history("Japn")
    with pytest.raises(InputError, match="did you mean 'Japan'"):
        share_history("japan")
    with pytest.raises(InputError, match="kind: got 'HEV'; allowed: one of EV, BEV, PHEV"):
        share_history("Japan", "HEV")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="model: got 'gompertz'"):
        fit_region("Japan", model="gompertz")  # type: ignore[arg-type]


def test_short_history_is_refused_with_the_count():
    hist = _history(np.array([0.0, 0.01, 0.02, 0.04]), np.arange(2021, 2025), "Tiny")
    with pytest.raises(InputError) as info:
        fit_adoption(hist)
    msg = str(info.value)
    assert msg.startswith("Tiny (EV share): too little history")
    assert "3 year(s) with a non-zero share" in msg
    assert "needs at least 5 years" in msg
    low = _history(np.full(10, 0.002), np.arange(2015, 2025), "Low")
    with pytest.raises(InputError, match=r"peak share 0.20%; needs .* peak of at least 0.5%"):
        fit_adoption(low)


@pytest.mark.parametrize("model", ["logistic", "bass"])
def test_every_iea_region_fits_or_is_refused_with_reasons(model):
    fitted, refused = [], []
    for region in adoption.regions():
        try:
            fit = fit_region(region, model=model)
        except InputError as exc:
            msg = str(exc)
            assert msg.startswith(f"{region} (EV share): "), msg
            assert "with a non-zero share" in msg, msg
            assert "needs" in msg, msg
            refused.append(region)
        else:
            assert isinstance(fit, AdoptionFit)
            assert np.isfinite(fit.r2)
            assert np.all(np.isfinite(fit.cov))
            assert np.isfinite(fit.year_reaching(0.5))
            fitted.append(region)
    assert {"Japan", "China", "Europe", "USA", "World", "Norway"} <= set(fitted)
    assert "Jordan" in refused  # in the file, but without a sales share
    assert len(fitted) > 45


# ---------------------------------------------------------------- command line


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    return app


runner = CliRunner()


def test_compare_prints_tables_and_writes_chart(tmp_path: Path):
    chart = tmp_path / "cmp.png"
    result = runner.invoke(
        _app(), ["compare", "China", "Japan", "Europe", "--chart", str(chart), "--draws", "300"]
    )
    assert result.exit_code == 0, result.output
    for text in (
        "Logistic fits",
        "Japan",
        "Year the share of sales",
        "2021 obs",
        "Years behind China",
        str(chart.name),
    ):
        assert text in result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_bass_svg_and_reference(tmp_path: Path):
    chart = tmp_path / "sub" / "cmp.svg"
    result = runner.invoke(
        _app(),
        [
            "compare",
            "Japan",
            "USA",
            "--model",
            "bass",
            "--kind",
            "BEV",
            "--reference",
            "Norway",
            "--chart",
            str(chart),
            "--draws",
            "200",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Bass fits to the BEV share" in result.output
    assert "Years behind Norway" in result.output
    assert chart.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_compare_default_chart_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(_app(), ["compare", "China", "United Kingdom", "--draws", "100"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "results" / "compare-china-united_kingdom.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Japn", "China"], "unknown region 'Japn'"),
        (["Japan", "--kind", "HEV"], "--kind: got 'HEV'"),
        (["Japan", "--model", "gompertz"], "--model: got 'gompertz'"),
        (["Japan", "Jordan"], "Jordan (EV share): too little history"),
        (["Japan", "--chart", "out.pdf"], "--chart: got 'out.pdf'"),
    ],
)
def test_compare_bad_input_exits_2_with_message(args, message, tmp_path: Path):
    result = runner.invoke(_app(), ["compare", *args, "--draws", "100"])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("draws", ["100000000", "5"])
def test_compare_draws_are_bounded(draws: str):
    result = runner.invoke(_app(), ["compare", "Japan", "--draws", draws])
    assert result.exit_code == 2, result.output
    assert f"--draws: got {draws}; allowed: 10 to 100000" in result.output


def test_compare_chart_that_is_a_folder_exits_2_before_fitting(tmp_path: Path):
    folder = tmp_path / "chart.png"
    folder.mkdir()
    result = runner.invoke(_app(), ["compare", "Japan", "--chart", str(folder)])
    assert result.exit_code == 2, result.output
    assert f"--chart: cannot write {str(folder)!r}: it is a folder" in result.output
    assert "Logistic fits" not in result.output


def test_compare_choices_in_the_help_are_those_of_the_analysis():
    from evpath.cli import regions

    assert regions.KINDS == adoption.KINDS
    assert regions.MODELS == adoption.MODELS
    assert regions.N_DRAWS == adoption.N_DRAWS
