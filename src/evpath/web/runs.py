"""The runs the dashboard shows and makes: the results store, the runs this server computed
(kept in memory, newest first), and the bound on runs computed at once."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pandas as pd
import xarray as xr

from evpath.errors import InputError
from evpath.io.export import tidy
from evpath.io.store import ResultsStore
from evpath.report.runs import stamp, stored_results
from evpath.results import Results

T = TypeVar("T")

KEPT_IN_MEMORY = 16
"""Runs computed by the server that it keeps to show and compare (the oldest is dropped)."""
STORE_WAIT = 5.0
"""Seconds to wait for a results store held by another process (``evpath run``, say)."""


class UnknownRun(LookupError):
    """No run with this id, in memory or in the store."""


class Busy(RuntimeError):
    """Every run slot is taken."""


class TooSlow(TimeoutError):
    """A run did not finish within the time limit."""


class RunBook:
    """Runs by id: those this server computed (in memory) and those in the results store."""

    def __init__(self, store: Path, kept: int = KEPT_IN_MEMORY) -> None:
        self.store = ResultsStore(store, wait=STORE_WAIT, notify=lambda _text: None)
        self.kept = kept
        self._recent: OrderedDict[str, tuple[Results, bool]] = OrderedDict()
        self._read: OrderedDict[str, Results] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, results: Results, stored: bool) -> None:
        with self._lock:
            self._recent[results.run_id] = (results, stored)
            self._recent.move_to_end(results.run_id, last=False)
            while len(self._recent) > self.kept:
                self._recent.popitem()

    def recent(self) -> list[tuple[Results, bool]]:
        """Runs computed by this server, newest first, and whether each was stored."""
        with self._lock:
            return list(self._recent.values())

    def stored_runs(self) -> pd.DataFrame:
        """The runs in the store, newest first (none when the store does not exist yet)."""
        return self.store.runs()

    def results(self, run_id: str) -> tuple[Results, bool]:
        """A run's results and whether it is stored: the run itself when this server
        computed it, else read back from the store (the ``kept`` runs read last are
        kept)."""
        with self._lock:
            kept = self._recent.get(run_id)
            read = self._read.get(run_id)
        if kept is not None:
            return kept
        if read is None:
            read = self._read_back(run_id)
            with self._lock:
                self._read[run_id] = read
                while len(self._read) > self.kept:
                    self._read.popitem(last=False)
        return read, True

    def _read_back(self, run_id: str) -> Results:
        """A stored run as Results (stored runs never change, so it is read once)."""
        if not self.store.path.exists() or run_id not in set(self.stored_runs()["run_id"]):
            raise UnknownRun(run_id)
        return stored_results(self.store, run_id)

    def dataset(self, run_id: str) -> xr.Dataset:
        """A run's Dataset stamped with its manifest (what the charts draw)."""
        results, _stored = self.results(run_id)
        return stamp(results.dataset, results.manifest)

    def tidy(self, run_id: str, variables: list[str]) -> pd.DataFrame:
        """The tidy table of a run (of ``variables`` only, when given), without empty
        dimension columns; InputError naming a variable the run does not have."""
        results, _stored = self.results(run_id)
        missing = [v for v in variables if v not in results.dataset.data_vars]
        if missing:
            known = ", ".join(map(str, results.dataset.data_vars))
            msg = (
                f"variable: got {missing[0][:80]!r}; allowed: a variable of run {run_id} ({known})"
            )
            raise InputError(msg)
        chosen = results.dataset[variables] if variables else results.dataset
        return tidy(chosen).dropna(axis="columns", how="all")


class RunSlots:
    """At most ``size`` runs computed at once, each given ``timeout`` seconds.

    A run that takes longer is abandoned: the caller gets :class:`TooSlow` and the result
    is discarded, but the computation (a thread cannot be stopped) keeps its slot until it
    ends, so the bound holds.
    """

    def __init__(self, size: int, timeout: float) -> None:
        if size < 1:
            msg = f"runs at once: got {size}; allowed: 1 or more"
            raise InputError(msg)
        if not timeout > 0:
            msg = f"run timeout: got {timeout}; allowed: more than 0 seconds"
            raise InputError(msg)
        self.size = size
        self.timeout = timeout
        self._free = threading.Semaphore(size)
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="evpath-run")

    def close(self) -> None:
        """Wait for the runs still computing, those abandoned after the timeout included,
        and stop the run threads."""
        self._pool.shutdown(wait=True)

    def take(self) -> bool:
        """Take a slot if one is free (give it back with :meth:`give_back`)."""
        return self._free.acquire(blocking=False)

    def give_back(self) -> None:
        self._free.release()

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in a slot; :class:`Busy` when none is free, :class:`TooSlow` after
        the timeout."""
        if not self.take():
            raise Busy
        try:
            future = self._pool.submit(work)
        except BaseException:
            self.give_back()
            raise
        future.add_done_callback(lambda _done: self.give_back())
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            raise TooSlow from None
