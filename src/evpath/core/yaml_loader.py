"""The YAML loader evpath reads its files with."""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader on libyaml's parser where PyYAML has it (about ten times faster),
PyYAML's own otherwise."""
