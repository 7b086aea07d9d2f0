"""The variable catalogue matches what a run returns, and mismatches are caught."""

from __future__ import annotations

import pytest
import xarray as xr

from evpath.core.variables import annotate, catalogue
from evpath.errors import InvariantError
from evpath.model.scope import SCOPE_VARIABLES


def test_every_run_variable_is_catalogued_with_its_description(japan_2050):
    ds = japan_2050.dataset
    assert set(ds.data_vars) == set(catalogue()) - set(SCOPE_VARIABLES)
    for name, array in ds.data_vars.items():
        assert array.attrs["long_name"] == catalogue()[name].description


def test_wrong_unit_or_unknown_variable_is_an_error():
    wrong = xr.Dataset({"average_age": xr.DataArray([1.0], dims="year", attrs={"units": "days"})})
    with pytest.raises(InvariantError, match="variable 'average_age' has dims"):
        annotate(wrong)
    unknown = xr.Dataset({"mystery": xr.DataArray([1.0], dims="year", attrs={"units": "1"})})
    with pytest.raises(InvariantError, match=r"'mystery' is not in variables.csv"):
        annotate(unknown)


def test_units_come_from_the_catalogue(japan_2050):
    for name, array in japan_2050.dataset.data_vars.items():
        assert array.attrs["units"] == catalogue()[name].unit, name


def test_nan_only_where_the_catalogue_allows_it_and_never_inf():
    years = [2030, 2031]
    nan_stock = xr.Dataset(
        {
            "average_age": xr.DataArray(
                [[[9.0, float("nan")]]],
                coords={"region": ["JPN"], "segment": ["kei"], "year": years},
            )
        }
    )
    with pytest.raises(
        InvariantError,
        match=r"'average_age' is nan at region='JPN', segment='kei', year=2031; "
        r"allowed: finite values only",
    ):
        annotate(nan_stock)
    price = catalogue()["pack_price"]
    assert price.missing
    early = xr.Dataset({"pack_price": xr.DataArray([float("nan"), 100.0], coords={"year": years})})
    assert annotate(early)["pack_price"].attrs["units"] == price.unit
    infinite = xr.Dataset(
        {"pack_price": xr.DataArray([float("inf"), 100.0], coords={"year": years})}
    )
    with pytest.raises(
        InvariantError, match=r"'pack_price' is inf at year=2030; allowed: NaN only"
    ):
        annotate(infinite)
