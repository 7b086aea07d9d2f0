"""Runs as labelled datasets: read back from the results store, or stamped from a fresh run.

A run's dataset carries, as attributes, what the charts and exports need besides the
numbers: ``run_id``, ``scenario``, ``evpath_version`` and the ``manifest`` as JSON (the
attributes of the NetCDF files ``evpath run`` writes, so such a file opened with xarray
works the same).

An ensemble run (manifest ``"kind": "ensemble"``) is drawn from its percentiles: every
variable has a ``quantile`` dimension. Its dataset also carries its target probabilities
and, when its members were drawn for them, its Sobol' indices, as JSON tables in the
attributes ``ensemble_probability`` and ``ensemble_sobol`` (the store tables of the same
names; :func:`ensemble_tables` reads them back).
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.variables import catalogue
from evpath.data.histories import HISTORIES
from evpath.errors import InputError
from evpath.io.export import INTEGER_DIMS
from evpath.io.store import ResultsStore
from evpath.results import Results
from evpath.scenario.loader import resolve_scenario

if TYPE_CHECKING:
    from evpath.analysis.ensemble import Ensemble

HOW_TO_LIST = "list the stored runs with `evpath runs --store PATH`"

QUANTILE = "quantile"
"""The dimension of an ensemble's percentiles [fraction]."""

ENSEMBLE_TABLES = ("ensemble_probability", "ensemble_sobol")
"""The tables an ensemble run keeps besides its percentiles: the share of members meeting
each target, and Sobol' indices (only for members drawn on Saltelli's design)."""


def stamp(dataset: xr.Dataset, manifest: dict[str, Any]) -> xr.Dataset:
    """``dataset`` with the run's attributes: run id, scenario, version, manifest (JSON)."""
    return dataset.assign_attrs(
        run_id=manifest["run_id"],
        scenario=manifest["scenario_name"],
        evpath_version=manifest["evpath_version"],
        manifest=json.dumps(manifest),
    )


def stamp_ensemble(
    dataset: xr.Dataset, manifest: dict[str, Any], tables: dict[str, pd.DataFrame]
) -> xr.Dataset:
    """An ensemble's percentiles (``quantile`` dim) stamped as one run of kind
    ``ensemble``, with its tables (name in :data:`ENSEMBLE_TABLES` → rows) as JSON."""
    if QUANTILE not in dataset.dims:
        msg = "an ensemble is drawn from its percentiles: the dataset has no quantile dimension"
        raise InputError(msg)
    stamped = stamp(dataset, {**manifest, "kind": "ensemble"})
    return stamped.assign_attrs(
        {
            name: json.dumps(rows.drop(columns="run_id", errors="ignore").to_dict("records"))
            for name, rows in tables.items()
        }
    )


def ensemble_dataset(ensemble: Ensemble) -> xr.Dataset:
    """An ensemble computed in Python as the report draws it: its percentiles, stamped
    with its manifest, target probabilities and (drawn for them) Sobol' indices."""
    tables = {"ensemble_probability": ensemble.probability()}
    if ensemble.design.sampler == "saltelli":
        tables["ensemble_sobol"] = ensemble.sobol()
    return stamp_ensemble(ensemble.quantiles(), ensemble.manifest, tables)


def ensemble_tables(dataset: xr.Dataset) -> dict[str, pd.DataFrame]:
    """The tables an ensemble run's dataset carries (name → rows); none for a single run."""
    return {
        name: pd.DataFrame(json.loads(dataset.attrs[name]))
        for name in ENSEMBLE_TABLES
        if name in dataset.attrs
    }


def members(dataset: xr.Dataset) -> int:
    """How many members an ensemble run's percentiles were taken over (its manifest)."""
    return int(manifest_of(dataset)["ensemble"]["members"])


def manifest_of(dataset: xr.Dataset) -> dict[str, Any]:
    """The manifest a dataset was stamped with (see :func:`stamp`)."""
    if "manifest" not in dataset.attrs:
        msg = "the dataset carries no run manifest; stamp it with evpath.report.runs.stamp"
        raise InputError(msg)
    return dict(json.loads(dataset.attrs["manifest"]))


