"""Fleet stage: the car stock by vintage from new sales, lifetimes and the initial stock."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.special import gamma

from evpath import stock as stock_engine
from evpath import survival
from evpath.model.sales import interpolate_path
from evpath.scenario.schema import POWERTRAINS, InitialStock, Lifetime, Scenario


def lifetime_model(spec: Lifetime, cohorts: np.ndarray) -> survival.LifetimeModel:
    """The survival model of a scenario's lifetime block; paths become (cohort) arrays."""

    def param(value: float | dict[int, float] | None) -> float | xr.DataArray:
        if isinstance(value, dict):
            return xr.DataArray(interpolate_path(value, cohorts), coords={"cohort": cohorts})
        assert value is not None
        return float(value)

    if spec.model == "fixed":
        return survival.Fixed(mean=param(spec.mean))
    if spec.model == "weibull":
        shape = param(spec.shape)
        scale = param(spec.scale) if spec.scale is not None else param(spec.mean) / gamma(1 + 1 / shape)
        return survival.Weibull(shape=shape, scale=scale)
    kinds = {"normal": survival.Normal, "folded_normal": survival.FoldedNormal,
             "lognormal": survival.LogNormal}
    return kinds[spec.model](mean=param(spec.mean), std=param(spec.std))


def initial_stock_by_age(
    total: float, spec: InitialStock, lifetime: Lifetime, first_year: int
) -> xr.DataArray:
    """Stock by age and powertrain at the end of ``first_year − 1`` [vehicles].

    stock(age) = total · w(age) / Σ w,  w(age) = (1 + g)^(−age) · S(age), where S is the
    survival of the first model cohort's lifetime and g the past sales growth.
    """
    ages = np.arange(spec.max_age + 1)
    first = lifetime_model(lifetime, np.array([first_year]))
    first = _at_cohort(first, first_year)
    years = np.arange(first_year, first_year + spec.max_age + 1)
    curve = survival.survival_matrix(first, years, inflow_at=lifetime.inflow_at)
    at_age = curve.sel(cohort=first_year, year=years).to_numpy()
    weights = (1.0 + spec.past_sales_growth) ** (-ages) * at_age
    profile = xr.DataArray(weights / weights.sum(), coords={"age": ages})
    shares = xr.DataArray(
        [spec.powertrain_shares.get(p, 0.0) for p in POWERTRAINS],
        coords={"powertrain": list(POWERTRAINS)},
    )
    result = total * profile * shares
    result.attrs["units"] = "vehicles"
    return result


def _at_cohort(model: survival.LifetimeModel, cohort: int) -> survival.LifetimeModel:
    """The same model with every (cohort) parameter taken at one cohort, as scalars."""
    values = {
        name: float(value.sel(cohort=cohort)) if isinstance(value, xr.DataArray) else value
        for name, value in vars(model).items()
    }
    return type(model)(**values)


def fleet_stock(scenario: Scenario, sales: xr.DataArray) -> xr.Dataset:
    """Stock, outflow and stock by cohort (region, segment, powertrain, year[, cohort]).

    Parameters
    ----------
    scenario : Scenario
    sales : DataArray (region, segment, powertrain, year) [vehicles/yr]
    """
    years = sales.year.values
    per_segment = []
    for segment in sales.segment.values:
        spec = scenario.fleet.lifetime_by_segment.get(str(segment), scenario.fleet.lifetime)
        model = lifetime_model(spec, years)
        initial = initial_stock_by_age(
            scenario.fleet.initial_stock.total[str(segment)],
            scenario.fleet.initial_stock,
            spec,
            int(years[0]),
        )
        inflow = sales.sel(segment=segment)
        result = stock_engine.inflow_driven(
            inflow,
            model,
            inflow_at=spec.inflow_at,
            initial_stock=initial.expand_dims(region=inflow.region.values),
            by_cohort=True,
        )
        per_segment.append(
            xr.Dataset({
                "stock": result.stock,
                "outflow": result.outflow,
                "stock_by_cohort": result.stock_by_cohort,
                "stock_from_initial": result.stock_from_initial,
            })
        )
    return xr.concat(per_segment, dim=sales.segment)
