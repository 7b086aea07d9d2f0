"""Labelled arrays from scenario numbers, drawn or not: stacking in numpy gives what
xarray's broadcast and concat give."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from evpath.core.drawn import labelled_array

YEARS = xr.DataArray(np.arange(3.0), coords={"year": [2020, 2021, 2022]})
DRAWS = xr.DataArray([1.0, 2.0], coords={"draw": [0, 1]})
BY_BOTH = xr.DataArray(
    np.arange(6.0).reshape(2, 3), coords={"draw": [0, 1], "year": [2020, 2021, 2022]}
)


def _by_xarray(values: list, labels: list[str]) -> xr.DataArray:
    arrays = xr.broadcast(*(xr.DataArray(v) for v in values))
    return xr.concat(arrays, dim=xr.DataArray(labels, dims="powertrain"))


@pytest.mark.parametrize(
    "values",
    [
        [YEARS, 2.0],
        [YEARS, DRAWS],
        [BY_BOTH.transpose("year", "draw"), YEARS, 0.5],
        [DRAWS, BY_BOTH, YEARS * 2],
    ],
)
def test_stacked_in_numpy_as_xarray_would(values):
    labels = [f"p{i}" for i in range(len(values))]
    xr.testing.assert_identical(
        labelled_array(values, "powertrain", labels), _by_xarray(values, labels)
    )


def test_labels_that_differ_are_joined_as_xarray_joins_them():
    later = YEARS.assign_coords(year=[2021, 2022, 2023])
    stacked = labelled_array([YEARS, later], "powertrain", ["a", "b"])
    xr.testing.assert_identical(stacked, _by_xarray([YEARS, later], ["a", "b"]))
    assert np.isnan(float(stacked.sel(powertrain="a", year=2023)))


REGIONS = xr.DataArray([10.0, 20.0], coords={"region": ["A", "B"]})


@pytest.mark.parametrize(
    "knots",
    [
        {2020: REGIONS, 2030: 40.0, 2040: 80.0},  # a start by region, then numbers
        {2020: REGIONS, 2030: BY_BOTH.sel(year=2021, drop=True)},  # by region, then drawn
        {2020: BY_BOTH.sel(year=2020, drop=True), 2025: REGIONS * 2},
    ],
)
def test_a_path_through_labelled_knots_is_what_xarray_interpolates(knots):
    """A path whose knots carry dims of their own is interpolated in numpy as xarray's
    broadcast, concat and dot would."""
    from evpath.core.drawn import path_array

    at = np.arange(2018, 2043)
    years = sorted(knots)
    weights = xr.DataArray(
        np.stack([np.interp(at, years, row) for row in np.eye(len(years))], axis=-1),
        coords={"year": at},
        dims=("year", "knot"),
    )
    stacked = xr.concat(xr.broadcast(*(xr.DataArray(knots[y]) for y in years)), dim="knot")
    expected = xr.dot(weights, stacked, dim="knot")
    got = path_array(knots, at)
    assert got.dims == expected.dims
    xr.testing.assert_allclose(got, expected, rtol=1e-12)
    xr.testing.assert_identical(got.coords.to_dataset(), expected.coords.to_dataset())
