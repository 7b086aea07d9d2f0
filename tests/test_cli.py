"""The command line: outputs, files written, exit code 2 and no traceback on bad input."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from typer.testing import CliRunner

import evpath
from evpath.cli.app import app
from evpath.errors import InputError, ScenarioError

runner = CliRunner()


@pytest.fixture(scope="session")
def japan_run_folder(tmp_path_factory, computed_once):
    """``evpath run japan-2050`` into a fresh folder and store (``store.duckdb`` in it), once
    per session: its exit code and output, and the folder.

    Tests that only read the folder share it; tests that write more into it work on a copy.
    """

    def run() -> tuple[CompletedRun, Path]:
        out = tmp_path_factory.mktemp("japan-2050-run")
        store = out / "store.duckdb"
        result = runner.invoke(app, ["run", "japan-2050", "--out", str(out), "--store", str(store)])
        return CompletedRun(result.exit_code, result.output), out

    return computed_once("evpath run japan-2050 --out FOLDER --store FOLDER/store.duckdb", run)


@dataclass(frozen=True)
class CompletedRun:
    """What a command run with CliRunner left: its exit code and output."""

    exit_code: int
    output: str


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
    with xr.open_dataset(out / "japan-2050" / "japan-2050.nc", engine="netcdf4") as ds:
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
    assert "wtw_per_new_car * [kg/car/yr]" in result.output  # the unit kept
    assert "wtw_per_km_new [g/km]" in result.output
    assert "gap" in result.output
    assert "(LMDI)" in result.output
    # the lifetime view beside the at-sale one, the grid's part, where the verdict flips
    assert "wtw_per_new_car_lifetime" in result.output
    assert "WTW per new car, life (t)" in result.output
    assert "fleet WTW, 2010 grid (Mt/yr)" in result.output
    assert "The grid's part: fleet WTW in 2050" in result.output
    assert "How the verdict depends on the grid (intensity held from 2050 on" in result.output
    assert "JPN wtw_per_new_car_lifetime: " in result.output
    assert "Verdict under each bundled grid pathway" not in result.output  # --no-solve


@pytest.mark.long
def test_targets_answers_the_reverse_questions(monkeypatch, japan_2050, reverse_answers):
    """The command prints the answer ``solve_reverse`` gives for the scenario and metric
    asked (solved once and shared with the tests of the answer itself)."""

    def solve_reverse(scenario, inputs, metric=None, **options):
        assert scenario == japan_2050.scenario
        assert not options
        return reverse_answers(metric)

    def grid_pathway_verdicts(scenario, inputs):
        assert scenario == japan_2050.scenario
        rows = [
            (pathway, "JPN", metric, grid, cut, False)
            for pathway, grid, cut in (("japan-2050", 50.0, 0.727), ("dirty-grid", 400.0, 0.6))
            for metric in ("wtw_per_new_car", "wtw_per_new_car_lifetime")
        ]
        columns = ["pathway", "region", "metric", "grid", "reduction", "met"]
        return pd.DataFrame(rows, columns=columns).set_index(["pathway", "region", "metric"])

    monkeypatch.setattr("evpath.analysis.reverse.solve_reverse", solve_reverse)
    monkeypatch.setattr("evpath.analysis.reverse.grid_pathway_verdicts", grid_pathway_verdicts)
    result = runner.invoke(app, ["targets", "japan-2050"], terminal_width=160)
    assert result.exit_code == 0, result.output
    assert "must end by 2050" in result.output
    assert "BEV share of new sales in 2050" in result.output
    assert "Verdict under each bundled grid pathway, JPN" in result.output
    assert "dirty-grid" in result.output
    assert "-60.0% not met" in result.output


@pytest.mark.parametrize("columns", [None, "80"])
def test_tables_keep_every_value_in_a_file_and_in_a_narrow_terminal(
    japan_2050, monkeypatch, columns
):
    """Written to a file or a pipe, tables are whole; in an 80-column terminal the grid
    pathway names fold, and no column of numbers is dropped or cut."""
    import io

    from rich.console import Console

    from evpath.cli import console as cli
    from evpath.cli.summary import print_grid_pathways

    names = ["japan-2050", "japan-2050-no-nuclear-restart", "a-grid-pathway-with-a-long-name"]
    metrics = ["wtw_per_new_car", "wtw_per_new_car_lifetime"]
    index = pd.MultiIndex.from_product(
        [names, ["JPN"], metrics], names=["pathway", "region", "metric"]
    )
    verdicts = pd.DataFrame({"grid": 150.0, "reduction": 0.731, "met": False}, index=index)
    out = io.StringIO()
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    shown = Console(file=out)  # the script's console, on a file
    monkeypatch.setattr(cli, "console", shown)
    monkeypatch.setattr("evpath.cli.summary.console", shown)
    cli.fit_output()
    print_grid_pathways(japan_2050, verdicts)
    text = out.getvalue()
    widest = max(len(line) for line in text.splitlines())
    assert widest <= (cli.FILE_WIDTH if columns is None else int(columns))
    assert "…" not in text
    for header in ("2050 (g/kWh)", *metrics):
        assert header in text
    assert text.count(" 150 ") == len(names)
    assert text.count("-73.1% not met") == len(names) * len(metrics)
    if columns is None:  # whole names, each on one line
        assert all(name in text for name in names)


def test_targets_rejects_an_unknown_metric():
    result = runner.invoke(app, ["targets", "japan-2050", "--metric", "per_tree"])
    assert result.exit_code == 2
    assert "--metric: got 'per_tree'; allowed: one of wtw_per_new_car" in result.output


# ------------------------------------------------- interrupts, unexpected errors, outputs

EVPATH = Path(sys.executable).with_name("evpath")


def _interrupt(args: list[str], delay: float, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Start the ``evpath`` script, send it SIGINT after ``delay`` seconds, wait for it."""
    process = subprocess.Popen(
        [str(EVPATH), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "EVPATH_DEBUG": ""},
    )
    time.sleep(delay)
    if process.poll() is not None:
        out, err = process.communicate()
        pytest.fail(f"finished before the interrupt: {process.returncode}\n{out}\n{err}")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _slow_alliance(folder: Path) -> Path:
    """An alliance whose solves take much longer than the delays of the interrupt tests."""
    rng = np.random.default_rng(0)
    years = list(range(2030, 2035))
    suppliers = []
    for j in range(10):
        first = round(float(rng.uniform(20, 150)), 1)
        price = round(float(rng.uniform(30, 36)), 2)
        suppliers.append(
            {
                "name": f"s{j}",
                "country": "XYZW"[j % 4],
                "capacity": 600.0,
                "tiers": [
                    {"up_to": first, "price": price},
                    {"up_to": 2 * first, "price": round(price - 1.5, 2)},
                    {"up_to": None, "price": round(price - 3, 2)},
                ],
                "min_order": round(float(rng.uniform(0, 10)), 1),
                "fixed_cost": round(float(rng.uniform(0, 100_000))),
                "note": "test figures",
            }
        )
    members = [
        {
            "name": f"m{i}",
            "demand": {y: round(float(rng.uniform(10, 200)), 1) for y in years},
            "note": "test figures",
        }
        for i in range(3)
    ]
    document = {
        "name": "slow",
        "metal": "nickel",
        "years": years,
        "price_unit": "USD/kg",
        "members": members,
        "suppliers": suppliers,
        "policy": {"country_cap": 0.6, "min_suppliers": 2, "note": "test rules"},
    }
    path = folder / "slow.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.mark.skipif(not EVPATH.exists(), reason="the evpath script is not installed")
