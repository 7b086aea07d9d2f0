"""Dynamic stock engine: cohort stock models driven by inflow or by stock.

With the survival matrix ``S[t, c]`` of :mod:`evpath.survival` and inflow ``x[c]``
[vehicles/yr], the stock at the end of year t [vehicles] and the outflow [vehicles/yr]
are

    stock[t]   = sum_c S[t, c] x[c] + sum_a R[t, a] s0[a]
    outflow[t] = sum_c O[t, c] x[c] + sum_a Q[t, a] s0[a]

where ``O[t, c] = S[t-1, c] - S[t, c]`` (with ``S[c-1, c] = 1``: the cohort enters whole)
is the retirement matrix, ``s0[a]`` the optional initial stock by age at the end of the
year before the first model year, ``R[t, a]`` its conditional survival and
``Q[t, a] = R[t-1, a] - R[t, a]`` (with ``R[first - 1, a] = 1``). These give the balance

    stock[t] - stock[t-1] = inflow[t] - outflow[t],   stock[first - 1] = sum_a s0[a],

to rounding. The initial vehicles are cohorts before the first model year; they use the
lifetime parameters of the first model-year cohort, and
``R[t, a] = g(t - first + a + 1) / g(a)`` with ``g(m)`` the survival ``m`` whole years
after the entry year. Where ``g(a) = 0`` (the model says no vehicle reaches age ``a``),
the initial vehicles of that age all retire in the first model year.

Totals are matrix products over all series at once: every non-year dim of the inflow is
a column of one matrix, and a lifetime that varies by some dims adds a batch of
matrices. The (year, cohort, series) array is only built when ``by_cohort=True``.

Stock-driven models solve ``S x = stock - sum_a R s0`` (lower-triangular) for the
inflow ``x``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

import numpy as np
import xarray as xr

from evpath.core.alignment import exact_join, reorder
from evpath.core.messages import first_true, label
from evpath.core.tolerances import NEGATIVE_TOLERANCE
from evpath.errors import InputError, InvariantError
from evpath.model.lifetimes import LifetimeModel
from evpath.model.stock_inputs import (
    check_initial,
    check_series,
    check_shares,
    common_coords,
    series_dims,
)
from evpath.model.stock_matrices import (
    apply_by_cohort,
    apply_matrices,
    effective_survival,
    retirement,
    solve_lower,
)
from evpath.model.stock_results import NegativeInflow, NegativeInflowReport, StockResult
from evpath.model.survival import InflowAt, SurvivalArrays, check_inflow_at, survival_arrays

__all__ = [
    "NegativeInflow",
    "NegativeInflowReport",
    "StockResult",
    "inflow_driven",
    "stock_driven",
]


def inflow_driven(
    inflow: xr.DataArray,
    lifetime: LifetimeModel,
    *,
    inflow_at: InflowAt = "middle",
    initial_stock: xr.DataArray | None = None,
    by_cohort: bool = False,
) -> StockResult:
    """Stock and outflow from inflow and a lifetime model.

    ``stock[t] = sum_c S[t, c] inflow[c] + sum_a R[t, a] initial_stock[a]`` and
    ``outflow[t] = sum_c O[t, c] inflow[c] + sum_a Q[t, a] initial_stock[a]``, so that
    ``stock[t] - stock[t-1] = inflow[t] - outflow[t]`` (see the module docstring).

    Parameters
    ----------
    inflow : DataArray (year, ...) [vehicles/yr]
        New vehicles entering the stock; consecutive whole years, any other dims. The
        units attribute (default "vehicles/yr") must end in "/yr".
    lifetime : LifetimeModel
        Parameters broadcast against the inflow's other dims; a parameter dim the inflow
        lacks (e.g. ``draw``) is added to the outputs.
    inflow_at : {"start", "middle", "end"}, default "middle"
        When in its year the inflow enters.
    initial_stock : DataArray (age, ...) [vehicles], optional
        Stock by age at the end of the year before the first year (age 0 entered that
        year); ages 0, 1, 2, ...; must have every non-year dim of ``inflow``.
    by_cohort : bool, default False
        Also return stock and outflow by cohort.

    Returns
    -------
    StockResult
        ``stock`` has the unit of ``inflow`` without "/yr".

    Raises
    ------
    InputError
        If an argument is malformed (see the messages).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from evpath.model.survival import Fixed
    >>> x = xr.DataArray(np.ones(4), dims="year", coords={"year": range(2020, 2024)})
    >>> inflow_driven(x, Fixed(2.0)).stock.values
    array([1., 2., 2., 2.])
    """
    check_inflow_at(inflow_at)
    inflow, years, flow_unit = check_series(inflow, "inflow", flow=True)
    stock_unit = flow_unit[: -len("/yr")]
    arrays = {"inflow": inflow}
    if initial_stock is not None:
        arrays["initial_stock"] = check_initial(
            initial_stock, stock_unit, required=series_dims(inflow), allowed=lifetime.dims
        )
    coords = common_coords(arrays)
    arrays = {k: reorder(v, coords) for k, v in arrays.items()}
    initial = arrays.get("initial_stock")
    survival = survival_arrays(
        lifetime,
        years,
        inflow_at,
        lead_dims=series_dims(inflow),
        coords=coords,
        n_initial_ages=None if initial is None else initial.sizes["age"],
    )
    return _forward(arrays["inflow"], survival, initial, by_cohort, flow_unit, stock_unit)


def stock_driven(
    stock: xr.DataArray,
    lifetime: LifetimeModel,
    *,
    inflow_at: InflowAt = "middle",
    initial_stock: xr.DataArray | None = None,
    type_shares: xr.DataArray | None = None,
    type_dim: str | None = None,
    negative_inflow: NegativeInflow = "raise",
    by_cohort: bool = False,
) -> StockResult:
    """Inflow and outflow that make the stock follow a target.

    Solves the lower-triangular system ``S x = stock - sum_a R[:, a] initial_stock[a]``
    for the inflow ``x``, then runs :func:`inflow_driven` with it.

    With ``type_shares`` the inflow is split by type, ``x_p[c] = share_p[c] x[c]``, and
    ``x`` solves ``S_eff x = ...`` with ``S_eff[t, c] = sum_p share_p[c] S_p[t, c]``, where
    ``S_p`` is the survival of type ``p`` (the lifetime may vary by ``type_dim``).

    Parameters
    ----------
    stock : DataArray (year, ...) [vehicles]
        Target stock at the end of each year, >= 0; consecutive whole years. The units
        attribute (default "vehicles") must not end in "/yr".
    lifetime : LifetimeModel
        As in :func:`inflow_driven`; may vary by ``type_dim``.
    inflow_at : {"start", "middle", "end"}, default "middle"
    initial_stock : DataArray (age, ...) [vehicles], optional
        As in :func:`inflow_driven`; with ``type_shares`` it must have ``type_dim``.
    type_shares : DataArray (type_dim, year?, ...) [1], optional
        Shares of the inflow by type for each year, in [0, 1], summing to 1 over
        ``type_dim`` within 1e-9 (they are then rescaled to sum to 1 exactly).
    type_dim : str, optional
        Name of the type dim (e.g. "powertrain"); required with ``type_shares``.
    negative_inflow : {"raise", "allow", "zero"}, default "raise"
        What to do where the solved inflow is negative (the stock falls faster than the
        lifetime retires vehicles): raise :class:`InvariantError`, keep it, or set it to
        zero and let the stock exceed the target. The result reports it in each case.
        Values within ``-1e-12 * max |stock|`` of zero are rounding and are left alone.
    by_cohort : bool, default False
        Also return stock and outflow by cohort.

    Returns
    -------
    StockResult
        Flows have the unit of ``stock`` followed by "/yr"; ``negative_inflow`` is set.

    Raises
    ------
    InputError
        If an argument is malformed, or the lifetime retires a whole cohort within its
        entry year (then the stock does not determine the inflow).
    InvariantError
        If ``negative_inflow="raise"`` and some solved inflow is negative.
    """
    check_inflow_at(inflow_at)
    if negative_inflow not in get_args(NegativeInflow):
        allowed = ", ".join(repr(v) for v in get_args(NegativeInflow))
        msg = f"negative_inflow must be one of {allowed}; got {negative_inflow!r}."
        raise InputError(msg)
    target, years, stock_unit = check_series(stock, "stock", flow=False)
    flow_unit = f"{stock_unit}/yr"
    series = series_dims(target)
    arrays = {"stock": target}
    if type_shares is not None or type_dim is not None:
        arrays["type_shares"] = check_shares(type_shares, type_dim, target, years)
    if initial_stock is not None:
        required = series + ([] if type_dim is None else [type_dim])
        shares_dims = arrays["type_shares"].dims if type_dim else ()
        optional = lifetime.dims + tuple(str(d) for d in shares_dims)
        arrays["initial_stock"] = check_initial(
            initial_stock, stock_unit, required=required, allowed=optional
        )
    coords = common_coords(arrays)
    arrays = {k: reorder(v, coords) for k, v in arrays.items()}
    target = arrays["stock"]
    initial = arrays.get("initial_stock")
    shares = arrays.get("type_shares")
    lead = series + ([] if shares is None else [d for d in shares.dims if d not in series])
    survival = survival_arrays(
        lifetime,
        years,
        inflow_at,
        lead_dims=[str(d) for d in lead if d != "year"],
        coords=coords,
        n_initial_ages=None if initial is None else initial.sizes["age"],
    )
    rhs = target
    with exact_join():
        if initial is not None and survival.initial is not None:
            (remainder,) = apply_matrices(
                (survival.initial,),
                survival.dims,
                survival.coords,
                initial,
                "age",
                target.get_index("year"),
            )
            if type_dim is not None:
                remainder = remainder.sum(type_dim)
            rhs = target - remainder
        matrix, dims, mcoords = survival.survival, survival.dims, survival.coords
        if shares is not None and type_dim is not None and type_dim in dims:
            matrix, dims, mcoords = effective_survival(survival, shares, type_dim)
        tolerance = NEGATIVE_TOLERANCE * float(np.max(np.abs(target.values), initial=0.0))
        with np.errstate(over="ignore", invalid="ignore"):  # checked by _check_finite
            total, negative = solve_lower(
                matrix, dims, mcoords, rhs, tolerance, zero_negative=negative_inflow == "zero"
            )
        _check_finite("an inflow", total, flow_unit, target, stock_unit)
        order = ["year", *series]
        total = total.transpose(*order, ...)
        negative = negative.transpose(*order, ...)
        if negative_inflow == "raise" and bool((negative < 0).any()):
            raise InvariantError(_negative_message(negative, flow_unit))
        inflow = total
        if shares is not None and type_dim is not None:
            inflow = (total * shares).transpose(*order, type_dim, ...)
    inflow.attrs["units"] = flow_unit
    with np.errstate(over="ignore", invalid="ignore"):
        result = _forward(inflow, survival, initial, by_cohort, flow_unit, stock_unit)
    _check_finite("an outflow", result.outflow, flow_unit, target, stock_unit)
    _check_finite("a stock", result.stock, stock_unit, target, stock_unit)
    excess = None
    if negative_inflow == "zero":
        achieved = result.stock.sum(type_dim) if type_dim is not None else result.stock
        with exact_join():
            excess = (achieved - target).transpose(*order, ...)
        excess.attrs["units"] = stock_unit
    negative.attrs["units"] = flow_unit
    report = NegativeInflowReport(handling=negative_inflow, negative=negative, stock_excess=excess)
    return StockResult(
        inflow=result.inflow,
        stock=result.stock,
        outflow=result.outflow,
        stock_by_cohort=result.stock_by_cohort,
        outflow_by_cohort=result.outflow_by_cohort,
        stock_from_initial=result.stock_from_initial,
        outflow_from_initial=result.outflow_from_initial,
        negative_inflow=report,
    )


def _forward(
    inflow: xr.DataArray,
    survival: SurvivalArrays,
    initial: xr.DataArray | None,
    by_cohort: bool,
    flow_unit: str,
    stock_unit: str,
) -> StockResult:
    """Stock and outflow from inflow (year, ...) with precomputed survival matrices."""
    years = inflow.get_index("year")
    order = ["year", *series_dims(inflow)]
    cohort_order = ["year", "cohort", *order[1:]]
    s, dims, coords = survival.survival, survival.dims, survival.coords
    retire = retirement(s, enters_on_diagonal=True)
    stock, outflow = apply_matrices((s, retire), dims, coords, inflow, "year", years)
    # by cohort: the model cohorts, preceded by those of the initial stock if any (the
    # inflow is renamed only then: for small cases that costs more than the products)
    cohort_matrices = (s, retire)
    cohort_inflow = inflow.rename(year="cohort") if by_cohort else inflow
    from_initial = outflow_initial = None
    if initial is not None and survival.initial is not None:
        r = survival.initial
        q = retirement(r, enters_on_diagonal=False)
        from_initial, outflow_initial = apply_matrices((r, q), dims, coords, initial, "age", years)
        with exact_join():
            stock = stock + from_initial
            outflow = outflow + outflow_initial
        from_initial = _finish(from_initial, order, stock_unit)
        outflow_initial = _finish(outflow_initial, order, flow_unit)
        if by_cohort:
            cohort_matrices = (_oldest_first(r, s), _oldest_first(q, retire))
            cohort_inflow = _with_initial_cohorts(initial, cohort_inflow, int(years[0]))
    stock_by_cohort = outflow_by_cohort = None
    if by_cohort:
        stock_by_cohort, outflow_by_cohort = (
            apply_by_cohort(matrix, dims, coords, cohort_inflow, "cohort", years)
            for matrix in cohort_matrices
        )
    flow = inflow.copy(deep=False)
    flow.attrs = {**inflow.attrs, "units": flow_unit}
    return StockResult(
        inflow=flow,
        stock=_finish(stock, order, stock_unit),
        outflow=_finish(outflow, order, flow_unit),
        stock_by_cohort=(
            None if stock_by_cohort is None else _finish(stock_by_cohort, cohort_order, stock_unit)
        ),
        outflow_by_cohort=(
            None
            if outflow_by_cohort is None
            else _finish(outflow_by_cohort, cohort_order, flow_unit)
        ),
        stock_from_initial=from_initial,
        outflow_from_initial=outflow_initial,
    )


def _oldest_first(by_age: np.ndarray, by_cohort: np.ndarray) -> np.ndarray:
    """The columns of a matrix over the initial stock's ages (*mdims, year, age), oldest
    age first, followed by those of a matrix over the model cohorts (*mdims, year, cohort)."""
    return np.concatenate([by_age[..., ::-1], by_cohort], axis=-1)


def _with_initial_cohorts(
    initial: xr.DataArray, inflow: xr.DataArray, first_year: int
) -> xr.DataArray:
    """The initial stock by age (age, ...) as the cohorts it entered in
    (``cohort = first year - 1 - age``, oldest first), followed by the model's inflow
    (cohort, ...): the columns :func:`_oldest_first` matrices apply to."""
    ages = np.asarray(initial.get_index("age"))
    old = initial.rename(age="cohort").assign_coords(cohort=first_year - 1 - ages)
    old, new = xr.broadcast(old.isel(cohort=slice(None, None, -1)), inflow, exclude=["cohort"])
    return xr.concat([old, new], dim="cohort")


def _finish(da: xr.DataArray, order: Sequence[str], unit: str) -> xr.DataArray:
    """Transpose to ``order`` followed by any remaining dims and set the unit."""
    out = da if list(da.dims[: len(order)]) == list(order) else da.transpose(*order, ...)
    out.attrs = {"units": unit}
    return out


def _check_finite(
    what: str, flow: xr.DataArray, unit: str, target: xr.DataArray, stock_unit: str
) -> None:
    """Raise InputError at the first non-finite cell of a solved array [``unit``].

    The stock check bounds the target, but a lifetime that keeps almost nothing of a
    cohort to the end of its entry year divides it by almost 0.
    """
    values = flow.values
    if np.isfinite(values).all():
        return
    cell = first_true(flow.copy(deep=False, data=~np.isfinite(values)))
    own = {d: v for d, v in cell.coords.items() if d in target.dims}
    rest = ", ".join(f"{d}={label(v)}" for d, v in cell.coords.items() if d not in own)
    at = ", ".join(f"{d}={label(v)}" for d, v in own.items())
    msg = (
        f"stock at {at} ({float(target.sel(own).values)!r} {stock_unit}) needs {what} of "
        f"{float(values[cell.position])!r} {unit}{f' at {rest}' if rest else ''} "
        "under this lifetime, which is not a finite number; allowed: a target stock and "
        "lifetime whose solved inflow and outflow stay finite (e.g. a lifetime that keeps "
        "more of each cohort to the end of its entry year)."
    )
    raise InputError(msg)


def _negative_message(negative: xr.DataArray, unit: str) -> str:
    """Message naming the first year and series with negative inflow."""
    values = negative.values
    cell = first_true(negative < 0)
    year = label(cell.coords["year"])
    series = cell.describe(exclude=("year",)) or "the only series"
    count = int((values < 0).sum())
    return (
        f"stock_driven: the solved inflow is negative ({values[cell.position]:.6g} {unit}) in "
        f"{year} for {series} ({count} year-series cell(s) in all): the target stock falls "
        "faster than the lifetime retires vehicles. Pass negative_inflow='allow' to keep "
        "negative inflow, or negative_inflow='zero' to set it to zero and let the stock "
        "exceed the target."
    )
