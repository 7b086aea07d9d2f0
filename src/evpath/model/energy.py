"""Energy stage: energy use per km by powertrain and model year, and fleet energy by carrier."""

from __future__ import annotations

import numpy as np
import xarray as xr

from evpath.core.contraction import dot
from evpath.core.dims import CARRIERS, POWERTRAINS
from evpath.core.drawn import labelled_array, path_array
from evpath.scenario.emissions import Energy


def intensity_per_km(spec: Energy, segments: list[str], cohorts: np.ndarray) -> xr.DataArray:
    """Real-world energy use per km at the vehicle (segment, powertrain, cohort, carrier).

    Units per carrier: gasoline and diesel L/km, electricity kWh/km (from the grid,
    charging losses included), hydrogen kg/km. PHEV use is split by the utility factor:
    fuel × (1 − UF), electricity × UF.

    e = test/100 · trend(c) · kei_factor? · (1 + uplift[carrier])
        [/ (1 − charging_losses) for electricity]

    with trend(c) = Π over model years y from reference_year + 1 to min(c, until) of
    (1 − improvement(y)) (the inverse product for earlier model years): a constant rate r
    gives (1 − r)^(min(c, until) − reference_year).
    """
    powertrains, carriers = list(POWERTRAINS), list(CARRIERS)
    test = labelled_array(
        [
            labelled_array(
                [spec.new_car_test.get(p, {}).get(k, 0.0) / 100.0 for k in carriers],  # type: ignore[call-overload]
                "carrier",
                carriers,
            )
            for p in powertrains
        ],
        "powertrain",
        powertrains,
    )
    trend = improvement_trend(spec, cohorts)
    uplift = labelled_array(
        [1.0 + spec.real_world_uplift.get(k, 0.0) for k in carriers],  # type: ignore[call-overload]
        "carrier",
        carriers,
    )
    plug = labelled_array(
        [1.0 / (1.0 - spec.charging_losses) if k == "electricity" else 1.0 for k in carriers],
        "carrier",
        carriers,
    )
    uf = spec.phev_utility_factor
    phev = labelled_array(
        [uf if k == "electricity" else 1.0 - uf for k in carriers], "carrier", carriers
    )
    is_phev = xr.DataArray([p == "PHEV" for p in powertrains], coords={"powertrain": powertrains})
    phev_split = xr.where(is_phev, phev, 1.0)
    segment = labelled_array(
        [spec.kei_factor if s == "kei" else 1.0 for s in segments], "segment", segments
    )
    intensity = test * trend * uplift * plug * phev_split * segment
    # laid out as the fleet's vehicle-km multiply it (energy_by_carrier): no copy there
    return intensity.transpose("segment", ..., "powertrain", "cohort", "carrier")


def improvement_trend(spec: Energy, cohorts: np.ndarray) -> xr.DataArray:
    """Energy use of each model year relative to ``reference_year`` (powertrain, cohort)
    [fraction]: the product of (1 − improvement) over the model years in between, each
    powertrain's improvement a number or a path by model year [1/yr]."""
    model_years = np.minimum(cohorts, spec.improvement_until)
    first = min(int(model_years.min()), spec.reference_year)
    grid = np.arange(first, max(int(model_years.max()), spec.reference_year) + 1)
    rates = labelled_array(
        [path_array(spec.improvement.get(p, 0.0), grid) for p in POWERTRAINS],
        "powertrain",
        list(POWERTRAINS),
    )
    cumulative = xr.apply_ufunc(np.log1p, -rates).cumsum("year")
    at_cohort = cumulative.sel(year=model_years).rename(year="cohort")
    at_cohort = at_cohort.assign_coords(cohort=cohorts)
    return xr.apply_ufunc(np.exp, at_cohort - cumulative.sel(year=spec.reference_year, drop=True))


def energy_by_carrier(km_by_cohort: xr.DataArray, intensity: xr.DataArray) -> xr.DataArray:
    """Energy used by the fleet (region, segment, powertrain, carrier, year) [carrier unit/yr].

    Σ over cohorts of the cohort's vehicle-km (``km_by_cohort``, region, segment,
    powertrain, year, cohort [km/yr]) × its energy per km.
    """
    energy = dot(km_by_cohort, intensity, dim="cohort")
    return energy.transpose("region", "segment", "powertrain", "carrier", "year", ...)
