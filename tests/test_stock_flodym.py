"""Cross-check of the stock engine against flodym's dynamic stock models.

flodym is an independent implementation of the same cohort model. For every lifetime
model and every ``inflow_at``, stock and outflow of the inflow-driven model and the
inflow of the stock-driven model must agree to 1e-9 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from flodym import (
    Dimension,
    DimensionSet,
    InflowDrivenDSM,
    StockArray,
    StockDrivenDSM,
)
from flodym import lifetime_models as flm

from evpath.stock import inflow_driven, stock_driven
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

YEARS = np.arange(1990, 2031)
REGIONS = ["JP", "DE", "US", "CN"]
INFLOW_AT = ("start", "middle", "end")
KINDS = ("fixed", "normal", "foldednormal", "lognormal", "weibull", "empirical")

# lifetime parameters by region (the flodym arrays have dims (t, r))
MEAN = np.array([9.5, 12.0, 15.0, 18.0])
STD = np.array([3.0, 4.0, 5.0, 6.0])
TABLE = xr.DataArray(np.clip(1.0 - (np.arange(20) / 19.0) ** 2, 0.0, 1.0), dims="age")


def _dims() -> DimensionSet:
    return DimensionSet(
        dim_list=[
            Dimension(name="time", letter="t", items=[int(y) for y in YEARS]),
            Dimension(name="region", letter="r", items=REGIONS),
        ]
    )


def _by_region(values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(values, dims="region", coords={"region": REGIONS})


def _models(kind: str, dims: DimensionSet, inflow_at: str) -> tuple[LifetimeModel, object]:
    """The same lifetime by region as an evpath model and a flodym model."""
    by_t = np.ones((YEARS.size, 1))
    if kind == "fixed":
        ours: LifetimeModel = Fixed(_by_region(MEAN))
        theirs = flm.FixedLifetime(dims=dims, mean=by_t * MEAN, inflow_at=inflow_at)
    elif kind == "normal":
        ours = Normal(_by_region(MEAN), _by_region(STD))
        theirs = flm.NormalLifetime(
            dims=dims, mean=by_t * MEAN, std=by_t * STD, inflow_at=inflow_at
        )
    elif kind == "foldednormal":
        ours = FoldedNormal(_by_region(MEAN / 2), _by_region(STD))
        theirs = flm.FoldedNormalLifetime(
            dims=dims, mean=by_t * MEAN / 2, std=by_t * STD, inflow_at=inflow_at
        )
    elif kind == "lognormal":
        ours = LogNormal(_by_region(MEAN), _by_region(STD))
        theirs = flm.LogNormalLifetime(
            dims=dims, mean=by_t * MEAN, std=by_t * STD, inflow_at=inflow_at
        )
    elif kind == "weibull":
        ours = Weibull(_by_region(STD / 2), _by_region(MEAN))
        theirs = flm.WeibullLifetime(
            dims=dims, weibull_shape=by_t * STD / 2, weibull_scale=by_t * MEAN, inflow_at=inflow_at
        )
    else:
        # placeholder; see _use_table
        ours = Empirical(TABLE)
        theirs = flm.FixedLifetime(dims=dims, mean=1.0, inflow_at=inflow_at)
    return ours, theirs


def _use_table(kind: str, dsm: InflowDrivenDSM | StockDrivenDSM, inflow_at: str) -> None:
    """Give flodym the tabulated survival of the empirical model.

    flodym has no tabulated lifetime model; it documents that its survival table may be
    set from an exogenous computation. This checks the stock arithmetic, not the table.
    """
    if kind == "empirical":
        table = survival_matrix(Empirical(TABLE), YEARS, inflow_at).values
        dsm.lifetime_model._sf = np.repeat(table[:, :, np.newaxis], len(REGIONS), axis=2)


def _inflow() -> np.ndarray:
    rng = np.random.default_rng(7)
    trend = np.linspace(100.0, 400.0, YEARS.size)[:, np.newaxis]
    return trend * rng.uniform(0.7, 1.3, (YEARS.size, len(REGIONS)))


def _assert_close(ours: xr.DataArray, theirs: np.ndarray) -> None:
    got = ours.transpose("year", "region").values
    np.testing.assert_allclose(got, theirs, rtol=1e-9, atol=1e-12 * np.abs(theirs).max())


@pytest.mark.parametrize("inflow_at", INFLOW_AT)
@pytest.mark.parametrize("kind", KINDS)
def test_inflow_driven_matches_flodym(kind: str, inflow_at: str) -> None:
    dims = _dims()
    ours, theirs = _models(kind, dims, inflow_at)
    values = _inflow()
    dsm = InflowDrivenDSM(
        dims=dims, lifetime_model=theirs, inflow=StockArray(dims=dims, values=values.copy())
    )
    _use_table(kind, dsm, inflow_at)
    dsm.compute()
    inflow = xr.DataArray(
        values, dims=("year", "region"), coords={"year": YEARS, "region": REGIONS}
    )
    result = inflow_driven(inflow, ours, inflow_at=inflow_at, by_cohort=True)
    _assert_close(result.stock, dsm.stock.values)
    _assert_close(result.outflow, dsm.outflow.values)
    assert result.stock_by_cohort is not None
    assert result.outflow_by_cohort is not None
    np.testing.assert_allclose(
        result.stock_by_cohort.transpose("year", "cohort", "region").values,
        dsm.get_stock_by_cohort(),
        rtol=1e-9,
        atol=1e-12 * np.abs(dsm.stock.values).max(),
    )
    np.testing.assert_allclose(
        result.outflow_by_cohort.transpose("year", "cohort", "region").values,
        dsm.get_outflow_by_cohort(),
        rtol=1e-9,
        atol=1e-12 * np.abs(dsm.stock.values).max(),
    )


@pytest.mark.parametrize("inflow_at", INFLOW_AT)
@pytest.mark.parametrize("kind", KINDS)
def test_stock_driven_matches_flodym(kind: str, inflow_at: str) -> None:
    dims = _dims()
    ours, theirs = _models(kind, dims, inflow_at)
    target = np.cumsum(_inflow(), axis=0) * 0.6
    dsm = StockDrivenDSM(
        dims=dims,
        lifetime_model=theirs,
        stock=StockArray(dims=dims, values=target.copy()),
        solver="lapack",
    )
    _use_table(kind, dsm, inflow_at)
    dsm.compute()
    stock = xr.DataArray(target, dims=("year", "region"), coords={"year": YEARS, "region": REGIONS})
    result = stock_driven(stock, ours, inflow_at=inflow_at, negative_inflow="allow")
    scale = np.abs(dsm.inflow.values).max()
    np.testing.assert_allclose(
        result.inflow.transpose("year", "region").values,
        dsm.inflow.values,
        rtol=1e-9,
        atol=1e-12 * scale,
    )
    np.testing.assert_allclose(
        result.outflow.transpose("year", "region").values,
        dsm.outflow.values,
        rtol=1e-9,
        atol=1e-12 * scale,
    )
    _assert_close(result.stock, target)
