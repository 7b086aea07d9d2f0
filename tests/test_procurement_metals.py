"""Several metals at once: bundled alliances per metal, demand from one run, sums by member."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

from evpath.cli.procure import register
from evpath.data.usgs import country_production
from evpath.errors import ProcurementError
from evpath.procurement import load_alliance, procure
from evpath.procurement.metals import by_member, resolve_metals, totals

BUNDLED = ("japan-cobalt", "japan-lithium", "japan-nickel", "japan-graphite")


def tiny(metal: str, members: tuple[str, ...] = ("A", "B"), price: float = 20.0) -> dict[str, Any]:
    """Two members, two suppliers with a volume discount and a contract cost."""
    return {
        "name": f"tiny-{metal}",
        "metal": metal,
        "years": [2030, 2031],
        "price_unit": "USD/kg",
        "members": [
            {"name": name, "demand": {2030: 100 / (i + 1), 2031: 120 / (i + 1)}, "note": "t"}
            for i, name in enumerate(members)
        ],
        "suppliers": [
            {
                "name": "s1",
                "country": "X",
                "capacity": 500,
                "tiers": [{"up_to": 60, "price": price}, {"up_to": None, "price": price - 2}],
                "fixed_cost": 20000,
                "note": "t",
            },
            {
                "name": "s2",
                "country": "Y",
                "capacity": 300,
                "tiers": [{"up_to": None, "price": price - 1}],
                "note": "t",
            },
        ],
        "policy": {"note": "t"},
    }


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.callback()(lambda: None)
    return app


def test_bundled_alliances_for_each_metal_resolve_from_one_stored_run(stored_japan):
    alliances = [load_alliance(name) for name in BUNDLED]
    instances = resolve_metals(alliances, run_data=stored_japan.dataset)
    demand = stored_japan.dataset["metal_primary_demand"].sel(region="JPN")
    for alliance, inst in zip(alliances, instances, strict=True):
        assert inst.metal == alliance.metal
        assert inst.members == instances[0].members
        # members hold 94 % of Japan's primary demand of the metal, from the same run
        np.testing.assert_allclose(
            inst.demand.sum(axis=0),
            0.94 * demand.sel(metal=inst.metal, year=inst.years).to_numpy(),
            rtol=1e-9,
        )
        # capacity: the stated share of each producer's 2023 USGS mine production
        production = country_production(inst.metal)
        share = alliance.suppliers[0].capacity.share  # type: ignore[union-attr]
        assert inst.capacity[0, 0] == pytest.approx(share * production[inst.countries[0]])


def test_savings_add_up_by_metal_and_by_member():
    results = [
        procure(load_alliance(tiny(m, price=p))) for m, p in (("cobalt", 30), ("nickel", 17))
    ]
    table = totals(results)
    assert table.loc["total", "saving"] == pytest.approx(sum(r.saving for r in results))
    assert table.loc["cobalt", "saving"] == pytest.approx(results[0].saving)
    members = by_member(results)
    # Shapley values of independent games add up: each member's total is its sum
    for name in ("A", "B"):
        expected = sum(r.members.loc[name, "shapley_saving"] for r in results)
        assert members.loc[name, "shapley_saving"] == pytest.approx(expected)
    assert members["shapley_saving"].sum() == pytest.approx(table.loc["total", "saving"])


def test_alliances_must_share_members_and_differ_in_metal():
    with pytest.raises(ProcurementError, match=r"tiny-nickel: members A, C; allowed"):
        resolve_metals([load_alliance(tiny("cobalt")), load_alliance(tiny("nickel", ("A", "C")))])
    with pytest.raises(ProcurementError, match="cobalt given more than once"):
        resolve_metals([load_alliance(tiny("cobalt")), load_alliance(tiny("cobalt"))])


def test_cli_solves_several_metals_and_stores_them_together(tmp_path: Path):
    files = []
    for metal in ("cobalt", "lithium"):
        file = tmp_path / f"{metal}.yaml"
        file.write_text(yaml.safe_dump(tiny(metal)), encoding="utf-8")
        files.append(str(file))
    store = tmp_path / "store.duckdb"
    result = CliRunner().invoke(
        cli(),
        ["procure", *files, "--out", str(tmp_path), "--format", "csv", "--store", str(store)],
    )
    assert result.exit_code == 0, result.output
    assert "All metals" in result.output
    assert "By member, all metals" in result.output
    for metal in ("cobalt", "lithium"):
        assert (tmp_path / f"tiny-{metal}-purchases.csv").exists()
    import duckdb

    with duckdb.connect(str(store)) as con:
        costs = con.execute("SELECT alliance, saving FROM procurement_costs").df()
    assert sorted(costs["alliance"]) == ["tiny-cobalt", "tiny-lithium"]
    assert isinstance(costs, pd.DataFrame)
    bad = CliRunner().invoke(cli(), ["procure", files[0], files[0], "--no-store"])
    assert bad.exit_code == 2
    assert "given more than once" in bad.output
