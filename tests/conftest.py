"""Shared fixtures: scenario files written into a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[[dict], Path]:
    """Write a scenario document (extending japan-2050 unless it says otherwise) to a file."""

    def write(document: dict, name: str = "scenario.yaml") -> Path:
        content = {"extends": "japan-2050", "name": "test", **document}
        path = tmp_path / name
        path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
        return path

    return write
