"""Error classes of evpath.

Every error a user can cause names *where* (file and field path, or argument),
*what was received* and *what is allowed*. The CLI turns any :class:`EvpathError`
into a message and exit code 2, never a traceback.
"""

from __future__ import annotations


class EvpathError(Exception):
    """Base class of every error evpath raises on purpose."""


class ScenarioError(EvpathError, ValueError):
    """A scenario file is missing, unreadable or invalid."""


class InputError(EvpathError, ValueError):
    """An argument passed to an evpath function is invalid."""


class InvariantError(EvpathError, ValueError):
    """A computed result breaks an accounting or physical invariant."""


class DataError(EvpathError, ValueError):
    """A bundled or user-supplied dataset is missing or malformed."""


class StoreError(EvpathError, RuntimeError):
    """The results store cannot be opened or written."""


class ProcurementError(EvpathError, ValueError):
    """No purchase plan satisfies an alliance's rules, or the solver gave up."""
