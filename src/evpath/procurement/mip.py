"""The procurement MIP of a buyer: a member alone, a coalition, the alliance.

A *buyer* is a set of members buying together. Per supplier ``s`` and year ``t`` the
buyer pays the supplier's incremental-discount price schedule on the volume it buys,
plus the supplier's fixed contract cost if it buys at all, plus (objective
``cost_plus_risk``) ``risk_weight × risk_s`` per tonne, plus a holding cost on stock.

The cost of a volume ``q`` from one supplier in one year is piecewise linear: on the
bracket ``[e_{k-1}, e_k]`` it is ``a_k + b_k q`` with slope ``b_k`` (the bracket's price
plus the risk penalty) and intercept ``a_k`` (the fixed cost plus the cost of the brackets
below, minus ``b_k e_{k-1}``). Volume discounts make it concave, so it cannot be written
as an LP. Each bracket becomes a *segment* (:mod:`evpath.procurement.segments`): a binary
``w[s,t,k]`` (the volume lies in segment k) and a volume ``v[s,t,k]`` with

    lo[s,t,k] · w ≤ v ≤ hi[s,t,k] · w,     Σ_k w[s,t,k] ≤ 1,
    cost = Σ_k a_k w[s,t,k] + b_k v[s,t,k],

where ``lo = max(e_{k-1}, minimum order)`` and ``hi = min(e_k, capacity)``. This
multiple-choice form describes the convex hull of each supplier-year cost function, so
its LP relaxation is as tight as a single piecewise-linear function allows; minimum
orders and fixed costs need no further binaries.

The other rows:

    stock[t] = stock[t-1] + Σ_{s,k} v[s,t,k] − Σ_m d[m,t]   (balance, stock before the
                                                        first year is 0)
    stock[t] ≥ floor[t]                                 (stockpile, a column bound)
    Σ_k v[s,t,k] ≤ share_t × capacity[s,t]              (capacity)
    Σ_{s in c} q[s,t] ≤ cap × Σ_s q[s,t]                (country cap, q = Σ_k v)
    Σ_{s,k} w[s,t,k] ≥ n                                (minimum number of suppliers, in
                                                        years the buyer has demand; with
                                                        the rule, lo ≥ the volume that
                                                        counts, min_volume_per_supplier)

The buyer holds one stock. Each member must have bought, by the end of year t, its
demand so far plus its stockpile target, ``L[m,t] = Σ_{τ≤t} d[m,τ] + target[m,t]``; as
it never sells, that is its *need* ``R[m,t] = max_{τ≤t} L[m,τ]``. Tonnes bought in a
year can go to any member, so a buyer's cumulative purchases ``P[t]`` can be split into
members' non-decreasing purchases meeting their needs exactly when ``P[t] ≥ Σ_m R[m,t]``
in every year (earliest need first: :func:`member_purchases`). The floor is therefore
``floor[t] = Σ_m R[m,t] − Σ_{m,τ≤t} d[m,τ]`` (``Σ_m target[m,t]`` when no member's
demand falls steeply), and the model is the same as one with a stock and a floor per
member, without its equivalent, degenerate splits between members, which slow HiGHS
down markedly. For the same reason purchases are not split by member and supplier:
every rule on suppliers and countries applies to the buyer's total, so a member's
tonnes by supplier are reported pro rata.

The stock left at the end of the last year is credited at ``leftover_value`` per tonne
(its column cost is the holding cost minus that value). Bracket prices may change by
year (``price_index``, so ``a_k`` and ``b_k`` carry a year), and every cost of year t is
multiplied by the present-value factor ``(1 + discount_rate)^-(t − first year)``.

``share_t`` is the buyer's share of alliance demand in year t: 1 for the alliance, the
pro-rata share for a member alone or a coalition (see
:func:`evpath.procurement.instance.capacity_share`). The model depends on the members
only through their total demand and floor (:func:`buyer_key`).

Columns are the blocks ``v``, ``w``, ``stock`` in that order; rows are the groups
``seg_hi``, ``seg_lo``, ``one_segment``, ``capacity``, ``balance``, then
``country_cap`` and ``min_suppliers`` when the rule applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from evpath.procurement.instance import Instance
from evpath.procurement.segments import Segments, segments

FAMILIES = ("country_cap", "min_suppliers", "min_order", "stockpile")
"""Rule families :func:`build` can leave out, to find which one makes a plan infeasible."""


class Layout:
    """Named blocks of consecutive indices (columns or rows), in the order they are added."""

    def __init__(self) -> None:
        self.size = 0
        self._blocks: dict[str, np.ndarray] = {}

    def add(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Reserve the next ``prod(shape)`` indices for ``name``; returns them in ``shape``."""
        index = self.size + np.arange(int(np.prod(shape))).reshape(shape)
        self._blocks[name] = index
        self.size += index.size
        return index

    def __getitem__(self, name: str) -> np.ndarray:
        return self._blocks[name]

    def __contains__(self, name: object) -> bool:
        return name in self._blocks


