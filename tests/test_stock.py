"""Dynamic stock engine: balance, round trip, by-cohort detail, negative inflow, errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from evpath.errors import InputError, InvariantError
from evpath.stock import StockResult, inflow_driven, stock_driven
from evpath.survival import (
    Empirical,
    Fixed,
    FoldedNormal,
    LifetimeModel,
    LogNormal,
    Normal,
    Weibull,
    survival_matrix,
)

YEARS = np.arange(2000, 2031)
REGIONS = ["JP", "DE", "US"]
POWERTRAINS = ["ICE", "HEV", "BEV"]
INFLOW_AT = ("start", "middle", "end")

MODELS: dict[str, LifetimeModel] = {
    "fixed": Fixed(8.5),
    "normal": Normal(10.0, 4.0),
    "foldednormal": FoldedNormal(6.0, 5.0),
    "lognormal": LogNormal(12.0, 5.0),
    "weibull": Weibull(2.5, 13.0),
    "empirical": Empirical(
        xr.DataArray(np.clip(1.0 - np.arange(16) / 15.0, 0.0, 1.0) ** 1.5, dims="age")
    ),
}


def _inflow(seed: int = 0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    return xr.DataArray(
        rng.uniform(50.0, 150.0, (YEARS.size, len(REGIONS), len(POWERTRAINS))),
        dims=("year", "region", "powertrain"),
        coords={"year": YEARS, "region": REGIONS, "powertrain": POWERTRAINS},
        attrs={"units": "vehicles/yr"},
    )


def _initial(n_ages: int = 25, seed: int = 1) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    return xr.DataArray(
        rng.uniform(0.0, 300.0, (n_ages, len(REGIONS), len(POWERTRAINS))),
        dims=("age", "region", "powertrain"),
        coords={"age": np.arange(n_ages), "region": REGIONS, "powertrain": POWERTRAINS},
    )


def assert_balanced(result: StockResult, initial: xr.DataArray | None) -> None:
    """stock[t] - stock[t-1] = inflow[t] - outflow[t], stock[first-1] = sum of initial."""
    stock = result.stock
    start = xr.zeros_like(stock.isel(year=0, drop=True))
    if initial is not None:
        start = start + initial.sum("age")
    start = start.transpose(*stock.dims[1:])
    previous = np.concatenate([start.values[np.newaxis], stock.values[:-1]])
    flows = (result.inflow - result.outflow).transpose(*stock.dims)
    gap = (stock.values - previous) - flows.values
    scale = float(np.abs(stock).max()) + float(np.abs(result.inflow).max())
    assert float(np.abs(gap).max()) <= 1e-12 * scale


@pytest.mark.parametrize("with_initial", [False, True])
@pytest.mark.parametrize("inflow_at", INFLOW_AT)
@pytest.mark.parametrize("kind", MODELS)
def test_balance_every_model(kind: str, inflow_at: str, with_initial: bool) -> None:
    initial = _initial() if with_initial else None
    result = inflow_driven(_inflow(), MODELS[kind], inflow_at=inflow_at, initial_stock=initial)
    assert result.stock.dims == ("year", "region", "powertrain")
    assert_balanced(result, initial)
    assert float(result.stock.min()) >= 0.0
    assert float(result.outflow.min()) >= 0.0


def _reference_stock(inflow: xr.DataArray, model: LifetimeModel, inflow_at: str) -> np.ndarray:
    """Stock series by series from the survival matrix, without the engine."""
    s = survival_matrix(model, YEARS, inflow_at)
    out = np.zeros(inflow.shape)
    for r in range(inflow.sizes["region"]):
        for p in range(inflow.sizes["powertrain"]):
            sp = s
            for d in s.dims[2:]:
                sp = sp.sel({d: inflow[d].values[r if d == "region" else p]})
            out[:, r, p] = sp.values @ inflow.values[:, r, p]
    return out


def test_parameters_by_cohort_and_region_match_reference() -> None:
    inflow = _inflow()
    mean = xr.DataArray(
        np.linspace(8.0, 16.0, YEARS.size)[:, None] + np.array([0.0, 2.0, 4.0]),
        dims=("cohort", "region"),
        coords={"cohort": YEARS, "region": ["US", "JP", "DE"]},
    )
    model = Normal(mean, 3.0)
    result = inflow_driven(inflow, model, by_cohort=True)
    np.testing.assert_allclose(
        result.stock.values, _reference_stock(inflow, model, "middle"), rtol=1e-12
    )
    assert_balanced(result, None)
    np.testing.assert_allclose(result.stock_by_cohort.sum("cohort"), result.stock, rtol=1e-12)


def test_parameter_by_powertrain_matches_reference() -> None:
    inflow = _inflow()
    model = Weibull(
        2.0, xr.DataArray([14.0, 15.0, 11.0], dims="powertrain", coords={"powertrain": POWERTRAINS})
    )
    result = inflow_driven(inflow, model, inflow_at="start")
    np.testing.assert_allclose(
        result.stock.values, _reference_stock(inflow, model, "start"), rtol=1e-12
    )


@pytest.mark.parametrize("with_initial", [False, True])
def test_draw_dim_from_lifetime_is_added(with_initial: bool) -> None:
    draws = np.arange(4)
    mean = xr.DataArray([10.0, 12.0, 14.0, 16.0], dims="draw", coords={"draw": draws})
    initial = _initial() if with_initial else None
    result = inflow_driven(_inflow(), Normal(mean, 4.0), initial_stock=initial, by_cohort=True)
    assert result.stock.dims == ("year", "region", "powertrain", "draw")
    assert result.stock_by_cohort is not None
    assert result.stock_by_cohort.dims == ("year", "cohort", "region", "powertrain", "draw")
    assert_balanced(result, initial)
    for d, m in enumerate([10.0, 12.0, 14.0, 16.0]):
        one = inflow_driven(_inflow(), Normal(m, 4.0), initial_stock=initial)
        np.testing.assert_allclose(result.stock.sel(draw=d), one.stock, rtol=1e-12)
        np.testing.assert_allclose(result.outflow.sel(draw=d), one.outflow, rtol=1e-11, atol=1e-9)
    np.testing.assert_allclose(result.stock_by_cohort.sum("cohort"), result.stock, rtol=1e-12)


def test_by_cohort_sums_equal_totals_with_initial_stock() -> None:
    initial = _initial()
    result = inflow_driven(_inflow(), LogNormal(12.0, 5.0), initial_stock=initial, by_cohort=True)
    assert result.stock_by_cohort is not None
    assert result.outflow_by_cohort is not None
    cohorts = result.stock_by_cohort["cohort"].values
    np.testing.assert_array_equal(cohorts, np.arange(YEARS[0] - 25, YEARS[-1] + 1))
    np.testing.assert_allclose(result.stock_by_cohort.sum("cohort"), result.stock, rtol=1e-12)
    np.testing.assert_allclose(result.outflow_by_cohort.sum("cohort"), result.outflow, rtol=1e-12)
    old = result.stock_by_cohort.sel(cohort=slice(None, YEARS[0] - 1)).sum("cohort")
    np.testing.assert_allclose(old, result.stock_from_initial, rtol=1e-12)
    assert float(np.abs(result.stock_by_cohort.sel(year=2005, cohort=2010)).max()) == 0.0


def test_totals_only_by_default() -> None:
    result = inflow_driven(_inflow(), Normal(10.0, 3.0))
    assert result.stock_by_cohort is None
    assert result.outflow_by_cohort is None
    assert result.stock_from_initial is None
    assert result.negative_inflow is None


def test_units_follow_the_input() -> None:
    inflow = _inflow()
    inflow.attrs["units"] = "kvehicles/yr"
    result = inflow_driven(inflow, Normal(10.0, 3.0))
    assert result.inflow.attrs["units"] == "kvehicles/yr"
    assert result.outflow.attrs["units"] == "kvehicles/yr"
    assert result.stock.attrs["units"] == "kvehicles"
    back = stock_driven(result.stock, Normal(10.0, 3.0))
    assert back.inflow.attrs["units"] == "kvehicles/yr"
    assert back.stock.attrs["units"] == "kvehicles"
    plain = inflow_driven(_inflow().drop_attrs(), Normal(10.0, 3.0))
    assert plain.stock.attrs["units"] == "vehicles"


def test_initial_stock_keeps_surviving() -> None:
    initial = xr.DataArray([100.0, 100.0, 100.0], dims="age")
    inflow = xr.DataArray(np.zeros(4), dims="year", coords={"year": [2000, 2001, 2002, 2003]})
    result = inflow_driven(inflow, Fixed(3.0), inflow_at="end", initial_stock=initial)
    # ages 0, 1, 2 at the end of 1999; vehicles leave when they reach age 3
    np.testing.assert_array_equal(result.stock.values, [200.0, 100.0, 0.0, 0.0])
    np.testing.assert_array_equal(result.outflow.values, [100.0, 100.0, 100.0, 0.0])
    assert result.stock_from_initial is not None
    np.testing.assert_array_equal(result.stock_from_initial.values, result.stock.values)


@pytest.mark.parametrize("with_initial", [False, True])
@pytest.mark.parametrize("inflow_at", INFLOW_AT)
@pytest.mark.parametrize("kind", MODELS)
def test_round_trip(kind: str, inflow_at: str, with_initial: bool) -> None:
    initial = _initial() if with_initial else None
    inflow = _inflow()
    forward = inflow_driven(inflow, MODELS[kind], inflow_at=inflow_at, initial_stock=initial)
    back = stock_driven(
        forward.stock,
        MODELS[kind],
        inflow_at=inflow_at,
        initial_stock=initial,
        negative_inflow="allow",
    )
    np.testing.assert_allclose(back.inflow, inflow, rtol=1e-9)
    np.testing.assert_allclose(back.outflow, forward.outflow, rtol=1e-9, atol=1e-9 * 150)
    assert back.negative_inflow is not None
    assert not back.negative_inflow.found


def test_round_trip_with_lifetime_by_region_and_draw() -> None:
    mean = xr.DataArray(
        [[10.0, 12.0], [14.0, 9.0], [11.0, 13.0]],
        dims=("region", "draw"),
        coords={"region": REGIONS, "draw": [0, 1]},
    )
    inflow = _inflow()
    # the same initial vehicles in every draw
    initial = _initial().expand_dims(draw=[0, 1], axis=-1)
    forward = inflow_driven(inflow, Normal(mean, 3.0), initial_stock=initial)
    back = stock_driven(forward.stock, Normal(mean, 3.0), initial_stock=initial)
    np.testing.assert_allclose(back.inflow, inflow.broadcast_like(back.inflow), rtol=1e-9)
    assert_balanced(back, initial)


@pytest.mark.parametrize("lifetime_by_type", [False, True])
@pytest.mark.parametrize("with_initial", [False, True])
def test_round_trip_with_type_shares(lifetime_by_type: bool, with_initial: bool) -> None:
    inflow = _inflow()
    shares = inflow / inflow.sum("powertrain")
    if lifetime_by_type:
        mean = xr.DataArray(
            [16.0, 12.0, 9.0], dims="powertrain", coords={"powertrain": POWERTRAINS}
        )
        model: LifetimeModel = LogNormal(mean, 4.0)
    else:
        model = LogNormal(12.0, 4.0)
    initial = _initial() if with_initial else None
    forward = inflow_driven(inflow, model, initial_stock=initial)
    back = stock_driven(
        forward.stock.sum("powertrain"),
        model,
        initial_stock=initial,
        type_shares=shares,
        type_dim="powertrain",
        by_cohort=True,
    )
    assert back.inflow.dims == ("year", "region", "powertrain")
    np.testing.assert_allclose(back.inflow, inflow, rtol=1e-9)
    np.testing.assert_allclose(back.stock, forward.stock, rtol=1e-9)
    np.testing.assert_allclose(back.outflow, forward.outflow, rtol=1e-9, atol=1e-7)
    assert back.stock_by_cohort is not None
    np.testing.assert_allclose(back.stock_by_cohort.sum("cohort"), back.stock, rtol=1e-12)
    assert_balanced(back, initial)


def test_constant_shares_without_year() -> None:
    total = xr.DataArray(
        np.linspace(1000.0, 2000.0, YEARS.size), dims="year", coords={"year": YEARS}
    )
    shares = xr.DataArray([0.25, 0.75], dims="powertrain", coords={"powertrain": ["ICE", "BEV"]})
    result = stock_driven(total, Normal(10.0, 3.0), type_shares=shares, type_dim="powertrain")
    np.testing.assert_allclose(result.stock.sum("powertrain"), total, rtol=1e-12)
    np.testing.assert_allclose(
        result.inflow.sel(powertrain="BEV"), 3 * result.inflow.sel(powertrain="ICE"), rtol=1e-12
    )


def _falling_stock() -> xr.DataArray:
    values = np.concatenate([np.linspace(1000.0, 2000.0, 16), np.linspace(2000.0, 600.0, 15)])
    stock = np.stack([values, np.linspace(1000.0, 2500.0, YEARS.size)], axis=1)
    return xr.DataArray(
        stock, dims=("year", "region"), coords={"year": YEARS, "region": ["JP", "DE"]}
    )


def test_negative_inflow_raises_naming_year_and_series() -> None:
    with pytest.raises(InvariantError) as info:
        stock_driven(_falling_stock(), Normal(15.0, 3.0))
    text = str(info.value)
    assert "the solved inflow is negative" in text
    assert "vehicles/yr) in 2021 for region='JP'" in text
    assert "negative_inflow='allow'" in text
    assert "negative_inflow='zero'" in text


def test_negative_inflow_allow_keeps_and_reports() -> None:
    target = _falling_stock()
    result = stock_driven(target, Normal(15.0, 3.0), negative_inflow="allow")
    report = result.negative_inflow
    assert report is not None
    assert report.found
    assert report.handling == "allow"
    assert report.years[0] == 2021
    assert float(result.inflow.sel(year=2021, region="JP")) < 0
    assert float(result.inflow.sel(year=2020, region="JP")) > 0
    np.testing.assert_allclose(result.stock, target, rtol=1e-10)
    frame = report.to_frame()
    assert set(frame["region"]) == {"JP"}
    assert (frame["inflow"] < 0).all()
    assert "kept" in str(report)
    assert result.to_dataset().attrs["negative_inflow_handling"] == "allow"


def test_negative_inflow_zero_clips_and_stock_exceeds_target() -> None:
    target = _falling_stock()
    result = stock_driven(target, Normal(15.0, 3.0), negative_inflow="zero")
    report = result.negative_inflow
    assert report is not None
    assert report.found
    assert report.stock_excess is not None
    assert float(result.inflow.min()) >= 0.0
    assert float(report.stock_excess.min()) >= -1e-9
    assert float(report.stock_excess.sel(region="JP").max()) > 0
    np.testing.assert_allclose(result.stock.sel(region="DE"), target.sel(region="DE"), rtol=1e-10)
    assert_balanced(result, None)
    assert "set to zero" in str(report)


def test_negative_inflow_zero_with_lifetime_by_region() -> None:
    mean = xr.DataArray([15.0, 12.0], dims="region", coords={"region": ["DE", "JP"]})
    result = stock_driven(_falling_stock(), Normal(mean, 3.0), negative_inflow="zero")
    assert result.negative_inflow is not None
    assert result.negative_inflow.found
    assert float(result.inflow.min()) >= 0.0
    assert_balanced(result, None)


def test_to_dataset_holds_every_array() -> None:
    result = inflow_driven(_inflow(), Normal(10.0, 3.0), initial_stock=_initial(), by_cohort=True)
    ds = result.to_dataset()
    assert set(ds.data_vars) == {
        "inflow",
        "stock",
        "outflow",
        "stock_by_cohort",
        "outflow_by_cohort",
        "stock_from_initial",
        "outflow_from_initial",
    }


def _series(values: object, **kw: object) -> xr.DataArray:
    return xr.DataArray(values, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (
            lambda: inflow_driven(_inflow(), Normal(10.0, 3.0), inflow_at="begin"),  # type: ignore
            "inflow_at must be one of 'start', 'middle', 'end'; got 'begin'",
        ),
        (
            lambda: inflow_driven(np.ones(3), Normal(10.0, 3.0)),  # type: ignore[arg-type]
            "inflow must be an xarray DataArray with a 'year' dim; got ndarray",
        ),
        (
            lambda: inflow_driven(_series(np.ones(3), dims="time"), Normal(10.0, 3.0)),
            "inflow must have a 'year' dim; got dims ('time',)",
        ),
        (
            lambda: inflow_driven(
                _series(np.ones(3), dims="year", coords={"year": [2000, 2001, 2003]}), Fixed(3.0)
            ),
            (
                "inflow 'year' labels must be consecutive and increasing by 1; got 2001 followed by "
                "2003"
            ),
        ),
        (
            lambda: inflow_driven(
                _series([1.0, np.nan], dims="year", coords={"year": [2000, 2001]}), Fixed(3.0)
            ),
            "inflow has nan at year=2001; allowed: finite numbers",
        ),
        (
            lambda: inflow_driven(
                _series([1.0, -2.0], dims="year", coords={"year": [2000, 2001]}), Fixed(3.0)
            ),
            "inflow has -2.0 at year=2001; allowed: finite numbers >= 0 and <= 1e+300.",
        ),
        (
            lambda: inflow_driven(
                _series([1e308, 1.0], dims="year", coords={"year": [2000, 2001]}), Fixed(3.0)
            ),
            "inflow has 1e+308 at year=2000; allowed: finite numbers >= 0 and <= 1e+300.",
        ),
        (
            lambda: inflow_driven(
                _series([1.0 + 1.0j, 2.0], dims="year", coords={"year": [2000, 2001]}), Fixed(3.0)
            ),
            "inflow must hold real numbers; got dtype complex128.",
        ),
        (
            lambda: inflow_driven(
                _series([1.0, 2.0], dims="year", coords={"year": [2000, 2001]}),
                LogNormal(1e200, 1.0),
            ),
            (
                "LogNormal parameters mean=1e+200, std=1.0 give a survival of nan at age 0.5; "
                "allowed: parameters whose survival function is a number within [0, 1] in "
                "floating point."
            ),
        ),
        (
            lambda: stock_driven(
                _series([1e300, 1e300], dims="year", coords={"year": [2000, 2001]}),
                Normal(0.0, 0.03),
            ),
            (
                "stock at year=2000 (1e+300 vehicles) needs an inflow of inf vehicles/yr under "
                "this lifetime, which is not a finite number"
            ),
        ),
        (
            lambda: inflow_driven(
                _series([1.0, 2.0], dims="year", attrs={"units": "vehicles"}), Fixed(3.0)
            ),
            "inflow has units 'vehicles'; allowed: a flow unit ending in '/yr'",
        ),
        (
            lambda: inflow_driven(_series(np.ones((2, 2)), dims=("year", "cohort")), Fixed(3.0)),
            "inflow has dim(s) ['cohort'], which the stock engine reserves",
        ),
        (
            lambda: inflow_driven(
                _inflow(), Fixed(3.0), initial_stock=_initial().isel(age=slice(1, None))
            ),
            (
                "initial_stock has age labels [1, 2, 3, 4, 5, 6] ...; allowed: consecutive whole "
                "ages 0, 1, 2"
            ),
        ),
        (
            lambda: inflow_driven(
                _inflow(), Fixed(3.0), initial_stock=_initial().sum("powertrain")
            ),
            (
                "initial_stock has dims ('age', 'region'); allowed: 'age', every one of ['region', "
                "'powertrain'], and optionally dims the lifetime varies by [] (missing ['powertrain'])"
            ),
        ),
        (
            lambda: inflow_driven(_inflow(), Fixed(3.0), initial_stock=-_initial()),
            "initial_stock has -",
        ),
        (
            lambda: inflow_driven(
                _inflow(), Fixed(3.0), initial_stock=_initial().assign_attrs(units="kvehicles")
            ),
            "initial_stock has units 'kvehicles'; allowed: the stock unit 'vehicles'",
        ),
        (
            lambda: inflow_driven(
                _inflow(),
                Fixed(3.0),
                initial_stock=_initial().assign_coords(region=["JP", "DE", "FR"]),
            ),
            (
                "initial_stock has region labels that differ from those of inflow: missing ['US'], "
                "extra ['FR']"
            ),
        ),
        (
            lambda: inflow_driven(
                _inflow(),
                Fixed(xr.DataArray([3.0, 4.0], dims="region", coords={"region": ["JP", "DE"]})),
            ),
            "Fixed parameter 'mean' has region labels that differ from the input's: missing ['US']",
        ),
        (
            lambda: stock_driven(
                _falling_stock(),
                Normal(15.0, 3.0),
                negative_inflow="clip",  # type: ignore[arg-type]
            ),
            "negative_inflow must be one of 'raise', 'allow', 'zero'; got 'clip'",
        ),
        (
            lambda: stock_driven(-_falling_stock(), Normal(15.0, 3.0)),
            "stock has -1000.0 at year=2000, region='JP'; allowed: finite numbers >= 0",
        ),
        (
            lambda: stock_driven(_inflow().sum("powertrain"), Normal(15.0, 3.0)),
            "stock has units 'vehicles/yr'; allowed: a stock unit not ending in '/yr'",
        ),
        (
            lambda: stock_driven(_falling_stock(), Fixed(0.0), inflow_at="end"),
            "lifetime retires every vehicle of cohort 2000 within its entry year",
        ),
        (
            lambda: stock_driven(
                _falling_stock(),
                Fixed(5.0),
                type_shares=_series([0.5, 0.6], dims="powertrain"),
                type_dim="powertrain",
            ),
            "type_shares sum to 1.1 over 'powertrain'; allowed: 1 within 1e-09",
        ),
        (
            lambda: stock_driven(
                _falling_stock(),
                Fixed(5.0),
                type_shares=_series(
                    [-0.5, 1.5], dims="powertrain", coords={"powertrain": ["a", "b"]}
                ),
                type_dim="powertrain",
            ),
            "type_shares has -0.5 at powertrain='a'; allowed: fractions within [0, 1]",
        ),
        (
            lambda: stock_driven(
                _falling_stock(),
                Fixed(5.0),
                type_shares=_series(
                    [1.5, -0.5], dims="powertrain", coords={"powertrain": ["a", "b"]}
                ),
                type_dim="powertrain",
            ),
            "type_shares has 1.5 at powertrain='a'",
        ),
        (
            lambda: stock_driven(
                _falling_stock(), Fixed(5.0), type_shares=_series([1.0], dims="powertrain")
            ),
            "type_shares and type_dim go together; got type_shares=a DataArray and type_dim=None",
        ),
        (
            lambda: stock_driven(
                _falling_stock(),
                Fixed(5.0),
                type_shares=_series([1.0], dims="powertrain"),
                type_dim="fuel",
            ),
            "type_dim must name a dim of type_shares ('powertrain',); got 'fuel'",
        ),
        (
            lambda: stock_driven(
                _falling_stock(),
                Fixed(5.0),
                type_shares=_series(
                    np.ones((3, 1)),
                    dims=("year", "powertrain"),
                    coords={"year": [2000, 2001, 2002]},
                ),
                type_dim="powertrain",
            ),
            (
                "type_shares has years 2000-2002 (3 labels); allowed: exactly the stock years "
                "2000-2030"
            ),
        ),
        (
            lambda: stock_driven(
                _falling_stock(),
                Fixed(5.0),
                initial_stock=_initial().isel(powertrain=0, drop=True).sel(region=["JP", "DE"]),
                type_shares=_series([1.0], dims="powertrain", coords={"powertrain": ["ICE"]}),
                type_dim="powertrain",
            ),
            "(missing ['powertrain'])",
        ),
    ],
)
def test_input_errors_name_parameter_value_and_allowed(call: object, text: str) -> None:
    with pytest.raises(InputError) as info:
        call()  # type: ignore[operator]
    assert text in str(info.value)
