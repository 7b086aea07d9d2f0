"""Scenario files: schema, loading and inheritance."""

from evpath.scenario.loader import bundled_scenarios, load_scenario
from evpath.scenario.schema import ELECTRIFIED, POWERTRAINS, Scenario

__all__ = ["ELECTRIFIED", "POWERTRAINS", "Scenario", "bundled_scenarios", "load_scenario"]
