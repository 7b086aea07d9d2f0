"""Named invariants every run must satisfy; each raises InvariantError with the offending cell."""

from __future__ import annotations

import xarray as xr

from evpath.core.messages import first_true
from evpath.core.tolerances import BALANCE_RTOL, SHARE_TOLERANCE
from evpath.errors import InvariantError


def check_non_negative(array: xr.DataArray, name: str) -> None:
    """No element of ``array`` is negative."""
    negative = array < 0
    if bool(negative.any()):
        cell = first_true(negative)
        value = float(array.values[cell.position])
        msg = f"{name} is negative at {cell.describe(str)} (got {value:.6g}); allowed: >= 0"
        raise InvariantError(msg)


def check_shares(shares: xr.DataArray, dim: str, name: str) -> None:
    """Shares lie in [0, 1] and sum to 1 over ``dim`` within ``SHARE_TOLERANCE``."""
    check_non_negative(shares, name)
    off = abs(shares.sum(dim) - 1.0) > SHARE_TOLERANCE
    if bool(off.any()):
        msg = f"{name} over {dim} do not sum to 1 at {first_true(off).describe(str)}"
        raise InvariantError(msg)


def check_stock_balance(
    stock: xr.DataArray,
    inflow: xr.DataArray,
    outflow: xr.DataArray,
    stock_before: xr.DataArray | float,
    *,
    name: str = "stock",
    scale: float | None = None,
) -> None:
    """stock(t) − stock(t−1) = inflow(t) − outflow(t) for every element.

    ``stock_before`` is the stock at the end of the year before the first model year;
    the tolerance is ``BALANCE_RTOL`` × ``scale`` (default: the largest stock).
    """
    # the year before's stock: the stock shifted by a year, and stock_before in the first
    previous = xr.where(stock.year == stock.year[0], stock_before, stock.shift(year=1))
    gap = abs((stock - previous) - (inflow - outflow))
    limit = BALANCE_RTOL * max(float(abs(stock).max()) if scale is None else scale, 1.0)
    bad = gap > limit
    if bool(bad.any()):
        msg = (
            f"{name} balance broken at {first_true(bad).describe(str)} (gap {float(gap.max()):.6g})"
        )
        raise InvariantError(msg)


def check_material_balance(flows: xr.Dataset) -> None:
    """Metal in batteries [t], every metal and year: the fleet's batteries gain what is put
    on the market and lose what retires; batteries in second life gain what retires and
    is not exported, and lose what is recovered or lost."""
    put, retired = flows["metal_put_on_market"], flows["metal_retired"]
    scale = float(abs(put).max())
    in_fleet = flows["metal_in_fleet"]
    first = in_fleet.isel(year=0, drop=True) - (put - retired).isel(year=0, drop=True)
    check_stock_balance(in_fleet, put, retired, first, name="metal in the fleet", scale=scale)
    check_stock_balance(
        flows["metal_in_second_life"],
        retired - flows["metal_exported"],
        flows["metal_recovered"] + flows["metal_lost"],
        0.0,
        name="metal reaching end of life",
        scale=scale,
    )
