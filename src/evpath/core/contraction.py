"""Sums of products over named dimensions, computed by matrix products.

``xr.dot`` hands a contraction to ``numpy.einsum``, which loops in C without BLAS when
both arrays keep a dimension of their own (an ensemble's ``draw``, or ``year`` beside
``cohort``): on an ensemble chunk the metal and capacity balances then took a third of
the run. :func:`dot` gives the same result (same dims, in the same order, and coords)
from batched matrix products for two arrays. The first array is read as it is laid out
wherever the summed dims it ends with can be the products' inner dim: a cohort-sized
array is not copied transposed first (a copy took longer than the product). When the
second array has no dimension of its own (a matrix-vector product) einsum stays: it reads
the first as stored too. With more arrays einsum chooses the order of pairwise products.

Cohort-sized arrays are stored with ``year`` and ``cohort`` innermost (see
:func:`evpath.model.stock_matrices.apply_by_cohort`): each (year, cohort) block is one
matrix, so that sums over cohorts, by powertrain or over them, read them in order.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable

import numpy as np
import xarray as xr

MIN_ROWS = 8
"""Fewest rows of ``a`` in each product for :func:`_as_stored`: with fewer, numpy's
batched matrix product spends longer per product than copying ``a`` transposed costs
(a fleet array laid out with ``year`` beside ``powertrain``, summed over cohorts by
powertrain, took six times as long as read as stored)."""


def dot(*arrays: xr.DataArray, dim: str | Iterable[Hashable]) -> xr.DataArray:
    """Σ over ``dim`` of the product of ``arrays``: ``xr.dot(*arrays, dim=dim)``.

    Arrays are aligned as ``xr.dot`` aligns them (on the labels they share, or exactly
    under an "exact" arithmetic join), and the result's dims come in the same order. The
    sum runs in another order than einsum's, so results may differ in the last bits.
    """
    summed: list[Hashable] = [dim] if isinstance(dim, str) else list(dim)
    if len(arrays) != 2:
        return xr.dot(*arrays, dim=summed, optimize=True)
    a, b = _aligned(*arrays)
    order = [d for d in dict.fromkeys([*a.dims, *b.dims]) if d not in summed]
    unknown = [d for d in summed if d not in a.dims and d not in b.dims]
    if unknown:
        msg = f"dims {unknown} are in none of the arrays"
        raise ValueError(msg)
    # NaN propagates, as in einsum
    only_a = [d for d in summed if d in a.dims and d not in b.dims]
    only_b = [d for d in summed if d in b.dims and d not in a.dims]
    a = a.sum(only_a, skipna=False) if only_a else a
    b = b.sum(only_b, skipna=False) if only_b else b
    if not any(d not in a.dims for d in b.dims):
        # a matrix-vector product: einsum reads ``a`` as stored, without the transposed
        # copy a matrix product would need
        return xr.dot(a, b, dim=[d for d in summed if d in a.dims])
    sizes = {**a.sizes, **b.sizes}
    product, dims = _as_stored(a, b, summed, sizes) or _transposed(a, b, summed, sizes)
    values = product.transpose([dims.index(d) for d in order])
    coords = {
        name: variable
        for source in (b, a)
        for name, variable in source.coords.variables.items()
        if set(variable.dims) <= set(order)
    }
    return xr.DataArray(
        values, dims=order, coords=coords, name=a.name if a.name == b.name else None
    )


def _as_stored(
    a: xr.DataArray, b: xr.DataArray, summed: list[Hashable], sizes: dict[Hashable, int]
) -> tuple[np.ndarray, list[Hashable]] | None:
    """The product read from ``a`` as it is laid out in memory: the summed dims ``a``
    ends with are contracted by the matrix product, the dims of ``a`` alone before them
    are its rows, and every other dim (shared, or of ``a`` alone further out) batches the
    products; ``b`` broadcasts over the dims it lacks. Summed dims among the batch ones
    are summed from the product. None where that product would be larger than ``a``,
    nothing of ``a`` is contracted at its end or the rows are fewer than ``MIN_ROWS``:
    :func:`_transposed` then."""
    values, dims = _memory_order(a)
    n_contracted = next((i for i, d in enumerate(reversed(dims)) if d not in summed), len(dims))
    rest = dims[: len(dims) - n_contracted]
    n_rows = next((i for i, d in enumerate(reversed(rest)) if d in b.dims), len(rest))
    lead, rows = rest[: len(rest) - n_rows], rest[len(rest) - n_rows :]
    contracted = dims[len(rest) :]
    own_b = [d for d in b.dims if d not in a.dims]
    size = _count(sizes, [*lead, *rows, *own_b])
    if not contracted or _count(sizes, rows) < MIN_ROWS or size > a.size:
        return None
    shape_a = [sizes[d] for d in lead]
    left = values.reshape(*shape_a, _count(sizes, rows), _count(sizes, contracted))
    shared = [d for d in lead if d in b.dims]
    right = _in_order(b, [*shared, *contracted, *own_b]).reshape(
        *[sizes[d] if d in b.dims else 1 for d in lead],
        _count(sizes, contracted),
        _count(sizes, own_b),
    )
    product = np.matmul(left, right).reshape(*shape_a, *[sizes[d] for d in (*rows, *own_b)])
    batch_summed = tuple(i for i, d in enumerate(lead) if d in summed)
    if batch_summed:
        product = product.sum(axis=batch_summed)
    return product, [d for d in (*lead, *rows, *own_b) if d not in summed]


def _memory_order(array: xr.DataArray) -> tuple[np.ndarray, list[Hashable]]:
    """The values of ``array`` with its dims in the order they are laid out in memory
    (outermost first; a view), and those dims: a transposed view multiplies as stored."""
    values = array.values
    single = [axis for axis in range(values.ndim) if values.shape[axis] == 1]
    spread = [axis for axis in range(values.ndim) if values.shape[axis] > 1]
    # dims of one label lie anywhere: put them outermost, among the batch dims
    order = single + sorted(spread, key=lambda axis: -abs(values.strides[axis]))
    return values.transpose(order), [array.dims[axis] for axis in order]


def _transposed(
    a: xr.DataArray, b: xr.DataArray, summed: list[Hashable], sizes: dict[Hashable, int]
) -> tuple[np.ndarray, list[Hashable]]:
    """The product of one batched matrix product, ``a`` transposed (copied) to (shared
    dims, its own dims, summed dims)."""
    contracted = [d for d in a.dims if d in summed]
    batch = [d for d in a.dims if d in b.dims and d not in summed]
    own_a = [d for d in a.dims if d not in b.dims]
    own_b = [d for d in b.dims if d not in a.dims]
    product = np.matmul(
        _in_order(a, [*batch, *own_a, *contracted]).reshape(
            _count(sizes, batch), _count(sizes, own_a), _count(sizes, contracted)
        ),
        _in_order(b, [*batch, *contracted, *own_b]).reshape(
            _count(sizes, batch), _count(sizes, contracted), _count(sizes, own_b)
        ),
    )
    dims = [*batch, *own_a, *own_b]
    return product.reshape([sizes[d] for d in dims]), dims


def _count(sizes: dict[Hashable, int], dims: Iterable[Hashable]) -> int:
    """Cells of an array over ``dims``."""
    return math.prod(sizes[d] for d in dims)


def _aligned(a: xr.DataArray, b: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """``a`` and ``b`` aligned as ``xr.dot`` aligns them: exactly under an "exact"
    arithmetic join, else on the labels they share. Arrays whose shared dims already
    carry the same labels are returned as they are (``xr.align`` takes longer than many
    products to find that out)."""
    shared = [d for d in a.dims if d in b.dims]
    if all(
        d in a.xindexes and d in b.xindexes and a.get_index(d).equals(b.get_index(d))
        for d in shared
    ):
        return a, b
    exact = xr.get_options()["arithmetic_join"] == "exact"
    return xr.align(a, b, join="exact" if exact else "inner", copy=False)


def _in_order(array: xr.DataArray, dims: list[Hashable]) -> np.ndarray:
    """The values of ``array`` with its dims in the order ``dims`` (a view)."""
    return array.values.transpose([array.dims.index(d) for d in dims])
