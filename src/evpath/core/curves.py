"""S-curve kernels: the logistic and Bass diffusion curves behind the sales transitions
(:func:`evpath.model.sales.progress`) and the adoption curves fitted to sales-share
histories (:mod:`evpath.analysis.adoption`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def logistic(x: Any, saturation: Any = 1.0) -> Any:
    """Logistic curve K / (1 + e^{−x}) of a dimensionless argument; ``saturation`` is K.

    Arrays and labelled arrays alike (a labelled argument keeps its dimensions).
    """
    return saturation / (1.0 + np.exp(-x))


def bass_cumulative(t: Any, p: Any, q: Any, saturation: Any = 1.0) -> Any:
    """Bass diffusion cumulative adoption F(t) = K (1 − e^{−(p+q)t}) / (1 + (q/p) e^{−(p+q)t}).

    ``t`` [yr] is the time since diffusion started, ``p`` and ``q`` [1/yr] the coefficients
    of innovation and imitation, ``saturation`` K the share reached in the end. Arrays
    and labelled arrays alike.
    """
    decay = np.exp(-(p + q) * t)
    return saturation * (1.0 - decay) / (1.0 + (q / p) * decay)
