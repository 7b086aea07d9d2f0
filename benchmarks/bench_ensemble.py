"""Benchmark of ensembles: members per second and peak memory.

Cases
-----
- ``japan``: the bundled ``japan-2050-uncertain`` (ten inputs, three grid alternatives,
  every stage) at 1,000 and 10,000 members, on one process and on a local Dask cluster of
  two worker processes;
- ``regions``: ``world-current-trends`` on 20 IEA countries (sales, fleet, batteries,
  metals) with four inputs drawn, 1,000 members.

Each case runs in a fresh process and reports its wall time (model import and data
loading included, result writing excluded), members per second and the peak resident
memory of that process and its Dask workers. Run with ``python benchmarks/bench_ensemble.py``
(about ten minutes here); ``--quick`` runs the 1,000-member cases only. It prints a
markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

TWENTY = [
    "Australia", "Austria", "Belgium", "Brazil", "Canada", "China", "Denmark", "Finland",
    "France", "Germany", "India", "Italy", "Japan", "Korea", "Mexico", "Netherlands",
    "Norway", "Spain", "Sweden", "United Kingdom",
]  # fmt: skip

REGIONS_UNCERTAINTY = {
    "note": "benchmark ranges",
    "parameters": {
        "fleet.lifetime.mean": {"distribution": "triangular", "low": 12, "mode": 15, "high": 19},
        "fleet.lifetime.shape": {"distribution": "uniform", "low": 2.0, "high": 3.0},
        "batteries.packs.kwh.all.BEV.2035": {
            "distribution": "triangular",
            "low": 55,
            "mode": 70,
            "high": 90,
        },
        "batteries.recycling.collection_rate": {
            "distribution": "uniform",
            "low": 0.5,
            "high": 0.95,
        },
    },
}


def scenario_for(case: str, folder: Path) -> str:
    if case == "japan":
        return "japan-2050-uncertain"
    path = folder / "twenty-regions.yaml"
    document = {
        "extends": "world-current-trends",
        "name": "twenty-regions",
        "regions": TWENTY,
        "uncertainty": REGIONS_UNCERTAINTY,
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return str(path)


def run_case(case: str, members: int, workers: int) -> dict[str, float]:
    """One case in this process: wall time and peak memory (this process and workers)."""
    from evpath.analysis.ensemble import ensemble

    with tempfile.TemporaryDirectory() as folder:
        scenario = scenario_for(case, Path(folder))
        started = time.perf_counter()
        if workers == 1:
            result = ensemble(scenario, members, seed=1)
            workers_peak = 0.0
        else:
            from distributed import Client, LocalCluster

            with (
                LocalCluster(
                    n_workers=workers, threads_per_worker=1, dashboard_address=None
                ) as cluster,
                Client(cluster) as client,
            ):
                result = ensemble(scenario, members, seed=1, scheduler=client)
                peaks = client.run(_peak_rss)
                workers_peak = float(sum(peaks.values()))
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "members": result.size,
        "peak_mib": _peak_rss() + workers_peak,
        "chunk": result.manifest["ensemble"]["chunk_members"],
    }


def _peak_rss() -> float:
    """Peak resident memory of this process [MiB] (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


CASES = (
    ("japan", 1000, 1),
    ("japan", 1000, 2),
    ("regions", 1000, 1),
    ("japan", 10000, 1),
    ("japan", 10000, 2),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000-member cases only")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--members", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.members, args.workers)))
        return
    print("| case | members | workers | chunk | wall [s] | members/s | peak memory [MiB] |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for case, members, workers in CASES:
        if args.quick and members > 1000:
            continue
        output = subprocess.run(
            [sys.executable, __file__, "--case", case, "--members", str(members),
             "--workers", str(workers)],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        figures = json.loads(output.strip().splitlines()[-1])
        name = "japan-2050-uncertain" if case == "japan" else "20 regions (world-current-trends)"
        print(
            f"| {name} | {figures['members']:,.0f} | {workers} | {figures['chunk']:.0f} | "
            f"{figures['seconds']:.1f} | {figures['members'] / figures['seconds']:.0f} | "
            f"{figures['peak_mib']:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
