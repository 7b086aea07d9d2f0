"""The command line: outputs, files written, exit code 2 and no traceback on bad input."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from evpath.cli.app import app

runner = CliRunner()


def test_run_prints_summary_and_writes_every_output(tmp_path: Path):
    store = tmp_path / "store.duckdb"
    result = runner.invoke(
        app, ["run", "japan-2050", "--out", str(tmp_path), "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    assert "New sales mix, JPN" in result.output and "Stock mix, JPN" in result.output
    assert "target met" in result.output
    with xr.open_dataset(tmp_path / "japan-2050.nc", engine="h5netcdf") as ds:
        assert ds["stock"].attrs["units"] == "vehicles"
    table = pd.read_parquet(tmp_path / "japan-2050.parquet")
    assert {"variable", "unit", "region", "powertrain", "year", "value"} <= set(table.columns)
    with duckdb.connect(str(store)) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        stored = con.execute("SELECT count(*) FROM results").fetchone()[0]
    assert stored == len(table)


def test_second_run_adds_to_the_store(tmp_path: Path):
    store = tmp_path / "store.duckdb"
    for name in ("japan-2050", "japan-current-trends"):
        result = runner.invoke(app, ["run", name, "--out", str(tmp_path), "--store", str(store)])
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


def test_failed_run_leaves_earlier_results(tmp_path: Path):
    store = tmp_path / "store.duckdb"
    assert (
        runner.invoke(
            app, ["run", "japan-2050", "--out", str(tmp_path), "--store", str(store)]
        ).exit_code
        == 0
    )
    before = (tmp_path / "japan-2050.parquet").read_bytes()
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: japan-2050\nname: japan-2050\ntarget_year: soon\n", encoding="utf-8")
    result = runner.invoke(app, ["run", str(bad), "--out", str(tmp_path), "--store", str(store)])
    assert result.exit_code == 2
    assert (tmp_path / "japan-2050.parquet").read_bytes() == before
    with duckdb.connect(str(store)) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1


def test_scenarios_and_data_listings():
    scenarios = runner.invoke(app, ["scenarios"])
    assert scenarios.exit_code == 0
    assert "japan-2050" in scenarios.output and "japan-current-trends" in scenarios.output
    data = runner.invoke(app, ["data"], terminal_width=250)
    assert data.exit_code == 0
    assert "iea_gevo2025_ev_data" in data.output and "CC BY 4.0" in data.output


def test_unknown_option_is_a_usage_error():
    result = runner.invoke(app, ["run", "japan-2050", "--colour", "red"])
    assert result.exit_code == 2


def test_targets_reports_and_exits_0_when_the_target_is_missed():
    result = runner.invoke(
        app, ["targets", "japan-current-trends", "--no-solve"], terminal_width=120
    )
    assert result.exit_code == 0, result.output
    assert "wtw_per_new_car *" in result.output and "gap" in result.output
    assert "(LMDI)" in result.output


def test_targets_answers_the_reverse_questions():
    result = runner.invoke(app, ["targets", "japan-2050"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "must end by 2050" in result.output
    assert "BEV share of new sales in 2050" in result.output


def test_targets_rejects_an_unknown_metric():
    result = runner.invoke(app, ["targets", "japan-2050", "--metric", "per_tree"])
    assert result.exit_code == 2
    assert "--metric: got 'per_tree'; allowed: one of wtw_per_new_car" in result.output