def resolve_run_id(store: ResultsStore, text: str) -> str:
    """The stored run id ``text`` names: the id itself or a prefix of exactly one id."""
    ids = [str(run_id) for run_id in store.runs()["run_id"]]
    if text in ids:
        return text
    matches = [run_id for run_id in ids if run_id.startswith(text)] if text else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = ", ".join(matches[:3]) + (", ..." if len(matches) > 3 else "")
        msg = f"run id {text!r} is the start of {len(matches)} runs in {store.path} ({shown}); give more of it"
        raise InputError(msg)
    msg = f"no run {text!r} in {store.path}; {HOW_TO_LIST}"
    raise InputError(msg)


def _array(rows: pd.DataFrame, dims: tuple[str, ...]) -> xr.DataArray:
    """One variable's tidy rows as a labelled array over its catalogue dims; labels keep
    the order they were stored in, and by-cohort cells before the cohort entered (left
    out of the tidy table) are zero."""
    if not dims:
        return xr.DataArray(float(rows["value"].iloc[0]))
    frame = rows[[*dims, "value"]].copy()
    for dim in dims:
        if dim in INTEGER_DIMS:
            frame[dim] = frame[dim].astype("int64")
    array = frame.set_index(list(dims))["value"].to_xarray()
    array = array.reindex({dim: pd.unique(frame[dim]) for dim in dims})
    if "cohort" in dims and "year" in dims:
        array = array.where(array.cohort <= array.year, 0.0)
    return array


def stored_dataset(store: ResultsStore, run_id: str) -> xr.Dataset:
    """A stored run as a Dataset: every variable over its catalogue dims, with its unit
    (``units``) and description (``long_name``), stamped with the run's manifest.

    ``run_id`` is a full id or a unique prefix (see :func:`resolve_run_id`).
    """
    run_id = resolve_run_id(store, run_id)
    manifest = store.manifest(run_id)
    table = store.results(run_id)
    ensemble = manifest.get("kind") == "ensemble"
    known = catalogue()
    arrays = {}
    for name, rows in table.groupby("variable", sort=False):
        entry = known.get(str(name))
        if entry is None:
            msg = f"{store.path}: run {run_id} holds {name!r}, a variable this evpath does not know"
            raise InputError(msg)
        dims = (QUANTILE, *entry.dims) if ensemble else entry.dims
        arrays[str(name)] = _array(rows, dims).assign_attrs(
            units=entry.unit, long_name=entry.description
        )
    dataset = xr.Dataset(arrays)
    for dim in INTEGER_DIMS:
        if dim in dataset.coords:
            dataset[dim] = dataset[dim].astype(np.int64)
    if not ensemble:
        return stamp(dataset, manifest)
    tables = {name: stored_table(store, name, run_id) for name in ENSEMBLE_TABLES}
    return stamp_ensemble(dataset, manifest, {k: v for k, v in tables.items() if not v.empty})


def stored_table(store: ResultsStore, name: str, run_id: str) -> pd.DataFrame:
    """The rows of the store table ``name`` (one of :data:`ENSEMBLE_TABLES`) that belong
    to run ``run_id``, without the run_id column; none when the store has no such table."""
    if name not in ENSEMBLE_TABLES:
        msg = f"table {name!r}; allowed: {', '.join(ENSEMBLE_TABLES)}"
        raise InputError(msg)
    return store.table(name, run_id)


def at_median(results: Results) -> Results:
    """An ensemble run's results at the median of each value (so that it reads like a
    single run: summaries, verdicts); a single run as it is."""
    if "quantile" not in results.dataset.dims:
        return results
    return dataclasses.replace(results, dataset=results.dataset.sel(quantile=0.5, drop=True))


def stored_results(store: ResultsStore, run_id: str) -> Results:
    """A stored run as :class:`~evpath.results.Results`: its scenario (validated again
    from the manifest), Dataset and manifest. The observed fleet figures and the history's
    provenance are those of the history bundled with this evpath (the ones the run used
    when its manifest's dataset hashes match today's files)."""
    dataset = stored_dataset(store, run_id)
    manifest = manifest_of(dataset)
    history = HISTORIES[manifest["scenario"]["sales"]["history"]].load()
    return Results(
        scenario=resolve_scenario(manifest["scenario"]),
        dataset=dataset,
        manifest=manifest,
        history_provenance=history.provenance,
        observed=history.observed,
    )
