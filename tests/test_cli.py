"""The command line: outputs, files written, exit code 2 and no traceback on bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from evpath.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="session")
def japan_run_folder(tmp_path_factory):
    """``evpath run japan-2050`` into a fresh folder and store (``store.duckdb`` in it), once.

    Tests that only read the folder share it; tests that write more into it work on a copy.
    """
    out = tmp_path_factory.mktemp("japan-2050-run")
    store = out / "store.duckdb"
    result = runner.invoke(app, ["run", "japan-2050", "--out", str(out), "--store", str(store)])
    return result, out


def _copy(folder: Path, into: Path) -> Path:
    shutil.copytree(folder, into, dirs_exist_ok=True)
    return into


def test_run_prints_summary_and_writes_every_output(japan_run_folder):
    result, out = japan_run_folder
    store = out / "store.duckdb"
    assert result.exit_code == 0, result.output
    assert "New sales mix, JPN" in result.output
    assert "Stock mix, JPN" in result.output
    assert "target met" in result.output
    with xr.open_dataset(out / "japan-2050" / "japan-2050.nc", engine="h5netcdf") as ds:
        assert ds["stock"].attrs["units"] == "vehicles"
    table = pd.read_parquet(out / "japan-2050" / "japan-2050.parquet")
    assert {"variable", "unit", "region", "powertrain", "year", "value"} <= set(table.columns)
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        stored = con.execute("SELECT count(*) FROM results").fetchone()[0]
    assert stored == len(table)


def test_second_run_adds_to_the_store(japan_run_folder, tmp_path: Path):
    first, folder = japan_run_folder
    out = _copy(folder, tmp_path)
    store = out / "store.duckdb"
    assert first.exit_code == 0, first.output  # japan-2050, the first run in the store
    result = runner.invoke(
        app, ["run", "japan-current-trends", "--out", str(out), "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(store)) as con:
        names = {r[0] for r in con.execute("SELECT scenario FROM runs").fetchall()}
    assert names == {"japan-2050", "japan-current-trends"}


def test_validate_good_and_bad(tmp_path: Path):
    assert runner.invoke(app, ["validate", "japan-2050"]).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "extends: japan-2050\nname: bad\nsales:\n  milestones:\n"
        "    - {year: 2030, shares: {BEV: 0.7, HEV: 0.2}, note: x}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    assert "sales.milestones[0].shares: shares sum to 0.9" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["run"], ["validate"]])
def test_missing_scenario_file_exits_2(tmp_path: Path, command):
    result = runner.invoke(app, [*command, str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "no such scenario file" in result.output
    assert "Traceback" not in result.output


def test_failed_run_leaves_earlier_results(japan_run_folder, tmp_path: Path):
    first, folder = japan_run_folder
    out = _copy(folder, tmp_path)
    store = out / "store.duckdb"
    assert first.exit_code == 0, first.output
    before = (out / "japan-2050" / "japan-2050.parquet").read_bytes()
    bad = out / "bad.yaml"
    bad.write_text("extends: japan-2050\nname: japan-2050\ntarget_year: soon\n", encoding="utf-8")
    result = runner.invoke(app, ["run", str(bad), "--out", str(out), "--store", str(store)])
    assert result.exit_code == 2
    assert (out / "japan-2050" / "japan-2050.parquet").read_bytes() == before
    with duckdb.connect(str(store)) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1


def test_scenarios_and_data_listings():
    scenarios = runner.invoke(app, ["scenarios"])
    assert scenarios.exit_code == 0
    assert "japan-2050" in scenarios.output
    assert "japan-current-trends" in scenarios.output
    data = runner.invoke(app, ["data"], terminal_width=250)
    assert data.exit_code == 0
    assert "iea_gevo2025_ev_data" in data.output
    assert "CC BY 4.0" in data.output


def test_unknown_option_is_a_usage_error():
    result = runner.invoke(app, ["run", "japan-2050", "--colour", "red"])
    assert result.exit_code == 2


def test_targets_reports_and_exits_0_when_the_target_is_missed():
    result = runner.invoke(
        app, ["targets", "japan-current-trends", "--no-solve"], terminal_width=120
    )
    assert result.exit_code == 0, result.output
    assert "wtw_per_new_car *" in result.output
    assert "gap" in result.output
    assert "(LMDI)" in result.output


def test_targets_answers_the_reverse_questions(monkeypatch, japan_2050, reverse_answers):
    """The command prints the answer ``solve_reverse`` gives for the scenario and metric
    asked (solved once and shared with the tests of the answer itself)."""

    def solve_reverse(scenario, inputs, metric=None, **options):
        assert scenario == japan_2050.scenario
        assert not options
        return reverse_answers(metric)

    monkeypatch.setattr("evpath.analysis.reverse.solve_reverse", solve_reverse)
    result = runner.invoke(app, ["targets", "japan-2050"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "must end by 2050" in result.output
    assert "BEV share of new sales in 2050" in result.output


def test_targets_rejects_an_unknown_metric():
    result = runner.invoke(app, ["targets", "japan-2050", "--metric", "per_tree"])
    assert result.exit_code == 2
    assert "--metric: got 'per_tree'; allowed: one of wtw_per_new_car" in result.output
