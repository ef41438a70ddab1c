"""Finding profile terms in text: the one matcher for the term syntax of :mod:`curemap.profile`.

The classifier and the outcome extractor both read text for profile terms. They share this
matcher so that a term means the same words wherever it is read: whole words (runs of letters
and digits, punctuation between them ignored), a plural tolerated (case-insensitive words are
compared folded by :func:`~curemap.profile.fold_word`, a case-sensitive word may add an
``s``), a word ending in ``*`` a prefix, and ``regex`` terms as Python patterns.

Each caller keeps what is its own: the classifier its fields, sections and weights and the
leftmost-longest rule; the extractor its negation and modifier rules.

Speed comes from reading words, not regexes: the terms a word can start are worked out once
per distinct word and remembered, so a text costs one dictionary look-up per word.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from curemap.profile import WORD, Term, fold_word, term_words

K = TypeVar("K")

_CACHE_LIMIT = 200_000
"""Distinct words remembered (folded forms, the terms each starts) before starting afresh: bounds memory."""

_PREFIX_KEY = 3
"""Prefix terms are indexed by their first letters (up to this many), so a new word checks few."""

_SCREEN_LIMIT = 64
"""A matcher whose terms start with at most this many words screens texts by substring first."""

_Test = tuple[str, str]
"""How one word of a term is compared with a word of text: (how, value). ``how`` is "folded"
(value a folded word), "exact" (case-sensitive; a plural ``s`` tolerated), "prefix" (value
lower case) or "prefix_exact" (case-sensitive prefix)."""

_FOLDED: dict[str, str] = {}


def fold(word: str) -> str:
    """:func:`~curemap.profile.fold_word`, remembered: every word of every text is folded, and
    words recur."""
    folded = _FOLDED.get(word)
    if folded is None:
        if len(_FOLDED) > _CACHE_LIMIT:
            _FOLDED.clear()
        folded = _FOLDED[word] = fold_word(word)
    return folded


def word_span(text: str, begin: int, stop: int) -> tuple[int, int]:
    """The character offsets of words ``begin`` up to ``stop`` of ``text``, as :meth:`TermMatcher.word_hits`
    counts words: a caller holding word positions computes offsets only for the matches it shows."""
    words = list(itertools.islice(WORD.finditer(text), begin, stop))
    return words[0].start(), words[-1].end()


def word_range(text: str, start: int, end: int) -> tuple[int, int]:
    """The words a character range touches, as (first word, word after the last): where a regex
    match stands among the words, so it competes with word matches on the same terms."""
    spans = [word.span() for word in WORD.finditer(text)]
    begin = sum(word_end <= start for _, word_end in spans)
    return begin, max(begin + 1, sum(word_start < end for word_start, _ in spans))


@dataclass(frozen=True, slots=True)
class TermMatch(Generic[K]):
    """A term found in a text: ``text[start:end]`` are its words (or what its regex matched)."""

    key: K  # what the caller gave with the term
    start: int
    end: int
    word: int | None  # the index of its first word among the text's words; None for a regex match


def _word_test(word: str, case_sensitive: bool) -> _Test:
    if word.endswith("*"):
        return ("prefix_exact", word[:-1]) if case_sensitive else ("prefix", word[:-1].lower())
    return ("exact", word) if case_sensitive else ("folded", fold_word(word))


@functools.lru_cache(maxsize=8192)
def _word_tests(text: str, case_sensitive: bool) -> tuple[_Test, ...]:
    """A term phrase compiled to one test per word (remembered: a term is read in many fields)."""
    return tuple(_word_test(word, case_sensitive) for word in term_words(text))


def _passes(test: _Test, word: str) -> bool:
    how, value = test
    if how == "folded":
        return fold(word) == value
    if how == "exact":
        return word == value or (word.endswith("s") and word[:-1] == value)
    if how == "prefix":
        return word.lower().startswith(value)
    return word.startswith(value)


def _follows(tests: tuple[_Test, ...], words: Sequence[str], first: int) -> bool:
    """Whether the words from ``first`` on pass these word tests, one word each (the caller has
    checked there are enough words)."""
    folded = _FOLDED
    for position, test in enumerate(tests, first):
        word = words[position]
        if test[0] == "folded":
            if (folded.get(word) or fold(word)) != test[1]:
                return False
        elif not _passes(test, word):
            return False
    return True


@dataclass(frozen=True, eq=False, slots=True)
class _Entry(Generic[K]):
    """A word term compiled to one test per word."""

    key: K
    order: int  # its place among the matcher's terms
    first: _Test
    rest: tuple[_Test, ...]  # the tests of the words after the first
    later: tuple[_Test, ...]  # the tests of the words after the second
    length: int


@dataclass(frozen=True, slots=True)
class _Starts(Generic[K]):
    """The terms a word can start, split so the next word picks the few to check."""

    found: tuple[_Entry[K], ...]  # all of them: folded, exact, exact less a plural "s", prefix; each in term order
    single: tuple[_Entry[K], ...]  # one-word terms: a match already
    by_next: dict[str, tuple[_Entry[K], ...]]  # longer terms, by the folded form of their second word
    other: tuple[_Entry[K], ...]  # longer terms whose second word is tested otherwise


_NO_START: _Starts = _Starts((), (), {}, ())


_BACK_REFERENCE = re.compile(r"\\[1-9]|\(\?P=")
"""A pattern that refers back to its own groups: joined with others, it would read another's."""

