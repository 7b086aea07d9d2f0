"""Security of supply under disruption: a two-stage stochastic LP per buyer, with CVaR.

A buyer (a member alone or the alliance pooled) contracts tonnes x[j, t] from each
supplier j in each year t **before** it knows which disruption scenario s (probability
π_s) happens. In scenario s, supplier j delivers a_s[j, t] · x[j, t], where

    a_s[j, t] = Π_cuts (1 − share · [country_j cut in year t]) × (1 − competing_buyer_s)

(proportional rationing: a supplier that loses a share of its capacity delivers that
share less of every contract; undelivered tonnes are not paid). Once s is known the
buyer buys spot tonnes z_s[t] (at most its share of the spot capacity, at the spot price
× the scenario's multiplier), carries stock I_s[t] ≥ 0 and leaves r_s[t] ≤ d[t] tonnes
of demand unmet at the shortfall penalty:

    I_s[t] = I_s[t−1] + Σ_j a_s[j, t] x[j, t] + z_s[t] − d[t] + r_s[t]     (I_s[−1] = 0)
    cost_s = Σ_jt p_j a_s[j, t] x[j, t] + Σ_t (spot_s z_s[t] + penalty r_s[t] + hold I_s[t])

Contracting ahead of a disruption builds the stockpile: tonnes bought above a year's
demand are held at the alliance's holding cost and drawn when supply is cut.

Objective (Rockafellar–Uryasev): minimise Σ_s π_s cost_s + λ (η + Σ_s π_s u_s / (1 − α))
with u_s ≥ cost_s − η, u_s ≥ 0; at the optimum η + Σ π u / (1 − α) is CVaR_α of the cost.
An optional cap bounds the expected shortfall Σ_s π_s Σ_t r_s[t].

Simplifications, stated to users in docs/security.md: the LP prices each supplier at one
**linear price**, the average incremental-tier price of the volume the buyer could take
from it in an average year (min of its capacity share and its demand), so that a larger
buyer pays less per tonne as in the tiers; contract fixed costs, minimum orders, the
country cap, the minimum number of suppliers, the risk weight and the policy stockpile
floor of the alliance file are not modelled here (``evpath procure`` keeps them).
Members alone get their demand share of every supplier's capacity and of the spot
capacity in each year, the stand-alone convention of ``evpath procure``.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd
from scipy import sparse

from evpath.errors import ProcurementError
from evpath.procurement import highs
from evpath.procurement.disruptions import DisruptionFile
from evpath.procurement.instance import TOLERANCE_T, Instance, capacity_share

POOLED = "alliance pooled"


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
    """The disruption scenarios as arrays; ProcurementError for a country no supplier has."""
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


def linear_price(instance: Instance, volume: np.ndarray) -> np.ndarray:
    """Average incremental-tier price of buying ``volume`` (supplier,) [t/yr] [USD/t];
    the first bracket's price for a volume of 0."""
    ends = instance.tier_end
    starts = np.concatenate([np.zeros((ends.shape[0], 1)), ends[:, :-1]], axis=1)
    with np.errstate(invalid="ignore"):  # padding brackets: inf − inf
        inside = np.nan_to_num(np.clip(volume[:, None] - starts, 0.0, ends - starts), nan=0.0)
    cost = np.nansum(np.where(np.isnan(instance.tier_price), 0.0, instance.tier_price) * inside, 1)
    first = instance.tier_price[:, 0]
    return np.divide(cost, volume, out=first.copy(), where=volume > TOLERANCE_T)


@dataclass(frozen=True)
class SecurityPlan:
    """One buyer's plan and its outcome in every scenario.

    contracts : ndarray (supplier, year) [t/yr]
    price : ndarray (supplier,) [USD/t], the linear prices used
    scenario_cost : ndarray (scenario,) [USD]
    scenario_shortfall : ndarray (scenario,) [t over all years]
    stock : ndarray (scenario, year) [t], end-of-year stock
    spot : ndarray (scenario, year) [t/yr]
    demand : ndarray (year,) [t/yr]
    objective : float [USD], expected cost + λ CVaR
    """

    name: str
    contracts: np.ndarray
    price: np.ndarray
    probability: np.ndarray
    scenario_cost: np.ndarray
    scenario_shortfall: np.ndarray
    stock: np.ndarray
    spot: np.ndarray
    demand: np.ndarray
    alpha: float
    objective: float

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

    @property
    def contract_cost(self) -> float:
        """Cost of the contracts if every tonne is delivered [USD]."""
        return float(self.price @ self.contracts.sum(axis=1))


