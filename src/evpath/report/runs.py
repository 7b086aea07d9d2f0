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

A run that procurement plans were built on (``evpath procure ALLIANCE --run RUN_ID``)
carries their purchases, the rows of the store table ``procurement``, as JSON in the
attribute ``procurement`` (:func:`with_procurement`; :func:`procurement_plans` reads them
back, one plan per alliance).
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
from evpath.data.makers import maker_history
from evpath.errors import InputError
from evpath.io.export import INTEGER_DIMS
from evpath.io.store import ResultsStore
from evpath.model.scope import allocated_sales
from evpath.results import Results, ScopeResults
from evpath.scenario.loader import resolve_scenario
from evpath.scenario.scope import MakersScope

if TYPE_CHECKING:
    from evpath.analysis.ensemble import Ensemble

HOW_TO_LIST = "list the stored runs with `evpath runs --store PATH`"

QUANTILE = "quantile"
"""The dimension of an ensemble's percentiles [fraction]."""

ENSEMBLE_TABLES = ("ensemble_probability", "ensemble_sobol")
"""The tables an ensemble run keeps besides its percentiles: the share of members meeting
each target, and Sobol' indices (only for members drawn on Saltelli's design)."""

PROCUREMENT = "procurement"
"""The store table of the purchase plans built on a run (``evpath procure --run``): tonnes
[t/yr] by alliance, plan (``alone``: the members' stand-alone plans; ``pooled``: the
alliance buying together), member, supplier, supplier country and year."""

PROCUREMENT_COLUMNS = ("alliance", "plan", "member", "supplier", "country", "year", "tonnes")
"""The columns of :data:`PROCUREMENT` the report reads."""

PROCUREMENT_COSTS = "procurement_costs"
"""Store table of each stored plan's costs: alliance, cost alone and pooled, saving, and
each split into cash cost and risk penalty [USD] (``ProcurementResult.costs``)."""

STORED_TABLES = (*ENSEMBLE_TABLES, PROCUREMENT, PROCUREMENT_COSTS)
"""The store tables kept per run besides its results."""


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
    return stamped.assign_attrs({name: _json(rows) for name, rows in tables.items()})


def _json(rows: pd.DataFrame) -> str:
    """A table's rows as a JSON list of records, without the run_id column."""
    return json.dumps(rows.drop(columns="run_id", errors="ignore").to_dict("records"))


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


def _last_stored(rows: pd.DataFrame) -> pd.DataFrame:
    """Of each alliance's rows, in the order stored, those of its last write: a write
    lists the ``alone`` plan, then the ``pooled`` one, so a write begins wherever
    ``alone`` follows ``pooled``."""
    kept = []
    for _, plan in rows.groupby("alliance", sort=False):
        plans = plan["plan"]
        writes = ((plans == "alone") & (plans.shift() == "pooled")).cumsum()
        kept.append(plan[writes == writes.iloc[-1]])
    return pd.concat(kept)


def with_procurement(
    dataset: xr.Dataset, rows: pd.DataFrame, costs: pd.DataFrame | None = None
) -> xr.Dataset:
    """``dataset`` carrying the purchase plans built on its run (rows of the store table
    :data:`PROCUREMENT`, in the order stored, with :data:`PROCUREMENT_COLUMNS`) as JSON in
    its ``procurement`` attribute, and their costs (rows of :data:`PROCUREMENT_COSTS`) in
    ``procurement_costs``; an alliance stored more than once for the run keeps its last
    plan and costs. Without rows, ``dataset`` as it is.

    From Python: ``with_procurement(dataset, result.to_frame().assign(alliance=name),
    result.costs().assign(alliance=name))``.
    """
    if rows.empty:
        return dataset
    lacking = [c for c in PROCUREMENT_COLUMNS if c not in rows.columns]
    if lacking:
        msg = f"procurement rows: columns {lacking} are missing; allowed: rows with {', '.join(PROCUREMENT_COLUMNS)}"
        raise InputError(msg)
    latest = _last_stored(rows[list(PROCUREMENT_COLUMNS)].reset_index(drop=True))
    stamped = dataset.assign_attrs({PROCUREMENT: _json(latest)})
    if costs is None or costs.empty:
        return stamped
    last_costs = costs.groupby("alliance", sort=False).tail(1).reset_index(drop=True)
    return stamped.assign_attrs({PROCUREMENT_COSTS: _json(last_costs)})


