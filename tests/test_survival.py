"""Lifetime models and survival matrices: values, conventions and input errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from flodym import Dimension, DimensionSet
from flodym import lifetime_models as flm
from scipy import stats

from evpath.errors import InputError
from evpath.survival import (
    Empirical,
    Fixed,
    FoldedNormal,
    LifetimeModel,
    LogNormal,
    Normal,
    Weibull,
    survival_arrays,
    survival_matrix,
)

YEARS = np.arange(2000, 2036)
INFLOW_AT = ("start", "middle", "end")


def _flodym_pair(kind: str, dims: DimensionSet, inflow_at: str) -> tuple[LifetimeModel, object]:
    """The same lifetime as an evpath model and a flodym model."""
    if kind == "fixed":
        return Fixed(7.5), flm.FixedLifetime(dims=dims, mean=7.5, inflow_at=inflow_at)
    if kind == "fixed_whole":
        return Fixed(7.0), flm.FixedLifetime(dims=dims, mean=7.0, inflow_at=inflow_at)
    if kind == "normal":
        return Normal(9.0, 3.0), flm.NormalLifetime(
            dims=dims, mean=9.0, std=3.0, inflow_at=inflow_at
        )
    if kind == "foldednormal":
        return FoldedNormal(3.0, 4.0), flm.FoldedNormalLifetime(
            dims=dims, mean=3.0, std=4.0, inflow_at=inflow_at
        )
    if kind == "lognormal":
        return LogNormal(9.0, 4.0), flm.LogNormalLifetime(
            dims=dims, mean=9.0, std=4.0, inflow_at=inflow_at
        )
    return Weibull(2.2, 10.0), flm.WeibullLifetime(
        dims=dims, weibull_shape=2.2, weibull_scale=10.0, inflow_at=inflow_at
    )


KINDS = ("fixed", "fixed_whole", "normal", "foldednormal", "lognormal", "weibull")


@pytest.mark.parametrize("inflow_at", INFLOW_AT)
@pytest.mark.parametrize("kind", KINDS)
def test_matches_flodym_survival_factor(kind: str, inflow_at: str) -> None:
    dims = DimensionSet(dim_list=[Dimension(name="time", letter="t", items=list(YEARS))])
    ours, theirs = _flodym_pair(kind, dims, inflow_at)
    got = survival_matrix(ours, YEARS, inflow_at).values
    np.testing.assert_allclose(got, theirs.sf, rtol=1e-9, atol=1e-300)


def test_convention_ages_at_end_of_year() -> None:
    """S[t, c] = sf(t - c + offset); offset 1, 1/2, 0 for start, middle, end."""
    model = Weibull(1.0, 4.0)
    for inflow_at, offset in zip(INFLOW_AT, (1.0, 0.5, 0.0), strict=True):
        s = survival_matrix(model, [2020, 2021, 2022], inflow_at)
        assert s.dims == ("year", "cohort")
        assert float(s.sel(year=2022, cohort=2020)) == pytest.approx(np.exp(-(2 + offset) / 4))
        assert float(s.sel(year=2020, cohort=2021)) == 0.0


def test_fixed_lifetime_retires_at_mean() -> None:
    s = survival_matrix(Fixed(3.5), range(2000, 2008), "end")
    assert s.sel(cohort=2000).values.tolist() == [1, 1, 1, 1, 0, 0, 0, 0]


def test_cohort_varying_parameters_match_flodym() -> None:
    dims = DimensionSet(
        dim_list=[
            Dimension(name="time", letter="t", items=list(YEARS)),
            Dimension(name="region", letter="r", items=["a", "b"]),
        ]
    )
    mean = np.linspace(5.0, 20.0, YEARS.size)[:, None] * np.array([1.0, 1.3])
    std = np.full_like(mean, 2.5)
    theirs = flm.NormalLifetime(dims=dims, mean=mean, std=std)
    mean_da = xr.DataArray(
        mean, dims=("cohort", "region"), coords={"cohort": YEARS, "region": ["a", "b"]}
    )
    got = survival_matrix(Normal(mean_da, 2.5), YEARS).transpose("year", "cohort", "region")
    np.testing.assert_allclose(got.values, theirs.sf, rtol=1e-12)


def test_parameters_broadcast_over_their_dims() -> None:
    mean = xr.DataArray([10.0, 12.0, 14.0], dims="draw", coords={"draw": [0, 1, 2]})
    std = xr.DataArray([2.0, 3.0], dims="region", coords={"region": ["x", "y"]})
    s = survival_matrix(LogNormal(mean, std), YEARS)
    assert s.dims == ("year", "cohort", "draw", "region")
    for d, m in enumerate([10.0, 12.0, 14.0]):
        for r, sd in zip(["x", "y"], [2.0, 3.0], strict=True):
            one = survival_matrix(LogNormal(m, sd), YEARS)
            np.testing.assert_allclose(s.sel(draw=d, region=r).values, one.values, rtol=1e-14)


def test_cohort_parameters_may_cover_more_years_and_any_order() -> None:
    cohorts = np.arange(2040, 1990, -1)
    mean = xr.DataArray(cohorts - 1985.0, dims="cohort", coords={"cohort": cohorts})
    s = survival_matrix(Fixed(mean), YEARS, "end")
    for c in (2000, 2010):
        life = c - 1985
        column = s.sel(cohort=c).values
        age = YEARS - c
        assert column[age < 0].sum() == 0
        assert column[(age >= 0) & (age < life)].min() == 1
        assert column[age >= life].sum() == 0


def test_empirical_table_by_age() -> None:
    table = xr.DataArray([0.95, 0.8, 0.4, 0.1], dims="age", coords={"age": [0, 1, 2, 3]})
    s = survival_matrix(Empirical(table), range(2000, 2007), "start")
    assert s.sel(cohort=2001).values.tolist() == [0, 0.95, 0.8, 0.4, 0.1, 0, 0]


def test_empirical_by_cohort_and_region() -> None:
    values = np.array([[[1.0, 0.5], [1.0, 0.9]], [[0.8, 0.0], [0.7, 0.7]]])
    table = xr.DataArray(
        values,
        dims=("cohort", "region", "age"),
        coords={"cohort": [2000, 2001], "region": ["a", "b"], "age": [0, 1]},
    )
    s = survival_matrix(Empirical(table), [2000, 2001])
    np.testing.assert_array_equal(s.sel(region="b").values, [[1.0, 0.0], [0.9, 0.7]])


def test_initial_survival_is_conditional_on_first_cohort() -> None:
    model = Normal(xr.DataArray([10.0, 30.0], dims="cohort", coords={"cohort": [2000, 2001]}), 3.0)
    arrays = survival_arrays(model, [2000, 2001], "middle", n_initial_ages=3)
    assert arrays.initial is not None
    ages = np.arange(3)
    sf = survival_matrix(Normal(10.0, 3.0), range(1990, 2010))
    # a vehicle of age a at the end of 1999 entered in 1999 - a
    for t, year in enumerate([2000, 2001]):
        for a in ages:
            cohort = 1999 - a
            expected = sf.sel(year=year, cohort=cohort) / sf.sel(year=1999, cohort=cohort)
            assert arrays.initial[t, a] == pytest.approx(float(expected), rel=1e-12)


def test_initial_survival_zero_where_no_vehicle_reaches_the_age() -> None:
    # Fixed(2), inflow at the end: ages 0 and 1 survive, age 2 is gone
    arrays = survival_arrays(Fixed(2.0), [2000, 2001], "end", n_initial_ages=4)
    assert arrays.initial is not None
    np.testing.assert_array_equal(arrays.initial, [[1, 0, 0, 0], [0, 0, 0, 0]])
    arrays = survival_arrays(Fixed(3.0), [2000, 2001], "end", n_initial_ages=3)
    assert arrays.initial is not None
    np.testing.assert_array_equal(arrays.initial, [[1, 1, 0], [1, 0, 0]])


@pytest.mark.parametrize(
    ("build", "text"),
    [
        (
            lambda: Fixed(-1.0),
            "Fixed parameter 'mean' got -1.0; allowed: a finite number of years >= 0",
        ),
        (
            lambda: Normal(10.0, -2.0),
            "Normal parameter 'std' got -2.0; allowed: a finite number of years > 0",
        ),
        (
            lambda: Normal(-3.0, 2.0),
            "Normal parameter 'mean' got -3.0; allowed: a finite number of years >= 0",
        ),
        (
            lambda: Normal(10.0, 0.0),
            "Normal parameter 'std' got 0.0; allowed: a finite number of years > 0",
        ),
        (
            lambda: FoldedNormal(10.0, 0.0),
            "FoldedNormal parameter 'std' got 0.0; allowed: a finite number of years > 0",
        ),
        (
            lambda: LogNormal(0.0, 1.0),
            "LogNormal parameter 'mean' got 0.0; allowed: a finite number of years > 0",
        ),
        (
            lambda: Weibull(0.0, 5.0),
            "Weibull parameter 'shape' got 0.0; allowed: a finite number > 0",
        ),
        (
            lambda: Weibull(1.0, -5.0),
            "Weibull parameter 'scale' got -5.0; allowed: a finite number of years > 0",
        ),
        (
            lambda: Normal(float("nan"), 1.0),
            "Normal parameter 'mean' got nan; allowed: a finite number",
        ),
        (
            lambda: Fixed("ten"),
            "Fixed parameter 'mean' must be a number or an xarray DataArray; got str 'ten'",
        ),
        (
            lambda: Normal(
                xr.DataArray([10.0, -1.0], dims="region", coords={"region": ["a", "b"]}), 1.0
            ),
            "Normal parameter 'mean' got -1.0 at region='b'; allowed: a finite number of years",
        ),
        (
            lambda: Normal(xr.DataArray([10.0], dims="year"), 1.0),
            "Normal parameter 'mean' has dim(s) ['year']; lifetime parameters may vary by",
        ),
        (
            lambda: Empirical(xr.DataArray([1.0, 1.2], dims="age")),
            "Empirical parameter 'survival' got 1.2 at age=1; allowed: fractions within [0, 1]",
        ),
        (
            lambda: Empirical(
                xr.DataArray(
                    [[1.0, 0.5, 0.6], [1.0, 0.4, 0.3]],
                    dims=("region", "age"),
                    coords={"region": ["a", "b"]},
                )
            ),
            (
                "Empirical parameter 'survival' rises from 0.5 to 0.6 at age=2, region='a'; "
                "allowed: non-increasing with age"
            ),
        ),
        (
            lambda: Empirical(xr.DataArray([1.0, 0.5], dims="age", coords={"age": [1, 2]})),
            "Empirical parameter 'survival' has age labels [1, 2]; allowed: consecutive whole ages",
        ),
        (
            lambda: Empirical(xr.DataArray([1.0, 0.5], dims="x")),
            "Empirical parameter 'survival' must be a DataArray with an 'age' dim",
        ),
    ],
)
def test_invalid_parameters_name_value_and_allowed(build: object, text: str) -> None:
    with pytest.raises(InputError) as info:
        build()  # type: ignore[operator]
    assert text in str(info.value)


def test_missing_cohorts_are_named() -> None:
    mean = xr.DataArray([10.0, 11.0], dims="cohort", coords={"cohort": [2000, 2001]})
    with pytest.raises(InputError, match=r"'mean' has no value for cohort\(s\) \[2002\]"):
        survival_matrix(Fixed(mean), [2000, 2001, 2002])


def test_bad_years_and_inflow_at() -> None:
    with pytest.raises(
        InputError, match="years must be consecutive and increasing by 1; got 2001 followed by 2003"
    ):
        survival_matrix(Fixed(3.0), [2000, 2001, 2003])
    with pytest.raises(
        InputError, match="inflow_at must be one of 'start', 'middle', 'end'; got 'begin'"
    ):
        survival_matrix(Fixed(3.0), [2000, 2001], "begin")  # type: ignore[arg-type]


def test_parameter_label_mismatch_with_input() -> None:
    mean = xr.DataArray([10.0, 11.0], dims="region", coords={"region": ["a", "b"]})
    import pandas as pd

    with pytest.raises(
        InputError, match=r"'mean' has region labels that differ .* missing \['c'\], extra \['b'\]"
    ):
        survival_arrays(Fixed(mean), [2000], coords={"region": pd.Index(["a", "c"])})


@pytest.mark.parametrize(
    ("model", "reference"),
    [
        (Fixed(7.0), 7.0),
        (Normal(9.0, 3.0), stats.norm(loc=9.0, scale=3.0).mean()),
        (FoldedNormal(3.0, 4.0), stats.foldnorm(c=3.0 / 4.0, scale=4.0).mean()),
        (FoldedNormal(0.0, 4.0), stats.foldnorm(c=0.0, scale=4.0).mean()),
        (
            LogNormal(9.0, 4.0),
            stats.lognorm(
                s=np.sqrt(np.log1p(16.0 / 81.0)), scale=81.0 / np.sqrt(81.0 + 16.0)
            ).mean(),
        ),
        (Weibull(2.2, 10.0), stats.weibull_min(c=2.2, scale=10.0).mean()),
        (Weibull(0.8, 6.0), stats.weibull_min(c=0.8, scale=6.0).mean()),
    ],
)
def test_mean_lifetime_matches_scipy_and_the_survival_integral(
    model: LifetimeModel, reference: float
) -> None:
    """The mean against scipy.stats, and against the midpoint rule for the integral of sf.

    With inflow_at="middle", S[t, c] = sf(t - c + 1/2), so the vehicle-years of a cohort
    (sum over t) approximate the integral of sf over age, which is the mean lifetime.
    """
    mean = model.mean_lifetime()
    assert isinstance(mean, float)
    assert mean == pytest.approx(reference, rel=1e-12)
    years = np.arange(2000, 2200)
    vehicle_years = float(survival_matrix(model, years, "middle").isel(cohort=0).sum())
    assert vehicle_years == pytest.approx(mean, rel=5e-3)


def test_mean_lifetime_of_empirical_is_expected_whole_years_in_fleet() -> None:
    table = xr.DataArray([1.0, 0.9, 0.6, 0.2, 0.0], dims="age", coords={"age": np.arange(5)})
    model = Empirical(table)
    assert model.mean_lifetime() == pytest.approx(2.7)
    vehicle_years = float(survival_matrix(model, range(2000, 2010)).isel(cohort=0).sum())
    assert vehicle_years == pytest.approx(2.7)


def test_mean_lifetime_over_cohort_and_other_dims() -> None:
    cohorts = [2000, 2001, 2002]
    mean = xr.DataArray([3.0, 6.0, 9.0], dims="cohort", coords={"cohort": cohorts})
    std = xr.DataArray([2.0, 4.0], dims="region", coords={"region": ["JP", "DE"]})
    got = FoldedNormal(mean, std).mean_lifetime()
    assert isinstance(got, xr.DataArray)
    assert set(got.dims) == {"cohort", "region"}
    assert got.attrs["units"] == "years"
    for c, m in zip(cohorts, mean.values, strict=True):
        for r, s in zip(["JP", "DE"], std.values, strict=True):
            expected = FoldedNormal(float(m), float(s)).mean_lifetime()
            assert float(got.sel(cohort=c, region=r)) == pytest.approx(expected, rel=1e-12)

    scale = xr.DataArray([10.0, 12.0, 14.0], dims="cohort", coords={"cohort": cohorts})
    weibull = Weibull(2.0, scale).mean_lifetime()
    assert isinstance(weibull, xr.DataArray)
    assert weibull.dims == ("cohort",)
    np.testing.assert_allclose(
        weibull.values, stats.weibull_min(c=2.0, scale=scale.values).mean(), rtol=1e-12
    )
    assert Normal(mean, 2.0).mean_lifetime().identical(mean.assign_attrs(units="years"))

    table = xr.DataArray(
        [[1.0, 1.0], [0.5, 0.8], [0.0, 0.4]],
        dims=("age", "cohort"),
        coords={"age": [0, 1, 2], "cohort": [2000, 2001]},
    )
    empirical = Empirical(table).mean_lifetime()
    assert isinstance(empirical, xr.DataArray)
    assert empirical.dims == ("cohort",)
    np.testing.assert_allclose(empirical.values, [1.5, 2.2])


def test_mean_lifetime_rejects_parameters_with_different_labels() -> None:
    mean = xr.DataArray([9.0, 10.0], dims="cohort", coords={"cohort": [2000, 2001]})
    std = xr.DataArray([2.0, 3.0], dims="cohort", coords={"cohort": [2001, 2002]})
    with pytest.raises(InputError, match="Normal parameters \\['mean', 'std'\\] have different"):
        Normal(mean, std).mean_lifetime()