@pytest.mark.parametrize(
    ("command", "delay"),
    [("run", 0.5), ("run", 1.5), ("procure", 3.0)],
)
def test_interrupt_exits_130_with_one_line(tmp_path: Path, command: str, delay: float):
    """Ctrl-C while starting, loading, running or solving (progress bar or spinner).

    (Ctrl-C before Python has imported evpath, in the first few hundredths of a second,
    is Python's own.)
    """
    if command == "run":
        args = ["run", "japan-2050", "--out", str(tmp_path / "out"), "--no-store"]
    else:
        args = ["procure", str(_slow_alliance(tmp_path)), "--no-store", "--out", str(tmp_path)]
    result = _interrupt(args, delay, tmp_path)
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "interrupted"


def test_interrupt_inside_a_command_exits_130(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("evpath.api.run", interrupted)
    result = runner.invoke(app, ["run", "japan-2050", "--no-store"])
    assert result.exit_code == 130
    assert "interrupted" in result.output
    assert "Traceback" not in result.output


def test_unexpected_error_is_one_line_and_exit_1(monkeypatch):
    def broken(*args, **kwargs):
        msg = "a bug"
        raise RuntimeError(msg)

    monkeypatch.setattr("evpath.api.run", broken)
    monkeypatch.delenv("EVPATH_DEBUG", raising=False)
    result = runner.invoke(app, ["run", "japan-2050", "--no-store"])
    assert result.exit_code == 1
    assert "unexpected RuntimeError: a bug" in result.output
    assert "please report" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_unexpected_error_is_raised_with_evpath_debug(monkeypatch):
    def broken(*args, **kwargs):
        msg = "a bug"
        raise RuntimeError(msg)

    monkeypatch.setattr("evpath.api.run", broken)
    monkeypatch.setenv("EVPATH_DEBUG", "1")
    result = runner.invoke(app, ["run", "japan-2050", "--no-store"])
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)


