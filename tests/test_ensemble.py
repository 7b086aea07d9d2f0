"""Ensembles: members run vectorised equal the same scenarios run one by one; a narrow
ensemble's median is the deterministic run; Sobol' indices match a known function; the
same seed gives the same numbers here and on a Dask cluster; an interrupted ensemble
resumes from its finished chunks; the command writes one unit and refuses bad input."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from typer.testing import CliRunner

from evpath.analysis.ensemble import ensemble
from evpath.analysis.ensemble.members import MemberRunner, member_groups
from evpath.analysis.ensemble.result import sobol_indices
from evpath.analysis.ensemble.run import chunk_size, joined, parse_memory
from evpath.analysis.ensemble.sampling import design, saltelli_points
from evpath.cli.app import app
from evpath.core.dims import DRAW
from evpath.errors import InputError
from evpath.model.pipeline import Inputs, run_pipeline
from evpath.scenario.loader import alternative_document, load_scenario, resolve_scenario
from evpath.scenario.uncertainty import locate, value_at, with_value

runner = CliRunner()

UNCERTAIN = "japan-2050-uncertain"


@pytest.fixture(scope="session")
def uncertain_scenario():
    return load_scenario(UNCERTAIN)


@pytest.fixture(scope="session")
def small_ensemble(computed_once):
    """Twelve members of the bundled uncertain scenario (every input drawn)."""
    return computed_once(
        f"ensemble({UNCERTAIN!r}, 12, seed=7)", lambda: ensemble(UNCERTAIN, 12, seed=7)
    )


@pytest.fixture(scope="session")
def two_inputs(tmp_path_factory) -> Path:
    """japan-2050 with two drawn numbers and no choice (one model run per chunk)."""
    path = tmp_path_factory.mktemp("ensemble") / "two-inputs.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "extends": "japan-2050",
                "name": "two-inputs",
                "uncertainty": {
                    "note": "test ranges",
                    "parameters": {
                        "emissions.energy.improvement.HEV.2025": {
                            "distribution": "uniform",
                            "low": 0.0,
                            "high": 0.014,
                        },
                        "fleet.lifetime.shape": {
                            "distribution": "triangular",
                            "low": 1.9,
                            "mode": 2.17,
                            "high": 2.5,
                        },
                    },
                },
            }
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def two_input_members(two_inputs):
    """Four members of ``two_inputs`` run in one chunk, with the design that drew them."""
    scenario = load_scenario(two_inputs)
    values = design(scenario.uncertainty, 4, "lhs", 7, sensitivity=False).values
    return values, MemberRunner(scenario).run(values)


def _budget_for_chunks_of(scenario_file: Path, members: int, total: int) -> int:
    """The smallest memory budget that gives chunks of ``members`` of ``total``."""
    scenario = load_scenario(scenario_file)
    low, high = 1, 64 * 2**30
    while low < high:
        middle = (low + high) // 2
        try:
            size = chunk_size(scenario, total, middle)
        except InputError:
            size = 0
        if size >= members:
            high = middle
        else:
            low = middle + 1
    return low


@pytest.mark.long
def test_members_run_at_once_equal_the_same_scenarios_run_one_by_one(
    uncertain_scenario, small_ensemble
):
    """Three members, every uncertain input drawn (all grid alternatives among them):
    each member's results equal a plain run of the scenario with its values put in."""
    values = small_ensemble.design.values
    choice = values.sel(input="emissions.grid.pathway").to_numpy()
    picked = [int(np.flatnonzero(choice == k)[0]) for k in np.unique(choice)]
    document = uncertain_scenario.model_dump(exclude={"uncertainty"})
    for member in picked:
        row = values.isel({DRAW: member})
        plain = document
        for path in uncertain_scenario.uncertainty.parameters:
            plain = with_value(plain, locate(document, path), float(row.sel(input=path)))
        for path, choice_spec in uncertain_scenario.uncertainty.choices.items():
            name = list(choice_spec.alternatives)[int(row.sel(input=path))]
            other = alternative_document(name)
            plain = with_value(plain, locate(document, path), value_at(other, locate(other, path)))
        scenario = resolve_scenario(plain)
        expected = run_pipeline(scenario, Inputs.load(scenario))
        got = small_ensemble.draws.isel({DRAW: member})
        for name in got.data_vars:
            if name == "target_met" or "cohort" in expected[name].dims:
                continue
            np.testing.assert_allclose(
                got[name].transpose(*expected[name].dims).to_numpy(),
                expected[name].to_numpy(),
                rtol=2e-6,
                atol=1e-6,
                err_msg=f"{name} of member {member}",
            )


