"""Matrix algebra of the stock engine: batched products and triangular solves.

Survival matrices are plain arrays (*mdims, year, j) whose leading dims batch over
series (e.g. region); labelled operands add columns. One batched matmul covers every
series at once.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from math import prod

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.contraction import dot
from evpath.errors import InputError
from evpath.model.survival import SurvivalArrays


def _layout(
    mdims: Sequence[str], xdims: Sequence[Hashable]
) -> tuple[list[str], list[str], list[str]]:
    """Split dims into (shared, matrix-only, operand-only), shared in matrix order."""
    shared = [d for d in mdims if d in xdims]
    monly = [d for d in mdims if d not in xdims]
    xonly = [str(d) for d in xdims if d not in mdims]
    return shared, monly, xonly


def _batched(matrix: np.ndarray, mdims: Sequence[str], front: Sequence[str]) -> np.ndarray:
    """Transpose the batch dims of ``matrix`` (*mdims, rows, cols) to the order ``front``."""
    order = [list(mdims).index(d) for d in front]
    if order == list(range(len(mdims))):
        return matrix
    n = len(mdims)
    return matrix.transpose(*order, n, n + 1)


def _values(x: xr.DataArray, order: Sequence[str]) -> np.ndarray:
    """Values of ``x`` with its dims in ``order`` (no labelled transpose if already so)."""
    if list(x.dims) == list(order):
        return x.values
    return x.transpose(*order).values


def apply_matrices(
    matrices: Sequence[np.ndarray],
    mdims: Sequence[str],
    mcoords: Mapping[str, pd.Index],
    x: xr.DataArray,
    col: str,
    years: pd.Index,
) -> list[xr.DataArray]:
    """``out[..., t, ...] = sum_j matrix[..., t, j] x[..., j, ...]`` for each matrix.

    Matrices shared by every series (no ``mdims``) are stacked into one plain matrix
    product ``[M1; M2; ...] @ X``; otherwise each is one batched matmul.

    Parameters
    ----------
    matrices : sequence of ndarray (*mdims, year, j)
    mdims : sequence of str
    mcoords : mapping of str to Index
        Labels of ``mdims``.
    x : DataArray (col, ...)
    col : str
        Dim of ``x`` that is summed over (``year`` for inflow, ``age`` for stock).
    years : Index
        Labels of the rows (model years).

    Returns
    -------
    list of DataArray (*shared, *matrix-only, year, *x-only)
        One per matrix. Columns are every non-``col`` dim of ``x``; matrices batch over
        ``mdims``.
    """
    shared, monly, xonly = _layout(mdims, [d for d in x.dims if d != col])
    n_rows, n_cols = matrices[0].shape[-2:]
    shared_shape = [x.sizes[d] for d in shared]
    monly_shape = [len(mcoords[d]) for d in monly]
    xonly_shape = [x.sizes[d] for d in xonly]
    rhs = _values(x, [*shared, col, *xonly]).reshape(prod(shared_shape), n_cols, -1)
    if not mdims:
        products = np.split(np.concatenate(matrices) @ rhs[0], len(matrices))
    else:
        products = [
            np.matmul(
                _batched(m, mdims, shared + monly).reshape(
                    prod(shared_shape), prod(monly_shape) * n_rows, n_cols
                ),
                rhs,
            )
            for m in matrices
        ]
    dims = (*shared, *monly, "year", *xonly)
    outs = [p.reshape(*shared_shape, *monly_shape, n_rows, *xonly_shape) for p in products]
    if col == "year" and not monly:
        # same dims as the inflow: reuse its labels (building new indexes costs more
        # than the product for small cases)
        order = [dims.index(str(d)) for d in x.dims]
        labelled = [x.copy(deep=False, data=out.transpose(order)) for out in outs]
        for da in labelled:
            da.attrs = {}
        return labelled
    coords = {d: x.get_index(d) for d in shared + xonly}
    coords |= {d: mcoords[d] for d in monly}
    coords["year"] = years
    return [xr.DataArray(out, dims=dims, coords=coords) for out in outs]


def apply_by_cohort(
    matrix: np.ndarray,
    mdims: Sequence[str],
    mcoords: Mapping[str, pd.Index],
    x: xr.DataArray,
    col: str,
    years: pd.Index,
) -> xr.DataArray:
    """``out[..., t, ..., j] = matrix[..., t, j] x[..., j, ...]`` (no sum over ``j``).

    ``col`` must not be "year"; rename the inflow's year to "cohort" first. ``year`` and
    ``col`` come last, as the stages that sum over cohorts read them best: each (year,
    col) block is one matrix of a batch (see :func:`evpath.core.contraction.dot`).

    Returns
    -------
    DataArray (*shared, *matrix-only, *x-only, year, col)
    """
    shared, monly, xonly = _layout(mdims, [d for d in x.dims if d != col])
    m = _batched(matrix, mdims, shared + monly)
    shared_shape = [x.sizes[d] for d in shared]
    monly_shape = [len(mcoords[d]) for d in monly]
    xonly_shape = [x.sizes[d] for d in xonly]
    n_rows, n_cols = m.shape[-2:]
    lhs = m.reshape(*shared_shape, *monly_shape, *[1] * len(xonly), n_rows, n_cols)
    # x is small beside the product: laid out col-innermost first, so that the product's
    # inner loop reads both operands in order
    rhs = np.ascontiguousarray(_values(x, [*shared, *xonly, col])).reshape(
        *shared_shape, *[1] * len(monly), *xonly_shape, 1, n_cols
    )
    coords = {d: x.get_index(d) for d in shared + xonly}
    coords |= {d: mcoords[d] for d in monly}
    coords |= {"year": years, col: x.get_index(col)}
    product = np.multiply(lhs, rhs, order="C")  # col innermost
    return xr.DataArray(product, dims=(*shared, *monly, *xonly, "year", col), coords=coords)


def retirement(matrix: np.ndarray, *, enters_on_diagonal: bool) -> np.ndarray:
    """Retirement matrix ``O[t, j] = M[t-1, j] - M[t, j]`` of a survival matrix ``M``.

    Parameters
    ----------
    matrix : ndarray (..., year, j) [1]
    enters_on_diagonal : bool
        True for ``S`` (cohort ``j`` enters in row ``j``: ``M[j-1, j] = 1``), False for
        the initial stock ``R`` (``M[-1, j] = 1``).

    Returns
    -------
    O : ndarray (..., year, j) [1], C-contiguous
    """
    out = np.empty(matrix.shape)
    np.subtract(matrix[..., :-1, :], matrix[..., 1:, :], out=out[..., 1:, :])
    if enters_on_diagonal:
        np.negative(matrix[..., 0, :], out=out[..., 0, :])
        flat = out.reshape(*out.shape[:-2], -1)
        flat[..., :: matrix.shape[-1] + 1] += 1.0
    else:
        np.subtract(1.0, matrix[..., 0, :], out=out[..., 0, :])
    return out


def effective_survival(
    survival: SurvivalArrays, shares: xr.DataArray, type_dim: str
) -> tuple[np.ndarray, tuple[str, ...], dict[str, pd.Index]]:
    """``S_eff[..., t, c] = sum_p share_p[c] S_p[..., t, c]`` as a plain array.

    Only needed when the lifetime varies by ``type_dim``; otherwise ``S_eff = S``, as the
    shares sum to 1.

    Returns
    -------
    tuple
        ``S_eff`` (*dims, year, cohort), its dims and their labels.
    """
    s = xr.DataArray(
        survival.survival,
        dims=(*survival.dims, "year", "cohort"),
        coords=dict(survival.coords),
    )
    w = shares.rename(year="cohort") if "year" in shares.dims else shares
    eff = dot(s, w.drop_vars("cohort", errors="ignore"), dim=type_dim)
    rest = [str(d) for d in eff.dims if d not in ("year", "cohort")]
    eff = eff.transpose(*rest, "year", "cohort")
    return (
        np.ascontiguousarray(eff.values),
        tuple(rest),
        {d: eff.get_index(d) for d in rest},
    )


def solve_lower(
    matrix: np.ndarray,
    mdims: Sequence[str],
    mcoords: Mapping[str, pd.Index],
    rhs: xr.DataArray,
    tolerance: float,
    *,
    zero_negative: bool,
) -> tuple[xr.DataArray, xr.DataArray]:
    """Solve ``matrix @ x = rhs`` for ``x`` by forward substitution.

    ``x[t] = (rhs[t] - sum_{c<t} M[t, c] x[c]) / M[t, t]``; with ``zero_negative``,
    ``x[t]`` below ``-tolerance`` is set to 0 before the next year.

    Returns
    -------
    inflow, negative : DataArray (*shared, *matrix-only, year, *rhs-only)
        The solution and its values below ``-tolerance`` (0 elsewhere), before zeroing.
    """
    shared, monly, ronly = _layout(mdims, [d for d in rhs.dims if d != "year"])
    m = _batched(matrix, mdims, shared + monly)
    n_years = m.shape[-1]
    shared_shape = [rhs.sizes[d] for d in shared]
    monly_shape = [len(mcoords[d]) for d in monly]
    ronly_shape = [rhs.sizes[d] for d in ronly]
    ks, km = prod(shared_shape), prod(monly_shape)
    m = m.reshape(ks, km, n_years, n_years)
    b = _values(rhs, [*shared, "year", *ronly]).reshape(ks, n_years, -1)
    diagonal = np.diagonal(m, axis1=-2, axis2=-1)
    if np.any(diagonal <= 0):
        t = int(np.flatnonzero((diagonal <= 0).any(axis=(0, 1)))[0])
        year = int(rhs["year"].values[t])
        msg = (
            f"lifetime retires every vehicle of cohort {year} within its entry year "
            "(survival 0 at the end of that year), so the stock cannot determine the "
            "inflow; allowed: a lifetime with survival > 0 at the end of the entry year "
            "(e.g. a longer lifetime, or inflow_at='start' or 'middle')."
        )
        raise InputError(msg)
    if ks * km == 1 and not zero_negative:
        from scipy.linalg import solve_triangular  # only stock-driven runs need it

        x = solve_triangular(m[0, 0], b[0], lower=True, check_finite=False)[None, None]
        negative = np.where(x < -tolerance, x, 0.0)
    else:
        x = np.zeros((ks, km, n_years, b.shape[-1]))
        negative = np.zeros_like(x)
        for t in range(n_years):
            known = np.matmul(m[:, :, t : t + 1, :t], x[:, :, :t, :])[:, :, 0, :]
            step = (b[:, np.newaxis, t, :] - known) / diagonal[:, :, t, np.newaxis]
            below = step < -tolerance
            negative[:, :, t, :] = np.where(below, step, 0.0)
            if zero_negative:
                step = np.where(below, 0.0, step)
            x[:, :, t, :] = step
    shape = (*shared_shape, *monly_shape, n_years, *ronly_shape)
    dims = (*shared, *monly, "year", *ronly)
    coords = {d: rhs.get_index(d) for d in (*shared, *ronly)}
    coords |= {d: mcoords[d] for d in monly}
    coords["year"] = rhs.get_index("year")
    return (
        xr.DataArray(x.reshape(shape), dims=dims, coords=coords),
        xr.DataArray(negative.reshape(shape), dims=dims, coords=coords),
    )