@dataclass
class Builder:
    """A sparse MIP put together from named variable blocks and constraint groups."""

    cols: Layout = field(default_factory=Layout)
    rows: Layout = field(default_factory=Layout)
    _cost: list[np.ndarray] = field(default_factory=list)
    _col_lower: list[np.ndarray] = field(default_factory=list)
    _col_upper: list[np.ndarray] = field(default_factory=list)
    _integrality: list[highspy.HighsVarType] = field(default_factory=list)
    _row_lower: list[np.ndarray] = field(default_factory=list)
    _row_upper: list[np.ndarray] = field(default_factory=list)
    _entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    def variables(
        self,
        name: str,
        shape: tuple[int, ...],
        *,
        cost: ArrayLike = 0.0,
        lower: ArrayLike = 0.0,
        upper: ArrayLike = np.inf,
        integer: bool = False,
    ) -> np.ndarray:
        """A block of columns; cost and bounds broadcast to ``shape``. Returns its indices."""
        index = self.cols.add(name, shape)
        self._cost.append(_flat(cost, shape))
        self._col_lower.append(_flat(lower, shape))
        self._col_upper.append(_flat(upper, shape))
        kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
        self._integrality += [kind] * index.size
        return index

    def constraints(
        self, name: str, shape: tuple[int, ...], lower: ArrayLike, upper: ArrayLike
    ) -> np.ndarray:
        """A group of rows ``lower ≤ A x ≤ upper``, bounds broadcast to ``shape``. Returns
        its indices; fill its coefficients with :meth:`terms`."""
        index = self.rows.add(name, shape)
        self._row_lower.append(_flat(lower, shape))
        self._row_upper.append(_flat(upper, shape))
        return index

    def terms(self, rows: np.ndarray, cols: np.ndarray, coefficient: ArrayLike) -> None:
        """Coefficients at (row, column), the three broadcast together; repeats add up."""
        r, c, a = np.broadcast_arrays(rows, cols, coefficient)
        self._entries.append((r.ravel(), c.ravel(), a.ravel().astype(float)))

    def lp(self) -> highspy.HighsLp:
        """The model for HiGHS, the matrix stored by column."""
        r, c, a = (np.concatenate(part) for part in zip(*self._entries, strict=True))
        matrix = sparse.csc_matrix((a, (r, c)), shape=(self.rows.size, self.cols.size))
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        lp = highspy.HighsLp()
        lp.num_col_ = self.cols.size
        lp.num_row_ = self.rows.size
        lp.col_cost_ = np.concatenate(self._cost)
        lp.col_lower_ = np.concatenate(self._col_lower)
        lp.col_upper_ = np.concatenate(self._col_upper)
        lp.row_lower_ = np.concatenate(self._row_lower)
        lp.row_upper_ = np.concatenate(self._row_upper)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        lp.integrality_ = list(self._integrality)
        return lp


