"""The variable catalogue matches what a run returns, and mismatches are caught."""

from __future__ import annotations

import pytest
import xarray as xr

from evpath.core.variables import annotate, catalogue
from evpath.errors import InvariantError


def test_every_run_variable_is_catalogued_with_its_description(japan_2050):
    ds = japan_2050.dataset
    assert set(ds.data_vars) == set(catalogue())
    for name, array in ds.data_vars.items():
        assert array.attrs["long_name"] == catalogue()[name].description


def test_wrong_unit_or_unknown_variable_is_an_error():
    wrong = xr.Dataset({"average_age": xr.DataArray([1.0], dims="year", attrs={"units": "days"})})
    with pytest.raises(InvariantError, match="variable 'average_age' has dims"):
        annotate(wrong)
    unknown = xr.Dataset({"mystery": xr.DataArray([1.0], dims="year", attrs={"units": "1"})})
    with pytest.raises(InvariantError, match=r"'mystery' is not in variables.csv"):
        annotate(unknown)
