"""Console output of the CLI: Rich console, error messages, interrupts, exit codes.

Exit codes: 0 success, 1 an unexpected error (a bug to report), 2 bad input (scenario,
arguments, data, an output path that cannot be written), 130 interrupted (Ctrl-C).
Set ``EVPATH_DEBUG=1`` to see the Python traceback of an unexpected error.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from types import FrameType
from typing import NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from evpath.errors import EvpathError, InputError

EXIT_BUG = 1
"""Exit code of an unexpected error (a bug in evpath)."""
EXIT_BAD_INPUT = 2
"""Exit code of every command on bad input (scenario, arguments, data)."""
EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells use."""
DEBUG_VARIABLE = "EVPATH_DEBUG"
"""Environment variable: ``1`` re-raises unexpected errors with their traceback."""
FILE_WIDTH = 240
"""Width [characters] of the output written to a file or a pipe, unless ``COLUMNS`` sets
one: there is no screen to fit, and tables cut to Rich's default of 80 would lose values."""
REFUSED_PATH = frozenset(
    {
        errno.ENAMETOOLONG, errno.ELOOP, errno.EACCES, errno.EPERM, errno.EROFS,
        errno.ENOSPC, errno.EDQUOT,
    }
)  # fmt: skip
"""Reasons the file system refuses a path: the path given or the machine's state, not a
bug of evpath; any such OSError a command meets exits 2 naming the path."""
MAX_SEED = 2**32 - 1
"""Largest ``--seed`` a command takes (seeds run from 0)."""

# names print as written: no ":code:" in a user's name turns into an emoji
console = Console(emoji=False)
error_console = Console(stderr=True, emoji=False)

P = ParamSpec("P")
R = TypeVar("R")

_interrupted = False
"""Set by :func:`_on_interrupt` once Ctrl-C has been pressed."""
_told = False
"""Set once ``interrupted`` has been printed."""


def debugging() -> bool:
    """Whether ``EVPATH_DEBUG`` asks for tracebacks."""
    return os.environ.get(DEBUG_VARIABLE, "").strip() not in ("", "0")


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    """First Ctrl-C: stop the command where it is; later ones are ignored while it
    closes its files and progress bars."""
    global _interrupted
    _interrupted = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def handle_interrupts() -> None:
    """Install the Ctrl-C handler of the ``evpath`` script (one interrupt, one exit)."""
    signal.signal(signal.SIGINT, _on_interrupt)


def fit_output() -> None:
    """Tables fit the terminal they are shown in; written to a file or a pipe, they are
    written whole (:data:`FILE_WIDTH`), unless ``COLUMNS`` sets a width."""
    if not console.is_terminal and not os.environ.get("COLUMNS", "").strip():
        console.width = FILE_WIDTH


def _stop_live_displays() -> None:
    """Close any progress bar or spinner still drawn, and show the cursor again."""
    for out in (console, error_console):
        live = getattr(out, "_live_stack", None) or []
        for display in reversed(list(live)):
            try:
                display.stop()
            except Exception:
                continue
        try:
            out.show_cursor(True)
        except Exception:
            continue


def exit_interrupted() -> NoReturn:
    """One line on stderr and exit code 130."""
    global _told
    if _interrupted:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _stop_live_displays()
    error_console.print("interrupted", highlight=False)
    _told = True
    raise typer.Exit(EXIT_INTERRUPTED)


