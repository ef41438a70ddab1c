"""The HTML report opened in a real browser (Debian's Chromium, headless): no console errors,
no failed or outside requests, and its charts drawn with visible bars."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def report_file(built_home, tmp_path_factory) -> Path:
    from curemap.profile import load_profile
    from curemap.report import build_report, render_html
    from curemap.store import Store

    store = Store.open(built_home)
    try:
        html = render_html(build_report(store, load_profile(), record_snapshot=False))
    finally:
        store.close()
    path = tmp_path_factory.mktemp("browser") / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_report_renders_in_chromium_without_errors(report_file, tmp_path):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file() or shutil.which("chromium"), "Debian's chromium is needed (make system-deps)"
    problems, requests = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report_file.as_uri(), wait_until="load")
            charts = page.locator("svg.chart")
            assert charts.count() == 4
            for index in range(charts.count()):
                chart = charts.nth(index)
                box = chart.bounding_box()
                assert box and box["width"] > 300 and box["height"] > 50
                bars = chart.locator("rect.bar")
                assert bars.count() > 3
                widths = [bars.nth(i).bounding_box()["width"] for i in range(min(bars.count(), 5))]
                assert max(widths) > 10
            # the strategy's own section (its appendix table's heading says "Trials of …")
            assert page.get_by_role("heading", name="Autologous haematopoietic stem cell transplantation", exact=True).count() == 1
            # a citation link leads to its reference entry
            first_cite = page.locator('.cites a[href^="#ref-"]').first
            target = first_cite.get_attribute("href")
            assert page.locator(f"li{target}").count() == 1
            screenshot = page.screenshot(full_page=False)
            assert len(screenshot) > 10_000
        finally:
            browser.close()
    assert problems == []
    assert requests == [report_file.as_uri()]  # the page needs nothing else
