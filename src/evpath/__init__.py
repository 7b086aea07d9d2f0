"""evpath: the road to full electrification of passenger cars.

>>> import evpath
>>> results = evpath.run("japan-2050")      # doctest: +SKIP
>>> results.dataset                         # doctest: +SKIP
>>> results.tidy                            # doctest: +SKIP
>>> members = evpath.ensemble("japan-2050-uncertain", n=1000, seed=1)  # doctest: +SKIP
>>> members.probability()                   # doctest: +SKIP

Public names are imported on first use, so ``import evpath.stock`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evpath.analysis.ensemble import Ensemble, ensemble
    from evpath.api import run
    from evpath.results import Results
    from evpath.scenario import Scenario, bundled_scenarios, load_scenario

__all__ = [
    "Ensemble",
    "Results",
    "Scenario",
    "bundled_scenarios",
    "ensemble",
    "load_scenario",
    "run",
]

_HOMES = {
    "run": "evpath.api",
    "ensemble": "evpath.analysis.ensemble",
    "Ensemble": "evpath.analysis.ensemble",
    "Results": "evpath.results",
    "Scenario": "evpath.scenario",
    "bundled_scenarios": "evpath.scenario",
    "load_scenario": "evpath.scenario",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    msg = f"module 'evpath' has no attribute {name!r}"
    raise AttributeError(msg)