def exit_unexpected(exc: BaseException) -> NoReturn:
    """One line naming an unexpected error, and exit code 1 (no traceback)."""
    _stop_live_displays()
    error_console.print(
        f"error: unexpected {type(exc).__name__}: {exc} "
        f"(please report this to the evpath developers; set {DEBUG_VARIABLE}=1 for the traceback)",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    raise typer.Exit(EXIT_BUG)


def report_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command with evpath's exit codes and no traceback.

    An :class:`EvpathError` prints its message on stderr, unwrapped so that paths and
    values stay whole, and exits 2; Ctrl-C prints ``interrupted`` and exits 130; any
    other exception prints one line with its type and message and exits 1, unless
    ``EVPATH_DEBUG=1`` (then it is raised with its traceback).
    """

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            exit_interrupted()
        except EvpathError as exc:
            if _interrupted:
                exit_interrupted()
            _stop_live_displays()
            error_console.print(f"[bold red]error[/] ({type(exc).__name__})", highlight=False)
            error_console.print(str(exc), soft_wrap=True, markup=False, highlight=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except Exception as exc:
            if _interrupted:
                exit_interrupted()
            if isinstance(exc, OSError) and exc.errno in REFUSED_PATH:
                _stop_live_displays()
                error_console.print("[bold red]error[/] (InputError)", highlight=False)
                error_console.print(refused(exc), soft_wrap=True, markup=False, highlight=False)
                raise typer.Exit(EXIT_BAD_INPUT) from None
            if debugging():
                raise
            exit_unexpected(exc)

    return wrapper


def refused(exc: OSError) -> str:
    """An OSError of the file system in words, with the path(s) it names."""
    paths = [str(name) for name in (exc.filename, exc.filename2) if name is not None]
    reason = exc.strerror or str(exc)
    return f"{' -> '.join(repr(p) for p in paths)}: {reason}" if paths else reason


def run_app(app: typer.Typer) -> None:
    """Run the ``evpath`` script: Ctrl-C anywhere exits 130 with one line, an
    unexpected error outside a command exits 1 with one line."""
    handle_interrupts()
    fit_output()
    try:
        app()
    except KeyboardInterrupt:
        _exit_now(EXIT_INTERRUPTED)
    except SystemExit:
        if _interrupted:
            _exit_now(EXIT_INTERRUPTED)
        raise
    except Exception as exc:
        if _interrupted:
            _exit_now(EXIT_INTERRUPTED)
        if debugging():
            raise
        try:
            exit_unexpected(exc)
        except typer.Exit as done:
            sys.exit(done.exit_code)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _exit_now(code: int) -> NoReturn:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not _told:
        _stop_live_displays()
        error_console.print("interrupted", highlight=False)
    sys.exit(code)


def check_output(option: str, path: Path, *, creates_folders: bool = False) -> None:
    """Refuse, before any work, an output file the user named that cannot be written: a
    folder, a file under a file, or (unless ``creates_folders``) a file in a folder that
    does not exist; or an existing file that is not a regular file (a device, a pipe: the
    output would replace it). Exit 2 with the reason."""
    if path.is_dir():
        msg = f"{option}: cannot write {str(path)!r}: it is a folder; allowed: a file name"
        raise InputError(msg)
    if path.exists() and not path.is_file():
        msg = (
            f"{option}: cannot write {str(path)!r}: it is not a regular file (a device, a "
            "pipe or a socket); allowed: a new file or a regular file"
        )
        raise InputError(msg)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        msg = f"{option}: cannot write {str(path)!r}: {str(parent)!r} is a file, not a folder"
        raise InputError(msg)
    if not creates_folders and not path.parent.is_dir():
        msg = f"{option}: cannot write {str(path)!r}: no folder {str(path.parent)!r}"
        raise InputError(msg)


def output_error(option: str, path: Path, exc: OSError) -> InputError:
    """The error of an output the user named with ``option`` that cannot be written."""
    reason = exc.strerror or str(exc)
    where = str(exc.filename) if exc.filename is not None else ""
    detail = f" ({where})" if where not in ("", str(path)) else ""
    return InputError(f"{option}: cannot write {str(path)!r}: {reason}{detail}")


@contextmanager
def steps(total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar over ``total`` named steps; yields ``advance(name)``."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

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
            progress.update(task, description=escape(name))  # names may hold brackets

        yield advance
        progress.update(task, completed=total)


@contextmanager
def counting_bar(description: str) -> Iterator[Callable[[int, int | None, str | None], None]]:
    """A transient bar on stderr counting done of total items (total unknown: None);
    yields ``update(done, total, description)`` (description None: unchanged)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=error_console,
        transient=True,
    ) as progress:
        task = progress.add_task(escape(description), total=None)

        def update(done: int, total: int | None, now: str | None = None) -> None:
            shown = escape(now or description)  # names may hold brackets
            progress.update(task, completed=done, total=total, description=shown)

        yield update
