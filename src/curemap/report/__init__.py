"""The living review: rebuilt from the store on every run, every statement cited.

:func:`write_report` writes ``report.md``, ``report.html`` and/or ``report.pdf`` plus
``report.json`` (the snapshot, content hash and studies per strategy), which the next run
in the same folder reads to say what changed since.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from curemap.errors import InputError
from curemap.profile import Profile
from curemap.report.facts import Report, build_report
from curemap.report.render import content_hash, render_html, render_markdown, render_pdf
from curemap.store import Store

FORMATS = ("md", "html", "pdf")
MANIFEST = "report.json"


def previous_snapshot(out: Path) -> str | None:
    """The snapshot the report already in ``out`` was built from, if there is one."""
    path = out / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("snapshot")
    except (json.JSONDecodeError, AttributeError) as exc:
        raise InputError(f"{path}: not a report manifest ({exc}); remove it or give --since") from exc


def write_report(
    store: Store, profile: Profile, out: Path, formats: tuple[str, ...] = FORMATS, since: str | None = None
) -> dict[str, Any]:
    """Build the review and write it in each format; returns the files, the number of distinct
    citations, the snapshot and the seconds each step took, as ``curemap report --json`` prints them."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InputError(f"--format {', '.join(unknown)}: not one of {', '.join(FORMATS)}")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report = build_report(store, profile, since=since or previous_snapshot(out))
    seconds = {"build": time.perf_counter() - started}
    files = []
    html = render_html(report) if {"html", "pdf"} & set(formats) else None
    for fmt in formats:
        begun = time.perf_counter()
        path = out / f"report.{fmt}"
        if fmt == "md":
            path.write_text(render_markdown(report), encoding="utf-8")
        elif fmt == "html":
            path.write_text(html, encoding="utf-8")
        else:
            render_pdf(html, path)
        seconds[fmt] = time.perf_counter() - begun
        files.append(path)
    seconds["total"] = time.perf_counter() - started
    manifest = out / MANIFEST
    manifest.write_text(
        json.dumps({**report.manifest, "content_hash": content_hash(report), "citations": report.cited()}, indent=1),
        encoding="utf-8",
    )
    return {
        "files": [str(f) for f in files], "citations": len(report.cited()), "snapshot": report.snapshot,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }


__all__ = ["FORMATS", "Report", "build_report", "render_html", "render_markdown", "write_report"]
