"""``evpath serve``: the local web dashboard and its JSON API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from evpath.cli.console import console, error_console, report_errors
from evpath.errors import InputError

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
"""Host names a dashboard bound to loopback answers to (any other Host header: 400)."""


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; the default answers this machine only.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    store: Annotated[
        Path, typer.Option(help="DuckDB results store to show runs from and add runs to.")
    ] = Path("results/evpath.duckdb"),
    write_token: Annotated[
        str | None,
        typer.Option(
            envvar="EVPATH_WRITE_TOKEN",
            help="Token (8+ characters) that lets a request store its run "
            "(Authorization: Bearer TOKEN); without it nothing is stored.",
        ),
    ] = None,
) -> None:
    """Serve the dashboard: list, open and compare runs; run scenarios with levers changed.

    A bundled scenario runs with levers changed for anyone who can reach the dashboard;
    only a request holding the write token stores its run. Without a token nothing is
    stored."""
    import uvicorn

    from evpath.web.app import create_app

    loopback = _is_loopback(host)
    _check_free(host, port)
    app = create_app(store, write_token, allowed_hosts=LOOPBACK_NAMES if loopback else None)
    if not loopback:
        error_console.print(
            f"[yellow]warning[/] listening on {escape(host)}: anyone who can reach it can read the "
            "runs and compute what-ifs (storing still needs the write token)"
        )
    shown = f"[{host}]" if ":" in host else host
    mode = "storing with the write token" if write_token else "read-only, nothing stored"
    console.print(
        f"evpath dashboard on http://{escape(shown)}:{port}/ ({mode}; store {escape(str(store))})"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_free(host: str, port: int) -> None:
    """InputError naming ``--host``/``--port`` when the address cannot be listened on."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        msg = f"--host: got {host!r} ({exc.strerror}); allowed: an address of this machine"
        raise InputError(msg) from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            option = "--port" if exc.errno == errno.EADDRINUSE else "--host"
            msg = f"{option}: cannot listen on {host} port {port} ({exc.strerror}); allowed: a free port on an address of this machine"
            raise InputError(msg) from None


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(report_errors(serve))