def procurement_costs(dataset: xr.Dataset) -> dict[str, dict[str, float]]:
    """Alliance → the costs of its plan built on the run [USD] (see
    :data:`PROCUREMENT_COSTS`); none when they were not stored."""
    if PROCUREMENT_COSTS not in dataset.attrs:
        return {}
    rows = pd.DataFrame(json.loads(dataset.attrs[PROCUREMENT_COSTS]))
    return {
        str(row["alliance"]): {k: float(v) for k, v in row.items() if k != "alliance"}
        for _, row in rows.iterrows()
    }


def procurement_plans(dataset: xr.Dataset) -> dict[str, pd.DataFrame]:
    """Alliance → its purchase plan built on the run the dataset holds (plan, member,
    supplier, country, year, tonnes [t/yr]); none when no plan is stored for the run."""
    if PROCUREMENT not in dataset.attrs:
        return {}
    rows = pd.DataFrame(json.loads(dataset.attrs[PROCUREMENT]))
    return {
        str(alliance): plan.drop(columns="alliance").reset_index(drop=True)
        for alliance, plan in rows.groupby("alliance", sort=False)
    }


def members(dataset: xr.Dataset) -> int:
    """How many members an ensemble run's percentiles were taken over (its manifest)."""
    return int(manifest_of(dataset)["ensemble"]["members"])


