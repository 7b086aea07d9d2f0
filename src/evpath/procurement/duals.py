"""What limits a plan: constraints at their limit and their shadow prices [USD/t]."""

from __future__ import annotations

from collections.abc import Sequence

import highspy
import numpy as np
import pandas as pd

from evpath.procurement.highs import run
from evpath.procurement.instance import Instance
from evpath.procurement.mip import build
from evpath.procurement.result import Plan
from evpath.procurement.segments import segments


def shadow_prices(instance: Instance, plan: Plan) -> dict[str, np.ndarray]:
    """Shadow prices [USD/t] of capacity (supplier, year), country cap (country, year) and
    stockpile (member, year), with the plan's suppliers and price brackets fixed.
    The buyer holds one stock (see :mod:`evpath.procurement.mip`): a member's stockpile
    price is the buyer's in that year.

    The MIP has no duals; fixing its binaries leaves an LP whose duals say what one more
    tonne of capacity, of country allowance or of stockpile relief would save, as long
    as the same suppliers and brackets are kept. Positive: loosening saves money.
    """
    model = build(instance, plan.members, frozenset())
    seg, cols, rows = model.seg, model.cols, model.rows
    w = np.round(plan.columns[cols["w"]]) * seg.valid
    lp = model.lp
    lower = np.asarray(lp.col_lower_, dtype=float)
    upper = np.asarray(lp.col_upper_, dtype=float)
    lower[cols["w"]] = upper[cols["w"]] = w
    finite_end = np.isfinite(instance.tier_end)[:, None, :]
    lower[cols["v"]] = seg.lo * w
    upper[cols["v"]] = np.where(w > 0, np.where(finite_end, seg.hi, np.inf), 0.0)
    lp.col_lower_, lp.col_upper_ = lower, upper
    row_lower = np.asarray(lp.row_lower_, dtype=float)
    row_upper = np.asarray(lp.row_upper_, dtype=float)
    for name in ("seg_hi", "seg_lo", "one_segment", "min_suppliers"):
        if name in rows:
            row_lower[rows[name]] = -np.inf
            row_upper[rows[name]] = np.inf
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * lp.num_col_
    h = run(lp, 0.0, 60.0)
    solution = h.getSolution()
    row_dual = np.asarray(solution.row_dual)
    col_dual = np.asarray(solution.col_dual)
    prices = {
        "capacity": -row_dual[rows["capacity"]],
        "stockpile": np.broadcast_to(col_dual[cols["stock"]], plan.stock.shape),
    }
    if "country_cap" in rows:
        prices["country_cap"] = -row_dual[rows["country_cap"]]
    return prices


def binding_constraints(instance: Instance, plan: Plan, tolerance: float = 1e-6) -> pd.DataFrame:
    """Constraints of a plan at their limit, with shadow prices where an LP dual exists.

    Parameters
    ----------
    instance : Instance
    plan : Plan
    tolerance : float
        Relative slack counted as zero [fraction].

    Returns
    -------
    pandas.DataFrame
        Columns ``family`` (capacity, country_cap, stockpile, min_order, min_suppliers),
        ``subject`` (supplier, country or member), ``year``, ``limit`` [t, or number of
        suppliers], ``slack`` [same unit] and ``shadow_price`` [USD/t saved by loosening
        the limit by one tonne, with the plan's suppliers and brackets fixed; NaN for
        minimum orders and supplier counts, which act through binaries].
    """
    seg = segments(instance, plan.members)
    prices = shadow_prices(instance, plan)
    volume = plan.volume
    years = instance.years
    frames = []

    def add(
        family: str,
        subjects: Sequence[str],
        limit: np.ndarray,
        slack: np.ndarray,
        active: np.ndarray,
        price: np.ndarray | None,
    ) -> None:
        i, t = np.nonzero(active)
        frames.append(
            pd.DataFrame(
                {
                    "family": family,
                    "subject": np.asarray(subjects, dtype=object)[i],
                    "year": years[t],
                    "limit": limit[i, t],
                    "slack": slack[i, t],
                    "shadow_price": np.nan if price is None else price[i, t],
                }
            )
        )

    def at_limit(slack: np.ndarray, limit: np.ndarray) -> np.ndarray:
        return slack <= tolerance * np.maximum(1.0, np.abs(limit))

    slack = seg.cap - volume
    add(
        "capacity",
        instance.suppliers,
        seg.cap,
        slack,
        at_limit(slack, seg.cap) & (seg.cap > 0),
        prices["capacity"],
    )
    if "country_cap" in prices:
        names = sorted(set(instance.countries))
        by_country = np.stack(
            [volume[np.array(instance.countries) == c].sum(axis=0) for c in names]
        )
        allowed = instance.country_cap * volume.sum(axis=0)[None, :] * np.ones((len(names), 1))
        slack = allowed - by_country
        add(
            "country_cap",
            names,
            allowed,
            slack,
            at_limit(slack, allowed) & (allowed > 0),
            prices["country_cap"],
        )
    target = instance.stock_target[list(plan.members)]
    slack = plan.stock - target
    add(
        "stockpile",
        [instance.members[m] for m in plan.members],
        target,
        slack,
        at_limit(slack, target) & (target > 0),
        prices["stockpile"],
    )
    order = np.broadcast_to(instance.min_order[:, None], volume.shape)
    slack = volume - order
    add(
        "min_order",
        instance.suppliers,
        order,
        slack,
        plan.used & at_limit(slack, order) & (order > 0),
        None,
    )
    if instance.min_suppliers > 0:
        count = plan.used.sum(axis=0)[None, :].astype(float)
        limit = np.full_like(count, instance.min_suppliers)
        add("min_suppliers", ["suppliers used"], limit, count - limit, count == limit, None)
    return pd.concat(frames, ignore_index=True)
