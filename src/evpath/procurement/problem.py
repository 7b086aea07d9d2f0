"""Build and solve the procurement MIP of a buyer: a member alone, a coalition, the alliance.

A *buyer* is a set of members buying together. Per supplier ``s`` and year ``t`` the
buyer pays the supplier's incremental-discount price schedule on the volume it buys,
plus the supplier's fixed contract cost if it buys at all, plus (objective
``cost_plus_risk``) ``risk_weight × risk_s`` per tonne, plus a holding cost on stock.

The cost of a volume ``q`` from one supplier in one year is piecewise linear: on the
bracket ``[e_{k-1}, e_k]`` it is ``a_k + b_k q`` with slope ``b_k`` (the bracket's price
plus the risk penalty) and intercept ``a_k`` (the fixed cost plus the cost of the brackets
below, minus ``b_k e_{k-1}``). Volume discounts make it concave, so it cannot be written
as an LP. Each bracket becomes a *segment*: a binary ``w[s,t,k]`` (the volume lies in
segment k) and a volume ``v[s,t,k]`` with

    lo[s,t,k] · w ≤ v ≤ hi[s,t,k] · w,     Σ_k w[s,t,k] ≤ 1,
    cost = Σ_k a_k w[s,t,k] + b_k v[s,t,k],

where ``lo = max(e_{k-1}, minimum order)`` and ``hi = min(e_k, capacity)``. This
multiple-choice form describes the convex hull of each supplier-year cost function, so
its LP relaxation is as tight as a single piecewise-linear function allows; minimum
orders and fixed costs need no further binaries.

The other rows, for members ``m`` of the buyer:

    Σ_{s,k} v[s,t,k] = Σ_m x[m,t]                       (link: who gets the tonnes)
    Σ_k v[s,t,k] ≤ share_t × capacity[s,t]              (capacity)
    stock[m,t] = stock[m,t-1] + x[m,t] − d[m,t]         (balance, stock before the first
                                                        year is 0)
    stock[m,t] ≥ months / 12 × d[m,t] for t ≥ by        (stockpile, a column bound)
    Σ_{s in c} q[s,t] ≤ cap × Σ_s q[s,t]                (country cap, q = Σ_k v)
    Σ_{s,k} w[s,t,k] ≥ n                                (minimum number of suppliers)

``share_t`` is the buyer's share of alliance demand in year t: 1 for the alliance, the
pro-rata share for a member alone or a coalition (see :func:`capacity_share`).

Members' purchases ``x[m,t]`` are yearly totals; every rule on suppliers and countries
applies to the buyer's total, so a member's tonnes by supplier are reported pro rata,
``x[m,t] · q[s,t] / Σ_s q[s,t]``. Variables by member *and* supplier would only add
equivalent, degenerate solutions, which slow HiGHS down markedly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import pandas as pd
import xarray as xr
from scipy import sparse

from evpath.core.paths import interpolate_path, values_at
from evpath.data.registry import load_dataset
from evpath.errors import EvpathError
from evpath.procurement.schema import PRODUCTION_DATASETS, Alliance, ProductionShare
from evpath.procurement.sharing import concentration, shapley_exact, shapley_sampled

FAMILIES = ("country_cap", "min_suppliers", "min_order", "stockpile")
"""Constraint families that can be dropped to find which one makes a plan infeasible."""

FAMILY_WORDS = {
    "country_cap": "the country cap (policy.country_cap)",
    "min_suppliers": "the minimum number of suppliers (policy.min_suppliers)",
    "min_order": "the suppliers' minimum orders (suppliers[].min_order)",
    "stockpile": "the stockpile target (policy.stockpile)",
}

TOLERANCE_T = 1e-6
"""Volumes below this count as zero [t]."""


class ProcurementError(EvpathError, ValueError):
    """No purchase plan satisfies the alliance's rules, or the solver gave up."""


@dataclass(frozen=True)
class Instance:
    """An alliance resolved to arrays: the data the MIP is built from.

    Attributes
    ----------
    metal : str
    years : ndarray (year,) [yr]
        Consecutive years.
    members, suppliers : tuple of str
    countries : tuple of str
        Country of each supplier.
    demand : ndarray (member, year) [t/yr]
    capacity : ndarray (supplier, year) [t/yr]
        What each supplier can sell to the whole alliance.
    tier_end : ndarray (supplier, tier) [t/yr]
        Upper end of each price bracket; ``inf`` for the open last bracket and for
        padding (suppliers with fewer brackets).
    tier_price : ndarray (supplier, tier) [USD/t]
        Price in each bracket; ``nan`` for padding.
    min_order : ndarray (supplier,) [t/yr]
    fixed_cost : ndarray (supplier,) [USD/yr]
    risk : ndarray (supplier,) [0-1]
    country_cap : float [fraction]
    min_suppliers : int
    stock_months : float [months]
    stock_by : int or None [yr]
    holding_cost : float [USD/(t·yr)]
    risk_weight : float [USD/t per unit risk]
    """

    metal: str
    years: np.ndarray
    members: tuple[str, ...]
    suppliers: tuple[str, ...]
    countries: tuple[str, ...]
    demand: np.ndarray
    capacity: np.ndarray
    tier_end: np.ndarray
    tier_price: np.ndarray
    min_order: np.ndarray
    fixed_cost: np.ndarray
    risk: np.ndarray
    country_cap: float = 1.0
    min_suppliers: int = 0
    stock_months: float = 0.0
    stock_by: int | None = None
    holding_cost: float = 0.0
    risk_weight: float = 0.0

    @property
    def stock_target(self) -> np.ndarray:
        """Stock floor at the end of each year (member, year) [t]."""
        if self.stock_by is None or self.stock_months == 0:
            return np.zeros_like(self.demand)
        held = self.years >= self.stock_by
        return self.stock_months / 12.0 * self.demand * held