def cvar(cost: np.ndarray, probability: np.ndarray, alpha: float) -> float:
    """CVaR_α of a discrete cost distribution [USD]: min over η of η + E[(c − η)+]/(1 − α)."""
    order = np.argsort(cost)
    c, p = cost[order], probability[order]
    below = np.cumsum(p)
    var = c[np.searchsorted(below, alpha - 1e-12, side="right").clip(max=c.size - 1)]
    return float(var + p @ np.maximum(c - var, 0.0) / (1.0 - alpha))


def solve_security(
    instance: Instance,
    scenarios: Scenarios,
    share: np.ndarray,
    name: str,
    lam: float,
    alpha: float,
    max_expected_shortfall: float | None = None,
    holding_cost: float | None = None,
) -> SecurityPlan:
    """The plan of a buyer with ``share`` (year,) of every capacity and of alliance demand.

    Raises
    ------
    ProcurementError
        When no plan meets the cap on expected shortfall.
    """
    demand = instance.demand.sum(axis=0) * share
    n_j, n_t = instance.capacity.shape
    n_s = len(scenarios.names)
    capacity = instance.capacity * share
    price = linear_price(instance, np.minimum(capacity.mean(axis=1), demand.mean()))
    hold = instance.holding_cost if holding_cost is None else holding_cost
    # Columns: x (j, t), then z, r, I (s, t), then η, then u (s).
    x = np.arange(n_j * n_t).reshape(n_j, n_t)
    z = x.size + np.arange(n_s * n_t).reshape(n_s, n_t)
    r = z + n_s * n_t
    stock = r + n_s * n_t
    eta = x.size + 3 * n_s * n_t
    u = eta + 1 + np.arange(n_s)
    n_col = eta + 1 + n_s
    # Scenario costs as a matrix (scenario, column).
    s_idx = np.arange(n_s)[:, None]
    avail_x = scenarios.available.reshape(n_s, -1)
    cost_rows = [
        np.broadcast_to(s_idx, avail_x.shape),
        np.broadcast_to(s_idx, z.shape),
        np.broadcast_to(s_idx, r.shape),
        np.broadcast_to(s_idx, stock.shape),
    ]
    cost_cols = [np.broadcast_to(x.ravel(), avail_x.shape), z, r, stock]
    cost_vals = [
        avail_x * np.repeat(price, n_t),
        np.broadcast_to(scenarios.spot_price[:, None], z.shape),
        np.full(r.shape, scenarios.penalty),
        np.full(stock.shape, hold),
    ]
    cost = sparse.csr_matrix(
        (
            np.concatenate([v.ravel() for v in cost_vals]),
            (
                np.concatenate([v.ravel() for v in cost_rows]),
                np.concatenate([v.ravel() for v in cost_cols]),
            ),
        ),
        shape=(n_s, n_col),
    )
    objective = np.asarray(scenarios.probability @ cost).ravel()
    objective[eta] += lam
    objective[u] += lam * scenarios.probability / (1.0 - alpha)
    # Balance rows (s, t): I[s,t] − I[s,t−1] − Σ_j a x − z − r = −d[t].
    row = np.arange(n_s * n_t).reshape(n_s, n_t)
    rows = [row, row[:, 1:], np.broadcast_to(row[:, None, :], (n_s, n_j, n_t)), row, row]
    cols = [stock, stock[:, :-1], np.broadcast_to(x, (n_s, n_j, n_t)), z, r]
    vals = [
        np.ones(row.shape),
        -np.ones(row[:, 1:].shape),
        -scenarios.available,
        -np.ones(row.shape),
        -np.ones(row.shape),
    ]
    lower = [np.broadcast_to(-demand, (n_s, n_t)).ravel()]
    upper = [lower[0]]
    # CVaR rows (s): u_s + η − cost_s ≥ 0.
    first_cvar = row.size
    coo = (-cost).tocoo()
    rows += [first_cvar + coo.row, first_cvar + np.arange(n_s), first_cvar + np.arange(n_s)]
    cols += [coo.col, u, np.full(n_s, eta)]
    vals += [coo.data, np.ones(n_s), np.ones(n_s)]
    lower.append(np.zeros(n_s))
    upper.append(np.full(n_s, np.inf))
    n_row = first_cvar + n_s
    if max_expected_shortfall is not None:
        rows.append(np.full(r.size, n_row))
        cols.append(r.ravel())
        vals.append(np.repeat(scenarios.probability, n_t))
        lower.append(np.array([-np.inf]))
        upper.append(np.array([max_expected_shortfall]))
        n_row += 1
    matrix = sparse.csc_matrix(
        (
            np.concatenate([np.ravel(v) for v in vals]),
            (
                np.concatenate([np.ravel(v) for v in rows]),
                np.concatenate([np.ravel(v) for v in cols]),
            ),
        ),
        shape=(n_row, n_col),
    )
    col_lower = np.zeros(n_col)
    col_lower[eta] = -np.inf
    col_upper = np.full(n_col, np.inf)
    col_upper[x.ravel()] = capacity.ravel()
    col_upper[z.ravel()] = np.broadcast_to(scenarios.spot_capacity * share, (n_s, n_t)).ravel()
    col_upper[r.ravel()] = np.broadcast_to(demand, (n_s, n_t)).ravel()
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = objective
    lp.col_lower_ = col_lower
    lp.col_upper_ = col_upper
    lp.row_lower_ = np.concatenate(lower)
    lp.row_upper_ = np.concatenate(upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    h = highs.run(lp, mip_rel_gap=0.0, time_limit=60.0)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        if highs.proved_infeasible(h):
            msg = (
                f"{name}: no plan keeps the expected shortfall within "
                f"risk.max_expected_shortfall ({max_expected_shortfall:g} t for the alliance, "
                "its demand share for a member); allowed: a larger cap, more spot capacity "
                "or fewer disruptions"
            )
        else:
            msg = f"{name}: HiGHS stopped with status {h.modelStatusToString(h.getModelStatus())}"
        raise ProcurementError(msg)
    col = np.asarray(h.getSolution().col_value, dtype=float)
    return SecurityPlan(
        name=name,
        contracts=col[x],
        price=price,
        probability=scenarios.probability,
        scenario_cost=np.asarray(cost @ col).ravel(),
        scenario_shortfall=col[r].sum(axis=1),
        stock=col[stock],
        spot=col[z],
        demand=demand,
        alpha=alpha,
        objective=float(h.getInfo().objective_function_value),
    )


@dataclass(frozen=True)
class SecurityResult:
    """Each member alone and the alliance pooled under the same disruption scenarios."""

    scenarios: Scenarios
    alone: tuple[SecurityPlan, ...]
    pooled: SecurityPlan
    lam: float
    alpha: float

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


def secure(spec: DisruptionFile, instance: Instance, lam: float | None = None) -> SecurityResult:
    """Plan every member alone and the alliance pooled against ``spec``'s disruptions.

    Parameters
    ----------
    lam : float, optional
        Weight of CVaR instead of the file's ``risk.lambda``.
    """
    scenarios = resolve_scenarios(spec, instance)
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
                capacity_share(instance, [i]),
                f"{member} alone",
                weight,
                alpha,
                member_cap,
            )
        )
    pooled = solve_security(
        instance,
        scenarios,
        capacity_share(instance, range(len(instance.members))),
        POOLED,
        weight,
        alpha,
        cap,
    )
    return SecurityResult(scenarios, tuple(alone), pooled, weight, alpha)
