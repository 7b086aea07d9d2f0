"""The embedded results store: one DuckDB file holding runs, manifests and tidy results.

Tables
------
runs : run_id, scenario, created_at, evpath_version, input_hash, manifest (JSON)
results : run_id, variable, unit, one column per dimension, value

A run is written in a single transaction: a failed or interrupted write leaves the
store as it was. A store held by another process is waited for (30 s by default).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from evpath.errors import StoreError
from evpath.io.publish import WAIT_SECONDS, Notify, reason, say

TABLES = {
    "runs": (
        "run_id VARCHAR PRIMARY KEY",
        "scenario VARCHAR NOT NULL",
        "created_at TIMESTAMPTZ NOT NULL",
        "evpath_version VARCHAR NOT NULL",
        "input_hash VARCHAR NOT NULL",
        "manifest JSON NOT NULL",
    ),
    "results": (
        "run_id VARCHAR NOT NULL",
        "variable VARCHAR NOT NULL",
        "unit VARCHAR NOT NULL",
        "value DOUBLE",
    ),
}
"""The store's own tables and their columns (``results`` gains a column per dimension)."""


def _prepare(connection: duckdb.DuckDBPyConnection, path: Path, *, writing: bool) -> None:
    """Check that the file's ``runs`` and ``results`` tables, if any, are the store's; create
    the missing ones: in the file to write to it, else for this connection only (reading
    never changes a file, which may be another program's DuckDB database)."""
    held: dict[str, set[str]] = {}
    for table, column in connection.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main'"
    ).fetchall():
        held.setdefault(table, set()).add(column)
    for table, columns in TABLES.items():
        needed = {column.split()[0] for column in columns}
        if table in held and not needed <= held[table]:
            msg = (
                f"{path}: not an evpath results store (its table {table!r} has columns "
                f"{', '.join(sorted(held[table]))}; an evpath store's has "
                f"{', '.join(sorted(needed))}); allowed: a store evpath wrote, or a new file"
            )
            raise StoreError(msg)
        if table not in held:
            temporary = "" if writing else "TEMP "
            # IF NOT EXISTS: another thread of this process may have just made it
            connection.execute(
                f"CREATE {temporary}TABLE IF NOT EXISTS {table} ({', '.join(columns)})"
            )


_COLUMN_TYPES = {"cohort": "INTEGER", "age": "INTEGER", "year": "INTEGER", "quantile": "DOUBLE"}


def _check_table_name(name: str) -> None:
    if not name.isidentifier():
        msg = f"table name {name!r}; allowed: letters, digits and underscores"
        raise StoreError(msg)


def _insert(connection: duckdb.DuckDBPyConnection, name: str, rows: pd.DataFrame) -> None:
    """Add ``rows`` to table ``name``, created with their columns on first use."""
    connection.register("incoming", rows)
    connection.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM incoming LIMIT 0")
    connection.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")
    connection.unregister("incoming")


def _held_elsewhere(exc: duckdb.Error) -> bool:
    """Whether DuckDB refused the file because another process holds its lock."""
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def _rollback(connection: duckdb.DuckDBPyConnection, committed: bool) -> None:
    """Roll back an open transaction; a rollback that fails is ignored (the error that
    led here is the one to report, and an uncommitted transaction is never stored)."""
    if committed:
        return
    with suppress(duckdb.Error):
        connection.execute("ROLLBACK")


def _close(connection: duckdb.DuckDBPyConnection) -> None:
    with suppress(duckdb.Error):
        connection.close()


_WRITERS: dict[Path, threading.Lock] = {}
_WRITERS_GUARD = threading.Lock()


def _writer_turn(path: Path) -> threading.Lock:
    """The lock the writers of this process hold in turn for the store at ``path``: two
    transactions on one DuckDB file from one process conflict on its tables (one making
    them, another adding a dimension's column) instead of waiting for each other."""
    key = path.resolve()
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(key, threading.Lock())


