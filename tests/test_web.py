"""The minimal web face: the overview page and /api/status, read-only, with registry text escaped."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from curemap.sources.files import iter_file_records
from curemap.web import create_app
from tests.conftest import CTIS_CSV

PAYLOAD = '<script>alert("x")</script>'


def test_overview_and_status_api_show_the_store(store):
    store.import_records(iter_file_records(CTIS_CSV))
    client = TestClient(create_app(store))
    api = client.get("/api/status").json()
    assert api["studies"] == 104
    assert api["sources"]["ctis"]["records"] == 104

    page = client.get("/")
    assert page.status_code == 200
    assert "<strong>104</strong> registered studies" in page.text
    assert "Pharmaceutical company" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_registry_text_is_escaped_on_the_overview(store, tmp_path):
    with CTIS_CSV.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        rows = [next(reader)]
    rows[0]["Sponsor type"] = PAYLOAD
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    hostile = tmp_path / "hostile.csv"
    hostile.write_text(buffer.getvalue(), encoding="utf-8")
    store.import_records(iter_file_records(hostile))

    page = TestClient(create_app(store)).get("/")
    assert PAYLOAD not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