def test_a_narrow_ensembles_median_is_the_deterministic_run(write_scenario, japan_2050):
    path = write_scenario(
        {
            "uncertainty": {
                "note": "narrow",
                "parameters": {
                    "emissions.energy.improvement.HEV.2025": {
                        "distribution": "uniform",
                        "low": 0.014,
                        "high": 0.014 + 1e-12,
                    },
                    "fleet.lifetime.shape": {
                        "distribution": "truncnormal",
                        "mean": 2.22,
                        "sd": 1e-9,
                        "low": 2.22 - 1e-9,
                        "high": 2.22 + 1e-9,
                    },
                },
            }
        }
    )
    result = ensemble(path, 9, seed=1)
    median = result.quantiles().sel(quantile=0.5)
    reference = japan_2050.dataset
    for name in ("wtw_per_new_car", "stock", "battery_demand", "metal_primary_demand"):
        np.testing.assert_allclose(
            median[name].transpose(*reference[name].dims).to_numpy(),
            reference[name].to_numpy(),
            rtol=1e-6,
        )


def test_an_ensemble_of_choices_alone_keeps_every_member(write_scenario):
    """Nothing drawn but a choice between two scenarios' grids: every member is kept, each
    with the results of its pick (members' results without a drawn input have no draw
    dimension of their own; the choice's two groups were lost when put together)."""
    both = {"alternatives": {"japan-2050": 0.5, "japan-2050-slow-grid": 0.5}}
    path = write_scenario(
        {"uncertainty": {"note": "a choice alone", "choices": {"emissions.grid": both}}}
    )
    result = ensemble(path, 4, seed=1)
    assert result.size == 4
    emissions = result.outputs().sel(output="wtw_per_new_car", region="JPN")
    assert emissions.sizes[DRAW] == 4
    assert bool(np.isfinite(emissions).all())
    grids = result.design.values.sel(input="emissions.grid").to_numpy()
    assert np.unique(grids).size == 2  # both grids drawn, and each gives its own result
    assert np.unique(emissions).size == 2


def test_sobol_indices_of_the_ishigami_function_match_the_analytic_values():
    """Ishigami, a = 7, b = 0.1, inputs uniform on [−π, π]: S1 = (0.314, 0.442, 0),
    ST = (0.558, 0.442, 0.244); each estimate within its 95% interval (×1.5 margin)."""
    unit = saltelli_points(1024, 3, seed=3)
    x = -np.pi + 2 * np.pi * unit
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    found = sobol_indices(y, ["x1", "x2", "x3"], seed=3).set_index("input")
    analytic = pd.DataFrame(
        {"S1": [0.3139, 0.4424, 0.0], "ST": [0.5576, 0.4424, 0.2437]},
        index=["x1", "x2", "x3"],
    )
    for index in ("S1", "ST"):
        gap = (found[index] - analytic[index]).abs()
        assert (gap <= 1.5 * found[f"{index}_conf"] + 0.01).all(), found


def test_inputs_that_move_nothing_or_have_no_spread_have_zero_sobol_indices(write_scenario):
    path = write_scenario(
        {
            "uncertainty": {
                "note": "one input with an effect, one without, one without spread",
                "parameters": {
                    "emissions.energy.improvement.HEV.2025": {
                        "distribution": "uniform",
                        "low": 0.0,
                        "high": 0.014,
                    },
                    "charging.capex_usd.slow": {
                        "distribution": "uniform",
                        "low": 2000,
                        "high": 4000,
                    },
                    "emissions.energy.kei_factor": {
                        "distribution": "uniform",
                        "low": 0.76,
                        "high": 0.76 + 1e-12,
                    },
                },
            }
        }
    )
    result = ensemble(path, 40, seed=2, sensitivity=True)
    indices = result.sobol(("wtw_per_new_car",)).set_index("input")
    assert indices.loc["charging.capex_usd.slow", "S1"] == 0.0
    assert indices.loc["charging.capex_usd.slow", "ST"] == 0.0
    assert abs(indices.loc["emissions.energy.kei_factor", "S1"]) < 1e-3
    assert abs(indices.loc["emissions.energy.kei_factor", "ST"]) < 1e-3
    assert indices.loc["emissions.energy.improvement.HEV.2025", "ST"] > 0.5


def test_probabilities_count_the_members_that_meet_each_target(small_ensemble):
    table = small_ensemble.probability().set_index("target")
    met = small_ensemble.draws["target_met"]
    for target in ("electrified_sales", "emissions_per_car"):
        flags = met.sel(target=target, region="JPN").to_numpy()
        assert table.loc[target, "members"] == 12
        assert table.loc[target, "members_met"] == int(flags.sum())
        assert table.loc[target, "probability"] == pytest.approx(flags.mean())


