"""Console output of the CLI: Rich console, error panel, exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from evpath.errors import EvpathError

EXIT_BAD_INPUT = 2
"""Exit code of every command on bad input (scenario, arguments, data)."""

console = Console()
error_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def report_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn an :class:`EvpathError` into its message on stderr and exit code 2.

    The message is printed unwrapped so that paths and values stay whole.
    """

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except EvpathError as exc:
            error_console.print(f"[bold red]error[/] ({type(exc).__name__})", highlight=False)
            error_console.print(str(exc), soft_wrap=True, markup=False, highlight=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper


@contextmanager
def steps(total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar over ``total`` named steps; yields ``advance(name)``."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=error_console,
        transient=True,
    ) as progress:
        task = progress.add_task("starting", total=total)
        started = False

        def advance(name: str) -> None:
            nonlocal started
            if started:
                progress.advance(task)
            started = True
            progress.update(task, description=name)

        yield advance
        progress.update(task, completed=total)
