"""The sales histories scenarios can start from, by name (``sales.history``)."""

from __future__ import annotations

from evpath.data.history import HistorySpec
from evpath.data.iea import iea_history, iea_regions
from evpath.data.japan import japan_history

HISTORIES: dict[str, HistorySpec] = {
    "japan": HistorySpec(
        name="japan",
        description="Japan passenger cars (registered and kei), JADA/Zenkeijikyo/AIRIA/IEA",
        list_regions=lambda: ("JPN",),
        segments=("registered", "kei"),
        first_year=1990,
        last_year=2024,
        country_names={"JPN": "Japan"},
        builder=japan_history,
        iea_names={"JPN": "Japan"},
    ),
    "iea": HistorySpec(
        name="iea",
        description="Cars by region and country from the IEA Global EV Outlook 2025",
        list_regions=iea_regions,
        segments=("all",),
        first_year=2010,
        last_year=2024,
        country_names={
            "USA": "United States",
            "Korea": "South Korea",
            "Turkiye": "Turkey",
            "Viet Nam": "Vietnam",
            "Czech Republic": "Czechia",
            "EU27": "European Union (27)",
        },
        # grids standing for IEA aggregates (named assumptions, see docs/scenarios.md): the
        # IEA's North America is the USA and Mexico, 90% US car sales; its Europe is EU27,
        # EFTA, the UK and Turkiye (OWID's "Europe (Ember)" adds Russia); the derived
        # "Other markets" has no OWID aggregate of its own.
        grid_names={
            "North America": "United States",
            "Europe": "EU (Ember)",
            "Other markets": "World",
        },
        builder=iea_history,
    ),
}
