"""Start-up time of the ``evpath`` command line.

Measures, as separate processes (wall time, median and best of several runs):

- ``python -c pass``: the interpreter alone, the floor of every command;
- ``import typer, rich.console``: what any Typer + Rich command line pays;
- ``import evpath.cli.app``: the command line before it parses anything;
- ``evpath --help``;
- ``evpath run japan-2050 --no-store`` (into a temporary folder): start-up, the model and
  the files written;

and lists the ten slowest imports of ``evpath --help`` (``python -X importtime``).

Run with ``python benchmarks/bench_startup.py [--runs N]``; it prints a markdown table.
Other processes on the machine make these numbers vary: compare medians of one session.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
EVPATH = str(Path(PYTHON).with_name("evpath"))


def wall(command: list[str], cwd: str) -> float:
    """Seconds one run of ``command`` takes (it must exit 0)."""
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cases = {
            "python -c pass": [PYTHON, "-c", "pass"],
            "import typer, rich.console": [PYTHON, "-c", "import typer, rich.console"],
            "import evpath.cli.app": [PYTHON, "-c", "import evpath.cli.app"],
            "evpath --help": [EVPATH, "--help"],
            "evpath run japan-2050 --no-store": [
                EVPATH,
                "run",
                "japan-2050",
                "--no-store",
                "--out",
                str(Path(folder) / "out"),
            ],
        }
        print("| command | median [s] | best [s] | runs |\n|---|---:|---:|---:|")
        for label, command in cases.items():
            runs = [wall(command, folder) for _ in range(args.runs)]
            print(f"| `{label}` | {statistics.median(runs):.3f} | {min(runs):.3f} | {len(runs)} |")
        print("\nSlowest imports of `evpath --help`:\n\n| import | cumulative [s] |\n|---|---:|")
        for seconds, name in slowest_imports([EVPATH, "--help"], folder):
            print(f"| {name} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
