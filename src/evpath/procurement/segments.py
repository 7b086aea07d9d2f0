"""Price segments of a buyer: each supplier's price brackets clipped to its minimum order
and to the capacity open to the buyer, with the cost line of each bracket (the formulation
is in :mod:`evpath.procurement.mip`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evpath.procurement.instance import Instance, capacity_share


@dataclass(frozen=True)
class Segments:
    """Price segments of one buyer: bounds and cost line of each (supplier, year, tier).

    lo, hi : ndarray (supplier, year, tier) [t/yr]
    valid : ndarray (supplier, year, tier) bool
    intercept : ndarray (supplier, tier) [USD/yr]
    slope : ndarray (supplier, tier) [USD/t]
    cap : ndarray (supplier, year) [t/yr]
    """

    lo: np.ndarray
    hi: np.ndarray
    valid: np.ndarray
    intercept: np.ndarray
    slope: np.ndarray
    cap: np.ndarray


def segments(
    instance: Instance, members: Sequence[int], min_order: bool = True, counted: bool = False
) -> Segments:
    """The buyer's segments; ``min_order=False`` drops the minimum orders; ``counted=True``
    raises every segment's lower end to the volume that counts towards ``min_suppliers``
    (:meth:`Instance.counted_minimum`), so a supplier chosen is a supplier bought from."""
    cap = instance.capacity * capacity_share(instance, members)
    end = instance.tier_end
    start = np.concatenate([np.zeros((end.shape[0], 1)), end[:, :-1]], axis=1)
    real = np.isfinite(start) & ~np.isnan(instance.tier_price)
    width = np.subtract(end, start, out=np.zeros_like(end), where=np.isfinite(end))
    price = np.nan_to_num(instance.tier_price)
    below = np.concatenate(
        [np.zeros((end.shape[0], 1)), np.cumsum(price * width, axis=1)[:, :-1]], axis=1
    )
    start0 = np.where(real, start, 0.0)
    slope = price + instance.risk_weight * instance.risk[:, None]
    intercept = np.where(real, instance.fixed_cost[:, None] + below - price * start0, 0.0)
    order = instance.min_order if min_order else np.zeros_like(instance.min_order)
    if counted:
        order = np.maximum(order, instance.min_volume_per_supplier)
    lo = np.maximum(start0, order[:, None])[:, None, :] * np.ones((1, cap.shape[1], 1))
    hi = np.minimum(end[:, None, :], cap[:, :, None])
    valid = real[:, None, :] & (lo <= hi) & (hi > 0)
    return Segments(
        np.where(valid, lo, 0.0), np.where(valid, hi, 0.0), valid, intercept, slope, cap
    )
