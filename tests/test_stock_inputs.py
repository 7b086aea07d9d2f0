"""Bad inputs to the stock engine: InputError with a message, never another exception.

Hypothesis draws one bad cell (negative, NaN, inf, huge, complex) or a bad shape (wrong
or missing dims, non-numeric dtypes) and places it in an otherwise valid case; the
engine must raise InputError naming the argument, and whatever it returns must be
finite.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from evpath.errors import InputError, InvariantError
from evpath.stock import StockResult, inflow_driven, stock_driven
from evpath.survival import Fixed, FoldedNormal, LogNormal, Normal, Weibull

YEARS = np.arange(2000, 2012)
REGIONS = ["JP", "DE"]
BAD_VALUES = (-1.0, -1e-3, np.nan, np.inf, -np.inf, 1e301, 1e308)
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def _series(values: np.ndarray, units: str) -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("year", "region"),
        coords={"year": YEARS, "region": REGIONS},
        attrs={"units": units},
    )


def _initial(values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("age", "region"),
        coords={"age": np.arange(values.shape[0]), "region": REGIONS},
    )


def _assert_finite(result: StockResult) -> None:
    for name in ("inflow", "stock", "outflow", "stock_by_cohort", "outflow_by_cohort"):
        da = getattr(result, name)
        if da is not None:
            assert np.isfinite(da.values).all(), name


def _run(call: Callable[[], StockResult], argument: str) -> None:
    """``call`` raises InputError whose message starts with ``argument``."""
    with pytest.raises(InputError) as info:
        _assert_finite(call())
    assert str(info.value).startswith(argument), str(info.value)


lifetimes = st.sampled_from(
    [Fixed(8.5), Normal(10.0, 4.0), FoldedNormal(6.0, 5.0), LogNormal(12.0, 5.0), Weibull(2.5, 13)]
)
cells = st.tuples(st.integers(0, YEARS.size - 1), st.integers(0, len(REGIONS) - 1))


@seed(20260101)
@SETTINGS
@given(
    bad=st.sampled_from(BAD_VALUES),
    cell=cells,
    lifetime=lifetimes,
    inflow_at=st.sampled_from(["start", "middle", "end"]),
)
def test_bad_inflow_cell_is_named(
    bad: float, cell: tuple[int, int], lifetime: Normal, inflow_at: str
) -> None:
    values = np.full((YEARS.size, len(REGIONS)), 100.0)
    values[cell] = bad
    with pytest.raises(InputError) as info:
        inflow_driven(_series(values, "vehicles/yr"), lifetime, inflow_at=inflow_at)
    year, region = YEARS[cell[0]], REGIONS[cell[1]]
    assert str(info.value) == (
        f"inflow has {bad!r} at year={year}, region='{region}'; "
        "allowed: finite numbers >= 0 and <= 1e+300."
    )


@seed(20260102)
@SETTINGS
@given(bad=st.sampled_from(BAD_VALUES), cell=cells, lifetime=lifetimes)
def test_bad_stock_cell_is_named(bad: float, cell: tuple[int, int], lifetime: Normal) -> None:
    values = np.cumsum(np.full((YEARS.size, len(REGIONS)), 100.0), axis=0)
    values[cell] = bad
    with pytest.raises(InputError) as info:
        stock_driven(_series(values, "vehicles"), lifetime, negative_inflow="allow")
    year, region = YEARS[cell[0]], REGIONS[cell[1]]
    assert str(info.value) == (
        f"stock has {bad!r} at year={year}, region='{region}'; "
        "allowed: finite numbers >= 0 and <= 1e+300."
    )


@seed(20260103)
@SETTINGS
@given(bad=st.sampled_from(BAD_VALUES), age=st.integers(0, 4), region=st.integers(0, 1))
def test_bad_initial_stock_cell_is_named(bad: float, age: int, region: int) -> None:
    values = np.full((5, len(REGIONS)), 10.0)
    values[age, region] = bad
    inflow = _series(np.full((YEARS.size, len(REGIONS)), 100.0), "vehicles/yr")
    with pytest.raises(InputError) as info:
        inflow_driven(inflow, Normal(10.0, 4.0), initial_stock=_initial(values))
    assert str(info.value) == (
        f"initial_stock has {bad!r} at age={age}, region='{REGIONS[region]}'; "
        "allowed: finite numbers >= 0 and <= 1e+300."
    )


@seed(20260104)
@SETTINGS
@given(
    dtype=st.sampled_from(["complex128", "bool", "object", "<U3", "timedelta64[s]"]),
    driver=st.sampled_from(["inflow", "stock"]),
)
def test_non_real_dtypes_are_refused(dtype: str, driver: str) -> None:
    values = np.ones((YEARS.size, len(REGIONS))).astype(dtype)
    if driver == "inflow":
        _run(lambda: inflow_driven(_series(values, "vehicles/yr"), Fixed(5.0)), "inflow")
    else:
        _run(lambda: stock_driven(_series(values, "vehicles"), Fixed(5.0)), "stock")


@seed(20260105)
@SETTINGS
@given(
    bad=st.sampled_from([np.nan, np.inf, -np.inf, -1.0, 0.0]),
    model=st.sampled_from(["Fixed", "Normal", "FoldedNormal", "LogNormal", "Weibull"]),
    where=st.integers(0, YEARS.size - 1),
    by=st.sampled_from(["cohort", "region"]),
)
def test_bad_lifetime_parameter_is_named(bad: float, model: str, where: int, by: str) -> None:
    labels = YEARS if by == "cohort" else np.array(REGIONS)
    values = np.full(labels.size, 10.0)
    values[where % labels.size] = bad
    param = xr.DataArray(values, dims=by, coords={by: labels})
    builders = {
        "Fixed": lambda: Fixed(param),
        "Normal": lambda: Normal(10.0, param),
        "FoldedNormal": lambda: FoldedNormal(10.0, param),
        "LogNormal": lambda: LogNormal(param, 3.0),
        "Weibull": lambda: Weibull(param, 12.0),
    }
    if model == "Fixed" and bad == 0.0:
        return  # a lifetime of 0 years is allowed
    _run(builders[model], f"{model} parameter")


@seed(20260106)
@SETTINGS
@given(
    big=st.sampled_from([1e155, 1e200, 1e-160, 1e-200]),
    std=st.sampled_from([1.0, 1e-160, 1e155]),
)
def test_lognormal_overflow_is_an_input_error(big: float, std: float) -> None:
    inflow = _series(np.full((YEARS.size, len(REGIONS)), 100.0), "vehicles/yr")
    try:
        result = inflow_driven(inflow, LogNormal(big, std))
    except InputError as err:
        message = str(err)
    else:
        _assert_finite(result)
        return
    assert message.startswith("LogNormal parameters"), message


@seed(20260107)
@SETTINGS
@given(
    std=st.floats(1e-3, 0.2),
    scale=st.sampled_from([1.0, 1e100, 5e299]),
    negative=st.sampled_from(["allow", "zero", "raise"]),
)
def test_solved_flows_stay_finite_or_raise(std: float, scale: float, negative: str) -> None:
    stock = _series(np.linspace(1.0, 2.0, YEARS.size)[:, None] * [1.0, 0.5] * scale, "vehicles")
    try:
        result = stock_driven(stock, Normal(0.0, std), negative_inflow=negative)  # type: ignore[arg-type]
    except InputError as err:
        message = str(err)
    except InvariantError:
        message = "negative inflow"
    else:
        _assert_finite(result)
        return
    assert message.startswith(("stock at year=", "lifetime retires every vehicle")) or (
        negative == "raise" and message == "negative inflow"
    ), message


@seed(20260108)
@SETTINGS
@given(
    dims=st.sampled_from(
        [
            ("region",),
            ("year", "age"),
            ("year", "cohort"),
            (),
            ("age", "region", "year"),
        ]
    ),
    initial_dims=st.sampled_from([("region",), (), ("age",), ("age", "region", "draw"), None]),
)
def test_wrong_dims_are_refused(
    dims: tuple[str, ...], initial_dims: tuple[str, ...] | None
) -> None:
    inflow = xr.DataArray(np.ones((3,) * len(dims)), dims=dims)
    if "year" in dims:
        inflow = inflow.assign_coords(year=np.arange(2000, 2003))
    initial = (
        None
        if initial_dims is None
        else xr.DataArray(np.ones((2,) * len(initial_dims)), dims=initial_dims)
    )
    _run(lambda: inflow_driven(inflow, Fixed(5.0), initial_stock=initial), "inflow")


@seed(20260109)
@SETTINGS
@given(
    initial_dims=st.sampled_from([("region",), (), ("x",), ("age", "x"), ("age", "region", "draw")])
)
def test_wrong_initial_stock_dims_are_refused(initial_dims: tuple[str, ...]) -> None:
    inflow = _series(np.ones((YEARS.size, len(REGIONS))), "vehicles/yr")
    shape = tuple(len(REGIONS) if d == "region" else 3 for d in initial_dims)
    initial = xr.DataArray(np.ones(shape), dims=initial_dims)
    if "region" in initial_dims:
        initial = initial.assign_coords(region=REGIONS)
    _run(lambda: inflow_driven(inflow, Fixed(5.0), initial_stock=initial), "initial_stock")
