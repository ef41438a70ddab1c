"""The review as a verifier's annotated copy: its text with every reference and every claim
checked marked ok, problem or unverifiable, the record's words on hover and a list of the
problems below. The review's text is untrusted: all of it is escaped, and the page runs no
script."""

from __future__ import annotations

from html import escape
from typing import Any

from curemap.verify import where
from curemap.verify.refs import Document

STYLE = """
body{font:15px/1.55 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
.review{white-space:pre-wrap;border:1px solid #ccc;padding:1rem;background:#fcfcfc}
mark{padding:0 .1em;border-radius:2px}
mark.ok{background:#d8f0d8}mark.problem{background:#f8c8c8;outline:1px solid #c33}
mark.unverifiable{background:#eee;outline:1px dashed #888}
.legend mark{margin-right:.6em}li{margin:.3em 0}
a,.review{overflow-wrap:anywhere}
"""


def _verdict(result) -> str:
    if result.status in ("mismatch", "malformed", "not_found") or result.problems:
        return "problem"
    return "unverifiable" if result.status == "unverifiable" else "ok"


def annotated_html(doc: Document, results: list[Any], title: str, written: str | None = None) -> str:
    """The page; ``written`` is the review as read from its file, shown where the reader kept its
    offsets (a text format: its sources' lines, which the reading blanks once they are linked to
    their marks, stay in the copy as the writer set them)."""
    shown = written if written is not None and len(written) == len(doc.text) else doc.text
    marks: list[tuple[int, int, str, str]] = []
    for result in results:
        verdict = _verdict(result)
        note = "; ".join(p["message"] for p in result.problems) or result.note or f"{result.ref}: {result.status}"
        for start, end in result.spans:
            marks.append((start, end, verdict, note))
        for claim in result.claims:
            wrong = [p["message"] for p in result.problems if p.get("start") == claim.start and p.get("end") == claim.end]
            marks.append((claim.start, claim.end, "problem" if wrong else "ok", "; ".join(wrong) or f"fits {result.record or result.ref}"))
    marks.sort(key=lambda m: (m[0], -(m[1] - m[0])))
    parts, position = [], 0
    for start, end, verdict, note in marks:
        if start < position:
            continue
        parts += [escape(shown[position:start]), f'<mark class="{verdict}" title="{escape(note)}">{escape(shown[start:end])}</mark>']
        position = end
    parts.append(escape(shown[position:]))
    problems = [
        f"<li>{escape(where(p))}: <b>{escape(r.ref)}</b> ({r.status}) — {escape(p['message'])}"
        + (f' <a href="{escape(r.link)}">{escape(r.link)}</a>' if r.link else "") + "</li>"
        for r in results for p in r.problems
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>Verified: {escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Verified: {escape(title)}</h1>"
        '<p class="legend"><mark class="ok">matches the record</mark><mark class="problem">problem</mark>'
        '<mark class="unverifiable">could not be checked</mark></p>'
        f"<h2>Problems ({len(problems)})</h2><ol>{''.join(problems) or '<li>none</li>'}</ol>"
        f'<h2>The review</h2><div class="review">{"".join(parts)}</div></body></html>\n'
    )
