"""Named tolerances: how close counts as equal, for each kind of check.

Each is a dimensionless fraction unless its docstring says otherwise.
"""

from __future__ import annotations

SHARE_TOLERANCE = 1e-6
"""Largest allowed deviation from 1 of the sum of a share vector, written in a scenario or
computed by a stage (scenario shares are rounded by hand)."""

ENGINE_SHARE_TOLERANCE = 1e-9
"""Largest allowed deviation from 1 of the type shares given to the stock engine (they
are then rescaled to sum to 1 exactly)."""

FULL_SHARE_TOLERANCE = 1e-9
"""A share within this of 1 counts as 100% (e.g. every new car electrified)."""

TARGET_TOLERANCE = 1e-12
"""A reduction within this of its target counts as meeting it."""

BALANCE_RTOL = 1e-9
"""Relative tolerance of the stock and material balances, against the largest stock."""

NEGATIVE_TOLERANCE = 1e-12
"""Values above ``-NEGATIVE_TOLERANCE × max |stock|`` are rounding, not negative."""

LOG_MEAN_RTOL = 1e-12
"""Two values this close (relative) have their logarithmic mean taken as the value."""
