"""The verifier against reviews with answer keys (tests/data/verify-reviews): how many planted
errors it catches and how many correct references it flags.

Each review ``NAME.EXT`` has a key ``NAME.key.json`` listing the reference occurrences a
careful checker reports, each with its line, expected status and planted problems (one
``field`` each). The keys were written from the store and take it as the world: a well-formed
id absent from it is ``not_found``. So the verifier runs with a lookup that asks the store
alone and answers "no such record" for what it lacks. A key entry is paired with the verifier's citation of the same reference nearest its line.

- A planted error is caught when its citation has the expected status and, for a mismatch or
  a name-matched claim with a problem, a problem on the planted field.
- A correct reference is flagged when its citation has another status or any problem; one the
  verifier does not report at all is counted apart, as missed.
- A planted error whose citation also carries a problem on a field the key holds right (a claim
  about the next trial laid on this one) is counted apart too: caught, yet wrong in what it says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curemap.errors import InputError
from curemap.profile import Profile
from curemap.store import Store


@dataclass
class VerifyScore:
    source: str
    reviews: int = 0
    planted: int = 0
    caught: int = 0
    correct: int = 0
    flagged: int = 0
    unreported: int = 0
    wrong_extra: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # reviews the verifier refused, with why

    def to_dict(self) -> dict[str, Any]:
        return {
            "reviews": self.source,
            "count": self.reviews,
            "planted": self.planted,
            "caught": self.caught,
            "recall": round(self.caught / self.planted, 4) if self.planted else None,
            "correct": self.correct,
            "flagged": self.flagged,
            "false_alarm_rate": round(self.flagged / self.correct, 4) if self.correct else None,
            "correct_unreported": self.unreported,
            "planted_with_wrong_extra_problems": self.wrong_extra,
            "misses": self.misses,
            "unreadable": self.unreadable,
        }

    def render_text(self) -> str:
        data = self.to_dict()
        lines = [
            f"verify reviews {self.source}: {self.reviews} reviews",
            f"  planted errors caught:       {self.caught}/{self.planted} = {data['recall']}",
            f"  correct references flagged:  {self.flagged}/{self.correct} = {data['false_alarm_rate']}",
            f"  correct references not reported: {self.unreported}",
            f"  planted errors reported with a wrong extra problem: {self.wrong_extra}",
            *(f"  unreadable {message}" for message in self.unreadable),
        ]
        lines += [
            f"  {m['what']:<10} {m['review']} line {m['line']} {m['ref']}: expected {m['expected']}, got {m['got']}"
            for m in self.misses
        ]
        return "\n".join(lines)


class StoreIsTheWorld:
    """The lookup the keys assume: a reference the store lacks does not exist."""

    unreachable = None

    def find(self, kind: str, value: str):
        from curemap.verify.online import Found

        return Found(False, note="not in the store, which the answer keys take as the world")


def _key(ref: str) -> str:
    """A reference as keys and citations both write it: a EudraCT number's prefix is left out, as
    keys give a malformed one with or without it (its digits name it)."""
    return re.sub(r"^EUDRACT[:\s]\s*", "", ref.strip().upper())


def _field(problem: Any) -> str:
    """A problem's field: problems are objects with a ``field``; older ones were ``"field: …"``."""
    return problem["field"] if isinstance(problem, dict) else str(problem).split(":", 1)[0]


def _pair(entry: dict[str, Any], citations: list[dict[str, Any]], used: set[int]) -> dict[str, Any] | None:
    """The citation of the entry's reference nearest its line (on its page, in a PDF), each
    citation paired once when the verifier gives lines (without lines, the one citation of a
    reference serves all)."""
    same = [
        (i, c) for i, c in enumerate(citations)
        if _key(c["ref"]) == _key(entry["ref"]) and (c.get("line") is None or i not in used)
    ]
    if not same:
        return None
    def distance(pair: tuple[int, dict[str, Any]]) -> tuple[bool, int]:  # a PDF's entries say their page too
        place = pair[1].get("place") or ""
        other_page = "page" in entry and not place.startswith(f"page {entry['page']},")
        return other_page, abs((pair[1].get("line") or entry["line"]) - entry["line"])

    index, citation = min(same, key=distance)
    if citation.get("line") is not None:
        used.add(index)
    return citation


def score_review(verified: dict[str, Any], key: dict[str, Any], report: VerifyScore) -> None:
    citations, used = verified["citations"], set()
    for entry in key["references"]:
        citation = _pair(entry, citations, used)
        got_status = citation["status"] if citation else "not reported"
        got_fields = sorted({_field(p) for p in citation["problems"]}) if citation else []
        got = got_status + (f" ({', '.join(got_fields)})" if got_fields else "")
        planted = {p["field"] for p in entry["problems"]}
        expected = entry["status"] + (f" ({', '.join(sorted(planted))})" if planted else "")
        miss = {"review": key["review"], "line": entry["line"], "ref": entry["ref"], "expected": expected, "got": got}
        if planted:
            report.planted += 1
            right_field = entry["status"] in ("malformed", "not_found") or planted <= set(got_fields)
            if got_status == entry["status"] and right_field:
                report.caught += 1
            else:
                report.misses.append({"what": "missed", **miss})
            if set(got_fields) - planted:
                report.wrong_extra += 1
                report.misses.append({"what": "extra", **miss})
        else:
            report.correct += 1
            if citation is None:
                report.unreported += 1
                report.misses.append({"what": "unreported", **miss})
            elif got_status != entry["status"] or got_fields:
                report.flagged += 1
                report.misses.append({"what": "flagged", **miss})


def evaluate_reviews(store: Store, profile: Profile, directory: Path) -> VerifyScore:
    """Verify every review of a directory (offline, against the store) and score it against its key."""
    from curemap.verify import verify_path

    keys = sorted(directory.glob("*.key.json"))
    if not keys:
        raise InputError(f"{directory}: no review keys (NAME.key.json) found")
    report = VerifyScore(str(directory))
    for key_path in keys:
        key = json.loads(key_path.read_text(encoding="utf-8"))
        review = directory / key["review"]
        report.reviews += 1
        try:
            verified = verify_path(store, profile, review, StoreIsTheWorld())
        except InputError as exc:  # a review the verifier cannot read scores as nothing found in it
            report.unreadable.append(str(exc))
            verified = {"citations": []}
        score_review(verified, key, report)
    return report
