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

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from math import prod
from typing import Literal, get_args

import numpy as np
import pandas as pd
import xarray as xr
from scipy.linalg import solve_triangular

from evpath.core.tolerances import ENGINE_SHARE_TOLERANCE, NEGATIVE_TOLERANCE
from evpath.errors import InputError, InvariantError
from evpath.model.survival import (
    RESERVED_DIMS,
    InflowAt,
    LifetimeModel,
    SurvivalArrays,
    check_inflow_at,
    check_years,
    label,
    labels,
    survival_arrays,
    where,
)

NegativeInflow = Literal["raise", "allow", "zero"]
"""How :func:`stock_driven` handles a negative solved inflow."""


@dataclass(frozen=True, eq=False)
class NegativeInflowReport:
    """Where a stock-driven model found negative inflow, and what was done.

    Attributes
    ----------
    handling : {"raise", "allow", "zero"}
        The ``negative_inflow`` choice: "allow" kept the negative values, "zero" set them
        to zero (the stock then exceeds the target).
    negative : DataArray (year, ...) [vehicles/yr]
        The solved inflow where it was negative (before handling), 0 elsewhere.
    stock_excess : DataArray (year, ...) [vehicles] or None
        Achieved stock minus target stock, for "zero"; None otherwise.
    """

    handling: NegativeInflow
    negative: xr.DataArray
    stock_excess: xr.DataArray | None

    @property
    def found(self) -> bool:
        """True if any year and series had negative inflow."""
        return bool((self.negative < 0).any())

    @property
    def years(self) -> tuple[int, ...]:
        """Years with negative inflow in at least one series."""
        other = [d for d in self.negative.dims if d != "year"]
        hit = (self.negative < 0).any(other) if other else self.negative < 0
        return tuple(int(y) for y in self.negative["year"].values[hit.values])

    def to_frame(self) -> pd.DataFrame:
        """One row per year and series with negative inflow.

        Returns
        -------
        DataFrame
            Columns: the dims of ``negative`` and ``inflow`` [vehicles/yr].
        """
        frame = self.negative.rename("inflow").to_dataframe().reset_index()
        return frame[frame["inflow"] < 0].reset_index(drop=True)

    def __str__(self) -> str:
        if not self.found:
            return "no negative inflow"
        action = {"allow": "kept", "zero": "set to zero", "raise": "raised"}[self.handling]
        count = int((self.negative < 0).sum())
        return f"negative inflow in {count} year-series cell(s), years {list(self.years)}; {action}"


