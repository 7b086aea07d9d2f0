"""Sums of products over named dimensions, computed by matrix products.

``xr.dot`` hands a contraction to ``numpy.einsum``, which loops in C without BLAS when
both arrays keep a dimension of their own (an ensemble's ``draw``, or ``year`` beside
``cohort``): on an ensemble chunk the metal and capacity balances then took a third of
the run. :func:`dot` gives the same result (same dims, in the same order, and coords)
from one batched matrix product for two arrays. When the second array has no dimension
of its own (a matrix-vector product) einsum stays: it reads the first as stored, where a
matrix product would first copy it transposed. With more arrays einsum chooses the order
of pairwise products.

Cohort-sized arrays are stored with ``cohort`` innermost (see
:func:`evpath.model.stock_matrices.apply_by_cohort`), so that sums over cohorts read them
in order.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable

import numpy as np
import xarray as xr


def dot(*arrays: xr.DataArray, dim: str | Iterable[Hashable]) -> xr.DataArray:
    """Σ over ``dim`` of the product of ``arrays``: ``xr.dot(*arrays, dim=dim)``.

    Arrays are aligned as ``xr.dot`` aligns them (on the labels they share, or exactly
    under an "exact" arithmetic join), and the result's dims come in the same order. The
    sum runs in another order than einsum's, so results may differ in the last bits.
    """
    summed = [dim] if isinstance(dim, str) else list(dim)
    if len(arrays) != 2:
        return xr.dot(*arrays, dim=summed, optimize=True)
    exact = xr.get_options()["arithmetic_join"] == "exact"
    a, b = xr.align(*arrays, join="exact" if exact else "inner", copy=False)
    order = [d for d in dict.fromkeys([*a.dims, *b.dims]) if d not in summed]
    unknown = [d for d in summed if d not in a.dims and d not in b.dims]
    if unknown:
        msg = f"dims {unknown} are in none of the arrays"
        raise ValueError(msg)
    # NaN propagates, as in einsum
    a = a.sum([d for d in summed if d in a.dims and d not in b.dims], skipna=False)
    b = b.sum([d for d in summed if d in b.dims and d not in a.dims], skipna=False)
    if not any(d not in a.dims for d in b.dims):
        # a matrix-vector product: einsum reads ``a`` as stored, without the transposed
        # copy a matrix product would need
        return xr.dot(a, b, dim=[d for d in summed if d in a.dims])
    contracted = [d for d in a.dims if d in summed]
    batch = [d for d in a.dims if d in b.dims and d not in summed]
    own_a = [d for d in a.dims if d not in b.dims]
    own_b = [d for d in b.dims if d not in a.dims]
    sizes = {**a.sizes, **b.sizes}

    def count(dims: list[Hashable]) -> int:
        return math.prod(sizes[d] for d in dims)

    left = a.transpose(*batch, *own_a, *contracted).values
    right = b.transpose(*batch, *contracted, *own_b).values
    product = np.matmul(
        left.reshape(count(batch), count(own_a), count(contracted)),
        right.reshape(count(batch), count(contracted), count(own_b)),
    )
    dims = [*batch, *own_a, *own_b]
    coords = {
        name: coord
        for source in (b, a)
        for name, coord in source.coords.items()
        if set(coord.dims) <= set(dims)
    }
    return xr.DataArray(
        product.reshape([sizes[d] for d in dims]),
        dims=dims,
        coords=coords,
        name=a.name if a.name == b.name else None,
    ).transpose(*order)
