"""Stored runs read back and exported: NetCDF, Parquet, CSV, the Excel workbook and IAMC
files equal the run, and `evpath runs`, `show` and `export` with their exit codes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from evpath.cli.app import app
from evpath.cli.outputs import FORMATS
from evpath.errors import InputError
from evpath.io.export import tidy
from evpath.report import exports, iamc
from evpath.report.runs import resolve_run_id

runner = CliRunner()


def test_a_stored_run_reads_back_as_the_runs_dataset(japan_2050, stored_japan):
    stored = stored_japan.dataset
    assert set(stored.data_vars) == set(japan_2050.dataset.data_vars)
    for name, array in japan_2050.dataset.data_vars.items():
        back = stored[name].transpose(*array.dims).reindex_like(array)
        assert back.attrs["units"] == array.attrs["units"], name
        np.testing.assert_allclose(back.values, array.values, rtol=1e-12, err_msg=str(name))
    assert stored.attrs["run_id"] == japan_2050.run_id


def test_a_run_id_is_found_by_a_unique_start_only():
    class Store:
        path = Path("runs.duckdb")

        def runs(self) -> pd.DataFrame:
            return pd.DataFrame({"run_id": ["2030-a-1", "2030-a-2", "2031-b"]})

    store = Store()
    assert resolve_run_id(store, "2031") == "2031-b"  # type: ignore[arg-type]
    assert resolve_run_id(store, "2030-a-1") == "2030-a-1"  # type: ignore[arg-type]
    with pytest.raises(InputError, match="start of 2 runs"):
        resolve_run_id(store, "2030")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="evpath runs"):
        resolve_run_id(store, "1999")  # type: ignore[arg-type]


def test_parquet_csv_and_netcdf_read_back_equal(japan_2050, stored_japan, tmp_path):
    # the stored dataset equals the run's (test above): its tidy table is the run's,
    # its rows in the stored labels' order
    dataset = stored_japan.dataset
    expected = tidy(dataset)
    assert len(expected) == len(japan_2050.tidy)
    parquet = exports.export_run(dataset, "parquet", tmp_path / "run.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), expected)

    csv = exports.export_run(dataset, "csv", tmp_path / "run.csv")
    read = pd.read_csv(csv, dtype={c: "string" for c in expected.columns if c != "value"})
    for column in ("cohort", "age", "year"):
        read[column] = read[column].astype("Int64")
    pd.testing.assert_frame_equal(read, expected, check_dtype=False, check_exact=False, rtol=1e-12)

    netcdf = exports.export_run(dataset, "netcdf", tmp_path / "run.nc")
    with xr.open_dataset(netcdf, engine="netcdf4") as back:
        assert back.attrs["run_id"] == stored_japan.run_id
        for name, array in japan_2050.dataset.data_vars.items():
            assert back[name].attrs["units"] == array.attrs["units"]
            xr.testing.assert_allclose(back[name].transpose(*array.dims).reindex_like(array), array)


def test_the_workbook_holds_every_value_by_group_with_its_metadata(
    japan_2050, stored_japan, tmp_path
):
    path = exports.export_run(stored_japan.dataset, "xlsx", tmp_path / "run.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    run = set(japan_2050.dataset.data_vars)
    groups = {s: n for s, n in exports.sheet_groups().items() if run & set(n)}
    assert list(sheets) == [*groups, exports.METADATA_SHEET]

    values = japan_2050.tidy
    values = values[~values["variable"].isin(list(exports.WORKBOOK_LEFT_OUT))]
    for sheet, names in groups.items():
        table = sheets[sheet]
        assert set(table["variable"]) == {
            n for n in names if n in run and n not in exports.WORKBOOK_LEFT_OUT
        }
        years = [c for c in table.columns if isinstance(c, int)]
        labels = [c for c in table.columns if c not in ("variable", "unit", "value", *years)]
        long = table.melt(
            id_vars=["variable", "unit", *labels],
            value_vars=years,
            var_name="year",
            value_name="yearly",
        )
        expected = values[values["variable"].isin(names)]
        yearly = expected[expected["year"].notna()]
        merged = yearly.astype({"year": int}).merge(
            long.dropna(subset=["yearly"]).astype({"year": int}),
            on=["variable", "unit", *labels, "year"],
            how="left",
            suffixes=("", "_sheet"),
        )
        assert len(merged) == len(yearly), sheet
        np.testing.assert_allclose(merged["yearly"], merged["value"], rtol=1e-12, err_msg=sheet)
        yearless = expected[expected["year"].isna()]
        if not yearless.empty:
            rows = table[table["variable"].isin(yearless["variable"])]
            assert len(rows) == len(yearless), sheet
            np.testing.assert_allclose(
                np.sort(rows["value"].to_numpy(float)), np.sort(yearless["value"].to_numpy(float))
            )

    metadata = sheets[exports.METADATA_SHEET].set_index(["section", "name"])
    assert metadata.loc[("run", "run_id"), "value"] == stored_japan.run_id
    assert metadata.loc[("run", "scenario_name"), "value"] == "japan-2050"
    assert ("dataset", "iea_gevo2025_ev_data") in metadata.index
    assert metadata.loc[("variable", "battery_demand"), "unit"] == "GWh/yr"
    assert "not in this workbook" in metadata.loc[("variable", "stock_by_cohort"), "value"]


# pyam 3 passes pandas a keyword pandas now deprecates; that warning is pyam's own
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
@pytest.mark.long
def test_the_iamc_file_loads_in_pyam_with_the_runs_values_converted(stored_japan, tmp_path):
    pyam = pytest.importorskip("pyam")
    out = tmp_path / "run.iamc.csv"
    result = runner.invoke(
        app,
        [
            *("export", stored_japan.run_id[:12], "--format", "iamc"),
            *("--out", str(out), "--store", str(stored_japan.store)),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pyam.IamDataFrame(out)
    assert frame.region == ["Japan"]
    assert frame.scenario == ["japan-2050"]
    assert len(frame.variable) == len(iamc.mapping())
    ds = stored_japan.dataset.sel(region="JPN", year=2050)

    def value(variable: str) -> float:
        return float(frame.filter(variable=variable, year=2050).timeseries().iloc[0, 0])

    ldv = "Transportation|Light-Duty Vehicle"
    assert value(f"Sales|{ldv}|Battery-Electric") == pytest.approx(
        float(ds["sales"].sel(powertrain="BEV").sum()) / 1e6
    )
    assert value(f"Stocks|{ldv}|Internal Combustion") == pytest.approx(
        float(ds["stock"].sel(powertrain=["ICEV_gasoline", "ICEV_diesel", "MHEV", "HEV"]).sum())
        / 1e6
    )
    assert value(f"Emissions|Kyoto Gases|Energy|Demand|{ldv}") == pytest.approx(
        float(ds["emissions"].sel(stage="tank_to_wheel").sum()) / 1e9
    )
    assert value(f"Final Energy|{ldv}|Electricity") == pytest.approx(
        float(ds["electricity_use"]) * 3.6e-12, rel=1e-9
    )
    assert value(f"Material Demand|{ldv}|Battery|Cobalt") == pytest.approx(
        float(ds["metal_put_on_market"].sel(metal="cobalt")) / 1e3
    )
    assert frame.filter(variable=f"Sales|{ldv}").unit == ["million"]


def test_every_mapped_variable_and_format_is_known():
    rows = iamc.mapping()
    assert len({row.variable for row in rows}) == len(rows)
    assert {row.origin for row in rows} == {"codelist", "extension"}
    assert list(FORMATS) == list(exports.SUFFIXES)


def test_runs_and_show_read_the_store(stored_japan):
    store = ["--store", str(stored_japan.store)]
    listed = runner.invoke(app, ["runs", *store])
    assert listed.exit_code == 0, listed.output
    assert stored_japan.run_id[:20] in listed.output
    shown = runner.invoke(app, ["show", stored_japan.run_id[:16], *store])
    assert shown.exit_code == 0, shown.output
    assert "New sales mix, JPN" in shown.output
    assert "target" in shown.output
    assert stored_japan.run_id in shown.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["show", "no-such-run"], "evpath runs"),
        (["export", "no-such-run"], "evpath runs"),
        (["export", "2", "--format", "xls"], "allowed: one of netcdf"),
        (["export", "2", "--out", "."], "it is a folder"),
        (["report", "2", "--out", "."], "it is a folder"),
    ],
)
def test_bad_input_exits_2_without_traceback(stored_japan, arguments, message):
    result = runner.invoke(app, [*arguments, "--store", str(stored_japan.store)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["export", "report"])
@pytest.mark.parametrize("target", ["pipe", "long name"])
def test_an_out_that_is_no_regular_file_or_too_long_a_name_exits_2(
    stored_japan, tmp_path, command, target
):
    """A pipe (or a device such as /dev/full) stays what it is: the output would replace
    it; a name longer than the file system takes is bad input, not a bug."""
    if target == "pipe":
        out = tmp_path / "pipe.html"
        os.mkfifo(out)
        message = "it is not a regular file"
    else:
        out = tmp_path / ("x" * 300 + ".html")
        message = "File name too long"
    result = runner.invoke(
        app, [command, stored_japan.run_id, "--out", str(out), "--store", str(stored_japan.store)]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "unexpected" not in result.output
    if target == "pipe":
        assert stat.S_ISFIFO(out.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == (["pipe.html"] if target == "pipe" else [])


def test_an_unwritable_out_exits_2(stored_japan, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = runner.invoke(
        app,
        [
            *("export", stored_japan.run_id, "--format", "iamc"),
            *("--out", str(blocker / "x.csv"), "--store", str(stored_japan.store)),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "is a file, not a folder" in result.output