@dataclass(frozen=True, eq=False)
class StockResult:
    """Flows and stock of a dynamic stock model.

    Attributes
    ----------
    inflow : DataArray (year, ...) [vehicles/yr]
    stock : DataArray (year, ...) [vehicles]
        At the end of each year.
    outflow : DataArray (year, ...) [vehicles/yr]
    stock_by_cohort : DataArray (year, cohort, ...) [vehicles] or None
        Only with ``by_cohort=True``. Cohorts before the first model year are the
        initial stock (cohort = first year - 1 - age).
    outflow_by_cohort : DataArray (year, cohort, ...) [vehicles/yr] or None
        Only with ``by_cohort=True``.
    stock_from_initial : DataArray (year, ...) [vehicles] or None
        Part of ``stock`` that is left of the initial stock; only with an initial stock.
    outflow_from_initial : DataArray (year, ...) [vehicles/yr] or None
        Part of ``outflow`` from the initial stock; only with an initial stock.
    negative_inflow : NegativeInflowReport or None
        Only for :func:`stock_driven`.
    """

    inflow: xr.DataArray
    stock: xr.DataArray
    outflow: xr.DataArray
    stock_by_cohort: xr.DataArray | None = None
    outflow_by_cohort: xr.DataArray | None = None
    stock_from_initial: xr.DataArray | None = None
    outflow_from_initial: xr.DataArray | None = None
    negative_inflow: NegativeInflowReport | None = None

    def to_dataset(self) -> xr.Dataset:
        """All arrays in one Dataset.

        Returns
        -------
        Dataset
            Variables ``inflow``, ``stock``, ``outflow`` and, when present,
            ``stock_by_cohort``, ``outflow_by_cohort``, ``stock_from_initial``,
            ``outflow_from_initial``, ``negative_inflow`` and ``stock_excess``; attribute
            ``negative_inflow_handling`` for stock-driven results.
        """
        names = (
            "inflow",
            "stock",
            "outflow",
            "stock_by_cohort",
            "outflow_by_cohort",
            "stock_from_initial",
            "outflow_from_initial",
        )
        data = {n: getattr(self, n) for n in names if getattr(self, n) is not None}
        attrs: dict[str, str] = {}
        if self.negative_inflow is not None:
            data["negative_inflow"] = self.negative_inflow.negative
            if self.negative_inflow.stock_excess is not None:
                data["stock_excess"] = self.negative_inflow.stock_excess
            attrs["negative_inflow_handling"] = self.negative_inflow.handling
        return xr.Dataset(data, attrs=attrs)


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
    inflow, years, flow_unit = _check_series(inflow, "inflow", flow=True)
    stock_unit = flow_unit[: -len("/yr")]
    arrays = {"inflow": inflow}
    if initial_stock is not None:
        arrays["initial_stock"] = _check_initial(
            initial_stock, stock_unit, required=_series_dims(inflow), allowed=lifetime.dims
        )
    coords = _common_coords(arrays)
    arrays = {k: _reorder(v, coords) for k, v in arrays.items()}
    initial = arrays.get("initial_stock")
    survival = survival_arrays(
        lifetime,
        years,
        inflow_at,
        lead_dims=_series_dims(inflow),
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
    target, years, stock_unit = _check_series(stock, "stock", flow=False)
    flow_unit = f"{stock_unit}/yr"
    series = _series_dims(target)
    arrays = {"stock": target}
    if type_shares is not None or type_dim is not None:
        arrays["type_shares"] = _check_shares(type_shares, type_dim, target, years)
    if initial_stock is not None:
        required = series + ([] if type_dim is None else [type_dim])
        allowed = lifetime.dims + tuple(arrays["type_shares"].dims if type_dim else ())
        arrays["initial_stock"] = _check_initial(
            initial_stock, stock_unit, required=required, allowed=allowed
        )
    coords = _common_coords(arrays)
    arrays = {k: _reorder(v, coords) for k, v in arrays.items()}
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
    with xr.set_options(arithmetic_join="exact"):
        if initial is not None:
            remainder = _apply(
                survival.initial,
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
            matrix, dims, mcoords = _effective_survival(survival, shares, type_dim)
        tolerance = NEGATIVE_TOLERANCE * float(np.max(np.abs(target.values), initial=0.0))
        total, negative = _solve(matrix, dims, mcoords, rhs, negative_inflow, tolerance)
        order = ["year", *series]
        total = total.transpose(*order, ...)
        negative = negative.transpose(*order, ...)
        if negative_inflow == "raise" and bool((negative < 0).any()):
            raise InvariantError(_negative_message(negative, flow_unit))
        inflow = total
        if shares is not None and type_dim is not None:
            inflow = (total * shares).transpose(*order, type_dim, ...)
    inflow.attrs["units"] = flow_unit
    result = _forward(inflow, survival, initial, by_cohort, flow_unit, stock_unit)
    excess = None
    if negative_inflow == "zero":
        achieved = result.stock.sum(type_dim) if type_dim is not None else result.stock
        with xr.set_options(arithmetic_join="exact"):
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


def _series_dims(da: xr.DataArray) -> list[str]:
    """Non-year dims of a (year, ...) input."""
    return [str(d) for d in da.dims if d != "year"]


def _check_series(da: object, name: str, *, flow: bool) -> tuple[xr.DataArray, np.ndarray, str]:
    """Validate a (year, ...) input; return it year-first, its years and its unit."""
    if not isinstance(da, xr.DataArray):
        msg = f"{name} must be an xarray DataArray with a 'year' dim; got {type(da).__name__}."
        raise InputError(msg)
    if "year" not in da.dims:
        msg = f"{name} must have a 'year' dim; got dims {da.dims}."
        raise InputError(msg)
    reserved = [d for d in da.dims if d in RESERVED_DIMS and d != "year"]
    if reserved:
        msg = (
            f"{name} has dim(s) {reserved}, which the stock engine reserves; allowed: "
            f"'year' and dims other than {list(RESERVED_DIMS)}."
        )
        raise InputError(msg)
    if flow:
        _check_values(da, name, allowed="finite numbers")
    else:
        _check_values(da, name, allowed="finite numbers >= 0", minimum=0.0)
    years = check_years(da.get_index("year"), name=f"{name} 'year' labels")
    default = "vehicles/yr" if flow else "vehicles"
    unit = str(da.attrs.get("units", default))
    if flow and not unit.endswith("/yr"):
        msg = (
            f"{name} has units {unit!r}; allowed: a flow unit ending in '/yr', e.g. 'vehicles/yr'."
        )
        raise InputError(msg)
    if not flow and unit.endswith("/yr"):
        msg = (
            f"{name} has units {unit!r}; allowed: a stock unit not ending in '/yr', "
            "e.g. 'vehicles'."
        )
        raise InputError(msg)
    return da.transpose("year", ...), years, unit


def _check_values(
    da: xr.DataArray,
    name: str,
    *,
    allowed: str,
    minimum: float | None = None,
    maximum: float | None = None,
) -> None:
    """Raise InputError at the first non-numeric, non-finite or out-of-range value."""
    if not np.issubdtype(da.dtype, np.number) or np.issubdtype(da.dtype, np.bool_):
        msg = f"{name} must hold numbers; got dtype {da.dtype}."
        raise InputError(msg)
    values = da.values
    bad = ~np.isfinite(values)
    if minimum is not None:
        bad |= values < minimum
    if maximum is not None:
        bad |= values > maximum
    if np.any(bad):
        i = int(np.flatnonzero(bad.ravel())[0])
        msg = f"{name} has {float(values.ravel()[i])!r}{where(da, i)}; allowed: {allowed}."
        raise InputError(msg)


def _check_initial(
    initial: object, stock_unit: str, *, required: Sequence[str], allowed: Sequence[str]
) -> xr.DataArray:
    """Validate an initial stock by age; return it age-first."""
    name = "initial_stock"
    if not isinstance(initial, xr.DataArray) or "age" not in initial.dims:
        got = (
            f"dims {initial.dims}" if isinstance(initial, xr.DataArray) else type(initial).__name__
        )
        msg = f"{name} must be a DataArray with an 'age' dim (ages 0, 1, 2, ...); got {got}."
        raise InputError(msg)
    other = [str(d) for d in initial.dims if d != "age"]
    missing = [d for d in required if d not in other]
    extra = [d for d in other if d not in required and d not in allowed]
    if missing or extra or any(d in RESERVED_DIMS for d in other):
        msg = (
            f"{name} has dims {initial.dims}; allowed: 'age', every one of {list(required)}, "
            f"and optionally dims the lifetime varies by {list(allowed)}"
            f"{f' (missing {missing})' if missing else ''}{f' (extra {extra})' if extra else ''}."
        )
        raise InputError(msg)
    ages = np.asarray(initial.get_index("age"))
    if not np.array_equal(ages, np.arange(initial.sizes["age"])):
        msg = (
            f"{name} has age labels {labels(ages)}; "
            "allowed: consecutive whole ages 0, 1, 2, ... in increasing order."
        )
        raise InputError(msg)
    _check_values(initial, name, allowed="finite numbers >= 0", minimum=0.0)
    unit = initial.attrs.get("units")
    if unit is not None and unit != stock_unit:
        msg = f"{name} has units {unit!r}; allowed: the stock unit {stock_unit!r}."
        raise InputError(msg)
    return initial.transpose("age", ...)


def _check_shares(
    shares: object, type_dim: object, target: xr.DataArray, years: np.ndarray
) -> xr.DataArray:
    """Validate inflow shares by type; return them rescaled to sum to exactly 1."""
    if shares is None or type_dim is None:
        msg = (
            "type_shares and type_dim go together; got type_shares="
            f"{'None' if shares is None else 'a ' + type(shares).__name__} and "
            f"type_dim={type_dim!r}."
        )
        raise InputError(msg)
    if not isinstance(shares, xr.DataArray):
        msg = f"type_shares must be an xarray DataArray; got {type(shares).__name__}."
        raise InputError(msg)
    if not isinstance(type_dim, str) or type_dim not in shares.dims:
        msg = f"type_dim must name a dim of type_shares {shares.dims}; got {type_dim!r}."
        raise InputError(msg)
    if type_dim in target.dims:
        msg = (
            f"stock has the type dim {type_dim!r}; allowed: a total stock without it, the "
            "split by type comes from type_shares."
        )
        raise InputError(msg)
    reserved = [d for d in shares.dims if d in RESERVED_DIMS and d != "year"]
    if reserved:
        msg = f"type_shares has dim(s) {reserved}; allowed: {type_dim!r}, 'year' and other dims."
        raise InputError(msg)
    _check_values(
        shares, "type_shares", allowed="fractions within [0, 1]", minimum=0.0, maximum=1.0
    )
    if "year" in shares.dims:
        own = shares.get_index("year")
        if len(own) != len(years) or set(own) != set(years.tolist()):
            msg = (
                f"type_shares has years {label(own[0])}-{label(own[-1])} ({len(own)} labels); "
                "allowed: "
                f"exactly the stock years {years[0]}-{years[-1]}."
            )
            raise InputError(msg)
        shares = shares.sel(year=years)
    total = shares.sum(type_dim)
    off = np.abs(total.values - 1.0) > ENGINE_SHARE_TOLERANCE
    if np.any(off):
        i = int(np.flatnonzero(off.ravel())[0])
        msg = (
            f"type_shares sum to {float(total.values.ravel()[i])!r} over {type_dim!r}"
            f"{where(total, i)}; allowed: 1 within {ENGINE_SHARE_TOLERANCE:g}."
        )
        raise InputError(msg)
    return shares / total


def _common_coords(arrays: Mapping[str, xr.DataArray]) -> dict[str, pd.Index]:
    """Labels of every non-reserved dim, checked to be the same set across the inputs."""
    coords: dict[str, pd.Index] = {}
    owner: dict[str, str] = {}
    for name, da in arrays.items():
        for d in da.dims:
            if d in RESERVED_DIMS:
                continue
            own = da.get_index(d)
            if own.has_duplicates:
                msg = f"{name} has repeated {d} labels; allowed: unique labels."
                raise InputError(msg)
            if d not in coords:
                coords[str(d)] = own
                owner[str(d)] = name
            elif not own.equals(coords[str(d)]) and set(own) != set(coords[str(d)]):
                missing = labels([x for x in coords[str(d)] if x not in set(own)])
                extra = labels([x for x in own if x not in set(coords[str(d)])])
                msg = (
                    f"{name} has {d} labels that differ from those of {owner[str(d)]}: "
                    f"missing {missing}, extra {extra}; allowed: the same labels in any order."
                )
                raise InputError(msg)
    return coords


def _reorder(da: xr.DataArray, coords: Mapping[str, pd.Index]) -> xr.DataArray:
    """Put the labels of ``da`` in the order of ``coords``."""
    for d in da.dims:
        if d in coords and not da.get_index(d).equals(coords[str(d)]):
            da = da.sel({d: coords[str(d)]})
    return da


def _layout(
    mdims: Sequence[str], xdims: Sequence[Hashable]
) -> tuple[list[str], list[str], list[str]]:
    """Split dims into (shared, matrix-only, operand-only), shared in matrix order."""
    shared = [d for d in mdims if d in xdims]
    monly = [d for d in mdims if d not in xdims]
    xonly = [str(d) for d in xdims if d not in mdims]
    return shared, monly, xonly


def _batched(matrix: np.ndarray, mdims: Sequence[str], front: Sequence[str]) -> np.ndarray:
    """Transpose the batch dims of ``matrix`` (*mdims, rows, cols) to the order ``front``."""
    order = [list(mdims).index(d) for d in front]
    if order == list(range(len(mdims))):
        return matrix
    n = len(mdims)
    return matrix.transpose(*order, n, n + 1)


def _apply(
    matrix: np.ndarray,
    mdims: Sequence[str],
    mcoords: Mapping[str, pd.Index],
    x: xr.DataArray,
    col: str,
    years: pd.Index,
) -> xr.DataArray:
    """``out[..., t, ...] = sum_j matrix[..., t, j] x[..., j, ...]`` as one batched matmul.

    Parameters
    ----------
    matrix : ndarray (*mdims, year, j)
    mdims : sequence of str
    mcoords : mapping of str to Index
        Labels of ``mdims``.
    x : DataArray (col, ...)
    col : str
        Dim of ``x`` that is summed over (``year`` for inflow, ``age`` for stock).
    years : Index
        Labels of the rows (model years).

    Returns
    -------
    DataArray (*shared, *matrix-only, year, *x-only)
        Columns are every non-``col`` dim of ``x``; matrices batch over ``mdims``.
    """
    shared, monly, xonly = _layout(mdims, [d for d in x.dims if d != col])
    m = _batched(matrix, mdims, shared + monly)
    n_rows, n_cols = m.shape[-2:]
    shared_shape = [x.sizes[d] for d in shared]
    monly_shape = [len(mcoords[d]) for d in monly]
    xonly_shape = [x.sizes[d] for d in xonly]
    lhs = m.reshape(prod(shared_shape), prod(monly_shape) * n_rows, n_cols)
    rhs = x.transpose(*shared, col, *xonly).values.reshape(prod(shared_shape), n_cols, -1)
    out = np.matmul(lhs, rhs).reshape(*shared_shape, *monly_shape, n_rows, *xonly_shape)
    dims = (*shared, *monly, "year", *xonly)
    if col == "year" and not monly:
        # same dims as the inflow: reuse its labels (building new indexes costs more
        # than the product for small cases)
        view = out.transpose([dims.index(str(d)) for d in x.dims])
        labelled = x.copy(deep=False, data=view)
        labelled.attrs = {}
        return labelled
    coords = {d: x.get_index(d) for d in shared + xonly}
    coords |= {d: mcoords[d] for d in monly}
    coords["year"] = years
    return xr.DataArray(out, dims=dims, coords=coords)


def _apply_by_cohort(
    matrix: np.ndarray,
    mdims: Sequence[str],
    mcoords: Mapping[str, pd.Index],
    x: xr.DataArray,
    col: str,
    years: pd.Index,
) -> xr.DataArray:
    """``out[..., t, j, ...] = matrix[..., t, j] x[..., j, ...]`` (no sum over ``j``).

    ``col`` must not be "year"; rename the inflow's year to "cohort" first.

    Returns
    -------
    DataArray (*shared, *matrix-only, year, col, *x-only)
    """
    shared, monly, xonly = _layout(mdims, [d for d in x.dims if d != col])
    m = _batched(matrix, mdims, shared + monly)
    shared_shape = [x.sizes[d] for d in shared]
    monly_shape = [len(mcoords[d]) for d in monly]
    xonly_shape = [x.sizes[d] for d in xonly]
    lhs = m.reshape(*shared_shape, *monly_shape, *m.shape[-2:], *[1] * len(xonly))
    rhs = x.transpose(*shared, col, *xonly).values.reshape(
        *shared_shape, *[1] * len(monly), 1, x.sizes[col], *xonly_shape
    )
    coords = {d: x.get_index(d) for d in shared + xonly}
    coords |= {d: mcoords[d] for d in monly}
    coords |= {"year": years, col: x.get_index(col)}
    return xr.DataArray(lhs * rhs, dims=(*shared, *monly, "year", col, *xonly), coords=coords)


def _retirement(matrix: np.ndarray, *, enters_on_diagonal: bool) -> np.ndarray:
    """Retirement matrix ``O[t, j] = M[t-1, j] - M[t, j]`` of a survival matrix ``M``.

    Parameters
    ----------
    matrix : ndarray (..., year, j) [1]
    enters_on_diagonal : bool
        True for ``S`` (cohort ``j`` enters in row ``j``: ``M[j-1, j] = 1``), False for
        the initial stock ``R`` (``M[-1, j] = 1``).

    Returns
    -------
    O : ndarray (..., year, j) [1], C-contiguous
    """
    out = np.empty(matrix.shape)
    np.subtract(matrix[..., :-1, :], matrix[..., 1:, :], out=out[..., 1:, :])
    if enters_on_diagonal:
        np.negative(matrix[..., 0, :], out=out[..., 0, :])
        flat = out.reshape(*out.shape[:-2], -1)
        flat[..., :: matrix.shape[-1] + 1] += 1.0
    else:
        np.subtract(1.0, matrix[..., 0, :], out=out[..., 0, :])
    return out


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
    order = ["year", *_series_dims(inflow)]
    cohort_order = ["year", "cohort", *order[1:]]
    s, dims, coords = survival.survival, survival.dims, survival.coords
    retire = _retirement(s, enters_on_diagonal=True)
    stock = _apply(s, dims, coords, inflow, "year", years)
    outflow = _apply(retire, dims, coords, inflow, "year", years)
    stock_by_cohort = outflow_by_cohort = None
    if by_cohort:
        by_cohort_inflow = inflow.rename(year="cohort")
        stock_by_cohort = _apply_by_cohort(s, dims, coords, by_cohort_inflow, "cohort", years)
        outflow_by_cohort = _apply_by_cohort(
            retire, dims, coords, by_cohort_inflow, "cohort", years
        )
    from_initial = outflow_initial = None
    if initial is not None and survival.initial is not None:
        r = survival.initial
        q = _retirement(r, enters_on_diagonal=False)
        from_initial = _apply(r, dims, coords, initial, "age", years)
        outflow_initial = _apply(q, dims, coords, initial, "age", years)
        with xr.set_options(arithmetic_join="exact"):
            stock = stock + from_initial
            outflow = outflow + outflow_initial
        from_initial = _finish(from_initial, order, stock_unit)
        outflow_initial = _finish(outflow_initial, order, flow_unit)
        if stock_by_cohort is not None and outflow_by_cohort is not None:
            cohorts = int(years[0]) - 1 - np.asarray(initial.get_index("age"))
            stock_by_cohort = _join_cohorts(
                _apply_by_cohort(r, dims, coords, initial, "age", years), stock_by_cohort, cohorts
            )
            outflow_by_cohort = _join_cohorts(
                _apply_by_cohort(q, dims, coords, initial, "age", years), outflow_by_cohort, cohorts
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


def _join_cohorts(old: xr.DataArray, new: xr.DataArray, cohorts: np.ndarray) -> xr.DataArray:
    """Concatenate by-cohort arrays of the initial stock (by age) and the model cohorts.

    ``cohort = first year - 1 - age`` for the initial stock; cohorts end up increasing.
    """
    old = old.rename(age="cohort").assign_coords(cohort=cohorts).isel(cohort=slice(None, None, -1))
    old, new = xr.broadcast(old, new, exclude=["cohort"])
    return xr.concat([old, new], dim="cohort")


def _finish(da: xr.DataArray, order: Sequence[str], unit: str) -> xr.DataArray:
    """Transpose to ``order`` followed by any remaining dims and set the unit."""
    out = da.transpose(*order, ...)
    out.attrs = {"units": unit}
    return out


def _effective_survival(
    survival: SurvivalArrays, shares: xr.DataArray, type_dim: str
) -> tuple[np.ndarray, tuple[str, ...], dict[str, pd.Index]]:
    """``S_eff[..., t, c] = sum_p share_p[c] S_p[..., t, c]`` as a plain array.

    Only needed when the lifetime varies by ``type_dim``; otherwise ``S_eff = S``, as the
    shares sum to 1.

    Returns
    -------
    tuple
        ``S_eff`` (*dims, year, cohort), its dims and their labels.
    """
    s = xr.DataArray(
        survival.survival,
        dims=(*survival.dims, "year", "cohort"),
        coords=dict(survival.coords),
    )
    w = shares.rename(year="cohort") if "year" in shares.dims else shares
    eff = xr.dot(s, w.drop_vars("cohort", errors="ignore"), dim=type_dim)
    rest = [str(d) for d in eff.dims if d not in ("year", "cohort")]
    eff = eff.transpose(*rest, "year", "cohort")
    return (
        np.ascontiguousarray(eff.values),
        tuple(rest),
        {d: eff.get_index(d) for d in rest},
    )


def _solve(
    matrix: np.ndarray,
    mdims: Sequence[str],
    mcoords: Mapping[str, pd.Index],
    rhs: xr.DataArray,
    handling: NegativeInflow,
    tolerance: float,
) -> tuple[xr.DataArray, xr.DataArray]:
    """Solve ``matrix @ x = rhs`` for ``x`` by forward substitution.

    ``x[t] = (rhs[t] - sum_{c<t} M[t, c] x[c]) / M[t, t]``; with ``handling="zero"``,
    ``x[t]`` below ``-tolerance`` is set to 0 before the next year.

    Returns
    -------
    inflow, negative : DataArray (*shared, *matrix-only, year, *rhs-only)
        The solution and its values below ``-tolerance`` (0 elsewhere), before handling.
    """
    shared, monly, ronly = _layout(mdims, [d for d in rhs.dims if d != "year"])
    m = _batched(matrix, mdims, shared + monly)
    n_years = m.shape[-1]
    shared_shape = [rhs.sizes[d] for d in shared]
    monly_shape = [len(mcoords[d]) for d in monly]
    ronly_shape = [rhs.sizes[d] for d in ronly]
    ks, km = prod(shared_shape), prod(monly_shape)
    m = m.reshape(ks, km, n_years, n_years)
    b = rhs.transpose(*shared, "year", *ronly).values.reshape(ks, n_years, -1)
    diagonal = np.diagonal(m, axis1=-2, axis2=-1)
    if np.any(diagonal <= 0):
        t = int(np.flatnonzero((diagonal <= 0).any(axis=(0, 1)))[0])
        year = int(rhs["year"].values[t])
        msg = (
            f"lifetime retires every vehicle of cohort {year} within its entry year "
            "(survival 0 at the end of that year), so the stock cannot determine the "
            "inflow; allowed: a lifetime with survival > 0 at the end of the entry year "
            "(e.g. a longer lifetime, or inflow_at='start' or 'middle')."
        )
        raise InputError(msg)
    if ks * km == 1 and handling != "zero":
        x = solve_triangular(m[0, 0], b[0], lower=True, check_finite=False)[None, None]
        negative = np.where(x < -tolerance, x, 0.0)
    else:
        x = np.zeros((ks, km, n_years, b.shape[-1]))
        negative = np.zeros_like(x)
        for t in range(n_years):
            known = np.matmul(m[:, :, t : t + 1, :t], x[:, :, :t, :])[:, :, 0, :]
            step = (b[:, np.newaxis, t, :] - known) / diagonal[:, :, t, np.newaxis]
            below = step < -tolerance
            negative[:, :, t, :] = np.where(below, step, 0.0)
            if handling == "zero":
                step = np.where(below, 0.0, step)
            x[:, :, t, :] = step
    shape = (*shared_shape, *monly_shape, n_years, *ronly_shape)
    dims = (*shared, *monly, "year", *ronly)
    coords = {d: rhs.get_index(d) for d in (*shared, *ronly)}
    coords |= {d: mcoords[d] for d in monly}
    coords["year"] = rhs.get_index("year")
    return (
        xr.DataArray(x.reshape(shape), dims=dims, coords=coords),
        xr.DataArray(negative.reshape(shape), dims=dims, coords=coords),
    )


def _negative_message(negative: xr.DataArray, unit: str) -> str:
    """Message naming the first year and series with negative inflow."""
    values = negative.values
    i = int(np.flatnonzero(values.ravel() < 0)[0])
    position = np.unravel_index(i, values.shape)
    at = {d: negative.get_index(d)[j] for d, j in zip(negative.dims, position, strict=True)}
    year = label(at.pop("year"))
    series = ", ".join(f"{d}={label(v)}" for d, v in at.items()) or "the only series"
    count = int((values < 0).sum())
    return (
        f"stock_driven: the solved inflow is negative ({values[position]:.6g} {unit}) in "
        f"{year} for {series} ({count} year-series cell(s) in all): the target stock falls "
        "faster than the lifetime retires vehicles. Pass negative_inflow='allow' to keep "
        "negative inflow, or negative_inflow='zero' to set it to zero and let the stock "
        "exceed the target."
    )
