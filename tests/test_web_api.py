"""The dashboard's JSON API (``evpath.web``): every endpoint, levers validated like a
scenario file, the write token, and the limits (body size, runs at once, time)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evpath.cli.app import app as cli_app
from evpath.errors import InputError
from evpath.io.export import DIM_COLUMNS
from evpath.scenario.loader import load_scenario
from evpath.web import levers
from evpath.web.app import create_app
from evpath.web.schemas import Levers, TidyRow

# starlette's TestClient warns that it will move from httpx to httpx2.
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

TOKEN = "test-write-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WHAT_IF = {"hev_improvement": 0.03, "grid_intensity": 20.0, "collection_rate": 0.95}


def client_of(app, **options):
    from fastapi.testclient import TestClient

    return TestClient(app, **options)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("web") / "evpath.duckdb"


@pytest.fixture(scope="module")
def client(store):
    """A dashboard that stores runs with ``TOKEN``."""
    with client_of(create_app(store, TOKEN)) as client:
        yield client


@pytest.mark.long
def test_a_what_if_run_applied_stored_listed_summarised_compared_and_read_back(client, store):
    response = client.post(
        "/api/runs", json={"scenario": "japan-2050", "levers": WHAT_IF, "store": True}, headers=AUTH
    )
    assert response.status_code == 201, response.text
    what_if = response.json()
    run_id = what_if["run"]["run_id"]
    assert what_if["run"]["stored"] is True
    assert what_if["run"]["scenario"] == "japan-2050-what-if"

    override = what_if["override"]
    assert override["extends"] == "japan-2050"
    assert override["batteries"] == {"recycling": {"collection_rate": 0.95}}
    assert override["emissions"]["energy"]["improvement"]["HEV"] == {"2024": 0.0, "2025": 0.03}
    pathway = override["emissions"]["grid"]["pathway"]
    assert pathway["2050"] == {"intensity": 20.0}
    assert set(pathway) == {"2030", "2040", "2050"}
    assert what_if["target"] == [
        {
            "region": "JPN",
            "target_year": 2050,
            "electrified_share": pytest.approx(1.0),
            "first_year_all_electrified": 2050,
            "met": True,
        }
    ]
    assert what_if["emissions_target"][0]["reduction"] > 0.8  # 72.7% without the levers

    rows = client.get(f"/api/runs/{run_id}/variables", params={"variable": "grid_intensity"})
    by_year = {row["year"]: row["value"] for row in rows.json()}
    assert by_year[2050] == pytest.approx(20.0)
    assert by_year[2060] == pytest.approx(20.0)
    rows = client.get(
        f"/api/runs/{run_id}/variables", params={"variable": ["pack_price", "average_age"]}
    ).json()
    assert {row["variable"] for row in rows} == {"pack_price", "average_age"}
    price = next(row for row in rows if row["variable"] == "pack_price")
    assert set(price) == {"variable", "unit", "year", "value"}
    bad = client.get(f"/api/runs/{run_id}/variables", params={"variable": "warp_speed"})
    assert bad.status_code == 400
    assert "variable: got 'warp_speed'; allowed:" in bad.json()["message"]
    summary = client.get(f"/api/runs/{run_id}").json()
    variables = {v["name"]: v for v in summary["variables"]}
    assert variables["wtw_per_new_car"]["dims"] == ["region", "year"]

    world = client.post("/api/runs", json={"scenario": "world-current-trends"})
    assert world.status_code == 201
    assert world.json()["run"]["stored"] is False
    ids = [run_id, world.json()["run"]["run_id"]]
    listed = {run["run_id"]: run["stored"] for run in client.get("/api/runs").json()}
    assert listed == {ids[0]: True, ids[1]: False}
    compared = client.get("/api/compare", params={"run": ids}).json()
    assert [run["run_id"] for run in compared["runs"]] == ids
    titles = [f["title"] for f in compared["figures"]]
    assert "Batteries and equipment investment" in titles
    assert "Greenhouse gases per car against the target" not in titles  # world has no emissions
    figure = compared["figures"][0]
    assert {"data", "layout"} <= set(figure["figure"])
    assert ids[0] in figure["caption"]
    assert ids[1] in figure["caption"]
    assert client.get("/api/compare", params={"run": [ids[0]] * 2}).status_code == 400
    assert client.get("/api/compare").status_code == 422

    with client_of(create_app(store)) as reader:
        assert [(r["run_id"], r["stored"]) for r in reader.get("/api/runs").json()] == [
            (run_id, True)
        ]
        stored = reader.get(f"/api/runs/{run_id}").json()
        reduction = what_if["emissions_target"][0]["reduction"]
        assert stored["emissions_target"][0]["reduction"] == pytest.approx(reduction)
        assert reader.get("/api/runs/20990101-nothing").status_code == 404


def test_scenarios_list_their_levers(client):
    scenarios = {s["name"]: s for s in client.get("/api/scenarios").json()}
    japan = scenarios["japan-2050"]
    assert japan["levers"]["target_year"] == 2050
    assert japan["levers"]["grid_intensity"] == 50
    assert japan["levers"]["collection_rate"] == 0.8
    assert japan["levers"]["hev_improvement"] == 0.014
    assert set(japan["available"]) == set(Levers.model_fields)
    assert scenarios["world-current-trends"]["available"] == [
        "target_year",
        "chemistry",
        "collection_rate",
    ]


@pytest.mark.parametrize(
    ("change", "field", "got"),
    [
        ({"collection_rate": 1.5}, "batteries.recycling.collection_rate", "1.5"),
        ({"hev_improvement": 0.5}, "emissions.energy.improvement.HEV", "0.5"),
        ({"target_year": 2070}, "target_year", "2070"),
        ({"chemistry": {2030: {"LFP": 0.5}}}, "batteries.packs.chemistry", "0.5"),
        ({"evs_per_charger": {"warp": 3.0}}, "charging.ratio_path.warp", "'warp'"),
        ({"grid_pathway": {2040: -5.0}}, "emissions.grid.pathway[2040].intensity", "-5.0"),
    ],
)
def test_bad_lever_values_are_422_naming_field_value_and_what_is_allowed(
    client, change, field, got
):
    response = client.post("/api/runs", json={"scenario": "japan-2050", "levers": change})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ScenarioError"
    text = "\n".join(body["problems"]) or body["message"]
    assert field in text
    assert got in text
    assert "allowed" in text


@pytest.mark.parametrize(
    ("request_body", "where"),
    [
        ({"scenario": "atlantis-2050"}, "scenario: no bundled scenario 'atlantis-2050'; allowed"),
        ({"scenario": "../../etc/passwd"}, "scenario: no bundled scenario"),
        (
            {"scenario": "japan-2050", "levers": {"collection_rate": "most"}},
            "levers.collection_rate",
        ),
        ({"scenario": "japan-2050", "levers": {"warp": 1}}, "levers.warp"),
        ({"scenario": "japan-2050", "extends": "/etc/passwd"}, "extends"),
    ],
)
def test_malformed_requests_are_422_naming_the_field(client, request_body, where):
    response = client.post("/api/runs", json=request_body)
    assert response.status_code == 422
    assert any(problem.startswith(where) for problem in response.json()["problems"])


def test_levers_a_scenario_cannot_take_are_400(client):
    response = client.post(
        "/api/runs", json={"scenario": "world-current-trends", "levers": {"hev_improvement": 0.01}}
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "levers.hev_improvement: scenario 'world-current-trends' has no 'emissions' block"
    )
    both = client.post(
        "/api/runs",
        json={"scenario": "japan-2050", "levers": {"grid_intensity": 9, "grid_pathway": {2040: 9}}},
    )
    assert both.status_code == 400


def test_grid_intensity_keeps_earlier_points_and_ends_the_pathway_in_the_target_year():
    base = load_scenario("japan-2050")
    document = levers.override(base, Levers(target_year=2035, grid_intensity=80.0))
    pathway = document["emissions"]["grid"]["pathway"]
    assert list(pathway) == [2030, 2035]
    assert pathway[2035] == {"intensity": 80.0}
    assert "mix" in pathway[2030]
    assert document["target_year"] == 2035
    with pytest.raises(InputError, match="grid_intensity and grid_pathway"):
        levers.override(base, Levers(grid_intensity=1.0, grid_pathway={2040: 1.0}))


def test_storing_needs_the_write_token(client, store):
    body = {"scenario": "japan-2050", "store": True}
    missing = client.post("/api/runs", json=body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = client.post("/api/runs", json=body, headers={"Authorization": "Bearer nope-nope"})
    assert wrong.status_code == 403
    with client_of(create_app(store)) as read_only:
        refused = read_only.post("/api/runs", json=body, headers=AUTH)
        assert refused.status_code == 403
        assert "read-only" in refused.json()["message"]
    with pytest.raises(InputError, match="shorter than 8"):
        create_app(store, "short")


def test_oversize_bodies_are_413(client):
    big = b'{"scenario": "japan-2050", "name": "' + b"x" * 70_000 + b'"}'
    sized = client.post("/api/runs", content=big, headers={"Content-Type": "application/json"})
    assert sized.status_code == 413
    assert "65,536 bytes" in sized.json()["message"]
    chunked = client.post(
        "/api/runs",
        content=iter([big[:40_000], big[40_000:]]),
        headers={"Content-Type": "application/json"},
    )
    assert chunked.status_code == 413


def test_runs_beyond_the_slots_are_429_and_slow_runs_504(store):
    busy_app = create_app(store, max_runs=1)
    with client_of(busy_app) as busy:
        assert busy_app.state.slots.take()
        try:
            response = busy.post("/api/runs", json={"scenario": "japan-2050"})
        finally:
            busy_app.state.slots.give_back()
        assert response.status_code == 429
        assert response.headers["retry-after"]
    hurried_app = create_app(store, max_runs=1, run_timeout=0.001)
    with client_of(hurried_app) as hurried:
        response = hurried.post("/api/runs", json={"scenario": "japan-2050"})
        assert response.status_code == 504
        assert "longer than 0.001 s" in response.json()["message"]
    # the server's shutdown waited for the abandoned run: its slot is free again
    assert hurried_app.state.slots.take()


def test_an_unexpected_error_is_one_json_line_without_traceback(store, monkeypatch):
    app = create_app(store)

    def broken():
        raise RuntimeError("internal detail /secret/path")

    monkeypatch.setattr(app.state.book, "stored_runs", broken)
    with client_of(app, raise_server_exceptions=False) as plain:
        response = plain.get("/api/runs")
    assert response.status_code == 500
    body = response.json()
    assert body == {
        "error": "internal",
        "message": "unexpected error (RuntimeError); this is a bug in evpath, please report it",
        "problems": [],
    }
    assert "secret" not in response.text
    assert "Traceback" not in response.text


def test_page_and_plotly_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200
    assert 'id="levers"' in page.text
    assert "cdn" not in page.text.lower()
    assert "https://" not in page.text
    assert client.get("/static/app.js").status_code == 200
    plotly_js = client.get("/plotly.min.js")
    assert plotly_js.status_code == 200
    assert "plotly" in plotly_js.text[:2000].lower()
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN


def test_only_the_allowed_host_names_are_answered(store):
    app = create_app(store, allowed_hosts=["localhost"])
    with client_of(app, base_url="http://evil.example") as elsewhere:
        assert elsewhere.get("/api/runs").status_code == 400
    with client_of(app, base_url="http://localhost") as local:
        assert local.get("/api/runs").status_code == 200


def test_tidy_rows_have_a_field_per_dimension_column():
    assert [f for f in TidyRow.model_fields if f not in ("variable", "unit", "value")] == list(
        DIM_COLUMNS
    )


def test_serve_refuses_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli_app, ["serve", "--port", str(port)])
    assert result.exit_code == 2
    assert f"--port: cannot listen on 127.0.0.1 port {port}" in result.output