def resolve(
    alliance: Alliance, scenario: str | None = None, run_data: xr.Dataset | None = None
) -> Instance:
    """Turn an alliance file into arrays, running evpath where demand is a share of a run.

    Parameters
    ----------
    alliance : Alliance
    scenario : str, optional
        Scenario used instead of each member's ``share_of_run.scenario``.
    run_data : Dataset, optional
        Results of a stored run, used instead of running any scenario.

    Raises
    ------
    ScenarioError, ProcurementError
        When a run lacks the variable, region, metal or years asked for.
    """
    from evpath.api import run as run_scenario

    years = np.asarray(alliance.year_values)
    runs: dict[str, xr.Dataset] = {}
    demand = np.empty((len(alliance.members), len(years)))
    for i, member in enumerate(alliance.members):
        if member.demand is not None:
            demand[i] = interpolate_path(member.demand, years)
            continue
        share = member.share_of_run
        assert share is not None  # the schema requires demand or share_of_run
        name = scenario or share.scenario
        if run_data is not None:
            runs[name] = run_data
        if name not in runs:
            runs[name] = run_scenario(name).dataset
        demand[i] = share.share * _run_series(
            runs[name], name, share.variable, share.region, alliance.metal, years, f"members[{i}]"
        )
    n_tiers = max(len(s.tiers) for s in alliance.suppliers)
    tier_end = np.full((len(alliance.suppliers), n_tiers), np.inf)
    tier_price = np.full((len(alliance.suppliers), n_tiers), np.nan)
    for j, supplier in enumerate(alliance.suppliers):
        k = len(supplier.tiers)
        tier_end[j, : k - 1] = [t.up_to for t in supplier.tiers[:-1]]
        tier_price[j, :k] = [t.price * alliance.usd_per_t for t in supplier.tiers]
    policy = alliance.policy
    return Instance(
        metal=alliance.metal,
        years=years,
        members=tuple(m.name for m in alliance.members),
        suppliers=tuple(s.name for s in alliance.suppliers),
        countries=tuple(s.country for s in alliance.suppliers),
        demand=demand,
        capacity=np.stack(
            [
                _capacity(s.capacity, alliance.metal, years, f"suppliers[{j}].capacity")
                for j, s in enumerate(alliance.suppliers)
            ]
        ),
        tier_end=tier_end,
        tier_price=tier_price,
        min_order=np.array([s.min_order for s in alliance.suppliers]),
        fixed_cost=np.array([s.fixed_cost for s in alliance.suppliers]),
        risk=np.array([s.risk for s in alliance.suppliers]),
        country_cap=policy.country_cap,
        min_suppliers=policy.min_suppliers,
        stock_months=policy.stockpile.months if policy.stockpile else 0.0,
        stock_by=policy.stockpile.by if policy.stockpile else None,
        holding_cost=policy.holding_cost,
        risk_weight=policy.risk_weight if policy.objective == "cost_plus_risk" else 0.0,
    )


def _run_series(
    dataset: xr.Dataset,
    scenario: str,
    variable: str,
    region: str,
    metal: str,
    years: np.ndarray,
    where: str,
) -> np.ndarray:
    """``variable`` of a run at (region, metal, years) [t/yr], with errors that say what is there."""
    here = f"{where}.share_of_run"
    if variable not in dataset:
        msg = f"{here}.variable: run {scenario!r} has no {variable!r}; allowed: " + ", ".join(
            v for v in dataset.data_vars if {"region", "metal", "year"} <= set(dataset[v].dims)
        )
        raise ProcurementError(msg)
    data = dataset[variable]
    if set(data.dims) != {"region", "metal", "year"}:
        msg = f"{here}.variable: {variable!r} has dims {data.dims}; allowed: (region, metal, year)"
        raise ProcurementError(msg)
    for dim, label in (("region", region), ("metal", metal)):
        known = [str(v) for v in data[dim].values]
        if label not in known:
            msg = f"{here}: run {scenario!r} has no {dim} {label!r}; allowed: {', '.join(known)}"
            raise ProcurementError(msg)
    missing = sorted(set(years.tolist()) - set(data["year"].values.tolist()))
    if missing:
        msg = (
            f"{here}: run {scenario!r} ends before the alliance years (missing {missing[0]}"
            f"-{missing[-1]}); allowed: years {int(data.year.min())}-{int(data.year.max())}"
        )
        raise ProcurementError(msg)
    return data.sel(region=region, metal=metal, year=years).to_numpy().astype(float)


