"""Joint procurement of a battery metal by an alliance of carmakers.

>>> from evpath.procurement import load_alliance, procure
>>> result = procure(load_alliance("japan-cobalt"))   # doctest: +SKIP
>>> result.saving, result.members                     # doctest: +SKIP

Each member alone and the alliance pooled are solved as mixed-integer programs with
HiGHS; the saving of buying together is split among members by their Shapley values.
"""

from evpath.procurement.problem import (
    Instance,
    Plan,
    ProcurementError,
    ProcurementResult,
    procure,
    resolve,
    solve_buyer,
)
from evpath.procurement.schema import Alliance, bundled_alliances, load_alliance

__all__ = [
    "Alliance",
    "Instance",
    "Plan",
    "ProcurementError",
    "ProcurementResult",
    "bundled_alliances",
    "load_alliance",
    "procure",
    "resolve",
    "solve_buyer",
]
