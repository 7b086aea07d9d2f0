"""The dashboard in headless Chromium: load the page, run a scenario, change a lever, run
again, and see the charts change. Needs Debian's ``chromium`` (``.ci/run`` installs it);
skipped when no Chromium binary is found."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from evpath.web.app import create_app

CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None
)
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TIMEOUT_MS = 60_000

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium binary on PATH (install Debian's: apt-get install -y chromium)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def dashboard(tmp_path):
    """The dashboard served by uvicorn in a thread on a free port, with an empty store."""
    import uvicorn

    app = create_app(tmp_path / "evpath.duckdb")
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start within 30 s"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{server.config.port}/"
    server.should_exit = True
    thread.join(timeout=10)


def _plotted(page) -> dict[str, str]:
    """Each chart's title → its plotted data (traces with their x and y) as JSON."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.chart')].map(
            (chart) => [chart.dataset.title, JSON.stringify(chart.querySelector('.plot').data)]))"""
    )


@pytest.mark.long
def test_changing_a_lever_and_running_changes_the_charts(dashboard):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            failures: list[str] = []
            page.on("pageerror", lambda error: failures.append(str(error)))
            page.goto(dashboard)
            page.wait_for_selector("body[data-ready=true]")
            assert page.input_value("#scenario") == "japan-2050"
            assert page.input_value("input[name=hev_improvement]") == "0.014"

            page.click("#run")
            page.wait_for_function("() => document.body.dataset.drawn")
            first_run = page.evaluate("() => document.body.dataset.drawn")
            before = _plotted(page)
            assert "Greenhouse gases per car against the target" in before

            page.fill("input[name=grid_intensity]", "5")
            page.click("#run")
            page.wait_for_function(
                "first => document.body.dataset.drawn.split(',').length === 2"
                " && document.body.dataset.drawn.includes(first)",
                arg=first_run,
            )
            after = _plotted(page)
            title = "Greenhouse gases per car against the target"
            lines_before = {json.dumps(t.get("y")) for t in json.loads(before[title])}
            lines_after = {json.dumps(t.get("y")) for t in json.loads(after[title])}
            assert lines_before < lines_after  # the first run's lines, and new ones
            # the run list is reloaded after the charts are drawn: both runs end up ticked
            page.wait_for_function(
                "() => document.querySelectorAll('#run-list input:checked').length === 2"
            )
            assert page.locator("#run-list input:checked").count() == 2

            page.fill("input[name=collection_rate]", "1.5")
            page.click("#run")
            page.wait_for_selector("#status.error")
            assert "batteries.recycling.collection_rate" in page.inner_text("#problems")
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
            assert failures == []
        finally:
            browser.close()