def _capacity(
    value: float | dict[int, float] | ProductionShare, metal: str, years: np.ndarray, where: str
) -> np.ndarray:
    """A supplier's capacity by year [t/yr]."""
    if not isinstance(value, ProductionShare):
        return values_at(value, years)
    name, mineral = PRODUCTION_DATASETS[metal]
    table = load_dataset(name)
    if "basis" in table:  # the cobalt-nickel-graphite table
        rows = table[
            (table["mineral"] == mineral)
            & (table["year"] == value.year)
            & table["basis"].fillna("").str.startswith("mine production")
        ]
        tonnes = rows.set_index("country")["tonnes"]
    else:  # the lithium table
        rows = table[
            (table["mineral"] == mineral)
            & (table["year"] == value.year)
            & (table["metric"] == "mine_production")
        ]
        tonnes = rows.set_index("country")["value"]
    tonnes = tonnes.dropna()
    if value.production_of not in tonnes.index:
        msg = (
            f"{where}.production_of: no {value.year} {metal} mine production for "
            f"{value.production_of!r} in {name}; allowed: {', '.join(map(str, tonnes.index))}"
        )
        raise ProcurementError(msg)
    return np.full(len(years), value.share * float(tonnes[value.production_of]))


def capacity_share(instance: Instance, members: Sequence[int]) -> np.ndarray:
    """Share of every supplier's capacity open to a buyer, by year (year,) [fraction].

    The stand-alone convention: a buyer made of ``members`` gets their share of alliance
    demand in each year (1 for the whole alliance, 0 in a year without alliance demand).
    The shares of disjoint buyers add up, so stand-alone plans together are a feasible
    pooled plan.
    """
    total = instance.demand.sum(axis=0)
    own = instance.demand[list(members)].sum(axis=0)
    return np.divide(own, total, out=np.zeros_like(total), where=total > 0)


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


def segments(instance: Instance, members: Sequence[int], min_order: bool = True) -> Segments:
    """The buyer's segments; ``min_order=False`` drops the minimum orders."""
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
    lo = np.maximum(start0, order[:, None])[:, None, :] * np.ones((1, cap.shape[1], 1))
    hi = np.minimum(end[:, None, :], cap[:, :, None])
    valid = real[:, None, :] & (lo <= hi) & (hi > 0)
    return Segments(
        np.where(valid, lo, 0.0), np.where(valid, hi, 0.0), valid, intercept, slope, cap
    )


@dataclass(frozen=True)
class Plan:
    """A buyer's optimal plan.

    Attributes
    ----------
    members : tuple of int
        Indices of the members in the buyer.
    purchases : ndarray (member, supplier, year) [t/yr]
        For the buyer's members, in their order.
    stock : ndarray (member, year) [t]
        End-of-year stock.
    used : ndarray (supplier, year) bool
    purchase_cost, contract_cost, holding_cost, risk_penalty : float [USD]
        Over all years, undiscounted.
    objective : float [USD]
        Their sum (risk penalty zero for objective 'cost').
    mip_gap : float [fraction]
        Relative gap HiGHS proved.
    columns : ndarray
        The solution vector, for warm starts.
    """

    members: tuple[int, ...]
    purchases: np.ndarray
    stock: np.ndarray
    used: np.ndarray
    purchase_cost: float
    contract_cost: float
    holding_cost: float
    risk_penalty: float
    objective: float
    mip_gap: float
    columns: np.ndarray = field(repr=False)

    @property
    def volume(self) -> np.ndarray:
        """Tonnes bought from each supplier (supplier, year) [t/yr]."""
        return self.purchases.sum(axis=0)


@dataclass
class _Model:
    """Column and row positions of one buyer's MIP."""

    instance: Instance
    members: tuple[int, ...]
    relax: frozenset[str]
    seg: Segments
    v: np.ndarray  # (S, T, K) segment volumes
    w: np.ndarray  # (S, T, K) segment binaries
    x: np.ndarray  # (M, T) purchases by member
    stock: np.ndarray  # (M, T) end-of-year stock
    rows: dict[str, np.ndarray]  # family -> row indices
    lp: highspy.HighsLp


