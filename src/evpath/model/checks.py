"""Named invariants every run must satisfy; each raises InvariantError with the offending cell."""

from __future__ import annotations

import numpy as np
import xarray as xr

from evpath.errors import InvariantError
from evpath.scenario.base import SHARE_TOLERANCE

BALANCE_RTOL = 1e-9
"""Relative tolerance of the stock balance, against the largest stock [dimensionless]."""


def _first_offender(mask: xr.DataArray) -> str:
    index = np.unravel_index(int(np.argmax(mask.values)), mask.shape)
    return ", ".join(
        f"{dim}={mask[dim].values[i]}" for dim, i in zip(mask.dims, index, strict=True)
    )


def check_non_negative(array: xr.DataArray, name: str) -> None:
    """No element of ``array`` is negative."""
    negative = array < 0
    if bool(negative.any()):
        where = _first_offender(negative)
        value = float(array.values[np.unravel_index(int(np.argmax(negative.values)), array.shape)])
        msg = f"{name} is negative at {where} (got {value:.6g}); allowed: >= 0"
        raise InvariantError(msg)


def check_shares(shares: xr.DataArray, dim: str, name: str) -> None:
    """Shares lie in [0, 1] and sum to 1 over ``dim`` within ``SHARE_TOLERANCE``."""
    check_non_negative(shares, name)
    off = abs(shares.sum(dim) - 1.0) > SHARE_TOLERANCE
    if bool(off.any()):
        msg = f"{name} over {dim} do not sum to 1 at {_first_offender(off)}"
        raise InvariantError(msg)


def check_stock_balance(
    stock: xr.DataArray, inflow: xr.DataArray, outflow: xr.DataArray, stock_before: xr.DataArray
) -> None:
    """stock(t) − stock(t−1) = inflow(t) − outflow(t) for every element.

    ``stock_before`` is the stock at the end of the year before the first model year.
    """
    previous = xr.concat([stock_before.expand_dims(year=[int(stock.year[0]) - 1]), stock], "year")
    change = previous.diff("year", label="upper")
    gap = abs(change - (inflow - outflow))
    scale = max(float(abs(stock).max()), 1.0)
    bad = gap > BALANCE_RTOL * scale
    if bool(bad.any()):
        msg = f"stock balance broken at {_first_offender(bad)} (gap {float(gap.max()):.6g})"
        raise InvariantError(msg)


def check_material_balance(flows: xr.Dataset) -> None:
    """Metal in batteries: Δin_fleet = put_on_market − retired, and retired = exported +
    Δin_second_life + recovered + lost, every metal and year [t]."""
    scale = max(float(abs(flows["metal_put_on_market"]).max()), 1.0)
    fleet_change = flows["metal_in_fleet"].diff("year")
    into = (flows["metal_put_on_market"] - flows["metal_retired"]).isel(year=slice(1, None))
    outs = (
        flows["metal_exported"]
        + flows["metal_in_second_life"]
        .diff("year", label="upper")
        .reindex(year=flows.year, fill_value=0.0)
        + flows["metal_recovered"]
        + flows["metal_lost"]
    )
    outs = outs.where(outs.year != flows.year[0], outs + flows["metal_in_second_life"].isel(year=0))
    for name, gap in (
        ("fleet", abs(fleet_change - into)),
        ("end of life", abs(outs - flows["metal_retired"])),
    ):
        bad = gap > BALANCE_RTOL * scale
        if bool(bad.any()):
            msg = f"material balance ({name}) broken at {_first_offender(bad)} (gap {float(gap.max()):.6g} t)"
            raise InvariantError(msg)
