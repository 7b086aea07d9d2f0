"""Joint procurement of a battery metal by an alliance of carmakers.

>>> from evpath.procurement import load_alliance, procure
>>> result = procure(load_alliance("japan-cobalt"))   # doctest: +SKIP
>>> result.saving, result.members                     # doctest: +SKIP

Each member alone and the alliance pooled are solved as mixed-integer programs with
HiGHS; the saving of buying together is split among members by their Shapley values.

Modules, in the order of the method: ``schema`` (the alliance file), ``instance`` (the
file resolved to arrays), ``segments`` (price brackets as cost lines), ``mip`` (the
model and its formulation), ``highs`` (solver settings and statuses), ``diagnosis``
(why a plan cannot exist), ``solve`` (one buyer's plan), ``duals`` (what limits a plan),
``sharing`` (Shapley value, concentration), ``result`` and ``pooling`` (alone vs
pooled), ``pareto`` (pooled cost under tighter country caps).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evpath.errors import ProcurementError
    from evpath.procurement.instance import Instance, resolve
    from evpath.procurement.pooling import procure
    from evpath.procurement.result import Plan, ProcurementResult
    from evpath.procurement.schema import Alliance, bundled_alliances, load_alliance
    from evpath.procurement.solve import solve_buyer

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

_HOMES = {
    "Alliance": "evpath.procurement.schema",
    "Instance": "evpath.procurement.instance",
    "Plan": "evpath.procurement.result",
    "ProcurementError": "evpath.errors",
    "ProcurementResult": "evpath.procurement.result",
    "bundled_alliances": "evpath.procurement.schema",
    "load_alliance": "evpath.procurement.schema",
    "procure": "evpath.procurement.pooling",
    "resolve": "evpath.procurement.instance",
    "solve_buyer": "evpath.procurement.solve",
}
"""Public names are imported on first use, so that one module of the package (the solver
settings, say) loads without the others."""


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    msg = f"module 'evpath.procurement' has no attribute {name!r}"
    raise AttributeError(msg)
