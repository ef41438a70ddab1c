"""An Atom feed of the trials that fit a person, written on their own machine so a feed reader
can follow it: the person's profile is never in it, only the trials and why they fit."""

from __future__ import annotations

import datetime as dt
import re
from xml.etree import ElementTree as ET

from curemap.match.matcher import JUDGED_ON, TrialMatch
from curemap.model import PartialDate
from curemap.wording import citation_url

ATOM = "http://www.w3.org/2005/Atom"
FEED_ID = "urn:curemap:match:trials-that-fit"
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _NOT_XML.sub("", v) for k, v in attrs.items()})
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


def _day(date: PartialDate | None) -> str | None:
    """A registry date as an Atom timestamp (a month or year as its first day)."""
    if date is None:
        return None
    year, month, day = (date.value.split("-") + ["01", "01"])[:3]
    return f"{year}-{month}-{day}T00:00:00Z"


def _summary(match: TrialMatch) -> str:
    counts = match.to_dict()["counts"]
    place = next((site["place"] for site in match.sites if site["place"]), None)
    return (
        f"Nothing read rules you out ({JUDGED_ON[match.judged_on]}): {counts['read']} criteria read, "
        f"{counts['met']} met, {counts['unknown']} unknown. "
        + (f"Nearest site: {place}. " if place else "")
        + f"Opened {match.study.start_date.value if match.study.start_date else 'on a date not given'}, "
        f"first posted {match.study.first_posted.value if match.study.first_posted else 'on a date not given'}."
    )


def trials_feed(matches: list[TrialMatch], since: dt.date | None, as_of: dt.date) -> bytes:
    """Atom for ``matches`` (trials nothing rules the person out of), newest first."""
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    _sub(root, "title", "Curemap: MS trials that fit you" + (f", opened or posted since {since.isoformat()}" if since else ""))
    _sub(root, "id", FEED_ID)
    _sub(root, "updated", f"{as_of.isoformat()}T00:00:00Z")
    _sub(_sub(root, "author"), "name", "Curemap")
    dated = sorted(
        ((max(filter(None, (_day(m.study.first_posted), _day(m.study.start_date))), default=None), m) for m in matches),
        key=lambda pair: (pair[0] or "", pair[1].study.id),
        reverse=True,
    )
    for updated, match in dated:
        entry = _sub(root, "entry")
        _sub(entry, "title", f"{match.study.id}: {match.study.brief_title or 'untitled'}")
        _sub(entry, "id", f"urn:curemap:study:{match.study.id}")
        url = citation_url(match.study.id)
        if url:
            _sub(entry, "link", rel="alternate", href=url)
        _sub(entry, "updated", updated or f"{as_of.isoformat()}T00:00:00Z")
        _sub(entry, "summary", _summary(match), type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
