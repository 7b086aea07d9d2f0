"""The dashboard: a FastAPI app serving one page and a JSON API under ``/api``.

Read-only by default: runs are listed, summarised, drawn and compared, and a bundled
scenario can be run with some levers changed (kept in memory, not stored). Adding a run to
the results store needs the write token the server was started with, sent as
``Authorization: Bearer <token>``. Every error is JSON (:class:`ErrorResponse`), never a
traceback.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping, Sequence
from contextlib import asynccontextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from evpath.api import run as run_scenario
from evpath.errors import EvpathError, InputError, InvariantError, ScenarioError, StoreError
from evpath.io.manifest import package_version
from evpath.report.charts import figures
from evpath.report.runs import at_median, members
from evpath.results import Results
from evpath.scenario.loader import (
    bundled_scenarios,
    format_field_path,
    load_scenario,
    resolve_scenario,
)
from evpath.scenario.schema import Scenario
from evpath.web import levers
from evpath.web.runs import Busy, RunBook, RunSlots, TooSlow, UnknownRun
from evpath.web.schemas import (
    Comparison,
    EmissionsTarget,
    ErrorResponse,
    Figure,
    RunInfo,
    RunRequest,
    RunResult,
    RunSummary,
    ScenarioInfo,
    TidyRow,
    VariableInfo,
    Verdict,
)

MAX_BODY_BYTES = 64 * 1024
"""Largest request body [bytes]; a larger one gets 413."""
MAX_RUNS_AT_ONCE = 2
"""Runs computed at the same time; one more gets 429."""
RUN_TIMEOUT = 60.0
"""Seconds a run may take before the request gets 504."""
MAX_COMPARED = 6
"""Most runs drawn together."""
BEARER = HTTPBearer(auto_error=False, description="The server's write token.")
"""Where POST /api/runs reads the write token (``Authorization: Bearer``)."""

STATUS = {ScenarioError: 422, InvariantError: 422, InputError: 400, StoreError: 503}
"""HTTP status of each evpath error a request can cause (any other: 500)."""

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "Bad argument (InputError)",
        404: "No such run",
        413: "Request body too large",
        422: "Invalid scenario or lever (field path, value, what is allowed)",
        503: "The results store is busy",
    }.items()
}
"""Error responses every endpoint can give, for the OpenAPI document."""


def create_app(
    store: str | Path,
    write_token: str | None = None,
    *,
    max_runs: int = MAX_RUNS_AT_ONCE,
    run_timeout: float = RUN_TIMEOUT,
    max_body: int = MAX_BODY_BYTES,
    allowed_hosts: Sequence[str] | None = None,
) -> FastAPI:
    """The dashboard app on the results store ``store``.

    Parameters
    ----------
    store : path
        DuckDB results store to list and read runs from, and to add runs to.
    write_token : str, optional
        Token that POST /api/runs must send (``Authorization: Bearer``) to store a run;
        None: nothing is ever stored.
    max_runs, run_timeout : int, float
        Runs computed at once (one more: 429) and seconds each may take (then 504).
    max_body : int
        Largest request body in bytes (larger: 413).
    allowed_hosts : sequence of str, optional
        Host names requests may address (others: 400), e.g. the loopback names, so that
        a web page cannot reach the server through a domain of its own; None: any.
    """
    if write_token is not None and len(write_token) < 8:
        msg = "write token: got a token shorter than 8 characters; allowed: 8 or more characters"
        raise InputError(msg)
    book = RunBook(Path(store))
    slots = RunSlots(max_runs, run_timeout)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(slots.close)  # runs still computing end before the server

    app = FastAPI(
        lifespan=lifespan,
        title="evpath dashboard",
        version=package_version(),
        description="Runs of evpath: list, summarise, compare, and run a bundled scenario "
        "with levers changed.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.book = book
    app.state.slots = slots
    app.add_middleware(BodyLimit, limit=max_body)
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    _error_handlers(app)
    static = resources.files("evpath.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return (static / "index.html").read_text(encoding="utf-8")

    @app.get("/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Response:
        return Response(
            _plotly_js(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/api/runs", summary="List runs", responses=ERRORS)
    def list_runs() -> list[RunInfo]:
        """Runs this server computed (newest first) and the runs in the results store."""
        made = [_info(results, stored) for results, stored in book.recent()]
        seen = {run.run_id for run in made}
        stored = [
            RunInfo(
                run_id=row.run_id,
                scenario=row.scenario,
                created_at=pd.Timestamp(row.created_at).isoformat(),
                evpath_version=row.evpath_version,
                stored=True,
            )
            for row in book.stored_runs().itertuples()
            if row.run_id not in seen
        ]
        return sorted([*made, *stored], key=lambda run: run.created_at, reverse=True)

    @app.get("/api/runs/{run_id}", summary="One run's summary", responses=ERRORS)
    def run_summary(run_id: str) -> RunSummary:
        """The run, whether every new car is electrified in the target year, the per-car
        emissions target, and its variables (name, unit, dims)."""
        return _summary(*book.results(run_id))

    @app.get(
        "/api/runs/{run_id}/variables",
        summary="One run's values (tidy)",
        responses=ERRORS,
        response_model=list[TidyRow],
    )
    def run_values(
        run_id: str,
        variable: Annotated[
            list[str], Query(description="Variables to return (repeat); none: all.")
        ] = [],  # noqa: B006 - FastAPI copies query defaults
    ) -> Response:
        """Tidy rows: variable, unit, the labels of the variable's dimensions, value."""
        rows = []
        for _name, group in book.tidy(run_id, variable).groupby("variable", sort=False):
            labelled = group[[c for c in group if c == "value" or group[c].notna().any()]]
            rows.extend(labelled.astype(object).where(labelled.notna(), None).to_dict("records"))
        return JSONResponse(rows)

    @app.get("/api/scenarios", summary="Bundled scenarios and their levers", responses=ERRORS)
    def scenarios() -> list[ScenarioInfo]:
        """Each bundled scenario, the levers it can take and its own values of them."""
        return [
            ScenarioInfo(
                name=scenario.name,
                description=" ".join(scenario.description.split()),
                regions=scenario.regions,
                start=scenario.years.start,
                end=scenario.years.end,
                levers=levers.current(scenario),
                available=levers.available(scenario),
            )
            for scenario in _bundled().values()
        ]

    @app.post(
        "/api/runs",
        summary="Run a bundled scenario with levers changed",
        status_code=201,
        responses={
            **ERRORS,
            401: {"model": ErrorResponse, "description": "Storing needs the write token"},
            403: {"model": ErrorResponse, "description": "Wrong token, or a read-only server"},
            429: {"model": ErrorResponse, "description": "Every run slot is taken"},
            504: {"model": ErrorResponse, "description": "The run took too long"},
        },
    )
    async def run(
        request: RunRequest,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> RunResult:
        """Validate the changed scenario exactly as a scenario file is validated, run it,
        keep it in memory for this server, add it to the store when ``store`` is true (with
        the write token), and return its summary."""
        if request.store:
            _check_token(write_token, credentials)
        document, scenario = await run_in_threadpool(_changed, request)
        started = time.perf_counter()
        results = await slots.run(lambda: _computed(scenario, request.store))
        seconds = time.perf_counter() - started
        if request.store:
            await run_in_threadpool(book.store.write, results.manifest, results.tidy)
        book.remember(results, request.store)
        return RunResult(
            **_summary(results, request.store).model_dump(), override=document, seconds=seconds
        )

    @app.get("/api/compare", summary="Charts of several runs", responses=ERRORS)
    def compare(
        run: Annotated[list[str], Query(description="Run ids to draw together (repeat).")],
    ) -> Comparison:
        """The report's charts of the runs side by side (plotly figures as JSON), those
        every run can draw."""
        if not 1 <= len(run) <= MAX_COMPARED or len(set(run)) < len(run):
            msg = f"run: got {len(run)} run ids; allowed: 1 to {MAX_COMPARED} different runs"
            raise InputError(msg)
        chosen = [book.results(run_id) for run_id in run]
        labels = _labels([results for results, _stored in chosen])
        datasets = {label: book.dataset(run_id) for label, run_id in zip(labels, run, strict=True)}
        return Comparison(
            runs=[_info(results, stored) for results, stored in chosen],
            figures=[
                Figure(title=title, caption=text, figure=json.loads(figure.to_json()))
                for title, figure, text in figures(datasets)
            ],
        )

    return app


def _check_token(token: str | None, credentials: HTTPAuthorizationCredentials | None) -> None:
    if token is None:
        raise HTTPException(
            403, "this server is read-only: start it with --write-token to store runs"
        )
    if credentials is None:
        raise HTTPException(
            401,
            "storing a run needs the header 'Authorization: Bearer <write token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
        raise HTTPException(403, "the write token does not match")


@cache
def _bundled() -> dict[str, Scenario]:
    """The bundled scenarios, loaded once."""
    return {name: load_scenario(name) for name in bundled_scenarios()}


@cache
def _plotly_js() -> str:
    """plotly.js of the installed plotly package, so that the page needs no network."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _changed(request: RunRequest) -> tuple[dict[str, Any], Scenario]:
    """The override mapping of a run request and the scenario it validates to."""
    document = levers.override(_bundled()[request.scenario], request.levers, request.name)
    return document, resolve_scenario(document)


def _computed(scenario: Scenario, tidy: bool) -> Results:
    """Run ``scenario``; with ``tidy`` also build the table the store takes, inside the slot."""
    results = run_scenario(scenario)
    if tidy:
        _ = results.tidy
    return results


def _info(results: Results, stored: bool) -> RunInfo:
    return RunInfo(
        run_id=results.run_id,
        scenario=results.scenario.name,
        created_at=str(results.manifest["created_at"]),
        evpath_version=str(results.manifest["evpath_version"]),
        stored=stored,
    )


def _summary(results: Results, stored: bool) -> RunSummary:
    ensemble = "quantile" in results.dataset.dims
    variables = results.dataset.data_vars
    results = at_median(results)
    verdict = results.target_verdict()
    return RunSummary(
        run=_info(results, stored),
        ensemble_members=members(results.dataset) if ensemble else None,
        target=[
            Verdict(
                region=str(region),
                target_year=int(row.target_year),
                electrified_share=_number(row.electrified_share),
                first_year_all_electrified=_year(row.first_year_all_electrified),
                met=bool(row.met),
            )
            for region, row in verdict.iterrows()
        ],
        emissions_target=[
            EmissionsTarget(region=str(region), **_plain(row.to_dict()))
            for region, row in results.emissions_target().iterrows()
        ],
        variables=[
            VariableInfo(
                name=str(name),
                unit=str(array.attrs.get("units", "")),
                dims=[str(d) for d in array.dims],
            )
            for name, array in variables.items()
        ],
    )


def _number(value: object) -> float | None:
    return None if pd.isna(value) else float(value)  # type: ignore[arg-type]


def _year(value: object) -> int | None:
    return None if pd.isna(value) else int(value)  # type: ignore[call-overload]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A table row with NaN as None."""
    return {key: None if pd.isna(value) else value for key, value in row.items()}


def _labels(runs: list[Results]) -> list[str]:
    """A short, distinct label per run for the charts: the scenario, and the time it was
    made when two runs share a scenario."""
    names = [results.scenario.name for results in runs]
    return [
        name
        if names.count(name) == 1
        else f"{name} {str(results.manifest['created_at'])[11:19]} #{index + 1}"
        for index, (name, results) in enumerate(zip(names, runs, strict=True))
    ]


def _error_handlers(app: FastAPI) -> None:
    """Every error as :class:`ErrorResponse` JSON; an unexpected one in one line."""

    def reply(status: int, error: str, text: str, headers: Mapping[str, str] | None = None) -> Any:
        first, *rest = text.splitlines() or [""]
        body = ErrorResponse(error=error, message=first, problems=[r.strip() for r in rest])
        return JSONResponse(body.model_dump(), status_code=status, headers=headers)

    @app.exception_handler(EvpathError)
    async def evpath_error(_request: Request, exc: EvpathError) -> Any:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
        return reply(status, type(exc).__name__, str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> Any:
        problems = []
        for error in exc.errors():
            where = format_field_path(tuple(error["loc"])[1:]) or str(error["loc"][0])
            got = error.get("input")
            shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r:.80})"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}{shown}")
        return reply(422, "RequestValidationError", "\n".join(["invalid request", *problems]))

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> Any:
        return reply(exc.status_code, "http", str(exc.detail), exc.headers)

    @app.exception_handler(UnknownRun)
    async def unknown_run(_request: Request, exc: UnknownRun) -> Any:
        return reply(404, "UnknownRun", f"no run {str(exc)[:100]!r}; list runs with GET /api/runs")

    @app.exception_handler(Busy)
    async def busy(_request: Request, _exc: Busy) -> Any:
        text = (
            f"{app.state.slots.size} runs are being computed, the most at once; try again shortly"
        )
        return reply(429, "Busy", text, {"Retry-After": "5"})

    @app.exception_handler(TooSlow)
    async def too_slow(_request: Request, _exc: TooSlow) -> Any:
        text = f"the run took longer than {app.state.slots.timeout:g} s and was abandoned"
        return reply(504, "TooSlow", text)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> Any:
        text = f"unexpected error ({type(exc).__name__}); this is a bug in evpath, please report it"
        return reply(500, "internal", text)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413: at once when Content-Length
    says so, else as soon as more than ``limit`` bytes have arrived."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            response = JSONResponse(self._error().model_dump(), status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413, self._error().message)
            return message

        await self.app(scope, limited, send)

    def _error(self) -> ErrorResponse:
        return ErrorResponse(
            error="http",
            message=f"request body larger than {self.limit:,} bytes; allowed: at most "
            f"{self.limit:,} bytes",
        )
