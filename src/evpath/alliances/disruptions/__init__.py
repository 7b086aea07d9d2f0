"""Bundled disruption files for ``evpath secure``: named supply shocks for an alliance."""
