"""Observed electric shares of new car sales of IEA regions (IEA Global EV Outlook 2025)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Literal, TypeGuard

import xarray as xr

from evpath.data.iea import EV_POWERTRAINS, all_regions, ev_sales, ev_sales_share
from evpath.errors import InputError

KINDS = ("EV", "BEV", "PHEV")
Kind = Literal["EV", "BEV", "PHEV"]


def is_kind(value: str) -> TypeGuard[Kind]:
    """Whether ``value`` is a share kind (one of ``KINDS``)."""
    return value in KINDS


def check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    """Refuse ``value`` of option ``name`` unless it is one of ``allowed``."""
    if value not in allowed:
        msg = f"{name}: got {value!r}; allowed: one of {', '.join(allowed)}"
        raise InputError(msg)


def regions() -> tuple[str, ...]:
    """Every region and country in the IEA file, sorted."""
    return all_regions()


def _check_region(region: str) -> None:
    known = regions()
    if region in known:
        return
    lower = {name.lower(): name for name in known}
    if region.lower() in lower:
        msg = f"unknown region {region!r}; did you mean {lower[region.lower()]!r}?"
        raise InputError(msg)
    close = difflib.get_close_matches(region, known, n=4, cutoff=0.5)
    hint = f"close matches: {', '.join(close)}" if close else f"available: {', '.join(known)}"
    msg = f"unknown region {region!r} in the IEA Global EV Outlook data; {hint}"
    raise InputError(msg)


def share_history(region: str, kind: Kind = "EV") -> xr.DataArray:
    """Observed share of electric cars in new car sales of one IEA region or country.

    Parameters
    ----------
    region : str
        IEA region or country name as spelt in the file ("Japan", "China", "Europe",
        "USA", "World", ...); see :func:`regions`.
    kind : {"EV", "BEV", "PHEV"}
        ``EV`` is the IEA's electric share (BEV + PHEV + FCEV). ``BEV`` and ``PHEV`` are
        derived as EV share × sales of the powertrain / EV sales, which equals sales of the
        powertrain / total car sales.

    Returns
    -------
    DataArray (year) [fraction]
        Years with a reported share only (no gaps filled); may be empty. ``attrs`` hold
        ``region``, ``kind`` and ``units``.

    Raises
    ------
    InputError
        Unknown region (the message lists close matches) or kind.
    """
    check_choice("kind", kind, KINDS)
    _check_region(region)
    share = ev_sales_share(region)
    if kind != "EV":
        sales = ev_sales(region).reindex(index=share.index, columns=list(EV_POWERTRAINS))
        part = sales[kind].fillna(0.0)
        total = sales.fillna(0.0).sum(axis=1)
        share = (share * part / total.where(total > 0)).where(sales.notna().any(axis=1))
    share = share.dropna().sort_index()
    return xr.DataArray(
        share.to_numpy(dtype=float),
        coords={"year": share.index.to_numpy(dtype=int)},
        dims="year",
        name="share",
        attrs={"region": region, "kind": kind, "units": "fraction"},
    )
