"""What a procurement solve returns: a buyer's plan, and the alliance's result."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from evpath.procurement.instance import Instance
from evpath.procurement.sharing import CoreCheck, concentration


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
        Over all years, discounted to the first year at ``policy.discount_rate`` (0:
        undiscounted).
    objective : float [USD]
        Their sum (risk penalty zero for objective 'cost') minus ``leftover_credit``.
    mip_gap : float [fraction]
        Relative gap between the plan's own cost and the lower bound HiGHS proved.
    columns : ndarray
        The solution vector, for warm starts.
    stopped_by_time : bool
        Whether a time limit stopped the solve before the gap asked for was proved
        (the cost is then an upper bound, within ``mip_gap`` of the optimum).
    leftover_credit : float [USD]
        Stock left at the end of the last year valued at ``policy.leftover_value``.
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
    stopped_by_time: bool = False
    leftover_credit: float = 0.0

    @property
    def cash_cost(self) -> float:
        """What the buyer pays: purchases + contract costs + holding − the value of the
        stock left at the end [USD], without the notional risk penalty."""
        return self.purchase_cost + self.contract_cost + self.holding_cost - self.leftover_credit

    @property
    def volume(self) -> np.ndarray:
        """Tonnes bought from each supplier (supplier, year) [t/yr]."""
        return self.purchases.sum(axis=0)


@dataclass(frozen=True)
class ProcurementResult:
    """Plans of every member alone and of the alliance, the saving and how to share it.

    Attributes
    ----------
    instance : Instance
    alone : tuple of Plan
        One plan per member, each buying alone (stand-alone convention of
        :func:`~evpath.procurement.instance.capacity_share`).
    pooled : Plan
        The alliance buying together.
    shapley : ndarray (member,) [USD]
        Each member's Shapley share of the saving; the shares add up to :attr:`saving`.
    shapley_se : ndarray (member,) [USD]
        Standard error of the shares (0 when exact).
    shapley_method : str
    binding : pandas.DataFrame
        Constraints of the pooled plan at their limit (see
        :func:`~evpath.procurement.duals.binding_constraints`).
    mip_gap : float [fraction]
        Largest relative gap left over every solve (members alone, coalitions, pooled)
        between a plan's cost and the lower bound HiGHS proved.
    stopped_by_time : tuple of str
        Buyers whose solve a time limit stopped before the gap asked for was proved
        (empty when none: every cost is within the gap asked for).
    seed : int or None
        Seed of the random joining orders of a sampled split (None when exact).
    core : CoreCheck or None
        For an exact split, whether it lies in the core (no coalition's stand-alone
        cost below its members' allocated costs, within the MIP gap times the pooled
        cost) and the most dissatisfied coalition; None for a sampled split (not every
        coalition is solved).
    """

    instance: Instance
    alone: tuple[Plan, ...]
    pooled: Plan
    shapley: np.ndarray
    shapley_se: np.ndarray
    shapley_method: str
    binding: pd.DataFrame
    mip_gap: float = 0.0
    stopped_by_time: tuple[str, ...] = ()
    seed: int | None = None
    core: CoreCheck | None = None

    @property
    def shapley_is_exact(self) -> bool:
        """Whether every coalition was solved (exact Shapley split) rather than sampled."""
        return self.shapley_method.startswith("exact")

    @property
    def time_limited(self) -> bool:
        """Whether a time limit stopped any solve before the gap asked for."""
        return bool(self.stopped_by_time)

    @property
    def cash_cost_alone(self) -> float:
        """Sum of the members' stand-alone cash costs (purchases + contract costs +
        holding) [USD]."""
        return float(sum(p.cash_cost for p in self.alone))

    @property
    def cash_cost_pooled(self) -> float:
        """The alliance's cash cost (purchases + contract costs + holding) [USD]."""
        return self.pooled.cash_cost

    @property
    def risk_penalty_alone(self) -> float:
        """Sum of the members' notional risk penalties alone [USD] (0 for objective
        'cost'); :attr:`cost_alone` = :attr:`cash_cost_alone` + this."""
        return float(sum(p.risk_penalty for p in self.alone))

    @property
    def risk_penalty_pooled(self) -> float:
        """The alliance's notional risk penalty [USD] (0 for objective 'cost')."""
        return self.pooled.risk_penalty

    @property
    def cash_saving(self) -> float:
        """cash_cost_alone − cash_cost_pooled [USD]: the part of :attr:`saving` paid in
        money (the rest is a lower risk penalty; may be negative when pooling buys
        costlier, less risky tonnes)."""
        return self.cash_cost_alone - self.cash_cost_pooled

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
        error, and the cost after the split (stand-alone cost − share) [USD]; the
        stand-alone cost split into cash cost and notional risk penalty [USD]."""
        alone = np.array([p.objective for p in self.alone])
        return pd.DataFrame(
            {
                "cost_alone": alone,
                "cash_cost_alone": [p.cash_cost for p in self.alone],
                "risk_penalty_alone": [p.risk_penalty for p in self.alone],
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
        alone = sum((p.volume for p in self.alone), np.zeros_like(self.pooled.volume))
        rows = {
            name: concentration(volume, self.instance.countries)
            for name, volume in (("alone", alone), ("pooled", self.pooled.volume))
        }
        return pd.DataFrame(rows).T.rename_axis("plan")

    def costs(self) -> pd.DataFrame:
        """One row: cost alone and pooled, the saving, and each split into cash cost and
        notional risk penalty [USD]."""
        return pd.DataFrame(
            [
                {
                    "cost_alone": self.cost_alone,
                    "cost_pooled": self.cost_pooled,
                    "saving": self.saving,
                    "cash_cost_alone": self.cash_cost_alone,
                    "cash_cost_pooled": self.cash_cost_pooled,
                    "cash_saving": self.cash_saving,
                    "risk_penalty_alone": self.risk_penalty_alone,
                    "risk_penalty_pooled": self.risk_penalty_pooled,
                }
            ]
        )

    def to_frame(self) -> pd.DataFrame:
        """Purchases as a tidy table: plan, member, supplier, country, year, tonnes."""
        frame = self.purchases.to_dataframe().reset_index()
        return frame.rename(columns={"purchases": "tonnes"})[
            ["plan", "member", "supplier", "country", "year", "tonnes"]
        ]
