"""The dashboard on a phone, in a real headless Chromium against a real server: at 390 pixels
wide the overview, a strategy, a study and the review fit the screen (a wide table scrolls
in its own box) with no console error; the overview, scripts included, transfers under
1.5 MB compressed; the favicon answers."""

from __future__ import annotations

import pytest

from tests.test_browser_dashboard import CHROMIUM, artefacts, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed; `make test` installs it")

PHONE = {"width": 390, "height": 844}
MAX_OVERVIEW_BYTES = 1_500_000
PAGES = [
    "/",
    "/strategies/car_t",
    "/studies/2024-515470-26-00",
    "/report",
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        )
        yield launched
        launched.close()


@pytest.mark.parametrize("path", PAGES)
def test_page_fits_a_phone_screen_without_console_errors(server, browser, artefacts, path):
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.goto(server + path, wait_until="networkidle")
    if page.locator("[data-chart]").count():
        page.wait_for_selector(".chart .main-svg", timeout=20_000)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    page.screenshot(path=str(artefacts / f"phone{path.replace('/', '-') or '-overview'}.png"), full_page=True)
    page.close()
    assert widths[1] == PHONE["width"], f"{path} is laid out {widths[1]} px wide, not at the phone's width"
    assert widths[0] <= widths[1], f"{path} is {widths[0]} px wide on a {widths[1]} px screen"
    assert problems == []


def test_overview_transfers_under_the_budget_compressed(server, browser):
    page = browser.new_page(viewport=PHONE)
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(server + "/", wait_until="networkidle")
    page.wait_for_selector(".chart .main-svg", timeout=20_000)
    transferred = page.evaluate(
        "() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".reduce((sum, entry) => sum + entry.transferSize, 0)"
    )
    encodings = {response.url.rsplit("/", 1)[-1]: response.headers.get("content-encoding") for response in responses}
    page.close()
    assert 0 < transferred < MAX_OVERVIEW_BYTES, f"the overview transferred {transferred:,} bytes"
    assert encodings["plotly-basic.min.js"] == encodings[""] == "gzip"


def test_favicon_answers(server, browser):
    page = browser.new_page()
    for path in ("/static/favicon.svg", "/favicon.ico"):
        response = page.goto(server + path)
        assert response.status == 200, path
        assert response.headers["content-type"].startswith("image/")
    page.close()
