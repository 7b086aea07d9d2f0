"""Run manifests: what exactly produced a result (scenario as resolved, inputs, versions)."""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from typing import Any

from pydantic import BaseModel

from evpath.data.registry import datasets, file_sha256
from evpath.scenario.schema import Scenario
from evpath.scenario.scope import MakersScope

LIBRARIES = ("numpy", "scipy", "pandas", "xarray", "pydantic")


@cache
def package_version() -> str:
    """Installed evpath version."""
    return metadata.version("evpath")


@cache
def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a manifest records (looked up once)."""
    return {lib: metadata.version(lib) for lib in LIBRARIES}


def build_manifest(
    scenario: Scenario | MakersScope,
    dataset_names: tuple[str, ...],
    markets: dict[str, Scenario] | None = None,
) -> dict[str, Any]:
    """Manifest of one run (of a scenario, or of a makers' scope and its ``markets``).

    ``input_hash`` is a SHA-256 over the resolved scenario (and the market scenarios), the
    hashes of the datasets it read and the evpath version: two runs with the same
    ``input_hash`` computed the same thing. ``run_id`` adds the creation time so that
    every run is kept apart.
    """
    resolved = scenario.model_dump(mode="json")
    if markets is not None:
        resolved = {**resolved, "market_scenarios": _dumped(markets)}
    inputs = {
        name: {
            "file": datasets()[name].file,
            "sha256": file_sha256(name),
            "version": datasets()[name].version,
        }
        for name in sorted(dataset_names)
    }
    version = package_version()
    fingerprint = json.dumps(
        {"scenario": resolved, "inputs": inputs, "evpath": version}, sort_keys=True
    )
    input_hash = hashlib.sha256(fingerprint.encode()).hexdigest()
    created = datetime.now(UTC)
    return {
        "run_id": f"{created:%Y%m%dT%H%M%S%f}-{scenario.name}-{input_hash[:8]}",
        "created_at": created.isoformat(),
        "scenario_name": scenario.name,
        "input_hash": input_hash,
        "evpath_version": version,
        "python": platform.python_version(),
        "libraries": dict(library_versions()),
        "inputs": inputs,
        "scenario": resolved,
    }


def _dumped(models: Mapping[str, BaseModel]) -> dict[str, Any]:
    return {name: model.model_dump(mode="json") for name, model in models.items()}
