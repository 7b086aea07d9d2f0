"""Checks of the stock engine's inputs: series by year, initial stock, type shares, labels.

Each check raises :class:`~evpath.errors.InputError` naming the argument, the value
received (with its labels) and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.alignment import label_mismatch
from evpath.core.messages import first_true, label, labels
from evpath.core.tolerances import ENGINE_SHARE_TOLERANCE, NEGATIVE_TOLERANCE
from evpath.errors import InputError
from evpath.model.lifetimes import REAL_KINDS, RESERVED_DIMS
from evpath.model.survival import check_years

LARGEST_VALUE = 1e300
"""Largest inflow, stock or initial-stock value [vehicles or vehicles/yr] the engine
takes: sums over cohorts of such values stay far below the largest float (1.8e308)."""


def series_dims(da: xr.DataArray) -> list[str]:
    """Non-year dims of a (year, ...) input."""
    return [str(d) for d in da.dims if d != "year"]


def check_series(da: object, name: str, *, flow: bool) -> tuple[xr.DataArray, np.ndarray, str]:
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
    check_values(
        da,
        name,
        allowed=f"finite numbers >= 0 and <= {LARGEST_VALUE:g}",
        minimum=0.0,
        maximum=LARGEST_VALUE,
        rounding=NEGATIVE_TOLERANCE if flow else 0.0,
    )
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
    return (da if da.dims[0] == "year" else da.transpose("year", ...)), years, unit


def check_values(
    da: xr.DataArray,
    name: str,
    *,
    allowed: str,
    minimum: float | None = None,
    maximum: float | None = None,
    rounding: float = 0.0,
) -> None:
    """Raise InputError at the first non-real, non-finite or out-of-range value.

    Values below ``minimum`` by at most ``rounding`` times the largest finite magnitude
    are rounding noise and pass.
    """
    if da.dtype.kind not in REAL_KINDS:
        msg = f"{name} must hold real numbers; got dtype {da.dtype}."
        raise InputError(msg)
    values = np.asarray(da.values)
    if values.size == 0:
        return
    low, high = float(values.min()), float(values.max())  # NaN if any value is NaN
    floor = -np.inf if minimum is None else minimum - rounding * max(abs(low), abs(high))
    ceiling = np.inf if maximum is None else maximum
    if np.isfinite(low) and np.isfinite(high) and floor <= low and high <= ceiling:
        return
    finite = np.isfinite(values)
    if minimum is not None:
        floor = minimum - rounding * float(np.max(np.abs(values), where=finite, initial=0.0))
    bad = ~finite | (values < floor) | (values > ceiling)
    cell = first_true(da.copy(deep=False, data=bad))
    msg = f"{name} has {float(values[cell.position])!r}{cell.at()}; allowed: {allowed}."
    raise InputError(msg)


def check_initial(
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
    check_values(
        initial,
        name,
        allowed=f"finite numbers >= 0 and <= {LARGEST_VALUE:g}",
        minimum=0.0,
        maximum=LARGEST_VALUE,
    )
    unit = initial.attrs.get("units")
    if unit is not None and unit != stock_unit:
        msg = f"{name} has units {unit!r}; allowed: the stock unit {stock_unit!r}."
        raise InputError(msg)
    return initial.transpose("age", ...)


def check_shares(
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
    check_values(shares, "type_shares", allowed="fractions within [0, 1]", minimum=0.0, maximum=1.0)
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
    off = abs(total - 1.0) > ENGINE_SHARE_TOLERANCE
    if off.any():
        cell = first_true(off)
        msg = (
            f"type_shares sum to {float(total.values[cell.position])!r} over {type_dim!r}"
            f"{cell.at()}; allowed: 1 within {ENGINE_SHARE_TOLERANCE:g}."
        )
        raise InputError(msg)
    return shares / total


def common_coords(arrays: Mapping[str, xr.DataArray]) -> dict[str, pd.Index]:
    """Labels of every non-reserved dim, checked to be the same set across the inputs."""
    coords: dict[str, pd.Index] = {}
    owner: dict[str, str] = {}
    for name, da in arrays.items():
        for d in map(str, da.dims):
            if d in RESERVED_DIMS:
                continue
            own = da.get_index(d)
            if own.has_duplicates:
                msg = f"{name} has repeated {d} labels; allowed: unique labels."
                raise InputError(msg)
            if d not in coords:
                coords[d] = own
                owner[d] = name
            elif (mismatch := label_mismatch(own, coords[d])) is not None:
                missing, extra = mismatch
                msg = (
                    f"{name} has {d} labels that differ from those of {owner[d]}: "
                    f"missing {missing}, extra {extra}; allowed: the same labels in any order."
                )
                raise InputError(msg)
    return coords
