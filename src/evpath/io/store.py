"""The embedded results store: one DuckDB file holding runs, manifests and tidy results.

Tables
------
runs : run_id, scenario, created_at, evpath_version, input_hash, manifest (JSON)
results : run_id, variable, unit, one column per dimension, value

A run is written in a single transaction: a failed or interrupted write leaves the
store as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import xarray as xr

from evpath.errors import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    scenario VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    evpath_version VARCHAR NOT NULL,
    input_hash VARCHAR NOT NULL,
    manifest JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    run_id VARCHAR NOT NULL,
    variable VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    value DOUBLE
);
"""

_COLUMN_TYPES = {"cohort": "INTEGER", "age": "INTEGER", "year": "INTEGER"}


class ResultsStore:
    """A DuckDB results store at ``path`` (created on first write)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = duckdb.connect(str(self.path))
        except (duckdb.Error, OSError) as exc:
            msg = f"{self.path}: cannot open the results store ({exc})"
            raise StoreError(msg) from None
        connection.execute(_SCHEMA)
        return connection

    @contextmanager
    def _transaction(self, what: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside one transaction: committed on success, rolled back (and
        the store left unchanged) on any failure; duckdb errors become StoreError."""
        connection = self._connect()
        try:
            connection.execute("BEGIN TRANSACTION")
            yield connection
            connection.execute("COMMIT")
        except duckdb.Error as exc:
            connection.execute("ROLLBACK")
            msg = f"{self.path}: could not store {what} ({exc}); the store is unchanged"
            raise StoreError(msg) from None
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()

    def write(self, manifest: dict[str, Any], table: pd.DataFrame) -> str:
        """Store one run (its manifest and tidy results) atomically; returns its run_id."""
        with self._transaction(f"run {manifest['run_id']}") as connection:
            existing = {row[0] for row in connection.execute("DESCRIBE results").fetchall()}
            for column in table.columns:
                if column not in existing and column != "run_id":
                    sql_type = _COLUMN_TYPES.get(column, "VARCHAR")
                    connection.execute(f'ALTER TABLE results ADD COLUMN "{column}" {sql_type}')
            connection.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                [
                    manifest["run_id"],
                    manifest["scenario_name"],
                    manifest["created_at"],
                    manifest["evpath_version"],
                    manifest["input_hash"],
                    json.dumps(manifest),
                ],
            )
            connection.register("incoming", table.assign(run_id=manifest["run_id"]))
            connection.execute("INSERT INTO results BY NAME SELECT * FROM incoming")
            connection.unregister("incoming")
        return str(manifest["run_id"])

    def runs(self) -> pd.DataFrame:
        """All stored runs, newest first (without the manifest body)."""
        if not self.path.exists():
            return pd.DataFrame(columns=["run_id", "scenario", "created_at", "evpath_version"])
        with self._connect() as connection:
            return connection.execute(
                "SELECT run_id, scenario, created_at, evpath_version, input_hash FROM runs "
                "ORDER BY created_at DESC"
            ).df()

    def manifest(self, run_id: str) -> dict[str, Any]:
        """The manifest of one run."""
        with self._connect() as connection:
            row = connection.execute(
                "SELECT manifest FROM runs WHERE run_id = ?", [run_id]
            ).fetchone()
        if row is None:
            msg = f"{self.path}: no run {run_id!r}; list runs with ResultsStore.runs()"
            raise StoreError(msg)
        return dict(json.loads(row[0]))

    def run_dataset(self, run_id: str, variables: list[str]) -> xr.Dataset:
        """Stored variables of one run as labelled arrays (dims from the tidy columns)."""
        arrays = {}
        for variable in variables:
            table = self.results(run_id, variable)
            if table.empty:
                msg = f"{self.path}: run {run_id!r} has no variable {variable!r}"
                raise StoreError(msg)
            dims = [c for c in table.columns if c not in ("variable", "unit", "value")]
            arrays[variable] = table.set_index(dims)["value"].to_xarray()
        return xr.Dataset(arrays)

    def write_table(self, name: str, run_id: str | None, table: pd.DataFrame) -> None:
        """Add rows to table ``name`` (created on first use), tagged with ``run_id``,
        in one transaction."""
        if not name.isidentifier():
            msg = f"table name {name!r}; allowed: letters, digits and underscores"
            raise StoreError(msg)
        with self._transaction(f"{name} rows") as connection:
            connection.register("incoming", table.assign(run_id=run_id))
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM incoming LIMIT 0"
            )
            connection.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")
            connection.unregister("incoming")

    def results(self, run_id: str, variable: str | None = None) -> pd.DataFrame:
        """Tidy results of one run (optionally one variable), without empty dim columns."""
        query = "SELECT * EXCLUDE (run_id) FROM results WHERE run_id = ?"
        params: list[Any] = [run_id]
        if variable is not None:
            query += " AND variable = ?"
            params.append(variable)
        with self._connect() as connection:
            frame = connection.execute(query, params).df()
        return frame.dropna(axis="columns", how="all")
