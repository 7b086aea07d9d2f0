"""Start-up time of the ``evpath`` command line.

Measures, as separate processes (wall and CPU time, median and best of several runs; CPU
time, user + system, varies less than wall time on a shared machine):

- ``python -c pass``: the interpreter alone, the floor of every command;
- ``import typer, rich.console``: what any Typer + Rich command line pays;
- ``import evpath.cli.app``: the command line before it parses anything;
- the libraries ``evpath run japan-2050`` imports (every module of numpy, pandas, xarray,
  pydantic, DuckDB, SciPy ... that it loads; found by running it), imported alone: the
  floor under any run;
- ``evpath --help``;
- ``evpath run japan-2050 --no-store`` (into a temporary folder): start-up, the model and
  the files written;
- ``evpath run japan-2050`` (into a temporary folder and store): the same and the store;

and lists the ten slowest imports of ``evpath --help`` and of ``evpath run japan-2050``
(``python -X importtime``).

Run with ``python benchmarks/bench_startup.py [--runs N]``; it prints a markdown table.
Other processes on the machine make these numbers vary: compare medians of one session.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
EVPATH = str(Path(PYTHON).with_name("evpath"))


def timed(command: list[str], cwd: str) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one run of ``command`` (it must exit 0)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def slowest_imports(command: list[str], cwd: str, count: int = 10) -> list[tuple[float, str]]:
    """The ``count`` top-level imports of ``command`` that take longest [s], with names."""
    done = subprocess.run(
        [PYTHON, "-X", "importtime", *command], cwd=cwd, check=True, capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if name.startswith("   "):  # imported by another import: counted in its parent
            continue
        rows.append((int(cumulative) / 1e6, name.strip()))
    return sorted(rows, reverse=True)[:count]


LIBRARIES_OF = """
import sys
from evpath.cli.app import main
sys.argv = ["evpath", *sys.argv[1:]]
try:
    main()
except SystemExit as done:
    assert done.code in (0, None), done.code
names = [
    name
    for name, module in sys.modules.items()
    if name.split(".")[0] not in {*sys.stdlib_module_names, "evpath", "__main__"}
    and getattr(module, "__spec__", None) is not None
]
print("modules:", *names, file=sys.stderr)
"""


IMPORT_ALL = """
import importlib, sys
for name in {!r}:
    if name not in sys.modules:
        importlib.import_module(name)
"""


def libraries_of(command: list[str], cwd: str) -> list[str]:
    """Modules of other packages than evpath and the standard library that an ``evpath``
    command imports, in the order they were imported (it runs once to find them)."""
    done = subprocess.run(
        [PYTHON, "-c", LIBRARIES_OF, *command], cwd=cwd, check=True, capture_output=True, text=True
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("modules:"))
    return line.split()[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = ["--out", str(Path(folder) / "out")]
        store = str(Path(folder) / "out" / "evpath.duckdb")
        libraries = libraries_of(["run", "japan-2050", "--no-store", *out], folder)
        cases = {
            "python -c pass": [PYTHON, "-c", "pass"],
            "import typer, rich.console": [PYTHON, "-c", "import typer, rich.console"],
            "import evpath.cli.app": [PYTHON, "-c", "import evpath.cli.app"],
            "import the libraries of evpath run": [PYTHON, "-c", IMPORT_ALL.format(libraries)],
            "evpath --help": [EVPATH, "--help"],
            "evpath run japan-2050 --no-store": [EVPATH, "run", "japan-2050", "--no-store", *out],
            "evpath run japan-2050": [EVPATH, "run", "japan-2050", *out, "--store", store],
        }
        print(
            "| command | wall, median [s] | wall, best [s] | CPU, median [s] | CPU, best [s] | runs |"
            "\n|---|---:|---:|---:|---:|---:|"
        )
        for label, command in cases.items():
            walls, cpus = zip(*(timed(command, folder) for _ in range(args.runs)), strict=True)
            print(
                f"| `{label}` | {statistics.median(walls):.3f} | {min(walls):.3f} "
                f"| {statistics.median(cpus):.3f} | {min(cpus):.3f} | {len(walls)} |"
            )
        packages = sorted({name.split(".")[0] for name in libraries if not name.startswith("_")})
        print(
            f"\nThe libraries of `evpath run japan-2050`: {len(libraries)} modules of "
            f"{', '.join(packages)}."
        )
        for label in ("evpath --help", "evpath run japan-2050"):
            print(f"\nSlowest imports of `{label}`:\n\n| import | cumulative [s] |\n|---|---:|")
            for seconds, name in slowest_imports(cases[label], folder):
                print(f"| {name} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
