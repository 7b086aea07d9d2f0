"""Bundled data: every file has provenance; Japan's history reproduces the figures it is built from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evpath.data import dataset_path, datasets, load_dataset
from evpath.data.histories import HISTORIES
from evpath.errors import DataError

FILES = Path(__file__).parents[1] / "src" / "evpath" / "data" / "files"


def test_every_bundled_file_has_a_provenance_record():
    registered = {info.file for info in datasets().values()}
    on_disk = {p.name for p in FILES.glob("*.csv")}
    assert registered == on_disk
    for info in datasets().values():
        assert info.source
        assert info.licence
        assert info.units
        assert info.version


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(DataError, match="unknown dataset 'nope'; bundled datasets are: "):
        dataset_path("nope")


@pytest.fixture(scope="module")
def japan():
    return HISTORIES["japan"].load()


def test_a_history_is_built_once_and_each_load_is_its_own_copy(japan):
    from evpath.data.japan import japan_history

    built = japan_history()
    again = HISTORIES["japan"].load()
    assert again.sales is not japan.sales
    assert again.observed is not japan.observed
    again.sales[:] = 0.0
    again.observed["value"] = 0.0
    again.provenance["value"] = 0.0
    fresh = HISTORIES["japan"].load()
    assert fresh.sales.identical(built.sales)
    pd.testing.assert_frame_equal(fresh.observed, built.observed, check_exact=True)
    pd.testing.assert_frame_equal(fresh.provenance, built.provenance, check_exact=True)


def _segment_total(japan, segment: str, year: int) -> float:
    sales = japan.sales.sel(region="JPN", year=year).sum("powertrain")
    return float(sales.sum("segment") if segment == "all" else sales.sel(segment=segment))


@pytest.mark.parametrize(
    ("segment", "year", "reported"),
    [
        ("registered", 2013, 2_872_111),  # JADA via economic.jp
        ("kei", 2013, 1_690_171),  # Zenkeijikyo via economic.jp
        ("registered", 2021, 2_399_862),  # JADA new-vehicle release (fuel-type table: 2,323,712)
        ("registered", 2024, 2_523_105),  # JADA via Response.jp
        ("kei", 2024, 1_202_095),  # Zenkeijikyo via Response.jp
        ("kei", 2022, 1_224_995),  # exact figure preferred over JAMA's rounded one
        ("all", 2019, 4_301_091),
        ("all", 1990, 5_102_659),  # JAMA
    ],
)
def test_history_reproduces_reported_totals(japan, segment, year, reported):
    assert _segment_total(japan, segment, year) == pytest.approx(reported, rel=1e-12)


@pytest.mark.parametrize(("year", "tally"), [(2023, 3_992_728), (2024, 3_725_198)])
def test_segment_sum_agrees_with_independent_all_segment_tally(japan, year, tally):
    # eco-revo.blog's own tally differs from the associations' segment figures by 1-2 cars
    assert _segment_total(japan, "all", year) == pytest.approx(tally, abs=2)


def test_plug_in_and_fuel_cell_sales_are_the_iea_figures(japan):
    iea = load_dataset("iea_gevo2025_ev_data")
    iea = iea[
        (iea.region_country == "Japan")
        & (iea.category == "Historical")
        & (iea["mode"] == "Cars")
        & (iea.parameter == "EV sales")
    ]
    for powertrain, rows in iea.groupby("powertrain"):
        model = japan.sales.sel(region="JPN", powertrain=powertrain).sum("segment")
        np.testing.assert_allclose(model.sel(year=rows.year.to_numpy()), rows.value.to_numpy())


def test_reported_powertrain_shares_are_reproduced(japan):
    registered = japan.sales.sel(region="JPN", segment="registered")
    share = registered / registered.sum("powertrain")
    hybrids = share.sel(powertrain=["MHEV", "HEV"]).sum("powertrain")  # JADA counts both
    assert float(hybrids.sel(year=2021)) == pytest.approx(0.442)
    assert float(hybrids.sel(year=2022)) == pytest.approx(0.490)
    assert float(share.sel(powertrain="ICEV_diesel", year=2021)) == pytest.approx(0.062)


def test_history_is_non_negative_and_every_value_has_a_basis(japan):
    assert float(japan.sales.min()) >= 0
    provenance = japan.provenance
    assert not provenance["basis"].isin(["", None]).any()
    combos = provenance[["segment", "powertrain", "year"]].drop_duplicates()
    powertrain_rows = combos[combos.powertrain != "total"]
    assert (
        len(powertrain_rows)
        == japan.sales.sizes["segment"]
        * japan.sales.sizes["powertrain"]
        * japan.sales.sizes["year"]
    )
    reported = provenance[provenance.basis == "reported"]
    assert len(reported) > 0


def test_no_kei_plug_in_hybrids_or_fuel_cell_cars(japan):
    kei = japan.sales.sel(region="JPN", segment="kei")
    assert float(kei.sel(powertrain=["PHEV", "FCEV", "ICEV_diesel"]).sum()) == 0.0


def test_observed_stock_is_end_of_previous_year_for_airia(japan):
    observed = japan.observed
    assert isinstance(observed, pd.DataFrame)
    stock = observed[(observed.segment == "registered") & (observed.metric == "stock")]
    registered = stock[stock.powertrain == "all"]
    assert registered.set_index("year").loc[2017, "value"] == 39_533_782  # AIRIA 2018-03-31
    hybrids = stock[stock.powertrain == "HEV+PHEV"]
    assert not hybrids.empty
    assert (
        hybrids["value"] < registered.set_index("year").loc[hybrids["year"], "value"].values
    ).all()
