"""Labels of the dimensions every stage shares."""

from __future__ import annotations

from typing import Literal, get_args

Powertrain = Literal["ICEV_gasoline", "ICEV_diesel", "MHEV", "HEV", "PHEV", "BEV", "FCEV"]

POWERTRAINS: tuple[Powertrain, ...] = get_args(Powertrain)
"""Powertrains evpath models, in reporting order. MHEV is a mild hybrid (an engine with a
small starter-generator that assists but cannot drive the car alone); HEV a full hybrid."""

ELECTRIFIED: tuple[str, ...] = ("MHEV", "HEV", "PHEV", "BEV", "FCEV")
"""Powertrains that count as electrified in Japan's 2050 target. Mild hybrids count: the
target names hybrids without excluding them, and JADA's hybrid sales include them."""

PLUG_IN: tuple[str, ...] = ("BEV", "PHEV")
"""Powertrains charged from the grid."""

Chemistry = Literal["NMC111", "NMC532", "NMC622", "NMC811", "NCA", "LFP", "SIB", "SSB", "NiMH"]
CHEMISTRIES: tuple[str, ...] = get_args(Chemistry)
"""Battery cell chemistries (SIB sodium-ion, SSB solid state, NiMH nickel-metal hydride)."""

LITHIUM_FREE: tuple[str, ...] = ("NiMH",)
"""Chemistries not made on lithium-ion cell lines (left out of the cell plants)."""

Metal = Literal[
    "lithium", "nickel", "cobalt", "manganese", "graphite", "copper", "aluminium", "rare_earths"
]
METALS: tuple[str, ...] = get_args(Metal)
"""Materials of battery packs (rare earths: the lanthanides of NiMH hydride alloys)."""

Step = Literal["electrode_making", "cell_assembly", "formation_ageing", "module_pack"]
STEPS: tuple[str, ...] = get_args(Step)
"""Process steps of a cell and pack plant."""

Carrier = Literal["gasoline", "diesel", "electricity", "hydrogen"]
CARRIERS: tuple[str, ...] = get_args(Carrier)
"""Energy carriers at the vehicle."""

Standard = Literal["CHAdeMO", "CCS1", "CCS2", "GB/T", "NACS", "ChaoJi"]
STANDARDS: tuple[Standard, ...] = get_args(Standard)
"""DC fast-charging connector standards."""

ChargerType = Literal["slow", "fast"]
CHARGER_TYPES: tuple[ChargerType, ...] = get_args(ChargerType)
"""Public charger types."""

DRAW = "draw"
"""The ensemble dimension: one member per draw of the uncertain parameters. Any result
variable may carry it beside its catalogue dimensions."""
