"""Index decomposition (additive LMDI-I) of the change in fleet emissions.

E = Σ_i A · S_i · I_i · C_i over segment-powertrain groups i, with A the fleet's
vehicle-km, S_i the group's share of vehicle-km, I_i its energy per km (MJ/km) and C_i
its emissions per unit of energy (kg CO2e/MJ). The change E(T) − E(0) splits exactly into

    ΔE_X = Σ_i L(E_i(T), E_i(0)) · ln(X_i(T) / X_i(0)),  L(a, b) = (a − b) / (ln a − ln b),

for X = activity, mix, energy intensity and carbon intensity (Ang 2005, "The LMDI
approach to decomposition analysis: a practical guide", Energy Policy 33). Groups absent
at one end take a tiny value ε instead of zero (Ang & Liu 2007), so the factors still add
up to the total change to within ε.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from evpath.core.tolerances import LOG_MEAN_RTOL

FACTORS = ("activity", "mix", "energy_intensity", "carbon_intensity")
EPSILON = 1e-30


def _log_mean(a: xr.DataArray, b: xr.DataArray) -> xr.DataArray:
    a, b = a.clip(min=EPSILON), b.clip(min=EPSILON)
    ratio = np.log(a / b)
    same = abs(a - b) <= LOG_MEAN_RTOL * abs(a)
    return xr.where(same, a, (a - b) / xr.where(same, 1.0, ratio))


def lmdi(
    vehicle_km: xr.DataArray,
    energy_mj: xr.DataArray,
    emissions: xr.DataArray,
    start: int,
    end: int,
) -> xr.DataArray:
    """Contributions of each factor to the emission change from ``start`` to ``end``.

    Parameters
    ----------
    vehicle_km, energy_mj, emissions : DataArray (region, segment, powertrain, year)
        [km/yr], [MJ/yr], [kg CO2e/yr].

    Returns
    -------
    DataArray (region, factor) [kg CO2e/yr]
        Sums over ``factor`` to E(end) − E(start).
    """
    groups = ("segment", "powertrain")

    def terms(year: int) -> dict[str, xr.DataArray]:
        km = vehicle_km.sel(year=year, drop=True).clip(min=EPSILON)
        mj = energy_mj.sel(year=year, drop=True).clip(min=EPSILON)
        kg = emissions.sel(year=year, drop=True).clip(min=EPSILON)
        total_km = km.sum(groups)
        return {
            "activity": total_km.broadcast_like(km),
            "mix": km / total_km,
            "energy_intensity": mj / km,
            "carbon_intensity": kg / mj,
        }

    before, after = terms(start), terms(end)
    weight = _log_mean(emissions.sel(year=end, drop=True), emissions.sel(year=start, drop=True))
    parts = [(weight * np.log(after[f] / before[f])).sum(groups) for f in FACTORS]
    result = xr.concat(parts, dim=xr.DataArray(list(FACTORS), dims="factor"))
    return result.transpose("region", "factor", ...)