_EVERYWHERE = re.compile("")
"""The screen of a pattern read alone: it first matches at a text's start."""


def _screens(patterns: list[re.Pattern[str]]) -> list[re.Pattern[str]]:
    """Each pattern's screen: its alternatives joined with every other pattern of the same flags,
    read in one pass of the text instead of one pass each. A text where the screen first matches
    at ``i`` has no match of any of them starting before ``i`` (``\\b`` and look-behinds at ``i``
    still see the text before it). A pattern that cannot be joined is read alone: one that
    refers back to its groups, or a verbose one (a comment would swallow the join)."""
    def joinable(pattern: re.Pattern[str]) -> bool:
        return not (_BACK_REFERENCE.search(pattern.pattern) or pattern.flags & re.VERBOSE)

    by_flags: dict[int, list[re.Pattern[str]]] = {}
    for pattern in filter(joinable, patterns):
        by_flags.setdefault(pattern.flags, []).append(pattern)
    screen_of: dict[int, re.Pattern[str]] = {}
    for flags, group in by_flags.items():
        try:
            screen_of[flags] = re.compile("|".join(f"(?:{pattern.pattern})" for pattern in group), flags)
        except re.error:  # a flag set inside one pattern, say: each is read alone
            continue
    return [screen_of.get(pattern.flags, _EVERYWHERE) if joinable(pattern) else _EVERYWHERE for pattern in patterns]