class ResultsStore:
    """A DuckDB results store at ``path`` (created on first write).

    DuckDB lets one process at a time open the file for writing. When another process
    holds it, the store waits up to ``wait`` seconds (telling ``notify`` once) before
    giving up with a StoreError.
    """

    def __init__(
        self, path: str | Path, *, wait: float = WAIT_SECONDS, notify: Notify = say
    ) -> None:
        self.path = Path(path)
        self.wait = wait
        self.notify = notify
        self._shared = threading.local()  # this thread's connection inside reading()

    def _open(self) -> duckdb.DuckDBPyConnection:
        """A connection, waiting for another process that holds the file."""
        deadline = time.monotonic() + self.wait
        pause = 0.05
        told = False
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as exc:
                if not _held_elsewhere(exc):
                    raise
                if time.monotonic() >= deadline:
                    msg = (
                        f"{self.path}: the results store is still held by another process "
                        f"after {self.wait:g} s; nothing was stored, try again when it has "
                        "finished"
                    )
                    raise StoreError(msg) from None
                if not told:
                    self.notify(
                        f"waiting up to {self.wait:g} s for the results store {self.path}, "
                        "held by another process"
                    )
                    told = True
                time.sleep(min(pause, max(deadline - time.monotonic(), 0.0)))
                pause = min(pause * 2, 0.5)

    def _connect(self, *, writing: bool = False) -> duckdb.DuckDBPyConnection:
        """A connection to the store, its tables checked (and, ``writing``, created with
        its folder when missing)."""
        try:
            if writing:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = self._open()
        except (FileExistsError, NotADirectoryError):
            msg = (
                f"{self.path}: cannot open the results store (a part of {self.path.parent} "
                "is a file, not a folder)"
            )
            raise StoreError(msg) from None
        except (duckdb.Error, OSError) as exc:
            msg = f"{self.path}: cannot open the results store ({reason(exc)})"
            raise StoreError(msg) from None
        try:
            _prepare(connection, self.path, writing=writing)
        except duckdb.Error as exc:
            _close(connection)
            msg = f"{self.path}: cannot prepare the results store ({exc})"
            raise StoreError(msg) from None
        except StoreError:
            _close(connection)
            raise
        return connection

    @contextmanager
    def reading(self) -> Iterator[ResultsStore]:
        """The store, whose reads inside (in this thread) share one connection: opening
        one costs about 50 ms. Inside another ``reading()``, the outer one's."""
        if getattr(self._shared, "connection", None) is not None or not self.path.exists():
            yield self
            return
        self._shared.connection = self._connect()
        try:
            yield self
        finally:
            connection, self._shared.connection = self._shared.connection, None
            _close(connection)

    @contextmanager
    def _reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection of the enclosing :meth:`reading`, or one for this read only."""
        shared = getattr(self._shared, "connection", None)
        if shared is not None:
            yield shared
            return
        connection = self._connect()
        try:
            yield connection
        finally:
            _close(connection)

    @contextmanager
    def _transaction(self, what: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside one transaction: committed on success, rolled back (and
        the store left unchanged) on any failure; duckdb errors become StoreError.

        A failing rollback (the disk is full, or the commit went through just before an
        interrupt) never hides the error that caused it. Writers in this process take turns
        (:func:`_writer_turn`); other processes are waited for through the file's lock.
        """
        with _writer_turn(self.path):
            connection = self._connect(writing=True)
            committed = False
            try:
                connection.execute("BEGIN TRANSACTION")
                yield connection
                connection.execute("COMMIT")
                committed = True
            except duckdb.Error as exc:
                _rollback(connection, committed)
                msg = f"{self.path}: could not store {what} ({exc}); the store is unchanged"
                raise StoreError(msg) from None
            except BaseException:
                _rollback(connection, committed)
                raise
            finally:
                _close(connection)

    def write(
        self,
        manifest: dict[str, Any],
        table: pd.DataFrame,
        tables: Mapping[str, pd.DataFrame] | None = None,
    ) -> str:
        """Store one run (its manifest and tidy results, and rows for the named ``tables``,
        tagged with its run_id) atomically; returns its run_id."""
        for name in tables or {}:
            _check_table_name(name)
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
            for name, rows in (tables or {}).items():
                _insert(connection, name, rows.assign(run_id=manifest["run_id"]))
        return str(manifest["run_id"])

    def runs(self) -> pd.DataFrame:
        """All stored runs, newest first (without the manifest body)."""
        if not self.path.exists():
            return pd.DataFrame(columns=["run_id", "scenario", "created_at", "evpath_version"])
        with self._reader() as connection:
            return connection.execute(
                "SELECT run_id, scenario, created_at, evpath_version, input_hash FROM runs "
                "ORDER BY created_at DESC"
            ).df()

    def manifest(self, run_id: str) -> dict[str, Any]:
        """The manifest of one run."""
        with self._reader() as connection:
            # every row fetched: a result left open blocks a shared connection's next read
            rows = connection.execute(
                "SELECT manifest FROM runs WHERE run_id = ?", [run_id]
            ).fetchall()
        if not rows:
            msg = f"{self.path}: no run {run_id!r}; list runs with ResultsStore.runs()"
            raise StoreError(msg)
        return dict(json.loads(rows[0][0]))

    def write_tables(self, run_id: str | None, tables: Mapping[str, pd.DataFrame]) -> None:
        """Add rows to each named table (created on first use), tagged with ``run_id``,
        all in one transaction: every table gets its rows, or none does."""
        for name in tables:
            _check_table_name(name)
        with self._transaction(f"{', '.join(tables)} rows") as connection:
            for name, rows in tables.items():
                _insert(connection, name, rows.assign(run_id=run_id))

    def table(self, name: str, run_id: str) -> pd.DataFrame:
        """The rows of table ``name`` that belong to run ``run_id``, without the run_id
        column; empty when the store has no such table."""
        _check_table_name(name)
        if not self.path.exists():
            return pd.DataFrame()
        with self._reader() as connection:
            held = connection.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]
            ).fetchall()
            if held[0][0] == 0:
                return pd.DataFrame()
            rows = connection.execute(f"SELECT * FROM {name} WHERE run_id = ?", [run_id]).df()
        return rows.drop(columns="run_id")

    def results(self, run_id: str, variable: str | None = None) -> pd.DataFrame:
        """Tidy results of one run (optionally one variable), without empty dim columns."""
        query = "SELECT * EXCLUDE (run_id) FROM results WHERE run_id = ?"
        params: list[Any] = [run_id]
        if variable is not None:
            query += " AND variable = ?"
            params.append(variable)
        with self._reader() as connection:
            frame = _frame(connection.sql(query, params=params).to_arrow_table())
        return frame.dropna(axis="columns", how="all")


def _frame(table: pa.Table) -> pd.DataFrame:
    """Rows fetched as Arrow, typed as DuckDB's ``.df()`` types them (integer columns
    with missing values nullable), in a fraction of its time."""
    frame = table.to_pandas(types_mapper={pa.int32(): pd.Int32Dtype()}.get)
    for name in table.column_names:
        if pa.types.is_int32(table.schema.field(name).type) and table[name].null_count == 0:
            frame[name] = frame[name].astype("int32")
    return frame
