"""Writing an ensemble: its percentiles, target probabilities, Sobol' indices, drawn inputs
and (on request) every member's results, as one unit in the results store and the output
folder (the same staging, store commit and publication as a single run)."""

from __future__ import annotations

import io
import shutil
from contextlib import suppress
from pathlib import Path

import pandas as pd

from evpath.analysis.ensemble.result import Ensemble
from evpath.core.dims import DRAW
from evpath.io import publish
from evpath.io.export import json_bytes, netcdf_bytes, parquet_bytes, tidy
from evpath.io.store import ResultsStore

SUFFIX = "-ensemble"
"""Ensemble results of scenario ``s`` are published as ``s-ensemble``."""


def _csv_bytes(table: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def drawn_inputs(ensemble: Ensemble) -> pd.DataFrame:
    """One row per member: its draw number and the value of every input (for a choice,
    the name of the alternative drawn)."""
    values = ensemble.design.values
    table = pd.DataFrame(values.to_numpy(), columns=[str(c) for c in values.input.values])
    uncertainty = ensemble.scenario.uncertainty
    for path, choice in (uncertainty.choices if uncertainty else {}).items():
        names = list(choice.alternatives)
        table[path] = [names[int(i)] for i in table[path]]
    table.insert(0, "draw", values[DRAW].to_numpy())
    return table


def write_ensemble(
    ensemble: Ensemble,
    out_dir: str | Path,
    store: str | Path | None,
    *,
    keep_draws: bool = False,
    keep_runs: int | None = publish.KEEP_RUNS,
) -> dict[str, Path]:
    """Publish the ensemble's files in ``out_dir`` and add it to ``store`` as one unit;
    then drop its finished chunks. Returns kind → path.

    Files: percentiles (NetCDF and tidy Parquet with a ``quantile`` column), target
    probabilities, drawn inputs, Sobol' indices when drawn for them, the manifest, and
    with ``keep_draws`` every member's results (NetCDF, ``draw`` dimension).
    """
    publish.output_folder(Path(out_dir))
    manifest = {**ensemble.manifest, "kind": "ensemble"}
    stem = ensemble.scenario.name + SUFFIX
    quantiles = ensemble.quantiles()
    table = tidy(quantiles)
    probability = ensemble.probability()
    inputs = drawn_inputs(ensemble)
    files = {
        "netcdf": (f"{stem}.nc", netcdf_bytes(quantiles, manifest)),
        "parquet": (f"{stem}.parquet", parquet_bytes(table)),
        "probability": (f"{stem}.probability.csv", _csv_bytes(probability)),
        "inputs": (f"{stem}.inputs.csv", _csv_bytes(inputs)),
        "manifest": (f"{stem}.manifest.json", json_bytes(manifest)),
    }
    extra = {"ensemble_probability": probability}
    if ensemble.design.sampler == "saltelli":
        sobol = ensemble.sobol()
        files["sobol"] = (f"{stem}.sobol.csv", _csv_bytes(sobol))
        extra["ensemble_sobol"] = sobol
    if keep_draws:
        files["draws"] = (f"{stem}.draws.nc", netcdf_bytes(ensemble.draws, manifest))
    commit = None
    if store is not None:
        results_store = ResultsStore(store)

        def commit() -> None:
            results_store.write(manifest, table, extra)

    paths = publish.publish(out_dir, stem, ensemble.run_id, files, commit, keep=keep_runs)
    if store is not None:
        paths["store"] = Path(store)
    if ensemble.work_folder is not None:
        shutil.rmtree(ensemble.work_folder, ignore_errors=True)
        with suppress(OSError):  # the folder of every ensemble's chunks, once empty
            ensemble.work_folder.parent.rmdir()
    return paths
