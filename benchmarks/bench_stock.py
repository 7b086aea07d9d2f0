"""Benchmark of the evpath stock engine against flodym and a bare-matmul floor.

Case: inflow by year (1950-2050), region and powertrain (6), normal lifetime (mean 15,
std 5 years), inflow in the middle of the year. For 1, 20, 200 and 1000 regions it
measures wall time (best of several runs) and peak memory (tracemalloc, allocations
during the call only) of

- evpath ``inflow_driven`` totals (stock and outflow),
- evpath ``inflow_driven(..., by_cohort=True)``,
- evpath ``stock_driven`` on the resulting stock,
- flodym ``InflowDrivenDSM.compute()`` on the same case,
- the floor: two numpy matmuls ``(year x year) @ (year x series)``,

a lifetime by cohort: a Weibull lifetime (shape 2.5) whose scale rises from 12 to 20
years over the cohorts 1950-2050, evpath totals and ``stock_driven`` against flodym's
``InflowDrivenDSM`` with the same parameters by cohort and the same floor,

and an ensemble: 1,000 draws of the mean lifetime (12-18 years) on 20 regions x 6
powertrains, evpath totals against its own floor (two batched matmuls).

Run with ``python benchmarks/bench_stock.py``; it prints markdown tables.
``--flodym-max-regions N`` skips flodym above N regions and reports the memory of its
four (year, cohort, region, powertrain) arrays instead. BLAS runs on one thread unless
``OPENBLAS_NUM_THREADS`` says otherwise, so that timings do not depend on other load.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from evpath.stock import inflow_driven, stock_driven  # noqa: E402
from evpath.survival import Normal, Weibull  # noqa: E402

YEARS = np.arange(1950, 2051)
POWERTRAINS = ["ICE", "HEV", "PHEV", "BEV", "FCEV", "other"]
REGION_COUNTS = (1, 20, 200, 1000)
MEAN, STD = 15.0, 5.0
WEIBULL_SHAPE = 2.5
WEIBULL_SCALE = np.linspace(12.0, 20.0, YEARS.size)
"""Weibull scale [years] by cohort of the lifetime-by-cohort case."""
MB = 1024.0**2


def best_time(run: Callable[[], object], min_total: float = 0.5, max_repeats: int = 20) -> float:
    """Best wall time [s] of ``run`` over repeats (at least 2, until ``min_total`` s)."""
    times: list[float] = []
    while len(times) < 2 or (sum(times) < min_total and len(times) < max_repeats):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_memory(run: Callable[[], object]) -> float:
    """Peak memory [MB] allocated during ``run`` (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak / MB


def make_inflow(n_regions: int) -> xr.DataArray:
    """Inflow [vehicles/yr] by year, region and powertrain."""
    rng = np.random.default_rng(0)
    values = rng.uniform(1e3, 1e5, (YEARS.size, n_regions, len(POWERTRAINS)))
    return xr.DataArray(
        values,
        dims=("year", "region", "powertrain"),
        coords={
            "year": YEARS,
            "region": [f"r{i}" for i in range(n_regions)],
            "powertrain": POWERTRAINS,
        },
        attrs={"units": "vehicles/yr"},
    )


def flodym_run(inflow: xr.DataArray, by_cohort: bool = False) -> Callable[[], object]:
    """A function that builds and computes flodym's InflowDrivenDSM on ``inflow``.

    The lifetime is ``Normal(MEAN, STD)``, or with ``by_cohort`` the Weibull lifetime
    with scale ``WEIBULL_SCALE`` by cohort.
    """
    from flodym import Dimension, DimensionSet, InflowDrivenDSM, StockArray
    from flodym.lifetime_models import NormalLifetime, WeibullLifetime

    dims = DimensionSet(
        dim_list=[
            Dimension(name="time", letter="t", items=[int(y) for y in YEARS]),
            Dimension(name="region", letter="r", items=list(inflow["region"].values)),
            Dimension(name="powertrain", letter="p", items=POWERTRAINS),
        ]
    )
    values = inflow.values
    scale = np.broadcast_to(WEIBULL_SCALE[:, np.newaxis, np.newaxis], values.shape)

    def run() -> object:
        lifetime = (
            WeibullLifetime(
                dims=dims, weibull_shape=WEIBULL_SHAPE, weibull_scale=scale, inflow_at="middle"
            )
            if by_cohort
            else NormalLifetime(dims=dims, mean=MEAN, std=STD, inflow_at="middle")
        )
        dsm = InflowDrivenDSM(
            dims=dims, lifetime_model=lifetime, inflow=StockArray(dims=dims, values=values)
        )
        dsm.compute()
        return dsm

    return run


def floor_run(n_series: int, batch: int = 1) -> Callable[[], object]:
    """Two matmuls of the engine's shape: ``(batch * year, year) @ (year, series)``."""
    rng = np.random.default_rng(1)
    n = YEARS.size
    s = np.tril(rng.uniform(size=(batch * n, n)))
    o = np.tril(rng.uniform(size=(batch * n, n)))
    x = rng.uniform(size=(n, n_series))

    def run() -> object:
        return s @ x, o @ x

    return run


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flodym-max-regions", type=int, default=1000)
    args = parser.parse_args()
    lifetime = Normal(MEAN, STD)
    n = YEARS.size
    rows = []
    for n_regions in REGION_COUNTS:
        inflow = make_inflow(n_regions)
        n_series = n_regions * len(POWERTRAINS)
        stock = inflow_driven(inflow, lifetime).stock

        def totals(inflow: xr.DataArray = inflow) -> object:
            return inflow_driven(inflow, lifetime)

        def cohorts(inflow: xr.DataArray = inflow) -> object:
            return inflow_driven(inflow, lifetime, by_cohort=True)

        def solve(stock: xr.DataArray = stock) -> object:
            return stock_driven(stock, lifetime)

        floor = floor_run(n_series)
        row = {
            "regions": n_regions,
            "series": n_series,
            "totals": (best_time(totals), peak_memory(totals)),
            "by_cohort": (best_time(cohorts), peak_memory(cohorts)),
            "stock_driven": (best_time(solve), peak_memory(solve)),
            "floor": (best_time(floor), peak_memory(floor)),
        }
        by_cohort_mb = 4 * n * n * n_series * 8 / MB
        if n_regions <= args.flodym_max_regions:
            fl = flodym_run(inflow)
            row["flodym"] = (best_time(fl, min_total=0.0), peak_memory(fl))
        else:
            row["flodym"] = (float("nan"), by_cohort_mb)
        rows.append(row)

    print(
        "| regions x powertrains | evpath totals | evpath by_cohort | evpath stock_driven |"
        " flodym InflowDrivenDSM | floor (2 matmuls) | flodym / evpath | evpath / floor |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        cells = [f"{row['regions']} x {len(POWERTRAINS)}"]
        for key in ("totals", "by_cohort", "stock_driven", "flodym", "floor"):
            t, mem = row[key]
            if np.isnan(t):
                cells.append(f"skipped; ≥ {mem:,.0f} MB (est.)")
            else:
                cells.append(f"{fmt_time(t)}, {mem:,.1f} MB")
        fl_t = row["flodym"][0]
        cells.append("n/a" if np.isnan(fl_t) else f"{fl_t / row['totals'][0]:,.0f}x")
        cells.append(f"{row['totals'][0] / row['floor'][0]:.1f}x")
        print("| " + " | ".join(cells) + " |")

    print()
    cohort_rows(args.flodym_max_regions)

    draws = np.arange(1000)
    mean = xr.DataArray(
        np.random.default_rng(2).uniform(12.0, 18.0, draws.size),
        dims="draw",
        coords={"draw": draws},
    )
    ensemble_lifetime = Normal(mean, STD)
    inflow = make_inflow(20)

    def ensemble() -> object:
        return inflow_driven(inflow, ensemble_lifetime)

    floor = floor_run(20 * len(POWERTRAINS), batch=draws.size)
    t, mem = best_time(ensemble), peak_memory(ensemble)
    ft, fmem = best_time(floor), peak_memory(floor)
    out_mb = 2 * n * 20 * len(POWERTRAINS) * draws.size * 8 / MB
    print()
    print("| ensemble (1,000 draws, 20 x 6) | wall time | peak memory |")
    print("|---|---|---|")
    print(f"| evpath totals | {fmt_time(t)} | {mem:,.0f} MB |")
    print(f"| floor (2 batched matmuls) | {fmt_time(ft)} | {fmem:,.0f} MB |")
    print(f"| size of the stock and outflow results | | {out_mb:,.0f} MB |")


def cohort_rows(flodym_max_regions: int) -> None:
    """Print the table of the lifetime-by-cohort case (Weibull scale rising by cohort)."""
    scale = xr.DataArray(WEIBULL_SCALE, dims="cohort", coords={"cohort": YEARS})
    lifetime = Weibull(WEIBULL_SHAPE, scale)
    print(
        "| lifetime by cohort, regions x powertrains | evpath totals | evpath stock_driven |"
        " flodym InflowDrivenDSM | floor (2 matmuls) | flodym / evpath | evpath / floor |"
    )
    print("|---|---|---|---|---|---|---|")
    for n_regions in REGION_COUNTS:
        inflow = make_inflow(n_regions)
        stock = inflow_driven(inflow, lifetime).stock

        def totals(inflow: xr.DataArray = inflow) -> object:
            return inflow_driven(inflow, lifetime)

        def solve(stock: xr.DataArray = stock) -> object:
            return stock_driven(stock, lifetime)

        floor = floor_run(n_regions * len(POWERTRAINS))
        t, mem = best_time(totals), peak_memory(totals)
        st, smem = best_time(solve), peak_memory(solve)
        ft, fmem = best_time(floor), peak_memory(floor)
        cells = [
            f"{n_regions} x {len(POWERTRAINS)}",
            f"{fmt_time(t)}, {mem:,.1f} MB",
            f"{fmt_time(st)}, {smem:,.1f} MB",
        ]
        if n_regions <= flodym_max_regions:
            fl = flodym_run(inflow, by_cohort=True)
            fl_t = best_time(fl, min_total=0.0)
            cells += [f"{fmt_time(fl_t)}, {peak_memory(fl):,.1f} MB"]
        else:
            fl_t = float("nan")
            cells += ["skipped"]
        cells += [
            f"{fmt_time(ft)}, {fmem:,.1f} MB",
            "n/a" if np.isnan(fl_t) else f"{fl_t / t:,.0f}x",
            f"{t / ft:.1f}x",
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