class TermMatcher(Generic[K]):
    """Finds profile terms in text, each given with a key of the caller's (a label, an entry).

    :meth:`find` gives every occurrence with its character span; :meth:`word_hits` and
    :meth:`regex_hits` are the two halves of it for a caller that works in word positions and
    computes spans only for the matches it keeps (the classifier, thousands of records a second).
    """

    def __init__(self, terms: Iterable[tuple[K, Term]]):
        self._folded: dict[str, list[_Entry[K]]] = {}
        self._exact: dict[str, list[_Entry[K]]] = {}
        self._prefixes: dict[str, list[_Entry[K]]] = {}  # by the lower-cased prefix's first letters
        self._exact_prefixes: dict[str, list[_Entry[K]]] = {}  # by the case-sensitive prefix's first letters
        self._regexes: list[tuple[re.Pattern[str], K]] = []
        self._starts: dict[str, _Starts[K]] = {}
        lower, exact = set(), set()
        for order, (key, term) in enumerate(terms):
            if term.regex:
                self._regexes.append((re.compile(term.text, 0 if term.case_sensitive else re.IGNORECASE), key))
                continue
            tests = _word_tests(term.text, term.case_sensitive)
            entry = _Entry(key, order, tests[0], tests[1:], tests[2:], len(tests))
            how, value = entry.first
            if how == "folded":
                self._folded.setdefault(value, []).append(entry)
                lower.add(value[:-1] if value.endswith("y") else value)  # the start of every word folding to it
            elif how == "exact":
                self._exact.setdefault(value, []).append(entry)
                exact.add(value)
            elif how == "prefix":
                self._prefixes.setdefault(value[:_PREFIX_KEY], []).append(entry)
                lower.add(value)
            else:
                self._exact_prefixes.setdefault(value[:_PREFIX_KEY], []).append(entry)
                exact.add(value)
        self._prefix_lengths = sorted({len(head) for head in self._prefixes})  # a word tries each once
        self._exact_prefix_lengths = sorted({len(head) for head in self._exact_prefixes})
        self._screen = (tuple(lower), tuple(exact)) if len(lower) + len(exact) <= _SCREEN_LIMIT else None
        self.screens = self._screen is not None
        """Whether :meth:`may_match` can rule a text out (a small vocabulary); a hot loop asks only then."""
        self.has_regexes = bool(self._regexes)
        """Whether any term is a regex: :meth:`regex_hits` finds nothing otherwise."""
        self._regex_screens = _screens([pattern for pattern, _ in self._regexes])  # one per regex term
        self._screens_read = list(dict.fromkeys(self._regex_screens))

    def may_match(self, texts: Iterable[str]) -> bool:
        """False when no word term can occur in any of these texts (regex terms are not screened):
        a substring test that spares reading the words of a text a small vocabulary misses."""
        if self._screen is None:
            return True
        text = "\n".join(texts)
        lowered = text.lower()
        return any(head in lowered for head in self._screen[0]) or any(head in text for head in self._screen[1])

    def find(self, text: str) -> list[TermMatch[K]]:
        """Every occurrence of every term, overlapping ones included, by position, the longest first.

        Matches of the same characters come in a fixed order, as callers pick the first: terms
        whose first word matched folded, exactly, exactly less a plural ``s``, then as a prefix,
        each group in the order given; regex matches last."""
        words = list(WORD.finditer(text))
        tokens = [word.group() for word in words]
        count = len(tokens)
        found: list[TermMatch[K]] = []
        for index, token in enumerate(tokens):
            for entry in (self._starts.get(token) or self._starting(token)).found:
                stop = index + entry.length
                if stop <= count and _follows(entry.rest, tokens, index + 1):
                    found.append(TermMatch(entry.key, words[index].start(), words[stop - 1].end(), index))
        found += [TermMatch(key, start, end, None) for key, start, end in self.regex_hits(text)]
        found.sort(key=lambda match: (match.start, -match.end))
        return found

    def word_hits(self, words: Sequence[str]) -> list[tuple[K, int, int]]:
        """The word terms in a text's words (``WORD.findall(text)``): (key, first word, word after
        the last), by first word; at one word one-word terms first."""
        count = len(words)
        starts = self._starts
        folded = _FOLDED
        hits: list[tuple[K, int, int]] = []
        for index, start in enumerate(map(starts.get, words)):
            if start is _NO_START:
                continue
            if start is None:
                start = self._starting(words[index])
            for entry in start.single:
                hits.append((entry.key, index, index + 1))
            if index + 1 == count:
                continue
            if start.by_next:
                following = words[index + 1]
                for entry in start.by_next.get(folded.get(following) or fold(following), ()):
                    stop = index + entry.length
                    if stop <= count and _follows(entry.later, words, index + 2):
                        hits.append((entry.key, index, stop))
            for entry in start.other:
                stop = index + entry.length
                if stop <= count and _follows(entry.rest, words, index + 1):
                    hits.append((entry.key, index, stop))
        return hits

    def regex_hits(self, text: str) -> list[tuple[K, int, int]]:
        """The regex terms' non-empty matches: (key, start, end), term by term. Each is read from
        where its screen first matched: none of its matches starts before (most texts none at all)."""
        hits = []
        firsts = {screen: screen.search(text) for screen in self._screens_read}
        for (pattern, key), screen in zip(self._regexes, self._regex_screens):
            first = firsts[screen]
            if first is not None:
                hits += [(key, m.start(), m.end()) for m in pattern.finditer(text, first.start()) if m.end() > m.start()]
        return hits

    def _starting(self, word: str) -> _Starts[K]:
        """The terms whose first word matches ``word`` (remembered)."""
        found = list(self._folded.get(fold(word), ()))
        found += self._exact.get(word, ())
        if word.endswith("s"):
            found += self._exact.get(word[:-1], ())
        prefixed: list[_Entry[K]] = []
        if self._prefixes:
            lowered = word.lower()
            for length in self._prefix_lengths:
                if length <= len(lowered):
                    entries = self._prefixes.get(lowered[:length])
                    if entries:
                        prefixed += [entry for entry in entries if lowered.startswith(entry.first[1])]
        if self._exact_prefixes:
            for length in self._exact_prefix_lengths:
                if length <= len(word):
                    entries = self._exact_prefixes.get(word[:length])
                    if entries:
                        prefixed += [entry for entry in entries if word.startswith(entry.first[1])]
        if prefixed:
            found += sorted(prefixed, key=lambda entry: entry.order)  # in term order, as they were given
        if len(self._starts) > _CACHE_LIMIT:
            self._starts.clear()
        if not found:
            self._starts[word] = _NO_START
            return _NO_START
        by_next: dict[str, list[_Entry[K]]] = {}
        for entry in found:
            if entry.rest and entry.rest[0][0] == "folded":
                by_next.setdefault(entry.rest[0][1], []).append(entry)
        result = _Starts(
            found=tuple(found),
            single=tuple(entry for entry in found if not entry.rest),
            by_next={key: tuple(entries) for key, entries in by_next.items()},
            other=tuple(entry for entry in found if entry.rest and entry.rest[0][0] != "folded"),
        )
        self._starts[word] = result
        return result
