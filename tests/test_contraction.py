"""Contractions by matrix products give what ``xr.dot`` gives: values, dims in order,
coords, alignment."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from evpath.core.alignment import exactly_aligned
from evpath.core.contraction import dot

SIZES = {"draw": 3, "segment": 2, "year": 9, "cohort": 5, "region": 1, "powertrain": 3, "metal": 2}


def _array(dims: list[str], seed: int) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    coords = {d: np.arange(SIZES[d]) for d in dims if d != "region"}
    return xr.DataArray(rng.normal(size=[SIZES[d] for d in dims]), coords=coords, dims=dims)


dim_lists = st.lists(st.sampled_from(sorted(SIZES)), unique=True, max_size=5).flatmap(
    st.permutations
)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(left=dim_lists, right=dim_lists, data=st.data())
def test_two_arrays_give_what_xr_dot_gives(left, right, data):
    present = sorted(set(left) | set(right))
    summed = data.draw(st.lists(st.sampled_from(present), unique=True) if present else st.just([]))
    a, b = _array(left, 1), _array(right, 2)
    expected = xr.dot(a, b, dim=summed)
    got = dot(a, b, dim=summed)
    assert got.dims == expected.dims
    xr.testing.assert_allclose(got, expected, rtol=1e-12)
    xr.testing.assert_identical(got.coords.to_dataset(), expected.coords.to_dataset())


@pytest.mark.parametrize(
    ("right", "summed"),
    [
        (["segment", "powertrain", "metal", "cohort", "draw"], ["cohort"]),  # energy-like
        (["segment", "powertrain", "metal", "cohort"], ["cohort"]),  # b without draw
        (["powertrain", "cohort", "metal"], ["powertrain", "cohort"]),  # batch dim summed
        (["draw", "segment", "metal", "cohort"], ["segment", "cohort"]),
    ],
)
def test_a_fleet_array_is_read_as_stored(monkeypatch, right, summed):
    """A by-cohort array of the fleet (segment, draw, powertrain, year, region, cohort)
    is multiplied as it is laid out in memory, with no transposed copy, whatever ``b``
    holds and whatever order its dims are shown in."""
    import evpath.core.contraction as contraction

    def refused(*args, **kwargs):
        raise AssertionError("transposed a copy of the by-cohort array")

    monkeypatch.setattr(contraction, "_transposed", refused)
    stored = _array(["segment", "draw", "powertrain", "year", "region", "cohort"], 1)
    b = _array(right, 2)
    for a in (stored, stored.transpose("year", "cohort", "region", ...)):  # a view too
        got = dot(a, b, dim=summed)
        expected = xr.dot(a, b, dim=summed)
        assert got.dims == expected.dims
        xr.testing.assert_allclose(got, expected, rtol=1e-12)


def test_three_arrays_give_what_xr_dot_gives():
    a, b, c = _array(["year", "cohort"], 1), _array(["cohort", "draw"], 2), _array(["draw"], 3)
    xr.testing.assert_allclose(
        dot(a, b, c, dim=["cohort", "draw"]), xr.dot(a, b, c, dim=["cohort", "draw"])
    )


def test_labels_are_aligned_as_xr_dot_aligns_them():
    a = xr.DataArray([1.0, 2.0, 3.0], coords={"year": [2020, 2021, 2022]})
    b = xr.DataArray([10.0, 20.0], coords={"year": [2022, 2021]})
    assert float(dot(a, b, dim="year")) == 2.0 * 20.0 + 3.0 * 10.0
    with pytest.raises(ValueError, match="exact"):
        exactly_aligned(dot)(a, b, dim="year")


def test_a_dim_in_neither_array_is_refused():
    with pytest.raises(ValueError, match="in none of the arrays"):
        dot(_array(["year"], 1), _array(["year"], 2), dim="cohort")


def test_a_nan_propagates_as_in_xr_dot():
    a = _array(["year", "cohort"], 1)
    b = _array(["cohort", "draw"], 2)
    a[0, 0] = np.nan
    for summed in (["cohort"], ["year", "cohort"]):
        xr.testing.assert_allclose(dot(a, b, dim=summed), xr.dot(a, b, dim=summed))
        assert np.isnan(dot(a, b, dim=summed).values).any()
