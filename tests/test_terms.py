"""The shared term matcher: the profile's term syntax, the spans it reports, and its safety on any text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curemap.enrich.terms import TermMatcher, fold, word_range, word_span
from curemap.profile import WORD, Term, fold_word, load_profile


def term(text: str, **options) -> Term:
    return Term(text=text, kind="alias", path=f"test.{text}", **options)


def found(matcher: TermMatcher[str], text: str) -> list[tuple[str, str]]:
    """(key, the words matched) for every match, checking each span is the text it reports."""
    result = []
    for match in matcher.find(text):
        assert 0 <= match.start < match.end <= len(text)
        result.append((match.key, text[match.start : match.end]))
    return result


def keys(matcher: TermMatcher[str], text: str) -> set[str]:
    return {key for key, _ in found(matcher, text)}


# -- the term syntax ---------------------------------------------------------------------


def test_whole_words_not_substrings():
    matcher = TermMatcher([("car", term("car")), ("ms", term("MS", case_sensitive=True))])
    assert keys(matcher, "patient care and scars") == set()
    assert keys(matcher, "MSc students and AMS") == set()
    assert found(matcher, "a car; the cars; Car!") == [("car", "car"), ("car", "cars"), ("car", "Car")]


def test_phrases_ignore_punctuation_between_words_and_not_word_order():
    matcher = TermMatcher([("car_t", term("CAR-T")), ("ms", term("multiple sclerosis"))])
    expected = [("car_t", "CAR T"), ("car_t", "CAR-T"), ("car_t", "car/t")]
    assert found(matcher, "CAR T, CAR-T and car/t cells") == expected
    assert found(matcher, "Multiple  Sclerosis (MS)") == [("ms", "Multiple  Sclerosis")]
    assert keys(matcher, "sclerosis multiple") == set()
    assert keys(matcher, "CAR") == set()  # a phrase needs all its words


def test_codes_with_digits_match_as_written_and_spaced():
    matcher = TermMatcher([("code", term("CC-97540")), ("kyv", term("KYV-101"))])
    text = "CC-97540 (CC 97540), CC97540 is another code; KYV-101 and KYV-1010"
    assert found(matcher, text) == [("code", "CC-97540"), ("code", "CC 97540"), ("kyv", "KYV-101")]


def test_plural_tolerated():
    matcher = TermMatcher([("cell", term("stem cell")), ("therapy", term("gene therapy"))])
    assert found(matcher, "stem cells and gene therapies") == [("cell", "stem cells"), ("therapy", "gene therapies")]


def test_trailing_star_matches_any_word_it_begins():
    matcher = TermMatcher([("transplant", term("transplant*")), ("hsct", term("autologous transplant*"))])
    assert found(matcher, "Transplantation after autologous transplants") == [
        ("transplant", "Transplantation"),
        ("hsct", "autologous transplants"),
        ("transplant", "transplants"),
    ]
    assert keys(matcher, "a non-transplant arm") == {"transplant"}  # "non" and "transplant" are two words
    assert keys(matcher, "retransplant") == set()  # a prefix starts the word


def test_case_sensitive_acronyms():
    matcher = TermMatcher([("ms", term("MS", case_sensitive=True)), ("npc", term("NPC*", case_sensitive=True))])
    assert found(matcher, "MS, ms, Ms and MSs") == [("ms", "MS"), ("ms", "MSs")]  # an "s" is tolerated
    assert found(matcher, "NPCs, npc and NPC1") == [("npc", "NPCs"), ("npc", "NPC1")]


def test_regex_terms_honour_case_sensitivity_and_skip_empty_matches():
    matcher = TermMatcher(
        [
            ("ebv", term(r"\bEBV\b", regex=True)),
            ("il", term(r"IL-\d+", regex=True, case_sensitive=True)),
            ("empty", term(r"x*", regex=True)),
        ]
    )
    assert found(matcher, "ebv, EBV; IL-17 and il-6") == [("ebv", "ebv"), ("ebv", "EBV"), ("il", "IL-17")]
    assert [match.word for match in matcher.find("EBV")] == [None]


def test_overlapping_matches_all_reported_by_position_longest_first():
    spms = term("secondary progressive multiple sclerosis")
    matcher = TermMatcher([("ms", term("sclerosis")), ("spms", spms), ("pms", term("progressive"))])
    text = "secondary progressive multiple sclerosis"
    assert found(matcher, text) == [("spms", text), ("pms", "progressive"), ("ms", "sclerosis")]


def test_matches_of_the_same_words_in_a_fixed_order():
    """Folded first words before exact ones, exact before a plural "s", prefixes last; then term order."""
    matcher = TermMatcher(
        [
            ("prefix", term("Cell*", case_sensitive=True)),
            ("exact_plural", term("Cell", case_sensitive=True)),
            ("exact", term("Cells", case_sensitive=True)),
            ("folded", term("cell")),
            ("prefix_folded", term("cel*")),
        ]
    )
    expected = ["folded", "exact", "exact_plural", "prefix", "prefix_folded"]
    assert [key for key, _ in found(matcher, "Cells")] == expected
    phrases = TermMatcher([("prefix_second", term("stem cel*")), ("folded_second", term("stem cell"))])
    assert [key for key, _ in found(phrases, "stem cells")] == ["prefix_second", "folded_second"]


def test_word_positions_and_offsets():
    matcher = TermMatcher([("ms", term("multiple sclerosis")), ("ebv", term(r"E\.?B\.?V", regex=True))])
    text = "In relapsing multiple sclerosis, E.B.V. matters"
    words = WORD.findall(text)
    assert matcher.word_hits(words) == [("ms", 2, 4)]
    assert word_span(text, 2, 4) == (13, 31) and text[13:31] == "multiple sclerosis"
    (key, start, end), = matcher.regex_hits(text)
    assert (key, text[start:end]) == ("ebv", "E.B.V")
    assert word_range(text, start, end) == (4, 7)  # E, B and V
    assert [match.word for match in matcher.find(text)] == [2, None]


def test_screen_rules_out_only_texts_without_terms():
    small = TermMatcher(
        [("donor", term("donor*")), ("graft", term("allograft")), ("ms", term("MS", case_sensitive=True))]
    )
    assert small.screens
    assert not small.may_match(["autologous cells", "ms"])
    assert small.may_match(["autologous cells", "from a Donor"])
    assert small.may_match(["the MS cohort"])
    big = TermMatcher([(str(n), term(f"word{n}")) for n in range(100)])
    assert not big.screens and big.may_match(["anything"])


def test_fold_is_the_profile_folding():
    for word in ("Therapies", "cells", "sclerosis", "status", "MS", "analysis", "Cases"):
        assert fold(word) == fold_word(word)


def test_every_profile_term_finds_its_own_words():
    profile = load_profile()
    terms = [t for s in profile.strategies for t in s.terms] + list(profile.condition.terms)
    terms += [t for m in profile.outcome_measures for t in m.terms]
    words_only = [t for t in terms if not t.regex]
    matcher = TermMatcher((t.path, t) for t in words_only)
    for t in words_only:
        text = t.text.replace("*", "")
        assert t.path in {m.key for m in matcher.find(text)}, t.text


# -- on any text ---------------------------------------------------------------------------

PROFILE = load_profile()
PROFILE_TERMS = [t for s in PROFILE.strategies for t in s.terms] + list(PROFILE.condition.terms)
PROFILE_TERMS += [t for m in PROFILE.outcome_measures for t in m.terms]
MATCHER = TermMatcher((t.path, t) for t in PROFILE_TERMS)
FEW = TermMatcher((t.path, t) for t in PROFILE_TERMS[:40])
VOCABULARY = sorted({w for t in PROFILE_TERMS if not t.regex for w in WORD.findall(t.text)})

texts = st.lists(
    st.one_of(
        st.sampled_from(VOCABULARY),
        st.sampled_from(VOCABULARY).map(str.upper),
        st.sampled_from(VOCABULARY).map(lambda w: w + "s"),
        st.text(max_size=12),
        st.sampled_from([" ", "-", ", ", "(", ")", "*", "/", "\n", "İ", "ß", "Σ"]),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_finding_never_raises_and_spans_lie_within_the_text(text):
    for matcher in (MATCHER, FEW):
        matches = matcher.find(text)
        assert matches == sorted(matches, key=lambda m: (m.start, -m.end))
        for match in matches:
            assert 0 <= match.start < match.end <= len(text)
        words = WORD.findall(text)
        by_words = {(key, *word_span(text, begin, stop)) for key, begin, stop in matcher.word_hits(words)}
        by_regex = set(matcher.regex_hits(text))
        assert {(m.key, m.start, m.end) for m in matches} == by_words | by_regex
        if by_words and matcher.screens:
            assert matcher.may_match([text])


@pytest.mark.parametrize("text", ["", " ", "*", "s", "-", "ss", "İS", "ΣΑΣ", "MS " * 500])
def test_edge_texts(text):
    matches = MATCHER.find(text)
    assert all(text[m.start : m.end].strip() for m in matches)
    assert len(matches) >= len(MATCHER.word_hits(WORD.findall(text)))


REGEX_TERMS = [
    ("ebv", term(r"\bEBV\b", regex=True)),
    ("il", term(r"IL-\d+", regex=True, case_sensitive=True)),
    ("after_anti", term(r"(?<=anti-)CD\d+", regex=True)),
    ("twice", term(r"\b(\w)\1\b", regex=True)),  # refers back to its group: read alone
    ("empty", term(r"x*", regex=True)),
    ("spaced", term(r"\bms\s+(?:trials?|patients)\b", regex=True)),
] + [(f"outcome_{i}", t) for i, t in enumerate(t for m in PROFILE.outcome_measures for t in m.terms if t.regex)]
REGEXES = TermMatcher(REGEX_TERMS)
REGEX_TEXT = st.lists(
    st.one_of(st.sampled_from(["EBV", "ebv", "IL-17", "il-6", "anti-CD20", "CD19", "aa", "bb", "xx", "MS patients", "ms trial", "EDSS", "annual"]), st.text(max_size=6)),
    max_size=30,
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(REGEX_TEXT)
def test_regex_terms_read_together_find_what_each_finds_alone(text):
    alone = []
    for key, t in REGEX_TERMS:
        pattern = re.compile(t.text, 0 if t.case_sensitive else re.IGNORECASE)
        alone += [(key, m.start(), m.end()) for m in pattern.finditer(text) if m.end() > m.start()]
    assert REGEXES.regex_hits(text) == alone
