"""An alliance resolved to arrays: members' demand, suppliers' capacity, prices and rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from evpath.core.paths import interpolate_path, values_at
from evpath.data.usgs import DATASET_OF, country_production, production_years
from evpath.errors import ProcurementError
from evpath.procurement.schema import Alliance, ProductionShare, Supplier

TOLERANCE_T = 1e-6
"""Volumes below this count as zero [t]."""


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
    price_index : ndarray (supplier, year) [-] or None
        Factor on every tier price of a supplier in a year (the price path); None: 1.
    min_order : ndarray (supplier,) [t/yr]
    fixed_cost : ndarray (supplier,) [USD/yr]
    risk : ndarray (supplier,) [0-1]
    country_cap : float [fraction]
    min_suppliers : int
    stock_months : float [months]
    stock_by : int or None [yr]
    holding_cost : float [USD/(t·yr)]
    risk_weight : float [USD/t per unit risk]
    min_volume_per_supplier : float [t/yr]
        Smallest volume from a supplier in a year that counts towards ``min_suppliers``
        (with the supplier's ``min_order`` if larger).
    leftover_value : float [USD/t]
        Credit for each tonne of stock left at the end of the last year.
    discount_rate : float [1/yr]
        Every cost of year t counts (1 + rate)^-(t − first year) (see :attr:`discount`).
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
    min_volume_per_supplier: float = 1.0
    leftover_value: float = 0.0
    price_index: np.ndarray | None = None
    discount_rate: float = 0.0

    @property
    def prices(self) -> np.ndarray:
        """Price of each bracket in each year (supplier, year, tier) [USD/t]: the tier
        price times the price path; ``nan`` for padding."""
        index = np.ones(self.capacity.shape) if self.price_index is None else self.price_index
        return self.tier_price[:, None, :] * index[:, :, None]

    @property
    def discount(self) -> np.ndarray:
        """Present-value factor of each year (year,) [-]: (1 + rate)^-(t − first year)."""
        return (1.0 + self.discount_rate) ** -(self.years - self.years[0]).astype(float)

    def counted_minimum(self) -> np.ndarray:
        """Smallest volume (supplier,) [t/yr] a buyer must take from each supplier in a
        year for the supplier to count towards ``min_suppliers``."""
        return np.maximum(self.min_order, self.min_volume_per_supplier)

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
            runs[name], name, share.variable, share.rows, alliance.metal, years, f"members[{i}]"
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
        min_volume_per_supplier=policy.min_volume_per_supplier,
        leftover_value=policy.leftover_value * alliance.usd_per_t,
        price_index=_price_index(alliance.suppliers, years),
        discount_rate=policy.discount_rate,
    )


def _price_index(suppliers: Sequence[Supplier], years: np.ndarray) -> np.ndarray | None:
    """The suppliers' price paths (supplier, year) [-]; None when no supplier has one."""
    if all(s.price_index is None for s in suppliers):
        return None
    return np.stack([values_at(s.price_index or 1.0, years) for s in suppliers])


def _run_series(
    dataset: xr.Dataset,
    scenario: str,
    variable: str,
    rows: tuple[str, list[str]],
    metal: str,
    years: np.ndarray,
    where: str,
) -> np.ndarray:
    """``variable`` of a run at ``metal`` and ``years``, summed over the labels of ``rows``
    (dim, labels) [t/yr], with errors that say what is there."""
    here = f"{where}.share_of_run"
    dim, labels = rows
    wanted = {dim, "metal", "year"}
    if variable not in dataset:
        msg = f"{here}.variable: run {scenario!r} has no {variable!r}; allowed: " + ", ".join(
            str(v) for v in dataset.data_vars if set(dataset[v].dims) == wanted
        )
        raise ProcurementError(msg)
    data = dataset[variable]
    if set(data.dims) != wanted:
        fitting = [str(v) for v in dataset.data_vars if set(dataset[v].dims) == wanted]
        msg = (
            f"{here}.variable: {variable!r} has dims {data.dims}; allowed: a variable with "
            f"dims ({dim}, metal, year)"
            + (" (a makers' scope run)" if dim == "maker" else "")
            + (f": {', '.join(fitting)}" if fitting else "")
        )
        raise ProcurementError(msg)
    for axis, asked in ((dim, labels), ("metal", [metal])):
        known = [str(v) for v in data[axis].values]
        for label in asked:
            if label not in known:
                msg = (
                    f"{here}: run {scenario!r} has no {axis} {label!r}; allowed: {', '.join(known)}"
                )
                raise ProcurementError(msg)
    missing = sorted(set(years.tolist()) - set(data["year"].values.tolist()))
    if missing:
        msg = (
            f"{here}: run {scenario!r} ends before the alliance years (missing {missing[0]}"
            f"-{missing[-1]}); allowed: years {int(data.year.min())}-{int(data.year.max())}"
        )
        raise ProcurementError(msg)
    picked = data.sel({dim: labels, "metal": metal, "year": years}).sum(dim)
    return picked.to_numpy().astype(float)


def _capacity(
    value: float | dict[int, float] | ProductionShare, metal: str, years: np.ndarray, where: str
) -> np.ndarray:
    """A supplier's capacity by year [t/yr]."""
    if not isinstance(value, ProductionShare):
        return values_at(value, years)
    tonnes = country_production(metal, value.year)
    if tonnes.empty:
        with_data = ", ".join(map(str, production_years(metal)))
        msg = (
            f"{where}.year: no {metal} mine production for {value.year} in "
            f"{DATASET_OF[metal]}; allowed: {with_data}"
        )
        raise ProcurementError(msg)
    if value.production_of not in tonnes.index:
        msg = (
            f"{where}.production_of: no {value.year} {metal} mine production for "
            f"{value.production_of!r} in {DATASET_OF[metal]}; allowed: "
            f"{', '.join(map(str, tonnes.index))}"
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


def buyer_name(instance: Instance, members: Sequence[int]) -> str:
    """'the alliance', 'member NAME alone' or 'coalition A + B'."""
    if len(members) == len(instance.members):
        return "the alliance"
    if len(members) == 1:
        return f"member {instance.members[members[0]]} alone"
    return "coalition " + " + ".join(instance.members[i] for i in members)
