"""Property tests of the stock engine: balance and round trip on random small cases."""

from __future__ import annotations

import numpy as np
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from evpath.stock import inflow_driven, stock_driven
from evpath.survival import Fixed, FoldedNormal, LifetimeModel, LogNormal, Normal, Weibull

lifetimes = st.one_of(
    st.builds(Fixed, st.floats(1.5, 30.0)),
    st.builds(Normal, st.floats(2.0, 30.0), st.floats(0.5, 10.0)),
    st.builds(FoldedNormal, st.floats(2.0, 30.0), st.floats(0.5, 10.0)),
    st.builds(LogNormal, st.floats(2.0, 30.0), st.floats(0.5, 10.0)),
    st.builds(Weibull, st.floats(0.8, 5.0), st.floats(2.0, 30.0)),
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[xr.DataArray, xr.DataArray | None]:
    """Inflow (year, region) and an optional initial stock (age, region)."""
    n_years = draw(st.integers(2, 12))
    n_regions = draw(st.integers(1, 3))
    first = draw(st.integers(1950, 2050))
    values = draw(
        st.lists(st.floats(0.0, 1000.0), min_size=n_years * n_regions, max_size=n_years * n_regions)
    )
    inflow = xr.DataArray(
        np.reshape(values, (n_years, n_regions)),
        dims=("year", "region"),
        coords={"year": np.arange(first, first + n_years), "region": list("abc")[:n_regions]},
    )
    initial = None
    if draw(st.booleans()):
        n_ages = draw(st.integers(1, 8))
        ages = draw(
            st.lists(
                st.floats(0.0, 500.0), min_size=n_ages * n_regions, max_size=n_ages * n_regions
            )
        )
        initial = xr.DataArray(
            np.reshape(ages, (n_ages, n_regions)),
            dims=("age", "region"),
            coords={"region": inflow["region"].values},
        )
    return inflow, initial


@settings(max_examples=40, deadline=None)
@given(
    case=cases(),
    lifetime=lifetimes,
    inflow_at=st.sampled_from(["start", "middle", "end"]),
)
def test_balance_and_round_trip(
    case: tuple[xr.DataArray, xr.DataArray | None], lifetime: LifetimeModel, inflow_at: str
) -> None:
    inflow, initial = case
    result = inflow_driven(inflow, lifetime, inflow_at=inflow_at, initial_stock=initial)
    start = np.zeros(inflow.sizes["region"]) if initial is None else initial.sum("age").values
    stock = result.stock.values
    previous = np.concatenate([start[np.newaxis], stock[:-1]])
    scale = 1.0 + np.abs(stock).max() + np.abs(inflow.values).max()
    np.testing.assert_allclose(
        stock - previous, result.inflow.values - result.outflow.values, rtol=0, atol=1e-12 * scale
    )
    assert result.stock.values.min() >= 0.0
    assert result.outflow.values.min() >= 0.0

    back = stock_driven(
        result.stock, lifetime, inflow_at=inflow_at, initial_stock=initial, negative_inflow="allow"
    )
    np.testing.assert_allclose(back.inflow.values, inflow.values, rtol=0, atol=1e-8 * scale)
