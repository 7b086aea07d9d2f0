"""Scenario files: schema, loading and inheritance."""

from evpath.core.dims import ELECTRIFIED, POWERTRAINS
from evpath.scenario.loader import bundled_scenarios, load_scenario
from evpath.scenario.schema import Scenario

__all__ = ["ELECTRIFIED", "POWERTRAINS", "Scenario", "bundled_scenarios", "load_scenario"]
