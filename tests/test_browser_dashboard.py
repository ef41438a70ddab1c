"""End to end in a real headless Chromium against a real server: overview → strategy →
recruiting filter → study → registry link, with no console errors; screenshots are kept
in ``$CUREMAP_ARTIFACTS`` (or the test's temporary folder) and their paths printed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed; `make test` installs it")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(built_home):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "curemap.cli", "--home", str(built_home), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def artefacts(tmp_path) -> Path:
    folder = Path(os.environ.get("CUREMAP_ARTIFACTS") or tmp_path) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_overview_strategy_filter_study_and_registry_link(server, artefacts):
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run",
            ],  # launch() gives the browser a fresh, temporary user data dir of its own
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        registry_requests: list[str] = []

        def registry(route):
            registry_requests.append(route.request.url)
            route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>registry</title><h1>registry page</h1>")

        page.route("https://clinicaltrials.gov/**", registry)

        page.goto(server + "/")
        page.wait_for_selector(".chart .main-svg", timeout=20_000)  # plotly drew from the packaged script
        assert page.locator(".chart .main-svg").count() >= 3
        page.screenshot(path=str(artefacts / "1-overview.png"), full_page=True)

        page.click("a[href='/strategies/anti_cd20']")
        page.wait_for_url("**/strategies/anti_cd20")
        assert "B-cell depletion" in page.locator("h1").inner_text()
        page.screenshot(path=str(artefacts / "2-strategy.png"), full_page=True)

        page.select_option("form.filters select[name=status]", "RECRUITING")  # submits itself
        page.wait_for_url("**status=RECRUITING**")
        statuses = page.locator("table.studies td .status").all_inner_texts()
        assert statuses and set(statuses) == {"recruiting"}
        page.screenshot(path=str(artefacts / "3-recruiting.png"), full_page=True)

        first = page.locator("table.studies tbody tr td a").first
        study_id = first.inner_text()
        first.click()
        page.wait_for_url(f"**/studies/{study_id}")
        link = page.locator("#registry-link")
        expected = f"https://clinicaltrials.gov/study/{study_id}"
        assert link.get_attribute("href") == expected
        page.screenshot(path=str(artefacts / "4-study.png"), full_page=True)

        link.click()
        page.wait_for_url(expected)
        assert registry_requests == [expected]
        assert page.locator("h1").inner_text() == "registry page"
        browser.close()
    print(f"screenshots in {artefacts}")
    assert problems == []