def _build(instance: Instance, members: tuple[int, ...], relax: frozenset[str]) -> _Model:
    seg = segments(instance, members, min_order="min_order" not in relax)
    n_s, n_t, n_k = seg.lo.shape
    n_m = len(members)
    v = np.arange(n_s * n_t * n_k).reshape(n_s, n_t, n_k)
    w = v + v.size
    x = 2 * v.size + np.arange(n_m * n_t).reshape(n_m, n_t)
    stock = 2 * v.size + x.size + np.arange(n_m * n_t).reshape(n_m, n_t)
    n_cols = 2 * v.size + x.size + stock.size
    demand = instance.demand[list(members)]
    target = np.zeros_like(demand) if "stockpile" in relax else instance.stock_target[list(members)]

    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    rows: dict[str, np.ndarray] = {}
    inf = np.inf
    n_rows = 0

    def add(
        name: str,
        shape: tuple[int, ...],
        terms: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
        lo: Any,
        up: Any,
    ) -> None:
        """Rows of shape ``shape``; each term gives (row index, column, coefficient) arrays
        broadcast together, row index relative to this block."""
        nonlocal n_rows
        size = int(np.prod(shape))
        for r, c, a in terms:
            r, c, a = np.broadcast_arrays(r, c, a)
            entries.append((n_rows + r.ravel(), c.ravel(), a.ravel().astype(float)))
        rows[name] = n_rows + np.arange(size).reshape(shape)
        lower.append(np.broadcast_to(lo, shape).ravel().astype(float))
        upper.append(np.broadcast_to(up, shape).ravel().astype(float))
        n_rows += size

    stk = np.arange(n_s * n_t * n_k).reshape(n_s, n_t, n_k)
    add("seg_hi", (n_s, n_t, n_k), [(stk, v, 1.0), (stk, w, -seg.hi)], -inf, 0.0)
    add("seg_lo", (n_s, n_t, n_k), [(stk, v, 1.0), (stk, w, -seg.lo)], 0.0, inf)
    st = np.arange(n_s * n_t).reshape(n_s, n_t)
    add("one_segment", (n_s, n_t), [(st[:, :, None], w, 1.0)], -inf, 1.0)
    years = np.arange(n_t)
    add("link", (n_t,), [(years[None, :, None], v, 1.0), (years[None], x, -1.0)], 0.0, 0.0)
    add("capacity", (n_s, n_t), [(st[:, :, None], v, 1.0)], -inf, seg.cap)
    mt = np.arange(n_m * n_t).reshape(n_m, n_t)
    add(
        "balance",
        (n_m, n_t),
        [(mt, stock, 1.0), (mt[:, 1:], stock[:, :-1], -1.0), (mt, x, -1.0)],
        -demand,
        -demand,
    )
    countries = sorted(set(instance.countries))
    if instance.country_cap < 1.0 and "country_cap" not in relax and len(countries) > 0:
        ct = np.arange(len(countries) * n_t).reshape(len(countries), n_t)
        member_of = np.array(instance.countries)[None, :] == np.array(countries)[:, None]
        coef = member_of.astype(float) - instance.country_cap  # (C, S)
        add(
            "country_cap",
            (len(countries), n_t),
            [(ct[:, None, :, None], v[None], coef[:, :, None, None])],
            -inf,
            0.0,
        )
    if instance.min_suppliers > 0 and "min_suppliers" not in relax:
        add(
            "min_suppliers",
            (n_t,),
            [(years[None, :, None], w, 1.0)],
            float(instance.min_suppliers),
            inf,
        )

    r = np.concatenate([e[0] for e in entries])
    c = np.concatenate([e[1] for e in entries])
    a = np.concatenate([e[2] for e in entries])
    matrix = sparse.csc_matrix((a, (r, c)), shape=(n_rows, n_cols))
    matrix.sum_duplicates()
    matrix.eliminate_zeros()

    cost = np.zeros(n_cols)
    cost[w.ravel()] = np.broadcast_to(seg.intercept[:, None, :], w.shape).ravel()
    cost[v.ravel()] = np.broadcast_to(seg.slope[:, None, :], v.shape).ravel()
    cost[stock.ravel()] = instance.holding_cost
    col_lower = np.zeros(n_cols)
    col_lower[stock.ravel()] = target.ravel()
    col_upper = np.full(n_cols, inf)
    col_upper[w.ravel()] = seg.valid.ravel().astype(float)
    col_upper[v.ravel()] = np.where(seg.valid, seg.hi, 0.0).ravel()

    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = cost
    lp.col_lower_ = col_lower
    lp.col_upper_ = col_upper
    lp.row_lower_ = np.concatenate(lower)
    lp.row_upper_ = np.concatenate(upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    integrality = np.full(n_cols, highspy.HighsVarType.kContinuous)
    integrality[w.ravel()] = highspy.HighsVarType.kInteger
    lp.integrality_ = list(integrality)
    return _Model(instance, members, relax, seg, v, w, x, stock, rows, lp)


def _solver(mip_rel_gap: float, time_limit: float) -> highspy.Highs:
    h = highspy.Highs()
    h.silent()
    h.setOptionValue("mip_rel_gap", mip_rel_gap)
    h.setOptionValue("time_limit", time_limit)
    h.setOptionValue("random_seed", 0)
    return h


def solve_buyer(
    instance: Instance,
    members: Sequence[int],
    start: np.ndarray | None = None,
    *,
    mip_rel_gap: float = 1e-6,
    time_limit: float = 60.0,
    check: bool = True,
) -> Plan:
    """Optimal plan of the buyer made of ``members``.

    Parameters
    ----------
    instance : Instance
    members : sequence of int
        Indices into ``instance.members``.
    start : ndarray, optional
        A feasible solution vector to start from (see :func:`combine`).
    mip_rel_gap : float
        Relative optimality gap at which HiGHS stops [fraction].
    time_limit : float
        Seconds per solve.
    check : bool
        Run :func:`check_feasible` first and raise its explanation.

    Raises
    ------
    ProcurementError
        Explaining in words which rule cannot hold, never a bare solver status.
    """
    buyer = tuple(sorted(members))
    if check:
        problems = check_feasible(instance, buyer)
        if problems:
            raise ProcurementError("\n".join(problems))
    model = _build(instance, buyer, frozenset())
    h = _solver(mip_rel_gap, time_limit)
    h.passModel(model.lp)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = list(start)
        solution.value_valid = True
        h.setSolution(solution)
    h.run()
    status = h.getModelStatus()
    has_solution = h.getInfo().primal_solution_status == 2  # feasible
    if (
        status == highspy.HighsModelStatus.kInfeasible
        or not has_solution
        and status in (highspy.HighsModelStatus.kUnboundedOrInfeasible,)
    ):
        raise ProcurementError(_diagnose(instance, buyer, mip_rel_gap, time_limit))
    if not has_solution:
        msg = (
            f"{buyer_name(instance, buyer)}: HiGHS found no plan "
            f"({h.modelStatusToString(status)}) within {time_limit:g} s; allowed: a larger "
            "time_limit, or fewer members, suppliers or years"
        )
        raise ProcurementError(msg)
    return _plan(model, np.asarray(h.getSolution().col_value), h.getInfo().mip_gap)


def buyer_name(instance: Instance, members: Sequence[int]) -> str:
    """'the alliance', 'member NAME alone' or 'coalition A + B'."""
    if len(members) == len(instance.members):
        return "the alliance"
    if len(members) == 1:
        return f"member {instance.members[members[0]]} alone"
    return "coalition " + " + ".join(instance.members[i] for i in members)


def _plan(model: _Model, col: np.ndarray, gap: float) -> Plan:
    inst, seg = model.instance, model.seg
    w = np.round(col[model.w]) * seg.valid
    v = col[model.v] * w
    volume = v.sum(axis=2)
    total = volume.sum(axis=0)
    split = np.divide(volume, total, out=np.zeros_like(volume), where=total > TOLERANCE_T)
    x = np.maximum(col[model.x], 0.0)[:, None, :] * split[None]
    stock = col[model.stock]
    price_part = np.nan_to_num(inst.tier_price)
    fixed = inst.fixed_cost[:, None, None] * w
    tier_cost = (seg.intercept[:, None, :] * w - fixed + price_part[:, None, :] * v).sum()
    risk = (inst.risk_weight * inst.risk[:, None, None] * v).sum()
    holding = inst.holding_cost * stock.sum()
    return Plan(
        members=model.members,
        purchases=x,
        stock=stock,
        used=w.sum(axis=2) > 0.5,
        purchase_cost=float(tier_cost),
        contract_cost=float(fixed.sum()),
        holding_cost=float(holding),
        risk_penalty=float(risk),
        objective=float(tier_cost + fixed.sum() + risk + holding),
        mip_gap=float(gap),
        columns=col,
    )


def combine(instance: Instance, plans: Sequence[Plan]) -> tuple[tuple[int, ...], np.ndarray | None]:
    """The solution vector of the buyer made of the plans' members that buys what the
    plans buy together: a warm start whose cost is at most the sum of theirs.

    Returns the buyer's members and the vector (None if the combined volume fits no
    segment, which concave prices rule out).
    """
    members = tuple(sorted(m for p in plans for m in p.members))
    model = _build(instance, members, frozenset())
    seg = model.seg
    where = {m: (p, i) for p in plans for i, m in enumerate(p.members)}
    x = np.stack([where[m][0].purchases[where[m][1]] for m in members])
    stock = np.stack([where[m][0].stock[where[m][1]] for m in members])
    volume = x.sum(axis=0)
    slack = 1e-6 * np.maximum(1.0, seg.hi)
    fits = seg.valid & (volume[..., None] >= seg.lo - slack) & (volume[..., None] <= seg.hi + slack)
    bought = volume > TOLERANCE_T
    if (bought & ~fits.any(axis=2)).any():
        return members, None
    k = np.argmax(fits, axis=2)
    one_hot = (np.arange(seg.lo.shape[2]) == k[..., None]) & bought[..., None]
    col = np.zeros(model.lp.num_col_)
    col[model.v] = one_hot * volume[..., None]
    col[model.w] = one_hot
    col[model.x] = x.sum(axis=1)
    col[model.stock] = stock
    return members, col


def check_feasible(instance: Instance, members: Sequence[int]) -> list[str]:
    """Explain, before solving, why the buyer made of ``members`` has no plan.

    Checks, in every year and with stock carried forward: total capacity (of suppliers
    whose capacity share reaches their minimum order) against demand plus stockpile;
    the same under the country cap; the minimum number of suppliers against the
    suppliers that can sell. Returns one sentence per problem (empty: no problem found;
    the solver may still find rules that cannot hold together).
    """
    who = buyer_name(instance, members)
    convention = (
        ""
        if len(members) == len(instance.members)
        else (
            " (a buyer outside the alliance gets its share of alliance demand of every "
            "supplier's capacity)"
        )
    )
    years = instance.years
    seg_cap = instance.capacity * capacity_share(instance, members)
    usable = (seg_cap >= instance.min_order[:, None]) & (seg_cap > 0)
    cap = np.where(usable, seg_cap, 0.0)
    demand = instance.demand[list(members)].sum(axis=0)
    need = np.cumsum(demand) + instance.stock_target[list(members)].sum(axis=0)
    problems = []
    short = np.cumsum(cap.sum(axis=0)) - need
    if (short < -TOLERANCE_T).any():
        t = int(np.argmax(short < -TOLERANCE_T))
        what = _needs(years, t, demand, need)
        problems.append(
            f"{who}: {what}, but suppliers can sell it at most {np.cumsum(cap.sum(axis=0))[t]:,.0f} t "
            f"over those years: short by {-short[t]:,.0f} t{convention}"
        )
    elif instance.country_cap < 1.0:
        names = sorted(set(instance.countries))
        by_country = np.stack([cap[np.array(instance.countries) == c].sum(axis=0) for c in names])
        most = max_purchase(by_country, instance.country_cap)
        short = np.cumsum(most) - need
        if (short < -TOLERANCE_T).any():
            t = int(np.argmax(short < -TOLERANCE_T))
            top = int(np.argmax(by_country[:, t]))
            others = by_country[:, t].sum() - by_country[top, t]
            problems.append(
                f"{who}: policy.country_cap {instance.country_cap:.0%} cannot hold: "
                f"{_needs(years, t, demand, need)}, but with no country above "
                f"{instance.country_cap:.0%} of purchases at most {np.cumsum(most)[t]:,.0f} t "
                f"can be bought over those years; in {years[t]} {names[top]} can sell "
                f"{by_country[top, t]:,.0f} t and the other countries only {others:,.0f} t "
                f"(short by {-short[t]:,.0f} t){convention}"
            )
    count = usable.sum(axis=0)
    if instance.min_suppliers > 0 and (count < instance.min_suppliers).any():
        t = int(np.argmax(count < instance.min_suppliers))
        able = [s for s, ok in zip(instance.suppliers, usable[:, t], strict=True) if ok]
        problems.append(
            f"{who}: policy.min_suppliers {instance.min_suppliers} cannot hold: in {years[t]} "
            f"only {count[t]} supplier(s) have capacity at least their minimum order"
            f"{' (' + ', '.join(able) + ')' if able else ''}; allowed: min_suppliers <= "
            f"{int(count.min())}{convention}"
        )
    return problems


def _needs(years: np.ndarray, t: int, demand: np.ndarray, need: np.ndarray) -> str:
    span = f"{years[0]}-{years[t]}" if t > 0 else f"{years[t]}"
    stock = need[t] - demand[: t + 1].sum()
    extra = f" plus a stockpile of {stock:,.0f} t" if stock > TOLERANCE_T else ""
    return f"demand in {span} is {demand[: t + 1].sum():,.0f} t{extra}"


def max_purchase(by_country: np.ndarray, cap: float) -> np.ndarray:
    """Most a buyer can buy in each year with no country above ``cap`` of its purchases.

    Parameters
    ----------
    by_country : ndarray (country, year) [t/yr]
        Capacity open to the buyer in each country.
    cap : float [fraction]

    Returns
    -------
    ndarray (year,) [t/yr]
        The largest T with Σ_c min(Q_c, cap·T) ≥ T, i.e. the smallest over j of
        S_j / (1 − cap·(C − j)) where S_j sums the j smallest capacities and the
        denominator is positive.
    """
    ordered = np.sort(by_country, axis=0)
    n = ordered.shape[0]
    smallest = np.concatenate([np.zeros((1, ordered.shape[1])), np.cumsum(ordered, axis=0)])
    denominator = 1.0 - cap * (n - np.arange(n + 1))[:, None]
    bound = np.where(
        denominator > 1e-12, smallest / np.where(denominator > 1e-12, denominator, 1.0), np.inf
    )
    return bound.min(axis=0)


def _diagnose(instance: Instance, members: tuple[int, ...], gap: float, limit: float) -> str:
    """Say which constraint family makes a plan infeasible, by dropping each in turn."""
    present = [f for f in FAMILIES if _present(instance, f)]
    freeing = []
    for family in present:
        h = _solver(gap, limit)
        h.passModel(_build(instance, members, frozenset({family})).lp)
        h.run()
        if h.getInfo().primal_solution_status == 2:
            freeing.append(family)
    who = buyer_name(instance, members)
    if freeing:
        return (
            f"{who}: no purchase plan meets every rule; dropping "
            + " or ".join(FAMILY_WORDS[f] for f in freeing)
            + " alone would allow one, so that rule cannot hold together with demand, "
            "capacity and the other rules"
        )
    return (
        f"{who}: no purchase plan meets every rule, and no single rule among "
        f"{', '.join(FAMILY_WORDS[f] for f in present) or 'the policy rules'} explains it; "
        "demand and capacity conflict with several rules at once"
    )


def _present(instance: Instance, family: str) -> bool:
    return {
        "country_cap": instance.country_cap < 1.0,
        "min_suppliers": instance.min_suppliers > 0,
        "min_order": bool((instance.min_order > 0).any()),
        "stockpile": bool(instance.stock_target.any()),
    }[family]


def shadow_prices(instance: Instance, plan: Plan) -> dict[str, np.ndarray]:
    """Shadow prices [USD/t] of capacity (supplier, year), country cap (country, year) and
    stockpile (member, year), with the plan's suppliers and price brackets fixed.

    The MIP has no duals; fixing its binaries leaves an LP whose duals say what one more
    tonne of capacity, of country allowance or of stockpile relief would save, as long
    as the same suppliers and brackets are kept. Positive: loosening saves money.
    """
    model = _build(instance, plan.members, frozenset())
    seg = model.seg
    w = np.round(plan.columns[model.w]) * seg.valid
    lp = model.lp
    lower = np.asarray(lp.col_lower_, dtype=float)
    upper = np.asarray(lp.col_upper_, dtype=float)
    lower[model.w] = upper[model.w] = w
    finite_end = np.isfinite(instance.tier_end)[:, None, :]
    lower[model.v] = seg.lo * w
    upper[model.v] = np.where(w > 0, np.where(finite_end, seg.hi, np.inf), 0.0)
    lp.col_lower_, lp.col_upper_ = lower, upper
    row_lower = np.asarray(lp.row_lower_, dtype=float)
    row_upper = np.asarray(lp.row_upper_, dtype=float)
    for name in ("seg_hi", "seg_lo", "one_segment", "min_suppliers"):
        if name in model.rows:
            row_lower[model.rows[name]] = -np.inf
            row_upper[model.rows[name]] = np.inf
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * lp.num_col_
    h = _solver(0.0, 60.0)
    h.passModel(lp)
    h.run()
    solution = h.getSolution()
    row_dual = np.asarray(solution.row_dual)
    col_dual = np.asarray(solution.col_dual)
    prices = {
        "capacity": -row_dual[model.rows["capacity"]],
        "stockpile": col_dual[model.stock],
    }
    if "country_cap" in model.rows:
        prices["country_cap"] = -row_dual[model.rows["country_cap"]]
    return prices


EXACT_SHAPLEY_MAX = 8
"""Largest alliance whose Shapley split is computed exactly (2**n − 1 coalitions)."""


@dataclass(frozen=True)
class ProcurementResult:
    """Plans of every member alone and of the alliance, the saving and how to share it.

    Attributes
    ----------
    instance : Instance
    alone : tuple of Plan
        One plan per member, each buying alone (stand-alone convention of
        :func:`capacity_share`).
    pooled : Plan
        The alliance buying together.
    shapley : ndarray (member,) [USD]
        Each member's Shapley share of the saving; the shares add up to :attr:`saving`.
    shapley_se : ndarray (member,) [USD]
        Standard error of the shares (0 when exact).
    shapley_method : str
    binding : pandas.DataFrame
        Constraints of the pooled plan at their limit (see :func:`binding_constraints`).
    """

    instance: Instance
    alone: tuple[Plan, ...]
    pooled: Plan
    shapley: np.ndarray
    shapley_se: np.ndarray
    shapley_method: str
    binding: pd.DataFrame

    @property
    def cost_alone(self) -> float:
        """Sum of the members' stand-alone objectives [USD]."""
        return float(sum(p.objective for p in self.alone))

    @property
    def cost_pooled(self) -> float:
        """The alliance's objective [USD]."""
        return self.pooled.objective

    @property
    def saving(self) -> float:
        """cost_alone − cost_pooled [USD], never negative."""
        return self.cost_alone - self.cost_pooled

    @property
    def purchases(self) -> xr.DataArray:
        """Tonnes bought (plan, member, supplier, year) [t/yr]; plan 'alone' or 'pooled'."""
        inst = self.instance
        alone = np.stack([p.purchases[0] for p in self.alone])
        return xr.DataArray(
            np.stack([alone, self.pooled.purchases]),
            coords={
                "plan": ["alone", "pooled"],
                "member": list(inst.members),
                "supplier": list(inst.suppliers),
                "year": inst.years,
                "country": ("supplier", list(inst.countries)),
            },
            dims=("plan", "member", "supplier", "year"),
            name="purchases",
            attrs={"units": "t/yr", "metal": inst.metal},
        )

    @property
    def members(self) -> pd.DataFrame:
        """By member: stand-alone cost, Shapley share of the saving and its standard
        error, and the cost after the split (stand-alone cost − share) [USD]."""
        alone = np.array([p.objective for p in self.alone])
        return pd.DataFrame(
            {
                "cost_alone": alone,
                "shapley_saving": self.shapley,
                "shapley_se": self.shapley_se,
                "cost_after_split": alone - self.shapley,
            },
            index=pd.Index(self.instance.members, name="member"),
        )

    @property
    def concentration(self) -> pd.DataFrame:
        """Supplier and country concentration of the members buying alone (all stand-alone
        plans together) and of the pooled plan (see :func:`sharing.concentration`)."""
        alone = sum(p.volume for p in self.alone)
        rows = {
            name: concentration(volume, self.instance.countries)
            for name, volume in (("alone", alone), ("pooled", self.pooled.volume))
        }
        return pd.DataFrame(rows).T.rename_axis("plan")

    def to_frame(self) -> pd.DataFrame:
        """Purchases as a tidy table: plan, member, supplier, country, year, tonnes."""
        frame = self.purchases.to_dataframe().reset_index()
        return frame.rename(columns={"purchases": "tonnes"})[
            ["plan", "member", "supplier", "country", "year", "tonnes"]
        ]


def procure(
    alliance: Alliance | Instance,
    scenario: str | None = None,
    *,
    run_data: xr.Dataset | None = None,
    shapley: str = "auto",
    samples: int = 200,
    seed: int = 0,
    mip_rel_gap: float = 1e-4,
    time_limit: float = 60.0,
) -> ProcurementResult:
    """Solve every member alone and the alliance pooled, and split the saving.

    Parameters
    ----------
    alliance : Alliance or Instance
    scenario : str, optional
        Scenario used instead of the members' ``share_of_run.scenario``.
    run_data : Dataset, optional
        Results of a stored run, used instead of running a scenario.
    shapley : {'auto', 'exact', 'sampled'}
        'exact' solves every coalition (2**n − 1 MIPs); 'sampled' averages marginal
        costs over ``samples`` random joining orders; 'auto' is exact up to
        ``EXACT_SHAPLEY_MAX`` members.
    samples : int
        Random orders for 'sampled'.
    seed : int
        Seed of the random orders.
    mip_rel_gap, time_limit : float
        HiGHS relative gap [fraction] and seconds per solve.

    Returns
    -------
    ProcurementResult

    Raises
    ------
    ProcurementError
        When a member alone or the alliance cannot meet its rules, in words.

    Notes
    -----
    Each coalition (the alliance included) is solved from the warm start of its
    members' stand-alone plans combined, so its cost never exceeds the sum of theirs,
    whatever gap HiGHS stops at.
    """
    instance = alliance if isinstance(alliance, Instance) else resolve(alliance, scenario, run_data)
    allowed = ("auto", "exact", "sampled")
    if shapley not in allowed:
        msg = f"shapley: got {shapley!r}; allowed: one of {', '.join(allowed)}"
        raise ProcurementError(msg)
    n = len(instance.members)
    problems = [p for i in range(n) for p in check_feasible(instance, (i,))]
    problems = check_feasible(instance, tuple(range(n))) + problems
    if problems:
        raise ProcurementError("\n".join(dict.fromkeys(problems)))
    options = {"mip_rel_gap": mip_rel_gap, "time_limit": time_limit}
    alone = tuple(solve_buyer(instance, (i,), **options) for i in range(n))
    costs = {1 << i: plan.objective for i, plan in enumerate(alone)}
    plans = {1 << i: plan for i, plan in enumerate(alone)}

    def coalition(mask: int) -> Plan:
        if mask not in plans:
            members, start = combine(instance, [alone[i] for i in range(n) if mask >> i & 1])
            plans[mask] = solve_buyer(instance, members, start, check=False, **options)
        return plans[mask]

    def cost(mask: int) -> float:
        if mask not in costs:
            costs[mask] = coalition(mask).objective
        return costs[mask]

    pooled = coalition((1 << n) - 1)
    if shapley == "exact" or shapley == "auto" and n <= EXACT_SHAPLEY_MAX:
        values = np.array([0.0] + [cost(mask) for mask in range(1, 1 << n)])
        cost_share, se = shapley_exact(values), np.zeros(n)
        method = f"exact, {(1 << n) - 1} coalitions"
    else:
        cost_share, se = shapley_sampled(cost, n, samples, np.random.default_rng(seed))
        method = f"sampled, {samples} joining orders, {len(costs)} coalitions solved"
    share = np.array([p.objective for p in alone]) - cost_share
    return ProcurementResult(
        instance, alone, pooled, share, se, method, binding_constraints(instance, pooled)
    )


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
