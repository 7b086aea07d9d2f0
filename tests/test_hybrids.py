"""Mild and full hybrids, NiMH packs and used-car exports by segment."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from evpath.core.dims import CHEMISTRIES, ELECTRIFIED, METALS
from evpath.data.batteries import material_intensity, nimh_intensity
from evpath.data.registry import load_dataset
from evpath.errors import ScenarioError
from evpath.model.materials import (
    capacity_leaving,
    export_shares,
    material_flows,
    retired_capacity,
)
from evpath.scenario.batteries import Recycling
from evpath.scenario.loader import load_scenario
from evpath.stock import inflow_driven
from evpath.survival import Fixed


@pytest.fixture
def japan(japan_2050):
    return japan_2050.dataset.sel(region="JPN")


def test_every_kei_hybrid_is_mild_and_jada_hybrids_are_split(japan_2050):
    history = japan_2050.dataset.sel(region="JPN", year=slice(2010, 2024))
    sales = history["sales"]
    assert float(sales.sel(segment="kei", powertrain="HEV").sum()) == 0.0
    assert float(sales.sel(segment="kei", powertrain="MHEV", year=2023)) > 0.0
    registered = sales.sel(segment="registered", year=2022)
    mild = float(registered.sel(powertrain="MHEV"))
    full = float(registered.sel(powertrain="HEV"))
    assert mild / (mild + full) == pytest.approx(0.18)  # the 2021 anchor, held


def test_mild_hybrids_count_as_electrified(japan):
    assert "MHEV" in ELECTRIFIED
    shares = japan["sales"].sum("segment") / japan["sales"].sum(["segment", "powertrain"])
    electrified = shares.sel(powertrain=list(ELECTRIFIED)).sum("powertrain")
    np.testing.assert_allclose(japan["electrified_sales_share"], electrified, rtol=1e-12)


def test_a_mild_hybrid_uses_93_percent_of_a_gasoline_car(japan_2050):
    energy = japan_2050.scenario.emissions.energy
    gasoline = energy.new_car_test["ICEV_gasoline"]["gasoline"]
    assert energy.new_car_test["MHEV"]["gasoline"] == pytest.approx(0.93 * gasoline, rel=1e-3)
    assert energy.improvement["MHEV"] == energy.improvement["ICEV_gasoline"]


def test_nimh_intensities_follow_the_published_composition():
    table = load_dataset("nimh_battery_composition").set_index("quantity")["value"]
    per_kwh = nimh_intensity()
    kg_per_kwh = 1000.0 / float(table["module_specific_energy"])
    assert per_kwh["nickel"] == pytest.approx(float(table["nickel_mass_share"]) * kg_per_kwh)
    # the rare-earth share agrees with Umicore's 2 kg per 1.3 kWh hybrid pack within 10%
    published = float(table["rare_earths_per_hybrid_pack"]) / float(table["pack_energy"])
    assert per_kwh["rare_earths"] == pytest.approx(published, rel=0.1)
    intensity = material_intensity()
    assert float(intensity.sel(chemistry="NiMH", metal="lithium")) == 0.0
    lithium_ion = [c for c in CHEMISTRIES if c != "NiMH"]
    assert float(intensity.sel(chemistry=lithium_ion, metal="rare_earths").max()) == 0.0


def test_rare_earths_come_only_from_nimh_hybrid_packs(japan):
    rare = japan["metal_put_on_market"].sel(metal="rare_earths")
    nimh = japan["battery_demand_by_chemistry"].sel(chemistry="NiMH")
    np.testing.assert_allclose(rare, nimh * 1e6 * nimh_intensity()["rare_earths"] / 1000.0)
    assert float(rare.sel(year=2010)) > 0.0


def test_cell_plants_are_sized_on_lithium_ion_demand_only(japan_2050, japan):
    lithium_ion = japan["battery_demand_by_chemistry"].drop_sel(chemistry="NiMH").sum("chemistry")
    utilisation = japan_2050.scenario.batteries.manufacturing.utilisation
    np.testing.assert_allclose(japan["cell_capacity"], lithium_ion / utilisation, rtol=1e-12)
    assert float(japan["battery_demand_by_chemistry"].sel(chemistry="NiMH", year=2024)) > 0.0


def test_the_hybrid_chemistry_path_leaves_other_packs_on_the_common_mix(japan):
    by_chemistry = japan["battery_demand_by_chemistry"].sel(year=2012)
    hybrid = japan["battery_demand"].sel(powertrain="HEV", year=2012).sum("segment")
    assert float(by_chemistry.sel(chemistry="NiMH")) == pytest.approx(float(hybrid))
    np.testing.assert_allclose(
        japan["battery_demand_by_chemistry"].sum("chemistry"),
        japan["battery_demand"].sum(["segment", "powertrain"]),
    )


def _two_segment_fleet():
    years = np.arange(2000, 2031)
    sales = xr.DataArray(
        np.full((1, 2, 1, years.size), 1000.0),
        coords={
            "region": ["R"],
            "segment": ["registered", "kei"],
            "powertrain": ["BEV"],
            "year": years,
        },
    ).transpose("year", ...)
    fleet = inflow_driven(sales, Fixed(mean=8.0), by_cohort=True)
    cohorts = fleet.stock_by_cohort.cohort.values
    pack = xr.DataArray(
        np.stack([np.full((1, cohorts.size), 60.0), np.full((1, cohorts.size), 20.0)]),
        coords={"segment": ["registered", "kei"], "powertrain": ["BEV"], "cohort": cohorts},
    )
    mix = xr.DataArray(
        np.ones((1, 1, cohorts.size)),
        coords={"powertrain": ["BEV"], "chemistry": ["NMC811"], "cohort": cohorts},
    )
    return sales.transpose("region", "segment", "powertrain", "year"), fleet, pack, mix


def test_exports_follow_each_segments_share():
    sales, fleet, pack, mix = _two_segment_fleet()
    spec = Recycling(
        export_share={"registered": 0.5, "kei": {2000: 0.0, 2030: 0.3}},
        collection_rate=1.0,
        recovery=dict.fromkeys(METALS, 1.0),
        note="test",
    )
    intensity = material_intensity().sel(chemistry=["NMC811"])
    leaving = capacity_leaving(fleet.outflow_by_cohort, pack, mix)
    flows = material_flows(
        sales=sales,
        stock_by_cohort=fleet.stock_by_cohort,
        leaving=leaving["nameplate"],
        pack=pack,
        mix=mix,
        intensity=intensity,
        spec=spec,
    ).sel(region="R", metal="cobalt")
    cobalt = float(intensity.sel(chemistry="NMC811", metal="cobalt")) / 1000.0  # t/kWh
    cars = fleet.outflow_by_cohort.sum(["powertrain", "cohort"]).sel(region="R")
    kei_share = np.interp(cars.year, [2000, 2030], [0.0, 0.3])
    expected = (
        0.5 * cars.sel(segment="registered") * 60.0 + kei_share * cars.sel(segment="kei") * 20.0
    ) * cobalt
    np.testing.assert_allclose(flows["metal_exported"], expected, rtol=1e-12)
    assert float(flows["metal_exported"].sel(year=2030)) < float(
        flows["metal_retired"].sel(year=2030)
    )

    capacity = retired_capacity(
        leaving, export_shares(spec, ["registered", "kei"], sales.year.values)
    ).sel(region="R")
    np.testing.assert_allclose(capacity["battery_exported"] * 1e6 * cobalt, expected, rtol=1e-12)


@pytest.mark.parametrize("fade", [0.0, 0.2, xr.DataArray([0.01, 0.08, 0.2], dims="draw")])
def test_the_capacity_left_after_fade_is_each_cohorts_own(fade):
    """Capacity left = Σ over cohorts of outflow · pack · share · (1 − fade)^age, with the
    age t − c + offset of each cell (the split into a cohort and a year factor is exact)."""
    _, fleet, pack, mix = _two_segment_fleet()
    outflow = fleet.outflow_by_cohort
    offset = xr.DataArray([0.5, 1.0], coords={"segment": ["registered", "kei"]})
    leaving = capacity_leaving(outflow, pack, mix, fade, offset)
    age = (outflow.year - outflow.cohort + offset).clip(min=0.0)
    faded = outflow * (1.0 - fade) ** age
    direct = xr.dot(faded, pack * mix, dim=["powertrain", "cohort"])
    xr.testing.assert_allclose(
        leaving["remaining"].transpose(*direct.dims, ...), direct, rtol=1e-12, atol=1e-9
    )
    nameplate = xr.dot(outflow, pack * mix, dim=["powertrain", "cohort"])
    xr.testing.assert_allclose(leaving["nameplate"].transpose(*nameplate.dims, ...), nameplate)
    assert bool((leaving["remaining"] <= leaving["nameplate"] * (1 + 1e-12)).all())


def test_the_bundled_export_shares_are_higher_for_registered_cars(japan_2050):
    spec = japan_2050.scenario.batteries.recycling
    shares = export_shares(spec, ["registered", "kei"], np.array([2018, 2023, 2050]))
    assert (shares.sel(segment="registered") > 5 * shares.sel(segment="kei")).all()
    np.testing.assert_allclose(shares.sel(year=2050), shares.sel(year=2023))  # held


def test_an_export_share_for_one_segment_only_is_refused(write_scenario):
    path = write_scenario({"batteries": {"recycling": {"export_share": {"registered": 0.4}}}})
    with pytest.raises(
        ScenarioError, match=r"batteries.recycling.export_share: no share for \['kei'\]"
    ):
        load_scenario(path)


def test_an_export_share_for_an_unknown_segment_is_refused(write_scenario):
    document = {
        "batteries": {"recycling": {"export_share": {"registered": 0.4, "kei": 0.1, "van": 0.2}}}
    }
    path = write_scenario(document)
    with pytest.raises(ScenarioError, match=r"export_share\.van: got 'van'"):
        load_scenario(path)


def test_a_chemistry_path_that_does_not_sum_to_one_is_refused(write_scenario):
    document = {"batteries": {"packs": {"chemistry_by_powertrain": {"HEV": {2020: {"NiMH": 0.5}}}}}}
    path = write_scenario(document)
    with pytest.raises(ScenarioError, match="chemistry_by_powertrain"):
        load_scenario(path)
