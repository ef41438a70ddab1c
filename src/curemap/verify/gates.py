"""Reading a pattern only where it can match: the words every match of a regex holds, read
from the pattern itself, tested with one substring search before the pattern scans a text.

A review is read by some forty patterns (references, phases, statuses, sponsors, enrollments,
shares), sentence by sentence, and most sentences hold the words of few of them; a 4 MB review
is millions of characters each would otherwise scan.
"""

from __future__ import annotations

import re
import re._constants as sre
import re._parser as sre_parse

_CASE_TWINS = (("İ", "i"), ("ı", "i"), ("ſ", "s"), ("K", "k"))
"""The four characters that case-insensitive patterns take for ASCII letters (dotted and dotless
i, long s, kelvin sign)."""


def folded(text: str) -> str:
    """The text in lower case, its case twins as their ASCII letters: it holds every word a
    case-insensitive pattern could match, at the same positions."""
    if not text.isascii():
        for twin, letter in _CASE_TWINS:
            if twin in text:
                text = text.replace(twin, letter)
    return text.lower()


_Needs = list[frozenset[tuple[str, bool]]]


def _needs(items, caseless: bool) -> _Needs:
    """What every match of a parsed pattern holds: sets of (word, caseless), one of each set
    (the sets are a conjunction). Literal runs are words; a branch needs one of its branches'
    best sets; optional parts, classes and assertions need nothing."""
    needs: _Needs = []
    run: list[str] = []

    def flush() -> None:
        if run:
            word = "".join(run)
            needs.append(frozenset({(folded(word) if caseless else word, caseless)}))
            run.clear()

    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        flush()
        if op is sre.SUBPATTERN:
            _, add, remove, inner = av
            needs += _needs(inner, bool((caseless or add & re.IGNORECASE) and not remove & re.IGNORECASE))
        elif op is sre.ATOMIC_GROUP:
            needs += _needs(av, caseless)
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
            needs += _needs(av[2], caseless)
        elif op is sre.BRANCH:
            options = [_best(_needs(branch, caseless)) for branch in av[1]]
            if all(options):
                needs.append(frozenset().union(*options))
    flush()
    return needs


def _best(needs: _Needs) -> frozenset[tuple[str, bool]] | None:
    """The most telling set: its shortest word the longest (on a tie, the later set)."""
    best = None
    for words in needs:
        if best is None or min(len(w) for w, _ in words) >= min(len(w) for w, _ in best):
            best = words
    return best


class Gated:
    """A pattern scanned only over texts holding the words every match of it holds (read from
    the pattern itself, so they cannot drift from it): a review's sentences are each read by
    some thirty patterns, and most sentences hold the words of few of them.

    A case-insensitive pattern written in lower case scans the folded text instead, case-sensitively
    (several times faster; positions are the same): its matches' words are taken from the text
    by position."""

    def __init__(self, pattern: re.Pattern):
        self.pattern = pattern
        self.on_folded = bool(pattern.flags & re.IGNORECASE) and not re.search(r"[A-Z]", re.sub(r"\\.|\(\?P[<=]", "", pattern.pattern))
        self._scan = re.compile(pattern.pattern, pattern.flags & ~re.IGNORECASE) if self.on_folded else pattern
        needs = _needs(sre_parse.parse(pattern.pattern, pattern.flags), bool(pattern.flags & re.IGNORECASE))
        self.needs = sorted(needs, key=lambda words: (-min(len(w) for w, _ in words), len(words)))
        self._tests = []  # one search per set of words, the most telling first: a single scan in C
        for words in self.needs:
            caseless = any(c for _, c in words)
            alternatives = sorted({folded(w) if caseless else w for w, _ in words})
            self._tests.append((re.compile("|".join(map(re.escape, alternatives))), caseless))

    def may_match(self, text: str, folded_text: str) -> bool:
        for test, caseless in self._tests:
            if not test.search(folded_text if caseless else text):
                return False
        return True

    def finditer(self, text: str, folded_text: str):
        if not self.may_match(text, folded_text):
            return iter(())
        return self._scan.finditer(folded_text if self.on_folded else text)

    def search(self, text: str, folded_text: str) -> re.Match | None:
        return self._scan.search(folded_text if self.on_folded else text) if self.may_match(text, folded_text) else None


class Screen:
    """One search for a group of gated patterns, of the words of each one's most telling set: a
    text holding none of them is read by none of them (most sentences state no status and
    name no sponsor)."""

    def __init__(self, gates: list[Gated]):
        firsts = [gate.needs[0] if gate.needs else None for gate in gates]
        self.caseless = any(caseless for words in firsts if words for _, caseless in words)
        words = {folded(w) if self.caseless else w for first in firsts if first for w, _ in first}
        self._test = re.compile("|".join(map(re.escape, sorted(words)))) if all(firsts) else None

    def may_match(self, text: str, folded_text: str) -> bool:
        return self._test is None or bool(self._test.search(folded_text if self.caseless else text))
