"""Names from users' files are printed as written: square brackets in them are never
read as Rich markup, which would drop them (``Congo [drc]`` shown as ``Congo``) or stop
the command (a ``[/]`` with nothing to close)."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

import evpath
from evpath.cli.app import app
from evpath.cli.tables import PlainTable, styled, table_of

runner = CliRunner()

BRACKETED = ("[bold]a", "b [red]c[/red]", "[/]", "x [@click] y", "[link=https://e.org]z")


def _shown(renderable: object, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_titles_headers_and_cells_are_shown_as_written():
    table = PlainTable("[i]head", title="title [b]x")
    table.add_column("[dim]second")
    for name in BRACKETED:
        table.add_row(name, styled(("met", "green"), " [kg]"))
    text = _shown(table)
    for written in ("title [b]x", "[i]head", "[dim]second", *BRACKETED, "met [kg]"):
        assert written in text


NAMES = (
    st.text(
        alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)
"""One-line printable names, brackets, slashes and backslashes among them."""


@settings(max_examples=60, derandomize=True, deadline=None)
@given(title=NAMES, header=NAMES, cells=st.lists(NAMES, min_size=1, max_size=4))
def test_any_name_is_shown_as_written(title, header, cells):
    table = PlainTable(header, title=title, min_width=len(title) + 4)  # the title on one line
    for cell in cells:
        table.add_row(cell)
    text = _shown(table, width=400)
    for written in (title, header, *cells):
        assert written in text


def test_styled_cells_keep_their_style():
    console = Console(width=80, record=True, color_system="truecolor", force_terminal=True)
    console.print(styled(("met", "green"), " [b]"))
    assert "\x1b[32mmet" in console.export_text(styles=True)


def test_table_of_aligns_text_left_and_numbers_right():
    table = table_of("t", ("name [x]", "value"), text=("name [x]",))
    table.add_row("[b]n", "1")
    assert [c.justify for c in table.columns] == ["left", "right"]
    assert "[b]n" in _shown(table)


def test_only_the_tables_module_builds_rich_tables():
    """Every CLI table is a PlainTable: no other module imports ``rich.table``."""
    root = Path(evpath.__file__).parent
    importing = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(n == "rich.table" or n.startswith("rich.table.") for n in names):
                importing.add(path.relative_to(root).as_posix())
    assert importing == {"cli/tables.py"}


def _alliance(folder: Path) -> Path:
    """Two members and two suppliers in two countries, every name with brackets."""
    years = [2030, 2031]
    document = {
        "name": "names [b]test :thumbs_up:",
        "metal": "nickel",
        "years": years,
        "price_unit": "USD/kg",
        "members": [
            {"name": name, "demand": dict.fromkeys(years, demand), "note": "test figures"}
            for name, demand in (("maker [bold]one", 120.0), ("maker [i]two", 80.0))
        ],
        "suppliers": [
            {
                "name": name,
                "country": country,
                "capacity": 150.0,
                "tiers": [{"up_to": 50.0, "price": price}, {"up_to": None, "price": price - 1}],
                "fixed_cost": 1000,
                "note": "test figures",
            }
            for name, country, price in (
                ("mine [red]north", "Congo [drc] land", 30.0),
                ("mine [@x] south", "land [green]far", 31.0),
            )
        ],
        "policy": {"country_cap": 0.7, "note": "test rules"},
    }
    path = folder / "names.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_procure_prints_every_name_as_written(tmp_path):
    alliance = _alliance(tmp_path)
    result = runner.invoke(
        app,
        [
            "procure",
            str(alliance),
            "--no-store",
            "--out",
            str(tmp_path / "out"),
            "--front",
            "0.7,1",
        ],
        terminal_width=240,
    )
    assert result.exit_code == 0, result.output
    text = result.output
    written = (
        "names [b]test :thumbs_up:",
        "maker [bold]one",
        "maker [i]two",
        "mine [red]north",
        "Congo [drc] land",
    )
    for name in written:
        assert name in text, name
    # the names as markup would have left them
    for eaten in (
        "names test",
        "\N{THUMBS UP SIGN}",
        "maker one",
        "maker two",
        "mine north",
        "Congo  land",
    ):
        assert eaten not in text, eaten
