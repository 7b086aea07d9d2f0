"""Fleet stage: the car stock by vintage from new sales, lifetimes and the initial stock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.special import gamma

from evpath.core.alignment import exact_dataset, exactly_aligned
from evpath.core.dims import DRAW, POWERTRAINS
from evpath.core.drawn import Value, is_drawn, labelled_array, path_array
from evpath.core.paths import survival_table
from evpath.core.variables import catalogue
from evpath.errors import InvariantError
from evpath.model import lifetimes, survival
from evpath.model import stock as stock_engine
from evpath.scenario.schema import InitialStock, Lifetime, Scenario


def lifetime_model(spec: Lifetime, cohorts: np.ndarray) -> lifetimes.LifetimeModel:
    """The survival model of a scenario's lifetime block; paths (and the mean's trend,
    :func:`mean_by_cohort`) become (cohort) arrays."""

    def param(value: Value | Mapping[int, Value] | None) -> Value:
        if isinstance(value, Mapping):
            return path_array(value, cohorts, "cohort")
        assert value is not None
        return value if is_drawn(value) else float(value)

    if spec.model == "empirical":
        assert spec.survival is not None
        table = survival_table(spec.survival)
        return lifetimes.Empirical(
            survival=xr.DataArray(table, coords={"age": np.arange(table.size)})
        )
    if spec.model == "weibull":
        shape = param(spec.shape)
        scale = (
            param(spec.scale)
            if spec.mean is None
            else mean_by_cohort(spec, cohorts) / gamma(1 + 1 / shape)
        )
        return lifetimes.Weibull(shape=shape, scale=scale)
    mean = mean_by_cohort(spec, cohorts)
    if spec.model == "fixed":
        return lifetimes.Fixed(mean=mean)
    kinds: dict[str, type[lifetimes.Normal | lifetimes.FoldedNormal | lifetimes.LogNormal]] = {
        "normal": lifetimes.Normal,
        "folded_normal": lifetimes.FoldedNormal,
        "lognormal": lifetimes.LogNormal,
    }
    return kinds[spec.model](mean=mean, std=param(spec.std))


def mean_by_cohort(spec: Lifetime, cohorts: np.ndarray) -> Value:
    """The mean lifetime of a scenario's lifetime block [years]: a number, or (cohort[, draw])
    for a path, linear between its cohorts and flat before the first. After the last cohort
    L the path stays flat, or with ``mean_trend`` follows
    mean(L) + slope · (min(c, through) − L) and stays flat after ``through``."""
    value = spec.mean
    assert value is not None
    if not isinstance(value, Mapping):
        return value if is_drawn(value) else float(value)
    path = path_array(value, cohorts, "cohort")
    trend = spec.mean_trend
    if trend is None:
        return path
    last = max(value)
    years_on = np.clip(cohorts, last, max(last, trend.through)) - last
    slope = trend.slope if is_drawn(trend.slope) else float(trend.slope)
    return path + slope * xr.DataArray(years_on.astype(float), coords={"cohort": cohorts})


def initial_stock_by_age(
    first_sales: xr.DataArray, total: float | None, spec: InitialStock, lifetime: Lifetime
) -> xr.DataArray:
    """Stock by age and powertrain at the end of the year before the first model year.

    stock(age) = sales(start) · (1 + g)^(−(age + 1)) · S(age), with S the survival of the
    first model cohort and g the past sales growth; rescaled to ``total`` when given.

    Parameters
    ----------
    first_sales : DataArray (region) [vehicles/yr]
        Sales of the first model year, all powertrains.
    total : float or None [vehicles]
    spec : InitialStock
    lifetime : Lifetime

    Returns
    -------
    DataArray (age, region, powertrain) [vehicles]
    """
    first_year = int(first_sales.year)
    ages = np.arange(spec.max_age + 1)
    first = _at_cohort(lifetime_model(lifetime, np.array([first_year])), first_year)
    years = first_year + ages
    curve = survival.survival_matrix(first, years, inflow_at=lifetime.inflow_at)
    at_age = curve.sel(cohort=first_year, drop=True).sel(year=years)
    at_age = at_age.assign_coords(year=ages).rename(year="age")
    growth = (1.0 + spec.past_sales_growth) ** (-(xr.DataArray(ages, coords={"age": ages}) + 1.0))
    by_age = first_sales.drop_vars("year") * growth * at_age
    if total is not None:
        by_age = by_age * (total / by_age.sum("age"))
    shares = labelled_array(
        [spec.powertrain_shares.get(p, 0.0) for p in POWERTRAINS], "powertrain", POWERTRAINS
    )
    return (by_age * shares).transpose("age", ...).assign_attrs(units=catalogue()["stock"].unit)


def _at_cohort(model: lifetimes.LifetimeModel, cohort: int) -> lifetimes.LifetimeModel:
    """The same model with every (cohort) parameter taken at one cohort (numbers, or one
    number per ensemble member)."""
    values = {
        name: _scalar_unless_drawn(value.sel(cohort=cohort, drop=True))
        if isinstance(value, xr.DataArray) and "cohort" in value.dims
        else value
        for name, value in vars(model).items()
    }
    return type(model)(**values)


def _scalar_unless_drawn(value: xr.DataArray) -> Value:
    return value if value.ndim else float(value)


@dataclass(frozen=True)
class FleetResult:
    """The fleet by segment, region, powertrain and year.

    Attributes
    ----------
    stock, outflow : DataArray (region, segment, powertrain, year) [vehicles], [vehicles/yr]
    stock_by_cohort, outflow_by_cohort : DataArray (…, cohort) [vehicles], [vehicles/yr]
    average_age : DataArray (region, segment, year) [years]
    initial_stock : DataArray (region, segment, powertrain) [vehicles]
        Stock at the end of the year before the first model year.
    entry_age : DataArray (segment) [years]
        Age of a car at the end of the year it is sold (from each segment's ``inflow_at``).
    mean_lifetime : DataArray (segment, cohort) [years]
        Expected years a car of each cohort spends in the fleet.
    """

    stock: xr.DataArray
    outflow: xr.DataArray
    stock_by_cohort: xr.DataArray
    outflow_by_cohort: xr.DataArray
    average_age: xr.DataArray
    initial_stock: xr.DataArray
    entry_age: xr.DataArray
    mean_lifetime: xr.DataArray

    @property
    def segments(self) -> list[str]:
        return [str(s) for s in self.stock.segment.values]


@exactly_aligned
def fleet_stock(scenario: Scenario, sales: xr.DataArray) -> FleetResult:
    """Stock, outflow, stock by cohort and average age of the fleet, per segment.

    Parameters
    ----------
    scenario : Scenario
    sales : DataArray (region, segment, powertrain, year) [vehicles/yr]
    """
    years = sales.year.values
    segments = sales.segment
    specs = [
        scenario.fleet.lifetime_by_segment.get(str(s), scenario.fleet.lifetime)
        for s in segments.values
    ]
    per_segment = []
    for segment, spec in zip(segments.values, specs, strict=True):
        model = lifetime_model(spec, years)
        totals = scenario.fleet.initial_stock.total
        inflow = sales.sel(segment=segment)
        initial = initial_stock_by_age(
            inflow.isel(year=0).sum("powertrain"),
            None if totals is None else totals[str(segment)],
            scenario.fleet.initial_stock,
            spec,
        )
        if DRAW in initial.dims and DRAW not in inflow.dims:
            inflow = inflow.broadcast_like(initial[DRAW])
        result = stock_engine.inflow_driven(
            inflow, model, inflow_at=spec.inflow_at, initial_stock=initial, by_cohort=True
        )
        if result.stock_by_cohort is None or result.outflow_by_cohort is None:
            msg = "the stock engine returned no cohort arrays though asked for them"
            raise InvariantError(msg)
        per_segment.append(
            exact_dataset(
                {
                    "stock": result.stock,
                    "outflow": result.outflow,
                    "stock_by_cohort": _contraction_layout(result.stock_by_cohort),
                    "outflow_by_cohort": _contraction_layout(result.outflow_by_cohort),
                    "average_age": average_age(result.stock_by_cohort, spec.inflow_at),
                    "initial_stock": initial.sum("age"),
                }
            )
        )
    fleet = xr.concat(per_segment, dim=segments)
    cohorts = fleet.stock_by_cohort.cohort.values
    return FleetResult(
        **{str(name): array for name, array in fleet.data_vars.items()},
        entry_age=xr.DataArray(
            [survival.INFLOW_AT_AGE_OFFSET[spec.inflow_at] for spec in specs],
            coords={"segment": segments.values},
        ),
        mean_lifetime=xr.concat(
            [expected_years_in_fleet(spec, cohorts) for spec in specs], dim=segments
        ),
    )


def _contraction_layout(by_cohort: xr.DataArray) -> xr.DataArray:
    """``by_cohort`` with its dims shown in the order the stock engine lays it out:
    ``draw`` first, then ``region`` and ``powertrain``, ``year`` and ``cohort`` last.
    The sums over cohorts by powertrain (energy, vehicle-cycle emissions, battery
    capacity; :func:`evpath.core.contraction.dot`) read it as stored, without a
    transposed copy."""
    return by_cohort.transpose(DRAW, ..., "year", "cohort", missing_dims="ignore")


def expected_years_in_fleet(spec: Lifetime, cohorts: np.ndarray) -> xr.DataArray:
    """Mean lifetime of each cohort (cohort) [years], from the lifetime distribution."""
    mean = lifetime_model(spec, cohorts).mean_lifetime()
    return xr.DataArray(np.zeros(len(cohorts)), coords={"cohort": cohorts}) + mean


def average_age(stock_by_cohort: xr.DataArray, inflow_at: str) -> xr.DataArray:
    """Mean age of the stock over all powertrains at the end of each year [years].

    A car of cohort c is t − c + offset years old at the end of year t, with offset = 1,
    1/2 or 0 for inflow at the start, middle or end of its year.
    """
    age = stock_by_cohort.year - stock_by_cohort.cohort + survival.INFLOW_AT_AGE_OFFSET[inflow_at]
    cars = stock_by_cohort.sum("powertrain", skipna=False)
    return (cars * age).sum("cohort", skipna=False) / cars.sum("cohort", skipna=False)
