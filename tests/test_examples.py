"""Every scenario example in docs/examples runs, and the README shows each one verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(shared_run, path: Path):
    results = shared_run(path)
    assert results.scenario.name == path.stem


def test_readme_example_is_the_file():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert (ROOT / "docs/examples/japan-faster.yaml").read_text(encoding="utf-8") in readme


def test_faster_example_meets_its_2035_target(shared_run):
    verdict = shared_run(ROOT / "docs/examples/japan-faster.yaml").target_verdict().loc["JPN"]
    assert verdict["met"]
    assert verdict["first_year_all_electrified"] == 2035