@pytest.mark.xdist_group("two-input-members")  # one worker runs the members once
def test_the_same_seed_gives_the_same_members_here_and_on_a_dask_cluster(
    two_inputs, two_input_members
):
    from distributed import Client, LocalCluster

    values, members = two_input_members
    held: list[list[str]] = []

    def chunks_on_workers() -> list[str]:
        found = client.run(
            lambda dask_worker: [str(k) for k in dask_worker.data if "evpath-chunk" in str(k)]
        )
        return [key for keys in found.values() for key in keys]

    def once_all_are_here(done: int, total: int) -> None:
        """When every chunk has arrived, the workers let go of their results (soon)."""
        if done == total:
            deadline = time.monotonic() + 10
            while chunks_on_workers() and time.monotonic() < deadline:
                time.sleep(0.05)
            held.append(chunks_on_workers())

    with (
        LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        memory = _budget_for_chunks_of(two_inputs, 2, 4)
        remote = ensemble(
            two_inputs, 4, seed=7, scheduler=client, memory=memory, progress=once_all_are_here
        )
    assert remote.manifest["ensemble"]["chunk_members"] == 2
    assert held == [[]]
    xr.testing.assert_identical(remote.design.values, values)
    xr.testing.assert_identical(remote.draws, members)


@pytest.mark.xdist_group("two-input-members")  # one worker runs the members once
def test_an_interrupted_ensemble_resumes_from_its_finished_chunks(
    tmp_path, two_inputs, two_input_members, monkeypatch
):
    memory = _budget_for_chunks_of(two_inputs, 2, 4)
    calls = {"n": 0}
    original = MemberRunner.run

    def counted(self, values):
        calls["n"] += 1
        return original(self, values)

    monkeypatch.setattr(MemberRunner, "run", counted)

    def stop_after_first(done, total):
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensemble(two_inputs, 4, seed=7, memory=memory, work_dir=tmp_path, progress=stop_after_first)
    assert calls["n"] == 1
    assert [c.name for c in tmp_path.glob("*/*")] == ["chunk-00000.nc"]  # nothing half-written

    resumed = ensemble(two_inputs, 4, seed=7, memory=memory, work_dir=tmp_path)
    assert calls["n"] == 2  # the second chunk only
    assert resumed.manifest["ensemble"]["chunk_members"] == 2
    assert sorted(p.name for p in Path(resumed.work_folder).iterdir()) == [
        "chunk-00000.nc",
        "chunk-00001.nc",
    ]
    xr.testing.assert_allclose(resumed.draws, two_input_members[1])


def test_members_carry_their_drawn_values_into_the_scenario(uncertain_scenario):
    values = design(uncertain_scenario.uncertainty, 4, "random", 5, sensitivity=False).values
    path = "fleet.lifetime.shape"
    keys = locate(uncertain_scenario.model_dump(), path)
    column = values.sel(input=path, drop=True)
    drawn = with_value(uncertain_scenario, keys, column)
    assert drawn.fleet.lifetime.shape is column
    assert uncertain_scenario.fleet.lifetime.shape == pytest.approx(2.22)


def test_memory_budgets_parse_and_bound_the_chunks(uncertain_scenario):
    assert parse_memory("4GiB") == 4 * 2**30
    assert parse_memory("512 MiB") == 512 * 2**20
    assert parse_memory("2GB") == 2 * 10**9
    small = chunk_size(uncertain_scenario, 1000, parse_memory("1GiB"))
    large = chunk_size(uncertain_scenario, 1000, parse_memory("8GiB"))
    assert 1 <= small < large <= 1000
    with pytest.raises(InputError, match="--memory"):
        parse_memory("lots")
    with pytest.raises(InputError, match="too small"):
        chunk_size(uncertain_scenario, 100_000, parse_memory("1GiB"))


def test_chunks_grow_while_their_largest_group_fits_the_budget(uncertain_scenario):
    """A chunk runs one group of members (one combination of alternatives) at a time, so
    a chunk may hold as many members as the budget allows in its largest group."""
    drawn = design(uncertain_scenario.uncertainty, 1000, "lhs", 3, sensitivity=False)
    groups, combinations = member_groups(uncertain_scenario.uncertainty, drawn.values)
    assert len(combinations) == 3  # the three grid pathways
    budget = parse_memory("1.5GiB")
    alone = chunk_size(uncertain_scenario, 1000, budget)
    grouped = chunk_size(uncertain_scenario, 1000, budget, groups=groups)
    assert alone < grouped < 1000
    largest = max(
        np.bincount(groups[start : start + grouped]).max() for start in range(0, 1000, grouped)
    )
    assert largest <= alone < largest + 0.01 * grouped
    # every member in one group: nothing to gain
    one = np.zeros(1000, dtype=int)
    assert chunk_size(uncertain_scenario, 1000, budget, groups=one) == alone


@pytest.mark.long
def test_the_command_writes_percentiles_probabilities_and_indices_as_one_unit(tmp_path):
    out, store = tmp_path / "out", tmp_path / "store.duckdb"
    result = runner.invoke(
        app,
        ["ensemble", UNCERTAIN, "-n", "26", "--sobol", "--seed", "4", "--out", str(out),
         "--store", str(store), "--keep-draws"],
        terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Probability that each target is met" in result.output
    assert "Sobol' indices" in result.output
    assert "too few members to rank the inputs by" in result.output  # 26 members: rough
    folder = out / f"{UNCERTAIN}-ensemble"
    for suffix in (".nc", ".parquet", ".probability.csv", ".inputs.csv", ".sobol.csv",
                   ".draws.nc", ".manifest.json"):  # fmt: skip
        assert (folder / f"{UNCERTAIN}-ensemble{suffix}").is_file(), suffix
    assert not (out / "ensembles").exists()  # the finished chunks are gone, and their folder
    with duckdb.connect(str(store), read_only=True) as connection:
        quantiles = connection.execute(
            "SELECT DISTINCT quantile FROM results ORDER BY quantile"
        ).fetchall()
        probabilities = connection.execute("SELECT count(*) FROM ensemble_probability").fetchone()
        indices = connection.execute("SELECT count(*) FROM ensemble_sobol").fetchone()
    assert [q for (q,) in quantiles] == [0.05, 0.25, 0.5, 0.75, 0.95]
    assert probabilities == (2,)
    assert indices is not None
    assert indices[0] > 0
    inputs = pd.read_csv(folder / f"{UNCERTAIN}-ensemble.inputs.csv")
    assert set(inputs["emissions.grid.pathway"]) <= {
        "japan-2050",
        "japan-2050-slow-grid",
        "japan-2050-no-nuclear-restart",
    }


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["-n", "0"], "-n: got 0"),
        (["--sampler", "grid"], "--sampler: got 'grid'"),
        (["--memory", "1MB"], "--memory"),
        (["--memory", "plenty"], "--memory: got 'plenty'"),
        (["--workers", "0"], "--workers: got 0"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path, arguments, expected):
    result = runner.invoke(
        app, ["ensemble", UNCERTAIN, *arguments, "--out", str(tmp_path), "--no-store"]
    )
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output


def test_a_scenario_without_an_uncertainty_block_exits_2(tmp_path):
    result = runner.invoke(app, ["ensemble", "japan-2050", "--out", str(tmp_path), "--no-store"])
    assert result.exit_code == 2
    assert "no 'uncertainty' block" in result.output


def test_results_of_every_member_are_finite_where_the_catalogue_says(small_ensemble):
    from evpath.core.variables import catalogue

    known = catalogue()
    for name, array in small_ensemble.draws.data_vars.items():
        if name == "target_met":
            continue
        values = array.to_numpy()
        assert not np.isinf(values).any(), name
        if not known[str(name)].missing:
            assert np.isfinite(values).all(), name


def test_chunks_join_as_xarray_concatenates_them():
    """Variables with ``draw`` are concatenated, those without it stay so where every
    chunk holds the same values and gain ``draw`` where the chunks differ."""

    def chunk(draws: list[int], differing: float) -> xr.Dataset:
        years = {"year": [2030, 2050]}
        return xr.Dataset(
            {
                "drawn": (("draw", "year"), np.outer(draws, [1.0, 2.0])),
                "same": ("year", [5.0, 6.0]),
                "differing": ("year", [differing, 1.0]),
            },
            coords={"draw": draws, **years},
            attrs={"scenario": "test"},
        )

    chunks = [chunk([0, 1], 3.0), chunk([2], 4.0), chunk([3, 4], 3.0)]
    expected = xr.concat(chunks, dim=DRAW, data_vars="different", compat="equals")
    got = joined(list(chunks))
    xr.testing.assert_identical(got, expected)
    assert "draw" not in got["same"].dims
    assert got["differing"].sel(draw=2, year=2030) == 4.0