def _flat(value: ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(value, shape).ravel().astype(float)


@dataclass
class Model:
    """One buyer's MIP: its segments, column blocks and row groups by name, and the LP."""

    instance: Instance
    members: tuple[int, ...]
    seg: Segments
    cols: Layout
    rows: Layout
    lp: highspy.HighsLp


def build(instance: Instance, members: tuple[int, ...], relax: frozenset[str]) -> Model:
    """The MIP of the buyer made of ``members``, without the rule families (see
    ``FAMILIES``) in ``relax``."""
    counted = instance.min_suppliers > 0 and "min_suppliers" not in relax
    seg = segments(instance, members, min_order="min_order" not in relax, counted=counted)
    demand = instance.demand[list(members)].sum(axis=0)
    floor = stock_floor(instance, members, stockpile="stockpile" not in relax)
    n_t = demand.size

    b = Builder()
    disc = instance.discount
    v, w = add_segments(
        b, seg, seg.slope * disc[None, :, None], seg.intercept * disc[None, :, None]
    )
    stock_cost = instance.holding_cost * disc
    stock_cost[-1] -= instance.leftover_value * disc[-1]
    stock = b.variables("stock", (n_t,), cost=stock_cost, lower=floor)
    rows = b.constraints("balance", (n_t,), -demand, -demand)
    b.terms(rows, stock, 1.0)
    b.terms(rows[1:], stock[:-1], -1.0)
    b.terms(rows[None, :, None], v, -1.0)
    add_supplier_rules(b, instance, v, w, demand > 0, relax)
    return Model(instance, members, seg, b.cols, b.rows, b.lp())


def needs(instance: Instance, members: Sequence[int], stockpile: bool = True) -> np.ndarray:
    """Tonnes each member must have bought by the end of each year (member, year) [t]:
    the running maximum of its cumulative demand plus its stockpile target (without the
    target when ``stockpile`` is False)."""
    demand = instance.demand[list(members)]
    target = instance.stock_target[list(members)] if stockpile else 0.0
    return np.maximum.accumulate(np.cumsum(demand, axis=1) + target, axis=1)


def stock_floor(instance: Instance, members: Sequence[int], stockpile: bool = True) -> np.ndarray:
    """Smallest end-of-year stock (year,) [t] of the buyer made of ``members``: what its
    members must have bought by then (:func:`needs`) minus their demand so far."""
    demand = instance.demand[list(members)]
    floor = needs(instance, members, stockpile).sum(axis=0) - np.cumsum(demand.sum(axis=0))
    return np.maximum(floor, 0.0)


def buyer_key(instance: Instance, members: Sequence[int]) -> bytes:
    """A key equal for two buyers exactly when their MIPs are the same: their total
    demand and stock floor by year (members with identical demand are interchangeable)."""
    demand = instance.demand[sorted(members)].sum(axis=0)
    return demand.tobytes() + stock_floor(instance, sorted(members)).tobytes()


def member_purchases(need: np.ndarray, bought: np.ndarray) -> np.ndarray:
    """Split a buyer's cumulative purchases between its members, earliest need first.

    Parameters
    ----------
    need : ndarray (member, year) [t]
        Each member's cumulative need (:func:`needs`), non-decreasing over years.
    bought : ndarray (year,) [t]
        The buyer's cumulative purchases, non-decreasing, at least ``need.sum(axis=0)``.

    Returns
    -------
    ndarray (member, year) [t]
        Each member's cumulative purchases: non-decreasing, at least its need, adding up
        to ``bought``. Tonnes serve the members' needs in order of the year they are
        due (members in order within a year); tonnes beyond every need are split in
        proportion to the members' final needs (equally if none).
    """
    n_m, n_t = need.shape
    due = np.diff(need, axis=1, prepend=0.0).T.ravel()  # needs by (year, member)
    start = np.cumsum(due) - due
    served = np.clip(bought[:, None] - start[None, :], 0.0, due[None, :])  # (year, need)
    own = served.reshape(n_t, n_t, n_m).sum(axis=1).T  # (member, year)
    total = need[:, -1].sum()
    weight = need[:, -1] / total if total > 0 else np.full(n_m, 1.0 / n_m)
    beyond = np.maximum(bought - due.sum(), 0.0)
    return own + weight[:, None] * beyond[None, :]


def add_segments(
    b: Builder, seg: Segments, v_cost: ArrayLike, w_cost: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """The segment columns ``v`` [t/yr] and ``w`` [0/1] (supplier, year, tier) with costs
    ``v_cost`` [USD/t] and ``w_cost`` [USD] (broadcast to that shape), and the rows
    ``seg_hi``, ``seg_lo``, ``one_segment`` and ``capacity``. Returns (v, w)."""
    n_s, n_t, n_k = seg.lo.shape
    inf = np.inf
    v = b.variables("v", (n_s, n_t, n_k), cost=v_cost, upper=np.where(seg.valid, seg.hi, 0.0))
    w = b.variables("w", (n_s, n_t, n_k), cost=w_cost, upper=seg.valid, integer=True)
    rows = b.constraints("seg_hi", (n_s, n_t, n_k), -inf, 0.0)
    b.terms(rows, v, 1.0)
    b.terms(rows, w, -seg.hi)
    rows = b.constraints("seg_lo", (n_s, n_t, n_k), 0.0, inf)
    b.terms(rows, v, 1.0)
    b.terms(rows, w, -seg.lo)
    rows = b.constraints("one_segment", (n_s, n_t), -inf, 1.0)
    b.terms(rows[:, :, None], w, 1.0)
    rows = b.constraints("capacity", (n_s, n_t), -inf, seg.cap)
    b.terms(rows[:, :, None], v, 1.0)
    return v, w


def add_supplier_rules(
    b: Builder,
    instance: Instance,
    v: np.ndarray,
    w: np.ndarray,
    active: np.ndarray,
    relax: frozenset[str] = frozenset(),
) -> None:
    """The rows ``country_cap`` and ``min_suppliers`` on the segment columns, when the
    policy sets them and they are not in ``relax``; ``active`` (year,) marks the years
    the buyer has demand (a buyer without demand in a year is exempt from
    ``min_suppliers`` that year)."""
    n_t = v.shape[1]
    countries = sorted(set(instance.countries))
    if instance.country_cap < 1.0 and "country_cap" not in relax and len(countries) > 0:
        member_of = np.array(instance.countries)[None, :] == np.array(countries)[:, None]
        coef = member_of.astype(float) - instance.country_cap  # (country, supplier)
        rows = b.constraints("country_cap", (len(countries), n_t), -np.inf, 0.0)
        b.terms(rows[:, None, :, None], v[None], coef[:, :, None, None])
    if instance.min_suppliers > 0 and "min_suppliers" not in relax:
        need = np.where(active, float(instance.min_suppliers), 0.0)
        rows = b.constraints("min_suppliers", (n_t,), need, np.inf)
        b.terms(rows[None, :, None], w, 1.0)
