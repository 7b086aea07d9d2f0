"""Running an ensemble: draw, split the members into chunks sized to a memory budget, run
each chunk vectorised (here, or on a Dask cluster), keep finished chunks on disk so an
interrupted ensemble resumes, and gather the members.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from evpath.analysis.ensemble.members import MemberRunner, member_groups
from evpath.analysis.ensemble.result import Ensemble
from evpath.analysis.ensemble.sampling import Design, Sampler, design
from evpath.core.dims import DRAW, POWERTRAINS
from evpath.data.histories import HISTORIES
from evpath.errors import InputError, StoreError
from evpath.io.export import dataset_bytes, write_atomic
from evpath.io.manifest import build_manifest
from evpath.model.pipeline import Inputs
from evpath.scenario.loader import resolve_scenario
from evpath.scenario.schema import Scenario

Progress = Callable[[int, int], None]
"""Called with (chunks done, chunks in all) as chunks finish."""

BASELINE_BYTES = 600 * 2**20
"""Memory taken before any member runs: Python, the libraries and the data [bytes]."""
WORKING_COPIES = 4.0
"""Cohort-sized arrays alive at once while a group of members runs, per member of the
group [count]: measured from peak memory, about 1.8 for japan-2050-uncertain (0.9 per
member of chunks that ran in three groups, one per grid alternative, the largest about
half the chunk) and 3.3 for world-current-trends on 20 IEA countries (every member in
one group; 3.65 with 266 members a chunk), with a margin."""
RESULT_FRACTION = 0.3
"""Cells of the kept results per cell of a cohort array (22,000 vs 87,000 for japan-2050)."""
MAX_CHUNK = 2000


def parse_memory(text: str) -> int:
    """``"4GiB"``, ``"512MiB"``, ``"2GB"`` or a number of bytes → bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(KiB|MiB|GiB|TiB|kB|KB|MB|GB|TB|B)?\s*", text)
    if match is None:
        msg = f"--memory: got {text!r}; allowed: a size such as 4GiB, 512MiB or 2GB"
        raise InputError(msg)
    factors = {
        None: 1, "B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
        "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    }  # fmt: skip
    return int(float(match.group(1)) * factors[match.group(2)])


def cohort_cells(scenario: Scenario) -> int:
    """Cells of one member's by-cohort array (region × segment × powertrain × year × cohort)."""
    years = scenario.years.end - scenario.years.start + 1
    segments = len(HISTORIES[scenario.sales.history].segments)
    cohorts = years + scenario.fleet.initial_stock.max_age + 1
    return len(scenario.regions) * segments * len(POWERTRAINS) * years * cohorts


def chunk_size(
    scenario: Scenario,
    members: int,
    memory: int,
    workers: int = 1,
    groups: np.ndarray | None = None,
) -> int:
    """Members per chunk so that the kept results of all members and the working arrays
    of one chunk per worker fit ``memory`` [bytes] (the budget of this machine: here and
    its workers); InputError when even one member per chunk does not.

    ``groups`` (one index per member, in order): the group each member runs in (see
    :func:`~evpath.analysis.ensemble.members.member_groups`). A chunk runs its groups one
    after the other, so only the largest group's working arrays are alive at once, and
    chunks grow until that group is as large as the budget allows: fewer, larger chunks
    share the fixed cost of each run.
    """
    cells = cohort_cells(scenario)
    kept = members * cells * RESULT_FRACTION * 4
    per_member = cells * 8 * WORKING_COPIES
    processes = 1 if workers == 1 else workers + 1  # a cluster's workers and this process
    room = memory - BASELINE_BYTES * processes - kept
    if room < per_member * workers:
        needed = (BASELINE_BYTES * processes + kept + per_member * workers) / 2**30
        msg = (
            f"--memory: {memory / 2**30:.2f} GiB is too small for {members:,} members of "
            f"{scenario.name} on {workers} worker(s) (about {needed:.2f} GiB needed); "
            "allowed: a larger budget, fewer draws or fewer workers"
        )
        raise InputError(msg)
    fits = int(room // (per_member * workers))  # members whose working arrays fit at once
    most = min(MAX_CHUNK, -(-members // workers))
    if groups is None or fits >= most:
        return min(most, fits)
    # the largest size whose largest group fits; a group never outgrows its chunk
    low, high = fits, most
    while low < high:
        size = (low + high + 1) // 2
        low, high = (size, high) if _largest_group(groups, size) <= fits else (low, size - 1)
    return low


def _largest_group(groups: np.ndarray, size: int) -> int:
    """Most members of one group in any chunk of ``size`` members of ``groups``."""
    chunk = np.arange(groups.size) // size
    return int(np.bincount(chunk * (groups.max() + 1) + groups).max())


@dataclass(frozen=True)
class ChunkFolder:
    """Finished chunks of one ensemble on disk, ``chunk-00000.nc`` …, each written whole
    (through a temporary file) so that a resumed ensemble never reads a partial chunk."""

    path: Path

    def file(self, index: int) -> Path:
        return self.path / f"chunk-{index:05d}.nc"

    def load(self, index: int, draws: np.ndarray) -> xr.Dataset | None:
        """Chunk ``index`` if it is on disk and holds exactly ``draws``; None otherwise."""
        file = self.file(index)
        if not file.is_file():
            return None
        try:
            with xr.open_dataset(file, engine="netcdf4") as stored:
                chunk = stored.load()
        except (OSError, ValueError):
            return None
        if DRAW in chunk.dims and not np.array_equal(chunk[DRAW].to_numpy(), draws):
            return None
        return chunk

    def save(self, index: int, chunk: xr.Dataset) -> None:
        data = dataset_bytes(chunk)
        write_atomic(self.file(index), lambda tmp: tmp.write_bytes(data))


def ensemble(
    scenario: object,
    n: int = 1000,
    *,
    seed: int = 0,
    sampler: Sampler = "lhs",
    sensitivity: bool = False,
    memory: int | str = "4GiB",
    scheduler: Any = None,
    work_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> Ensemble:
    """Run ``n`` members of a scenario with an ``uncertainty`` block.

    Parameters
    ----------
    scenario : Scenario, bundled name, path or mapping (as :func:`evpath.run`)
    n : int
        Members to draw; with ``sensitivity``, Saltelli's design with the largest N such
        that N·(D + 2) ≤ n (N a power of two).
    seed : int
        Same seed, same members, same numbers (here or on a cluster).
    sampler : "lhs", "sobol" or "random"
    sensitivity : bool
        Draw on Saltelli's design so that :meth:`Ensemble.sobol` can compute indices.
    memory : int or str
        Budget for the members' results and one chunk's working arrays [bytes, or "4GiB"].
    scheduler : None, str or distributed.Client
        None runs here; an address (``tcp://host:8786``) or a Client spreads chunks over
        a Dask cluster.
    work_dir : path, optional
        Keep finished chunks here, so that an interrupted ensemble resumes from them.
    progress : callable, optional
        Called with (chunks done, chunks in all).
    """
    resolved = resolve_scenario(scenario)
    if resolved.uncertainty is None:
        msg = (
            f"{resolved.name}: the scenario has no 'uncertainty' block; add one with the "
            "distributions to draw (see docs/ensembles.md)"
        )
        raise InputError(msg)
    budget = parse_memory(memory) if isinstance(memory, str) else int(memory)
    drawn = design(resolved.uncertainty, n, sampler, seed, sensitivity=sensitivity)
    client = _connect(scheduler) if isinstance(scheduler, str) else scheduler
    try:
        return _ensemble(resolved, drawn, budget, client, work_dir, progress)
    finally:
        if client is not scheduler:
            client.close()


def _ensemble(
    resolved: Scenario,
    drawn: Design,
    budget: int,
    client: Any,
    work_dir: str | Path | None,
    progress: Progress | None,
) -> Ensemble:
    n = drawn.size
    groups = (
        None
        if resolved.uncertainty is None
        else member_groups(resolved.uncertainty, drawn.values)[0]
    )
    size = chunk_size(resolved, n, budget, _workers(client), groups)
    bounds = [(start, min(start + size, n)) for start in range(0, n, size)]
    manifest = build_manifest(resolved, Inputs.load(resolved).datasets)
    manifest["ensemble"] = {
        "members": n,
        "requested": drawn.requested,
        "sampler": drawn.sampler,
        "seed": drawn.seed,
        "base_draws": drawn.base_draws,
        "inputs": [str(name) for name in drawn.values.input.values],
        "chunk_members": size,
    }
    folder = None
    if work_dir is not None:
        key = _ensemble_key(manifest)
        folder = ChunkFolder(Path(work_dir) / f"{resolved.name}-{key}")
    draws = joined(_run_chunks(resolved, drawn, bounds, folder, client, progress))
    return Ensemble(
        scenario=resolved,
        design=drawn,
        draws=draws,
        manifest=manifest,
        work_folder=None if folder is None else folder.path,
    )


def joined(chunks: list[xr.Dataset]) -> xr.Dataset:
    """The chunks' members as one Dataset along ``draw``, as ``xr.concat(chunks,
    dim="draw", data_vars="different")`` gives it: a variable without ``draw`` stays
    without it where every chunk holds the same values. Joined one variable at a time,
    dropping each chunk's copy of it once joined, so that the members' results are held
    about once, not twice, as the memory budget counts them; ``chunks`` is emptied."""
    if len(chunks) == 1:
        return chunks.pop()
    attrs = chunks[0].attrs
    variables: dict[Hashable, xr.DataArray] = {}
    for name in list(chunks[0].data_vars):
        parts = [chunk[name] for chunk in chunks]
        if all(DRAW not in part.dims for part in parts) and all(
            part.equals(parts[0]) for part in parts[1:]
        ):
            variables[name] = parts[0]
        else:
            variables[name] = xr.concat(
                [
                    part if DRAW in part.dims else part.expand_dims({DRAW: chunk[DRAW].values})
                    for part, chunk in zip(parts, chunks, strict=True)
                ],
                dim=DRAW,
                combine_attrs="override",
            )
        del parts
        chunks[:] = [chunk.drop_vars([name]) for chunk in chunks]
    chunks.clear()
    return xr.Dataset(variables, attrs=attrs)


def _workers(client: Any) -> int:
    """Workers the chunks are spread over: 1 here, else the cluster's workers."""
    if client is None:
        return 1
    return max(1, len(client.scheduler_info().get("workers", {})))


def _ensemble_key(manifest: dict[str, Any]) -> str:
    """What identifies an ensemble's members: scenario, data, version and the draws."""
    fingerprint = json.dumps(
        {"input_hash": manifest["input_hash"], "ensemble": manifest["ensemble"]}, sort_keys=True
    )
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:16]


def _run_chunks(
    scenario: Scenario,
    drawn: Design,
    bounds: list[tuple[int, int]],
    folder: ChunkFolder | None,
    client: Any,
    progress: Progress | None,
) -> list[xr.Dataset]:
    """Every chunk's members, loaded from ``folder`` when finished before, else run."""
    report = progress or (lambda _done, _total: None)
    done: dict[int, xr.Dataset] = {}
    todo = []
    for index, (start, stop) in enumerate(bounds):
        stored = None if folder is None else folder.load(index, np.arange(start, stop))
        if stored is None:
            todo.append(index)
        else:
            done[index] = stored
    report(len(done), len(bounds))
    values = drawn.values
    for index, chunk in _computed(scenario, values, bounds, todo, client):
        if folder is not None:
            folder.save(index, chunk)
        done[index] = chunk
        report(len(done), len(bounds))
    return [done[i] for i in range(len(bounds))]


def _computed(
    scenario: Scenario,
    values: xr.DataArray,
    bounds: list[tuple[int, int]],
    todo: list[int],
    client: Any,
) -> Iterator[tuple[int, xr.Dataset]]:
    """(index, members) of each chunk in ``todo``, as they finish."""
    if client is None:
        runner = MemberRunner(scenario)
        for index in todo:
            start, stop = bounds[index]
            yield index, runner.run(values.isel({DRAW: slice(start, stop)}))
        return
    from distributed import as_completed

    document = scenario.model_dump(mode="json")
    futures = {
        client.submit(
            run_chunk,
            document,
            values.isel({DRAW: slice(*bounds[index])}),
            key=f"evpath-chunk-{index}-{id(values)}",
            pure=False,
        ): index
        for index in todo
    }
    for future in as_completed(futures):
        index, chunk = futures.pop(future), future.result()
        future.release()  # the worker drops its copy of the chunk's results
        yield index, chunk


def _connect(address: object) -> Any:
    from distributed import Client

    if not isinstance(address, str) or not address:
        msg = f"--scheduler: got {address!r}; allowed: a Dask scheduler address such as tcp://host:8786"
        raise InputError(msg)
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        msg = f"--scheduler {address}: cannot reach a Dask scheduler ({exc})"
        raise StoreError(msg) from None


_RUNNERS: dict[str, MemberRunner] = {}


def run_chunk(document: dict[str, Any], values: xr.DataArray) -> xr.Dataset:
    """One chunk's members, on a Dask worker: the scenario comes as a document, and each
    worker keeps one runner (with its data) per scenario."""
    key = json.dumps(document, sort_keys=True)
    if key not in _RUNNERS:
        _RUNNERS[key] = MemberRunner(resolve_scenario(document))
    return _RUNNERS[key].run(values)
