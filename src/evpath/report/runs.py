"""Runs as labelled datasets: read back from the results store, or stamped from a fresh run.

A run's dataset carries, as attributes, what the charts and exports need besides the
numbers: ``run_id``, ``scenario``, ``evpath_version`` and the ``manifest`` as JSON (the
attributes of the NetCDF files ``evpath run`` writes, so such a file opened with xarray
works the same).
"""

from __future__ import annotations

import json
from typing import Any

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

HOW_TO_LIST = "list the stored runs with `evpath runs --store PATH`"


def stamp(dataset: xr.Dataset, manifest: dict[str, Any]) -> xr.Dataset:
    """``dataset`` with the run's attributes: run id, scenario, version, manifest (JSON)."""
    return dataset.assign_attrs(
        run_id=manifest["run_id"],
        scenario=manifest["scenario_name"],
        evpath_version=manifest["evpath_version"],
        manifest=json.dumps(manifest),
    )


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
    known = catalogue()
    arrays = {}
    for name, rows in table.groupby("variable", sort=False):
        entry = known.get(str(name))
        if entry is None:
            msg = f"{store.path}: run {run_id} holds {name!r}, a variable this evpath does not know"
            raise InputError(msg)
        arrays[str(name)] = _array(rows, entry.dims).assign_attrs(
            units=entry.unit, long_name=entry.description
        )
    dataset = xr.Dataset(arrays)
    for dim in INTEGER_DIMS:
        if dim in dataset.coords:
            dataset[dim] = dataset[dim].astype(np.int64)
    return stamp(dataset, manifest)


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
