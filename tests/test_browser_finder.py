"""The trial finder in a real headless Chromium on a 390-px-wide phone screen: the form is filled
from the keyboard and by its labels, the four counts are read, nothing overflows sideways, and a
field error sits beside its field."""

from __future__ import annotations

import pytest

from tests.test_browser_dashboard import CHROMIUM, artefacts, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed; `make test` installs it")

PHONE = {"width": 390, "height": 844}


def test_finder_on_a_phone(server, artefacts):  # noqa: F811
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport=PHONE)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.goto(server + "/finder")
        page.get_by_label("Age (years)").fill("34")
        page.get_by_label("Sex", exact=True).select_option("female")
        page.get_by_label("Disease course").select_option("rrms")
        page.get_by_label("EDSS score").fill("3")
        page.get_by_label("Country", exact=True).fill("United States")
        page.get_by_label("Country", exact=True).press("Enter")  # submitted from the keyboard
        page.wait_for_selector("ul.summary")
        counts = {
            name: int(page.locator(f'[data-count="{name}"]').inner_text())
            for name in ("may_be_eligible", "ask_the_study_team", "not_checked", "ruled_out")
        }
        assert counts["ask_the_study_team"] > 0 and counts["not_checked"] > 0 and counts["ruled_out"] > 0
        assert page.locator("article.match").count() == 50
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert page.locator("button[data-print]").is_visible()
        page.screenshot(path=str(artefacts / "finder-390.png"), full_page=False)
        print(f"screenshot: {artefacts / 'finder-390.png'}")

        page.locator("details.form-box > summary").click()
        page.get_by_label("EDSS score").fill("4.25")
        page.get_by_role("button", name="Find trials").click()
        error = page.locator("#f-edss-error")
        error.wait_for()
        assert "4.25 is not an EDSS score" in error.inner_text()
        assert page.get_by_label("EDSS score").get_attribute("aria-invalid") == "true"
        browser.close()
    assert problems == []
