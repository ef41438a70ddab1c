"""The pattern gates of the verifier (curemap/verify/gates.py): a gate may spare a pattern a
text, never hide one of its matches. Checked on every review of tests/data/verify-reviews written
as Markdown, HTML or text, sentence by sentence and whole, for every gated claim and reference
pattern."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pytest

from curemap.verify import check, refs
from curemap.verify.gates import Gated, Screen, folded

REVIEWS = sorted(p for p in (Path(__file__).parent / "data" / "verify-reviews").glob("*/*") if p.suffix in (".md", ".html", ".txt"))
CLAIM_GATES = [
    check.PHASE, check.OBSERVATIONAL, check.ENROLLMENT, check.RESPECTIVELY, check.PERCENT, check.CONFIDENCE,
    check.RATIO, check.ORGANISATION_HINT, *check.SPONSOR_PATTERNS, *(pattern for pattern, _ in check.STATUS_PATTERNS),
]
REF_PATTERNS = [refs.URL.SCHEMED, refs.URL.BARE, refs.NCT_ANY, refs.EU_NUMBER, refs.DOI_PREFIXED, refs.DOI_ANY, refs.PMID_BARE, refs.PMCID_ANY]


@lru_cache(maxsize=1)
def pieces() -> tuple[str, ...]:
    """Each review's readable text, whole and cut into its sentences and lines."""
    out = []
    for path in REVIEWS:
        text = refs.parse_document(path.read_text(encoding="utf-8"), refs.detect_format(path.name, "")).text
        out += [text, *text.splitlines(), *(text[a:b] for a, b in refs.sentences(text, 0, len(text)))]
    return tuple(piece for piece in out if piece.strip())


def spans(matches) -> list[tuple[int, int]]:
    return [match.span() for match in matches]


def test_the_reviews_are_there():
    assert len(REVIEWS) >= 100 and {path.suffix for path in REVIEWS} == {".md", ".html", ".txt"}


@pytest.mark.parametrize("gate", CLAIM_GATES, ids=lambda gate: gate.pattern.pattern[:30])
def test_a_gate_hides_no_match(gate):
    for piece in pieces():
        expected = spans(gate.pattern.finditer(piece))
        assert spans(gate.finditer(piece, folded(piece))) == expected, piece
        if expected:
            assert gate.may_match(piece, folded(piece))


def test_the_reviews_exercise_the_gates():
    """Most gated patterns match somewhere in the reviews (so the test above checks them), and
    most sentences are spared most of them."""
    texts = pieces()
    matching = [gate for gate in CLAIM_GATES if any(gate.pattern.search(piece) for piece in texts)]
    assert len(matching) >= len(CLAIM_GATES) - 6
    checks = [gate.may_match(piece, folded(piece)) for gate in CLAIM_GATES for piece in texts]
    assert sum(checks) < len(checks) / 4


@pytest.mark.parametrize("pattern", REF_PATTERNS, ids=lambda pattern: pattern.pattern[:30])
def test_reference_gates_hide_no_id(pattern):
    gate = Gated(pattern)
    for piece in pieces():
        if pattern.search(piece):
            assert gate.may_match(piece, folded(piece)), piece


def test_screens_pass_every_text_a_member_matches():
    for screen, gates in ((check.STATUS_SCREEN, [p for p, _ in check.STATUS_PATTERNS]),
                          (check.SPONSOR_SCREEN, [*check.SPONSOR_PATTERNS, check.ORGANISATION_HINT])):
        for piece in pieces():
            if any(gate.pattern.search(piece) for gate in gates):
                assert screen.may_match(piece, folded(piece)), piece


def test_words_are_read_from_the_pattern():
    assert Gated(re.compile(r"\bwithdrawn\b", re.IGNORECASE)).needs == [frozenset({("withdrawn", True)})]
    either = Gated(re.compile(r"\b(?:stopped\s+early|halted)\b"))
    assert either.needs == [frozenset({("stopped", False), ("halted", False)})]
    assert Gated(re.compile(r"\d+\s*%?")).needs == []  # optional parts and classes need nothing
    assert not Gated(re.compile(r"terminated", re.IGNORECASE)).may_match("still recruiting", "still recruiting")


def test_folding_keeps_positions_and_the_case_twins_of_ascii_letters():
    text = "Recruiting “ſponsored” by Kelvin-İnstitut: ıs WITHDRAWN"
    assert len(folded(text)) == len(text)
    for word in ("sponsored", "kelvin", "institut", "is", "withdrawn", "recruiting"):
        assert word in folded(text)
    status = Gated(re.compile(r"\bwithdrawn\b", re.IGNORECASE))
    assert status.on_folded and spans(status.finditer(text, folded(text))) == spans(status.pattern.finditer(text))
    assert Screen([status]).may_match(text, folded(text))


def test_the_claim_patterns_written_in_lower_case_scan_the_folded_text():
    """A capital in a case-insensitive claim pattern (a "[Pp]hase" in its numbers) sends every
    sentence through the slower case-folding scan: the patterns read at every word stay lower case."""
    from curemap.verify import check

    assert all(gate.on_folded for gate in (check.PHASE, check.ENROLLMENT, check.LISTED_PEOPLE, check.RESPECTIVELY, check.OBSERVATIONAL))
