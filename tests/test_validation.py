"""docs/validation.md is up to date with ``validation_table`` and its ratios are right."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from evpath.analysis.validation import COLUMNS, validation_table

if TYPE_CHECKING:
    from evpath.results import Results

DOC = Path(__file__).parents[1] / "docs" / "validation.md"


@pytest.fixture(scope="module")
def table(japan_2050: Results, shared_run: Callable[[str], Results]) -> pd.DataFrame:
    return validation_table(japan_2050, shared_run("world-current-trends"))


def doc_rows() -> list[dict[str, str]]:
    """The rows of the doc's tables as printed, each with its scenario (the heading above)."""
    rows, scenario = [], None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("### `"):
            scenario = line.strip("#` ")
        elif scenario and line.startswith("| ") and not line.startswith("| quantity |"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            printed = dict(zip(["quantity", *COLUMNS[2:]], cells, strict=True))
            rows.append({"scenario": scenario, **printed})
    return rows


def printed_like(value: float, printed: str) -> str:
    """``value`` formatted with the decimals and thousands separators of ``printed``."""
    decimals = len(printed.partition(".")[2])
    return f"{value:,.{decimals}f}"


def test_doc_numbers_match_the_table(table: pd.DataFrame) -> None:
    rows = doc_rows()
    assert len(rows) > 40
    computed = table.set_index(["scenario", "quantity", "year"])
    assert computed.index.is_unique
    for row in rows:
        key = (row["scenario"], row["quantity"], int(row["year"]))
        assert key in computed.index, f"{key} is in the doc but not in validation_table"
        expected = computed.loc[key]
        assert row["unit"] == expected["unit"]
        assert row["source"] == expected["source"]
        for column in ("evpath", "reference", "ratio"):
            assert row[column] == printed_like(expected[column], row[column]), (key, column)


def test_doc_shows_every_quantity(table: pd.DataFrame) -> None:
    shown = {(row["scenario"], row["quantity"]) for row in doc_rows()}
    assert set(zip(table["scenario"], table["quantity"], strict=True)) == shown


def test_ratio_is_evpath_over_reference(table: pd.DataFrame) -> None:
    assert list(table.columns) == COLUMNS
    assert table["source"].str.len().gt(0).all()
    assert (table["reference"] > 0).all()
    np.testing.assert_allclose(table["ratio"], table["evpath"] / table["reference"], rtol=1e-12)
