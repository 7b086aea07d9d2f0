"""Making a car: the chassis and drive parts follow the scenario's body path by model year."""

from __future__ import annotations

import numpy as np
import pytest


def test_body_emissions_follow_the_path_and_packs_do_not(japan_2050):
    made = japan_2050.dataset["manufacturing_per_car"].sel(region="JPN")
    spec = japan_2050.scenario.emissions.vehicle_cycle
    assert spec.body_path == {2024: 1.0, 2050: 0.5}
    gasoline = made.sel(powertrain="ICEV_gasoline")  # no pack: body only
    for segment in ("registered", "kei"):
        at = gasoline.sel(segment=segment)
        assert float(at.sel(year=2050)) == pytest.approx(0.5 * float(at.sel(year=2024)))
        assert float(at.sel(year=2037)) == pytest.approx(0.75 * float(at.sel(year=2024)))
        assert float(at.sel(year=2010)) == pytest.approx(float(at.sel(year=2024)))
    kei, registered = gasoline.sel(segment="kei"), gasoline.sel(segment="registered")
    np.testing.assert_allclose(kei, spec.kei_scale * registered, rtol=1e-12)
    assert bool((made >= 0).all())