@pytest.mark.parametrize("command", [["calibrate", "Japan"], ["fit-lifetime", "japan-2050"]])
@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("folder", "it is a folder"),
        ("missing/x.yaml", "no folder"),
        ("pipe", "it is not a regular file"),
        ("file/x.yaml", "is a file, not a folder"),
    ],
)
def test_out_that_cannot_be_written_exits_2_with_path_and_reason(
    tmp_path: Path, command: list[str], target: str, reason: str
):
    out = tmp_path / target
    if target == "folder":
        out.mkdir()
    if target == "pipe":
        os.mkfifo(out)
    if target == "file/x.yaml":
        out.parent.write_text("", encoding="utf-8")
    result = runner.invoke(app, [*command, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"--out: cannot write {str(out)!r}" in result.output
    assert reason in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["compare", "Japan"], ["procure", "japan-cobalt"]])
def test_a_negative_seed_is_refused(command: list[str]):
    result = runner.invoke(app, [*command, "--seed", "-1"])
    assert result.exit_code == 2, result.output
    assert "--seed" in result.output


def test_help_loads_no_model_solver_or_plotting():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from evpath.cli.app import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "heavy = ['scipy', 'highspy', 'matplotlib', 'duckdb', 'xarray', 'pandas', 'numpy',\n"
        "         'evpath.scenario', 'evpath.model', 'evpath.procurement']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_every_command_is_summed_up_in_one_line_of_the_command_list():
    """The command list shows the first paragraph of each command's docstring with its
    line breaks: a summary written over two lines broke mid-sentence there."""
    import typer.main

    from evpath.cli.app import app

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert len(commands) >= 16
    for name, command in commands.items():
        summary = (command.help or "").split("\n\n")[0]
        assert summary, name
        assert "\n" not in summary, (name, summary)


def test_the_script_leaves_dask_array_and_pint_to_what_uses_them():
    """xarray's type checks import neither until something else has; then both work."""
    code = (
        "import sys\n"
        "from evpath.cli.app import main\n"
        "sys.argv = ['evpath', 'data']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as done:\n"
        "    assert done.code in (0, None), done.code\n"
        "import numpy as np, xarray as xr\n"
        "xr.DataArray(np.ones(3), dims='x', coords={'x': [1, 2, 3]}) + 1\n"
        "assert not {'dask', 'dask.array', 'pint'} & set(sys.modules)\n"
        "import dask.array, pint\n"
        "assert xr.DataArray(dask.array.ones(4, chunks=2), dims='x').chunks == ((2, 2),)\n"
        "quantity = xr.DataArray(pint.Quantity(np.ones(2), 'm'), dims='y')\n"
        "assert isinstance(quantity.data, pint.Quantity)\n"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)


def test_metrics_in_the_help_are_those_of_the_scenario():
    from evpath.cli.app import METRICS as CLI_METRICS
    from evpath.scenario.emissions import METRICS

    assert CLI_METRICS == METRICS


