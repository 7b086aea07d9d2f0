"""Bundled real data with provenance (see ``datasets.yaml`` and ``files/SOURCES.md``)."""

from evpath.data.registry import DatasetInfo, dataset_path, datasets, file_sha256, load_dataset

__all__ = ["DatasetInfo", "dataset_path", "datasets", "file_sha256", "load_dataset"]
