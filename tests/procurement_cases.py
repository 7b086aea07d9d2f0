"""Small procurement instances whose answers can be derived by hand."""

from __future__ import annotations

from typing import Any

import numpy as np

from evpath.procurement import Instance

YEARS = np.array([2030, 2031])


def one_supplier(**changes: Any) -> Instance:
    """One member buying 100 t a year in 2030 and 2031 from one supplier at one price,
    30,000 USD/t, with no terms and a holding cost of 2,000 USD/(t·yr); ``changes``
    replace any field."""
    base: dict[str, Any] = {
        "metal": "cobalt",
        "years": YEARS,
        "members": ("A",),
        "suppliers": ("s",),
        "countries": ("X",),
        "demand": np.array([[100.0, 100.0]]),
        "capacity": np.full((1, 2), 1_000.0),
        "tier_end": np.array([[np.inf]]),
        "tier_price": np.array([[30_000.0]]),
        "min_order": np.zeros(1),
        "fixed_cost": np.zeros(1),
        "risk": np.zeros(1),
        "holding_cost": 2_000.0,
    }
    return Instance(**(base | changes))