def test_highs_prints_nothing():
    code = (
        "import highspy\n"
        "from evpath.procurement.highs import solver\n"
        "h = solver()\n"
        "h.passModel(highspy.HighsLp())\n"
        "h.run()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout == ""
    assert result.stderr == ""


# ------------------------------------------------------------------ evpath.run


@pytest.mark.parametrize("value", [42, None, 1.5, ["japan-2050"]])
def test_run_refuses_what_is_not_a_scenario(value):
    with pytest.raises(InputError, match=r"allowed: a Scenario, a bundled scenario name"):
        evpath.run(value)


def test_run_validates_a_mapping_like_a_file():
    with pytest.raises(ScenarioError, match=r"scenario mapping 'mine'") as error:
        evpath.run({"name": "mine"})
    assert "regions: required field is missing" in str(error.value)
    with pytest.raises(ScenarioError, match=r"target_year: .*\(got 'soon'\)"):
        evpath.run({"extends": "japan-2050", "name": "mine", "target_year": "soon"})


def test_run_validates_a_scenario_object_again():
    scenario = evpath.load_scenario("japan-2050")
    with pytest.raises(ScenarioError, match=r"scenario 'japan-2050' \(a Scenario object\)"):
        evpath.run(scenario.model_copy(update={"regions": []}))
    with pytest.raises(ScenarioError, match=r"fleet: allowed: a valid dictionary"):
        evpath.run(scenario.model_copy(update={"fleet": 3}))


def test_resolved_scenario_object_is_unchanged():
    from evpath.api import resolve_scenario

    for name in evpath.bundled_scenarios():
        scenario = evpath.load_scenario(name)
        assert resolve_scenario(scenario) == scenario
    mapping = resolve_scenario({"extends": "japan-2050", "name": "japan-2050"})
    assert mapping.extends == "japan-2050"
    file = evpath.load_scenario("japan-2050")
    assert mapping.model_dump(exclude={"extends"}) == file.model_dump(exclude={"extends"})


# ------------------------------------------------------------- procure limits


class _Clock:
    """A clock that advances one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 1.0
        return self.now


def _alliance(members: int = 3):
    from evpath.procurement import load_alliance

    return load_alliance(
        {
            "name": "limits",
            "metal": "nickel",
            "years": [2030, 2031],
            "price_unit": "USD/kg",
            "members": [
                {"name": f"m{i}", "demand": {2030: 20 + 10 * i, 2031: 30 + 5 * i}, "note": "t"}
                for i in range(members)
            ],
            "suppliers": [
                {
                    "name": "s1",
                    "country": "X",
                    "capacity": 500,
                    "tiers": [{"up_to": 60, "price": 20}, {"up_to": None, "price": 18}],
                    "fixed_cost": 20000,
                    "note": "t",
                },
                {
                    "name": "s2",
                    "country": "Y",
                    "capacity": 500,
                    "tiers": [{"up_to": None, "price": 19}],
                    "min_order": 5,
                    "note": "t",
                },
            ],
            "policy": {"country_cap": 0.8, "min_suppliers": 2, "note": "t"},
        }
    )


def test_procure_overall_time_limit_names_the_limit_and_the_solves(monkeypatch):
    from evpath.procurement import ProcurementError, procure

    monkeypatch.setattr("evpath.procurement.pooling.time", _Clock())
    with pytest.raises(ProcurementError, match=r"overall time limit of 3 s was reached") as error:
        procure(_alliance(), total_time_limit=3.0)
    assert "after 2 of the 7 solves needed" in str(error.value)


def test_procure_sampled_split_keeps_the_orders_done_in_time(monkeypatch):
    from evpath.procurement import procure
    from evpath.procurement.pooling import SolveLog

    free = procure(_alliance(6), shapley="sampled", samples=40)
    monkeypatch.setattr("evpath.procurement.pooling.time", _Clock())
    log = SolveLog()
    cut = procure(_alliance(6), shapley="sampled", samples=40, total_time_limit=20.0, log=log)
    assert log.samples_used is not None
    assert 2 <= log.samples_used < 40
    assert f"{log.samples_used} of 40 joining orders (overall time limit)" in cut.shapley_method
    assert cut.saving == pytest.approx(free.saving)
    assert cut.members["shapley_saving"].sum() == pytest.approx(cut.saving)


def test_procure_generous_limit_changes_nothing():
    from evpath.procurement import procure
    from evpath.procurement.pooling import SolveLog

    log = SolveLog()
    limited = procure(_alliance(), total_time_limit=300.0, log=log)
    free = procure(_alliance())
    assert limited.shapley_method == free.shapley_method
    np.testing.assert_array_equal(limited.members.to_numpy(), free.members.to_numpy())
    assert log.solves == 7
    assert log.stopped_by_time == []


@pytest.mark.parametrize("limit", ["0", "-1", "nan"])
def test_procure_time_limit_must_be_positive(limit: str):
    result = runner.invoke(app, ["procure", "japan-cobalt", "--time-limit", limit, "--no-store"])
    assert result.exit_code == 2, result.output
    assert f"--time-limit: got {limit}; allowed: a number of seconds above 0" in result.output


def test_paths_with_brackets_are_printed_as_they_are(tmp_path: Path):
    """Rich reads ``[bold]`` in a string as a style: a file or folder named with brackets
    lost them in the output (and a printed path led nowhere)."""
    folder = tmp_path / "draft [bold]"
    folder.mkdir()
    scenario = folder / "japan [v2].yaml"
    scenario.write_text("name: japan-v2\nextends: japan-2050\n", encoding="utf-8")
    checked = runner.invoke(app, ["validate", str(scenario)])
    assert checked.exit_code == 0, checked.output
    assert f"valid {scenario} (japan-v2)" in " ".join(checked.output.split())
    listed = runner.invoke(app, ["runs", "--store", str(folder / "s.duckdb")])
    assert f"no runs in {folder / 's.duckdb'}" in " ".join(listed.output.split())
