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
    intercept : ndarray (supplier, year, tier) [USD/yr]
        Contract cost plus the cost of the brackets below, minus price × bracket start:
        the cost of ``q`` t in the bracket is ``intercept + price × q``.
    price : ndarray (supplier, year, tier) [USD/t]
        Bracket price in the year (price path applied; 0 for padding).
    slope : ndarray (supplier, year, tier) [USD/t]
        ``price`` plus the risk penalty per tonne (objective 'cost_plus_risk').
    cap : ndarray (supplier, year) [t/yr]
    fixed : ndarray (supplier,) [USD/yr]
        The contract cost inside ``intercept``.
    """

    lo: np.ndarray
    hi: np.ndarray
    valid: np.ndarray
    intercept: np.ndarray
    price: np.ndarray
    slope: np.ndarray
    cap: np.ndarray
    fixed: np.ndarray

    def costs(self, v: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Undiscounted purchase cost and contract cost (supplier, year) [USD/yr] of the
        segment volumes ``v`` [t/yr] and choices ``w`` [0/1], both (supplier, year, tier)."""
        contract = self.fixed[:, None, None] * w
        purchase = (self.intercept * w - contract + self.price * v).sum(axis=2)
        return purchase, contract.sum(axis=2)


def segments(
    instance: Instance, members: Sequence[int], min_order: bool = True, counted: bool = False
) -> Segments:
    """The buyer's segments; ``min_order=False`` drops the minimum orders; ``counted=True``
    raises every segment's lower end to the volume that counts towards ``min_suppliers``
    (:meth:`Instance.counted_minimum`), so a supplier chosen is a supplier bought from."""
    cap = instance.capacity * capacity_share(instance, members)
    end = instance.tier_end
    start = np.concatenate([np.zeros((end.shape[0], 1)), end[:, :-1]], axis=1)
    real = (np.isfinite(start) & ~np.isnan(instance.tier_price))[:, None, :]
    width = np.subtract(end, start, out=np.zeros_like(end), where=np.isfinite(end))[:, None, :]
    price = np.nan_to_num(instance.prices)  # (supplier, year, tier)
    below = np.concatenate(
        [np.zeros((*price.shape[:2], 1)), np.cumsum(price * width, axis=2)[:, :, :-1]], axis=2
    )
    start0 = np.where(real, start[:, None, :], 0.0)
    slope = price + instance.risk_weight * instance.risk[:, None, None]
    intercept = np.where(real, instance.fixed_cost[:, None, None] + below - price * start0, 0.0)
    order = instance.min_order if min_order else np.zeros_like(instance.min_order)
    if counted:
        order = np.maximum(order, instance.min_volume_per_supplier)
    lo = np.maximum(start0, order[:, None, None]) * np.ones((1, cap.shape[1], 1))
    hi = np.minimum(end[:, None, :], cap[:, :, None])
    valid = real & (lo <= hi) & (hi > 0)
    return Segments(
        lo=np.where(valid, lo, 0.0),
        hi=np.where(valid, hi, 0.0),
        valid=valid,
        intercept=intercept,
        price=price,
        slope=slope,
        cap=cap,
        fixed=instance.fixed_cost,
    )
