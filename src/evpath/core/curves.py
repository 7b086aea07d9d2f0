"""S-curve kernels: the logistic and Bass diffusion curves behind the sales transitions
(:func:`evpath.model.sales.progress`) and the adoption curves fitted to sales-share
histories (:mod:`evpath.analysis.adoption`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def logistic(x: FloatArray, saturation: FloatArray | float = 1.0) -> FloatArray:
    """Logistic curve K / (1 + e^{−x}) of a dimensionless argument; ``saturation`` is K."""
    return np.asarray(saturation / (1.0 + np.exp(-x)), dtype=float)


def bass_cumulative(
    t: FloatArray,
    p: FloatArray | float,
    q: FloatArray | float,
    saturation: FloatArray | float = 1.0,
) -> FloatArray:
    """Bass diffusion cumulative adoption F(t) = K (1 − e^{−(p+q)t}) / (1 + (q/p) e^{−(p+q)t}).

    ``t`` [yr] is the time since diffusion started, ``p`` and ``q`` [1/yr] the coefficients
    of innovation and imitation, ``saturation`` K the share reached in the end.
    """
    decay = np.exp(-(p + q) * t)
    return np.asarray(saturation * (1.0 - decay) / (1.0 + (q / p) * decay), dtype=float)