def scenario_documents(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The resolved scenario of every model the run ran: its own, or one per market of a
    makers' scope."""
    resolved = manifest["scenario"]
    return list(resolved.get("market_scenarios", {"": resolved}).values())


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


def _axes(table: pd.DataFrame, dims: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each dim column of a run's tidy rows as (each row's position on the dim, -1 where
    the row's variable lacks it; the dim's labels in the order they were stored in, text
    as numpy strings like a run's own)."""
    axes = {}
    for dim in dims:
        codes, uniques = pd.factorize(table[dim], sort=False)
        labels = np.asarray(uniques.to_numpy())
        if dim in INTEGER_DIMS:
            labels = labels.astype(np.int64)
        elif labels.dtype.kind not in "iuf":
            labels = labels.astype(str)
        axes[dim] = (codes, labels)
    return axes


def _cells(
    values: np.ndarray,
    rows: np.ndarray,
    dims: tuple[str, ...],
    axes: dict[str, tuple[np.ndarray, np.ndarray]],
) -> np.ndarray | float:
    """One variable's values (its ``rows`` of the tidy table) over the run's labels of its
    catalogue dims: cells with no row are NaN, and by-cohort cells before the cohort
    entered (left out of the tidy table) are zero."""
    if not dims:
        return float(values[rows[0]])
    cells = np.full(tuple(len(axes[dim][1]) for dim in dims), np.nan)
    cells[tuple(axes[dim][0][rows] for dim in dims)] = values[rows]
    if "cohort" in dims and "year" in dims:
        cohort, year = (
            axes[dim][1].reshape([-1 if d == dim else 1 for d in dims])
            for dim in ("cohort", "year")
        )
        cells = np.where(cohort <= year, cells, 0.0)
    return cells


def stored_dataset(store: ResultsStore, run_id: str) -> xr.Dataset:
    """A stored run as a Dataset: every variable over its catalogue dims, with its unit
    (``units``) and description (``long_name``), stamped with the run's manifest, and
    carrying the purchase plans built on it (:func:`with_procurement`), if any.

    ``run_id`` is a full id or a unique prefix (see :func:`resolve_run_id`).
    """
    with store.reading():
        return _stored_dataset(store, resolve_run_id(store, run_id))


def _stored_dataset(store: ResultsStore, run_id: str) -> xr.Dataset:
    """:func:`stored_dataset` of a full run id, read within ``store.reading()``."""
    manifest = store.manifest(run_id)
    table = store.results(run_id)
    ensemble = manifest.get("kind") == "ensemble"
    known = catalogue()
    # every variable on the run's labels of each dim, found once for the whole table
    axes = _axes(table, [c for c in table.columns if c not in ("variable", "unit", "value")])
    values = table["value"].to_numpy(dtype=float)
    codes, names = pd.factorize(table["variable"], sort=False)
    by_variable = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[by_variable], np.arange(len(names) + 1))
    variables = {}
    used: dict[str, None] = {}
    for number, name in enumerate(map(str, names)):
        entry = known.get(name)
        if entry is None:
            msg = f"{store.path}: run {run_id} holds {name!r}, a variable this evpath does not know"
            raise InputError(msg)
        dims = (QUANTILE, *entry.dims) if ensemble else entry.dims
        rows = by_variable[bounds[number] : bounds[number + 1]]
        attrs = {"units": entry.unit, "long_name": entry.description}
        variables[name] = (dims, _cells(values, rows, dims, axes), attrs)
        used.update(dict.fromkeys(dims))
    dataset = xr.Dataset(variables, coords={dim: axes[dim][1] for dim in used})
    if ensemble:
        tables = {name: stored_table(store, name, run_id) for name in ENSEMBLE_TABLES}
        stamped = stamp_ensemble(
            dataset, manifest, {k: v for k, v in tables.items() if not v.empty}
        )
    else:
        stamped = stamp(dataset, manifest)
    return with_procurement(
        stamped,
        stored_table(store, PROCUREMENT, run_id),
        stored_table(store, PROCUREMENT_COSTS, run_id),
    )


def stored_table(store: ResultsStore, name: str, run_id: str) -> pd.DataFrame:
    """The rows of the store table ``name`` (one of :data:`STORED_TABLES`) that belong
    to run ``run_id``, without the run_id column; none when the store has no such table."""
    if name not in STORED_TABLES:
        msg = f"table {name!r}; allowed: {', '.join(STORED_TABLES)}"
        raise InputError(msg)
    return store.table(name, run_id)


def at_median(results: Results) -> Results:
    """An ensemble run's results at the median of each value (so that it reads like a
    single run: summaries, verdicts); a single run as it is."""
    if "quantile" not in results.dataset.dims:
        return results
    return dataclasses.replace(results, dataset=results.dataset.sel(quantile=0.5, drop=True))


def stored_results(store: ResultsStore, run_id: str) -> Results:
    """A stored scenario run as :class:`~evpath.results.Results` (see :func:`stored_run`);
    InputError for a makers' scope run."""
    results = stored_run(store, run_id)
    if isinstance(results, ScopeResults):
        msg = f"run {run_id}: a makers' scope run; allowed here: a scenario run (`evpath show` reads both)"
        raise InputError(msg)
    return results


def stored_run(store: ResultsStore, run_id: str) -> Results | ScopeResults:
    """A stored run as :class:`~evpath.results.Results`, or as
    :class:`~evpath.results.ScopeResults` for a makers' scope: its scenario (or scope and
    market scenarios) validated again from the manifest, Dataset and manifest. The
    observed fleet figures, the history's provenance and the makers' sales table are those
    of the data bundled with this evpath (the ones the run used when its manifest's
    dataset hashes match today's files)."""
    dataset = stored_dataset(store, run_id)
    manifest = manifest_of(dataset)
    resolved = dict(manifest["scenario"])
    if "market_scenarios" in resolved:
        markets = {
            name: resolve_scenario({**document, "extends": None})
            for name, document in resolved.pop("market_scenarios").items()
        }
        scope = MakersScope.model_validate(resolved)
        last_year = min(s.years.history_end for s in markets.values())
        _table, provenance = allocated_sales(
            maker_history(scope.makers.history), scope.makers, last_year
        )
        return ScopeResults(
            scope=scope,
            markets=markets,
            maker_table=provenance,
            dataset=dataset,
            manifest=manifest,
        )
    history = HISTORIES[resolved["sales"]["history"]].load()
    return Results(
        scenario=resolve_scenario(resolved),
        dataset=dataset,
        manifest=manifest,
        history_provenance=history.provenance,
        observed=history.observed,
    )
