"""Security of supply under disruption: a two-stage stochastic MIP per buyer, with CVaR.

A buyer (a member alone or the alliance pooled) contracts tonnes x[j, t] from each
supplier j in each year t **before** it knows which disruption scenario s (probability
π_s) happens. The contracts follow the alliance's rules as in ``evpath procure``
(:mod:`evpath.procurement.mip`): incremental volume-discount tiers (one segment per
bracket, price path by year), minimum orders, contract costs, the country cap and the
minimum number of suppliers, on the buyer's share of every supplier's capacity. In
scenario s, supplier j delivers a_s[j, t] · x[j, t], where

    a_s[j, t] = Π_cuts (1 − share · [country_j cut in year t]) × (1 − competing_buyer_s)

(proportional rationing: a supplier that loses a share of its capacity delivers that
share less of every contract). Undelivered tonnes are refunded at the contract's tier
cost; the contract cost is paid in full. Once s is known the buyer buys spot tonnes
z_s[t] (at most its share of the spot capacity, at the spot price × the scenario's
multiplier), carries stock I_s[t] ≥ 0 and leaves r_s[t] ≤ d[t] tonnes of demand unmet at
the shortfall penalty:

    I_s[t] = I_s[t−1] + Σ_j a_s[j, t] x[j, t] + z_s[t] − d[t] + r_s[t]     (I_s[−1] = 0)
    cost_s = Σ_t δ_t [Σ_j (a_s[j, t] c_j,t(x[j, t]) + F_j [x[j, t] > 0])
                      + spot_s z_s[t] + penalty r_s[t] + hold I_s[t]] − δ_T leftover I_s[T]

with c_j,t the tier cost of a volume (without the contract cost F_j) and δ_t the
present-value factor of year t (``policy.discount_rate``).

Contracting ahead of a disruption builds the stockpile: tonnes bought above a year's
demand are held at the alliance's holding cost and drawn when supply is cut.

Objective (Rockafellar–Uryasev): minimise Σ_s π_s cost_s + λ (η + Σ_s π_s u_s / (1 − α))
with u_s ≥ cost_s − η, u_s ≥ 0; at the optimum η + Σ π u / (1 − α) is CVaR_α of the cost.
An optional cap bounds the expected shortfall Σ_s π_s Σ_t r_s[t].

Two rules of the alliance file are not carried, on purpose (stated in the output and in
docs/procurement.md): the notional risk weight (the scenarios price supply risk
explicitly, so the score would count it twice) and the policy stockpile floor (a floor
that must hold in a disruption forbids drawing the stock it exists for; here the model
chooses the buffer from the scenarios). Members alone get their demand share of every
supplier's capacity and of the spot capacity in each year, the stand-alone convention
of ``evpath procure``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd
from scipy import sparse

from evpath.errors import ProcurementError
from evpath.procurement import highs
from evpath.procurement.disruptions import DisruptionFile
from evpath.procurement.instance import TOLERANCE_T, Instance, capacity_share
from evpath.procurement.mip import Builder, Layout, add_segments, add_supplier_rules
from evpath.procurement.segments import Segments, segments
from evpath.procurement.solve import checked, segment_columns

POOLED = "alliance pooled"
NOT_CARRIED = (
    "policy.risk_weight (the scenarios price supply risk, so the score would count it "
    "twice) and policy.stockpile (a floor that must hold in a disruption forbids drawing "
    "the stock it exists for; the plan chooses its buffer from the scenarios)"
)
"""Rules of the alliance file the two-stage model does not carry, and why."""


@dataclass(frozen=True)
class Scenarios:
    """Disruption scenarios resolved to arrays for one instance.

    names : tuple of str
    probability : ndarray (scenario,) [fraction]
    available : ndarray (scenario, supplier, year) [fraction]
        Share of each contract delivered.
    spot_price : ndarray (scenario,) [USD/t]
    spot_capacity : float [t/yr for the alliance]; inf: unlimited
    penalty : float [USD/t]
    """

    names: tuple[str, ...]
    probability: np.ndarray
    available: np.ndarray
    spot_price: np.ndarray
    spot_capacity: float
    penalty: float


def resolve_scenarios(spec: DisruptionFile, instance: Instance) -> Scenarios:
    """The disruption scenarios as arrays; ProcurementError for a cut of a country no
    supplier has or in years the alliance does not plan."""
    countries = np.asarray(instance.countries)
    years = instance.years
    available = np.ones((len(spec.scenarios), len(instance.suppliers), len(years)))
    for i, scenario in enumerate(spec.scenarios):
        for k, cut in enumerate(scenario.country_cuts):
            hit = countries == cut.country
            if not hit.any():
                msg = (
                    f"scenarios[{i}].country_cuts[{k}].country: got {cut.country!r}; allowed: "
                    f"a supplier country of the alliance ({', '.join(dict.fromkeys(countries))})"
                )
                raise ProcurementError(msg)
            when = (years >= cut.years.start) & (years <= cut.years.end)
            if not when.any():
                msg = (
                    f"scenarios[{i}].country_cuts[{k}].years: got {cut.years.start}-"
                    f"{cut.years.end}; allowed: years that overlap the alliance's "
                    f"({int(years[0])}-{int(years[-1])}), or the cut changes nothing"
                )
                raise ProcurementError(msg)
            available[i] *= 1.0 - cut.share * np.outer(hit, when)
        available[i] *= 1.0 - scenario.competing_buyer
    spot = spec.spot
    return Scenarios(
        names=tuple(s.name for s in spec.scenarios),
        probability=np.array([s.probability for s in spec.scenarios]),
        available=available,
        spot_price=spot.price
        * spec.usd_per_t
        * np.array([s.spot_price_multiplier for s in spec.scenarios]),
        spot_capacity=np.inf if spot.capacity is None else spot.capacity,
        penalty=spot.shortfall_penalty * spec.usd_per_t,
    )


@dataclass(frozen=True)
class SecurityPlan:
    """One buyer's plan and its outcome in every scenario.

    Attributes
    ----------
    name : str
    members : tuple of int
        Indices of the members in the buyer.
    contracts : ndarray (supplier, year) [t/yr]
    contract_cost : float [USD]
        Present value of the contracts if every tonne is delivered: tier prices on the
        contracted volumes and the suppliers' contract costs.
    probability : ndarray (scenario,) [fraction]
    scenario_cost : ndarray (scenario,) [USD], present value
    scenario_shortfall : ndarray (scenario,) [t over all years]
    stock : ndarray (scenario, year) [t], end-of-year stock
    spot : ndarray (scenario, year) [t/yr]
    demand : ndarray (year,) [t/yr]
    alpha : float [fraction]
    objective : float [USD], expected cost + λ CVaR
    mip_gap : float [fraction]
        Relative gap between the plan's own objective and the lower bound HiGHS proved.
    stopped_by_time : bool
        Whether a time limit stopped the solve before the gap asked for was proved.
    columns : ndarray
        The solution vector, for warm starts.
    """

    name: str
    members: tuple[int, ...]
    contracts: np.ndarray
    contract_cost: float
    probability: np.ndarray
    scenario_cost: np.ndarray
    scenario_shortfall: np.ndarray
    stock: np.ndarray
    spot: np.ndarray
    demand: np.ndarray
    alpha: float
    objective: float
    mip_gap: float = 0.0
    stopped_by_time: bool = False
    columns: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    @property
    def expected_cost(self) -> float:
        """Σ_s π_s cost_s [USD]."""
        return float(self.probability @ self.scenario_cost)

    @property
    def worst_cost(self) -> float:
        """Cost of the costliest scenario with a positive probability [USD]."""
        return float(self.scenario_cost[self.probability > 0].max())

    @property
    def cvar(self) -> float:
        """CVaR_α of the cost: mean of the costliest (1 − α) of probability [USD]."""
        return cvar(self.scenario_cost, self.probability, self.alpha)

    @property
    def expected_shortfall(self) -> float:
        """Σ_s π_s tonnes not delivered [t over all years]."""
        return float(self.probability @ self.scenario_shortfall)

    @property
    def shortfall_probability(self) -> float:
        """Probability that some demand is not met [fraction]."""
        return float(self.probability[self.scenario_shortfall > TOLERANCE_T].sum())


def cvar(cost: np.ndarray, probability: np.ndarray, alpha: float) -> float:
    """CVaR_α of a discrete cost distribution [USD]: min over η of η + E[(c − η)+]/(1 − α)."""
    order = np.argsort(cost)
    c, p = cost[order], probability[order]
    below = np.cumsum(p)
    var = c[np.searchsorted(below, alpha - 1e-12, side="right").clip(max=c.size - 1)]
    return float(var + p @ np.maximum(c - var, 0.0) / (1.0 - alpha))


@dataclass(frozen=True)
class SecurityModel:
    """One buyer's two-stage MIP: segments, column blocks and row groups by name, the
    scenario costs as a matrix and the model for HiGHS.

    cost : sparse matrix (scenario, column) [USD per unit of the column]
        Present-value cost of each scenario as a linear function of the columns.
    """

    members: tuple[int, ...]
    seg: Segments
    cols: Layout
    demand: np.ndarray
    cost: sparse.csr_matrix
    lp: highspy.HighsLp


def build_security(
    instance: Instance,
    scenarios: Scenarios,
    members: tuple[int, ...],
    lam: float,
    alpha: float,
    max_expected_shortfall: float | None = None,
) -> SecurityModel:
    """The two-stage MIP of the buyer made of ``members`` (see the module docstring)."""
    share = capacity_share(instance, members)
    demand = instance.demand[list(members)].sum(axis=0)
    seg = segments(instance, members, counted=instance.min_suppliers > 0)
    disc = instance.discount
    n_t = seg.lo.shape[1]
    n_s = len(scenarios.names)
    b = Builder()
    v, w = add_segments(b, seg, 0.0, 0.0)
    spot_cap = np.where(np.isinf(scenarios.spot_capacity), np.inf, scenarios.spot_capacity * share)
    z = b.variables("spot", (n_s, n_t), upper=spot_cap)
    r = b.variables("shortfall", (n_s, n_t), upper=demand)
    stock = b.variables("stock", (n_s, n_t))
    eta = b.variables("eta", (1,), lower=-np.inf)
    u = b.variables("excess", (n_s,))
    available = scenarios.available[..., None]  # (scenario, supplier, year, 1)
    rows = b.constraints("balance", (n_s, n_t), -demand, -demand)
    b.terms(rows, stock, 1.0)
    b.terms(rows[:, 1:], stock[:, :-1], -1.0)
    b.terms(rows[:, None, :, None], v[None], -available)
    b.terms(rows, z, -1.0)
    b.terms(rows, r, -1.0)
    add_supplier_rules(b, instance, v, w, demand > 0)
    # Scenario costs: delivered tonnes at their tier cost, the contract cost in full,
    # spot, shortfall, holding less the leftover credit; each year at its discount.
    at = disc[None, :, None]
    hold = np.full(n_t, instance.holding_cost) * disc
    hold[-1] -= instance.leftover_value * disc[-1]
    fixed = seg.fixed[:, None, None]
    cost = _scenario_matrix(
        first=[
            (v, available * seg.price * at),
            (w, (available * (seg.intercept - fixed) + fixed) * at),
        ],
        second=[
            (z, scenarios.spot_price[:, None] * disc),
            (r, scenarios.penalty * disc),
            (stock, hold),
        ],
        n_col=b.cols.size,
    )
    rows = b.constraints("cvar", (n_s,), 0.0, np.inf)
    b.terms(rows, u, 1.0)
    b.terms(rows, eta, 1.0)
    coo = cost.tocoo()
    b.terms(rows[coo.row], coo.col, -coo.data)
    if max_expected_shortfall is not None:
        rows = b.constraints("expected_shortfall", (1,), -np.inf, max_expected_shortfall)
        b.terms(rows, r, scenarios.probability[:, None])
    lp = b.lp()
    objective = np.asarray(scenarios.probability @ cost).ravel()
    objective[eta] += lam
    objective[u] += lam * scenarios.probability / (1.0 - alpha)
    lp.col_cost_ = objective
    return SecurityModel(members, seg, b.cols, demand, cost, lp)


def _scenario_matrix(
    first: list[tuple[np.ndarray, np.ndarray]],
    second: list[tuple[np.ndarray, np.ndarray]],
    n_col: int,
) -> sparse.csr_matrix:
    """Scenario costs as a matrix (scenario, column) [USD per unit of the column].

    first : (columns, value) pairs of first-stage blocks; ``value`` (scenario, *columns
        shape) is each column's cost in each scenario.
    second : (columns, value) pairs of second-stage blocks with columns (scenario, year);
        ``value``, broadcast to that shape, counts in its own scenario only.
    """
    n_s = second[0][0].shape[0]
    rows, cols, vals = [], [], []
    for columns, value in first:
        full = np.broadcast_to(value, (n_s, *columns.shape))
        scenario = np.arange(n_s).reshape((n_s,) + (1,) * columns.ndim)
        rows.append(np.broadcast_to(scenario, full.shape).ravel())
        cols.append(np.broadcast_to(columns, full.shape).ravel())
        vals.append(full.ravel())
    for columns, value in second:
        rows.append(np.broadcast_to(np.arange(n_s)[:, None], columns.shape).ravel())
        cols.append(columns.ravel())
        vals.append(np.broadcast_to(value, columns.shape).ravel())
    data = (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols)))
    return sparse.csr_matrix(data, shape=(n_s, n_col))


def solve_security(
    instance: Instance,
    scenarios: Scenarios,
    members: tuple[int, ...],
    name: str,
    lam: float,
    alpha: float,
    max_expected_shortfall: float | None = None,
    *,
    start: np.ndarray | None = None,
    mip_rel_gap: float = 1e-4,
    time_limit: float = 60.0,
) -> SecurityPlan:
    """The plan of the buyer made of ``members``, from the solution vector ``start`` if
    given (see :func:`combined_start`).

    mip_rel_gap : float [fraction]
    time_limit : float [s]
        HiGHS settings.

    Raises
    ------
    ProcurementError
        When no plan meets the cap on expected shortfall or the alliance's rules.
    """
    model = build_security(instance, scenarios, members, lam, alpha, max_expected_shortfall)
    h = highs.run(model.lp, mip_rel_gap, time_limit, start)
    if not highs.has_solution(h):
        status = h.modelStatusToString(h.getModelStatus())
        if highs.proved_infeasible(h) and max_expected_shortfall is not None:
            msg = (
                f"{name}: no plan keeps the expected shortfall within "
                f"risk.max_expected_shortfall ({max_expected_shortfall:g} t for the alliance, "
                "its demand share for a member) under the alliance's rules; allowed: a larger "
                "cap, more spot capacity or fewer disruptions"
            )
        elif highs.proved_infeasible(h):
            msg = (
                f"{name}: no contracts meet the alliance's minimum orders, country cap and "
                "minimum number of suppliers; allowed: rules that evpath procure can meet"
            )
        else:
            msg = f"{name}: HiGHS found no plan ({status}) within {time_limit:g} s"
        raise ProcurementError(msg)
    outcome = checked(model.lp, h, start, mip_rel_gap, time_limit)
    col = outcome.col
    seg, cols = model.seg, model.cols
    w = np.round(col[cols["w"]]) * seg.valid
    v = col[cols["v"]] * w
    purchase, contract = seg.costs(v, w)
    return SecurityPlan(
        name=name,
        members=members,
        contracts=v.sum(axis=2),
        contract_cost=float(((purchase + contract) * instance.discount).sum()),
        probability=scenarios.probability,
        scenario_cost=np.asarray(model.cost @ col).ravel(),
        scenario_shortfall=col[cols["shortfall"]].sum(axis=1),
        stock=col[cols["stock"]],
        spot=col[cols["spot"]],
        demand=model.demand,
        alpha=alpha,
        objective=outcome.cost,
        mip_gap=outcome.gap,
        stopped_by_time=outcome.timed_out,
        columns=col,
    )


def combined_start(
    instance: Instance, scenarios: Scenarios, plans: Sequence[SecurityPlan]
) -> np.ndarray | None:
    """A solution vector of the buyer made of the plans' members that contracts what the
    plans contract together and sums their spot, shortfall, stock and CVaR columns: a
    warm start whose objective is at most the sum of theirs (tier costs are concave, the
    contract cost is paid once, CVaR is subadditive). None if the summed contracts fit no
    segment."""
    members = tuple(sorted(m for p in plans for m in p.members))
    model = build_security(instance, scenarios, members, 0.0, 0.5)
    chosen = segment_columns(model.seg, np.sum([p.contracts for p in plans], axis=0))
    if chosen is None:
        return None
    col = np.zeros(model.cols.size)
    col[model.cols["v"]], col[model.cols["w"]] = chosen
    for block in ("spot", "shortfall", "stock", "eta", "excess"):
        index = model.cols[block]
        col[index] = np.sum([p.columns[index] for p in plans], axis=0)
    return col


@dataclass(frozen=True)
class SecurityResult:
    """Each member alone and the alliance pooled under the same disruption scenarios."""

    scenarios: Scenarios
    alone: tuple[SecurityPlan, ...]
    pooled: SecurityPlan
    lam: float
    alpha: float

    @property
    def mip_gap(self) -> float:
        """Largest relative gap left over the solves [fraction]."""
        return max(p.mip_gap for p in (*self.alone, self.pooled))

    @property
    def stopped_by_time(self) -> tuple[str, ...]:
        """Plans whose solve a time limit stopped before the gap asked for was proved."""
        return tuple(p.name for p in (*self.alone, self.pooled) if p.stopped_by_time)

    @property
    def expected_cost_alone(self) -> float:
        """Σ over members of their expected cost alone [USD]."""
        return sum(p.expected_cost for p in self.alone)

    @property
    def expected_shortfall_alone(self) -> float:
        """Σ over members of their expected shortfall alone [t]."""
        return sum(p.expected_shortfall for p in self.alone)

    @property
    def saving(self) -> float:
        """Expected cost saved by pooling [USD]."""
        return self.expected_cost_alone - self.pooled.expected_cost

    @property
    def avoided_shortfall(self) -> float:
        """Expected tonnes of shortfall avoided by pooling [t]."""
        return self.expected_shortfall_alone - self.pooled.expected_shortfall

    def plans(self) -> pd.DataFrame:
        """One row per plan: expected, worst and CVaR cost [USD], shortfall [t], P(shortfall)."""
        return pd.DataFrame(
            [
                {
                    "plan": p.name,
                    "expected_cost": p.expected_cost,
                    "worst_cost": p.worst_cost,
                    "cvar": p.cvar,
                    "expected_shortfall": p.expected_shortfall,
                    "shortfall_probability": p.shortfall_probability,
                    "contracted": float(p.contracts.sum()),
                }
                for p in (*self.alone, self.pooled)
            ]
        ).set_index("plan")

    def by_scenario(self) -> pd.DataFrame:
        """One row per (plan, scenario): cost [USD], shortfall [t], spot tonnes [t]."""
        frames = [
            pd.DataFrame(
                {
                    "plan": p.name,
                    "scenario": self.scenarios.names,
                    "probability": p.probability,
                    "cost": p.scenario_cost,
                    "shortfall": p.scenario_shortfall,
                    "spot": p.spot.sum(axis=1),
                }
            )
            for p in (*self.alone, self.pooled)
        ]
        return pd.concat(frames, ignore_index=True).set_index(["plan", "scenario"])


def secure(
    spec: DisruptionFile,
    instance: Instance,
    lam: float | None = None,
    *,
    mip_rel_gap: float = 1e-3,
    time_limit: float = 60.0,
) -> SecurityResult:
    """Plan every member alone and the alliance pooled against ``spec``'s disruptions.

    Parameters
    ----------
    lam : float, optional
        Weight of CVaR instead of the file's ``risk.lambda``.
    mip_rel_gap : float [fraction]
        Relative gap at which HiGHS stops each solve (default 1e-3: the scenario copies
        make these MIPs slower to close than ``procure``'s).
    time_limit : float [s]
        Seconds per solve.

    Raises
    ------
    ProcurementError
        When a cut names a country no supplier has, when leftover stock is worth more
        than unlimited spot tonnes cost, or when a buyer has no plan.

    Notes
    -----
    The pooled alliance is solved from the warm start of the members' plans combined
    (:func:`combined_start`), so its objective never exceeds the sum of theirs.
    """
    scenarios = resolve_scenarios(spec, instance)
    if np.isinf(scenarios.spot_capacity) and instance.leftover_value >= scenarios.spot_price.min():
        msg = (
            f"policy.leftover_value ({instance.leftover_value:,.0f} USD/t) is not below the "
            f"spot price ({scenarios.spot_price.min():,.0f} USD/t) while spot.capacity is "
            "unlimited: a plan would buy spot tonnes without end to be credited for them; "
            "allowed: a leftover value below the spot price, or a spot.capacity"
        )
        raise ProcurementError(msg)
    weight = spec.risk.lambda_ if lam is None else lam
    alpha = spec.risk.alpha
    cap = spec.risk.max_expected_shortfall
    total = instance.demand.sum()
    alone = []
    for i, member in enumerate(instance.members):
        member_cap = None
        if cap is not None:
            member_cap = cap * (instance.demand[i].sum() / total if total > 0 else 0.0)
        alone.append(
            solve_security(
                instance,
                scenarios,
                (i,),
                f"{member} alone",
                weight,
                alpha,
                member_cap,
                mip_rel_gap=mip_rel_gap,
                time_limit=time_limit,
            )
        )
    everyone = tuple(range(len(instance.members)))
    pooled = solve_security(
        instance,
        scenarios,
        everyone,
        POOLED,
        weight,
        alpha,
        cap,
        start=combined_start(instance, scenarios, alone),
        mip_rel_gap=mip_rel_gap,
        time_limit=time_limit,
    )
    return SecurityResult(scenarios, tuple(alone), pooled, weight, alpha)
