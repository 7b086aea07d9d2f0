"""Which vehicle inlet standard can charge at which DC charger standard."""

from __future__ import annotations

import numpy as np
import xarray as xr

from evpath.core.dims import STANDARDS
from evpath.data.registry import load_dataset

DATASET = "connector_compatibility"


def compatibility(adapters: bool) -> xr.DataArray:
    """Access of a vehicle standard at a charger standard (vehicle, standard) [0 or 1]:
    native access, and adapter access when ``adapters``."""
    matrix = np.zeros((len(STANDARDS), len(STANDARDS)))
    for row in load_dataset(DATASET).itertuples(index=False):
        if row.access == "native" or (adapters and row.access == "adapter"):
            matrix[STANDARDS.index(row.vehicle_standard), STANDARDS.index(row.charger_standard)] = (
                1.0
            )
    return xr.DataArray(matrix, coords={"vehicle": list(STANDARDS), "standard": list(STANDARDS)})
