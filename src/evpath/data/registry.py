"""Registry of bundled datasets: name -> file and provenance record."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict

from evpath.core.yaml_loader import SafeLoader
from evpath.errors import DataError


class DatasetInfo(BaseModel):
    """Provenance of one bundled dataset."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    file: str
    title: str
    publisher: str
    source: str
    version: str
    licence: str
    units: str
    scope: str


def _package_dir() -> Path:
    return Path(str(resources.files("evpath.data")))


@cache
def datasets() -> dict[str, DatasetInfo]:
    """All bundled datasets by name, in the order of ``datasets.yaml``."""
    text = (_package_dir() / "datasets.yaml").read_text(encoding="utf-8")
    raw = yaml.load(text, Loader=SafeLoader)
    return {name: DatasetInfo(name=name, **record) for name, record in raw.items()}


def dataset_path(name: str) -> Path:
    """Path of the bundled file of dataset ``name``."""
    known = datasets()
    if name not in known:
        msg = f"unknown dataset {name!r}; bundled datasets are: {', '.join(known)}"
        raise DataError(msg)
    return _package_dir() / "files" / known[name].file


@cache
def file_sha256(name: str) -> str:
    """SHA-256 of the bundled file of dataset ``name`` (recorded in every run manifest)."""
    return hashlib.sha256(dataset_path(name).read_bytes()).hexdigest()


def load_dataset(name: str) -> pd.DataFrame:
    """Read dataset ``name`` as a DataFrame (a fresh copy each call)."""
    return _read_csv(name).copy()


@cache
def _read_csv(name: str) -> pd.DataFrame:
    return pd.read_csv(dataset_path(name))
