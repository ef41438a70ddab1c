"""Explainable strategy classification: which research strategy a study pursues, and why.

Every label carries the words that produced it (field, offsets, the profile term). All
condition knowledge comes from the profile; this module holds only generic rules:

1. Condition. A study is about the profile's condition when a condition term appears in
   the condition fields. Otherwise it is not, and gets the profile's not-condition labels;
   the not-condition terms found (tuberous sclerosis, ALS…) are the evidence.
2. Terms. Each text field is read word by word against the profile's vocabularies. In
   each section the leftmost-longest phrase wins, so "secondary progressive MS" is one
   phenotype and an ``ignore`` phrase hides the term inside it. A term's options then say
   whether and for which strategy it counts (study type, required or forbidden contexts,
   redirects, listed-comparator groups).
3. Therapies come from the heaviest fields that name any (the profile's field weights:
   interventions over titles over keywords). So every listed arm counts, active
   comparators included and placebo never (it names no strategy), while a drug a title
   mentions beside the arms, such as a background therapy, does not. Weak terms (stated
   aims, supportive drugs) count only when no ordinary term names a therapy, and not
   below a heavier focus or design term. A therapy named only in fields lighter than the
   profile's ``therapy_min_weight`` (keywords, conditions) is the topic, not the
   treatment, when a focus or design term sits in heavier fields.
4. Focus and design. A focus strategy (diagnosis, imaging) joins a therapy when the study
   is observational or names it in heavier fields than the therapy (the intervention is
   the scan), and stands alone when no therapy is found. The design strategy is added
   when a design term appears or an observational study follows a therapy; an
   observational study naming nothing gets it alone, with the study type as evidence.
5. Fallback. A study no term reaches is compared (TF-IDF cosine) with each strategy's
   name, description and terms; the nearest above the profile's threshold is taken, with
   the shared words as evidence. Below it, the profile's default strategy.

Speed (about 10,000 studies a second on one core) comes from reading words, not regexes:
one dictionary look-up per word, with the candidates for each distinct word worked out
once, and character offsets computed only for the matches that become evidence.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from curemap.model import Study
from curemap.profile import TEXT_FIELDS, WORD, Profile, Term, fold_word, term_words

_CONTENT_WORD = re.compile(r"[^\W\d_]{3,}")
"""A word the fallback compares: three or more letters (numbers and fragments say little)."""

_CACHE_LIMIT = 200_000
"""Distinct words remembered by the matcher before it starts afresh (bounds memory)."""

_EVIDENCE_PER_LABEL = 3
"""Strongest matches kept as evidence for each label (enough to explain, small to store)."""

_MEMO_LENGTH = 48
"""Texts this short (conditions, keywords, drug names) recur across studies: their matches are remembered."""

_PREFIX_KEY = 3
"""Prefix terms are indexed by their first letters (up to this many), so a new word checks few."""

_SCREEN_LIMIT = 64
"""A field whose terms start with at most this many words is screened by substring first."""

_ON_CONDITION = "is_ms"
_NOT_CONDITION = "not_ms"
"""Evidence labels for the condition decision (the names the store and reports use)."""

_STOPWORDS = frozenset(
    """a an and are as at be been by for from has have in into is it its of on or such that the
    their them these they this those to was were which with within without who whose will not no
    than then there may can also after before during over under more most other others
    study trial patient participant people person effect effects use using used treatment
    treated therapy therapies disease dose year new single two long time anti human""".split()
)
"""English words (and words every study uses) that say nothing about a strategy."""


@dataclass
class Evidence:
    """One reason for one label: the profile term and where in the study it was found."""

    label: str
    kind: str  # "strategy" | "phenotype" | "ms" | "not_ms"
    field: str  # a path into the study, e.g. "interventions[2].name"
    term: str
    text: str  # the words exactly as in the field: field_text(study, field)[start:end]
    start: int
    end: int
    weight: float


@dataclass
class Classification:
    """Where one study sits in the profile's taxonomy; strategies in taxonomy order."""

    is_ms: bool
    strategies: list[str]
    phenotypes: list[str]
    curative_intent: bool
    evidence: list[Evidence] = field(default_factory=list)
    method: str = "dictionary"  # "dictionary" | "fallback"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Classification:
        """Rebuild a Classification from :meth:`to_dict` output (as stored)."""
        values = dict(data)
        values["evidence"] = [Evidence(**item) for item in values.get("evidence") or []]
        return cls(**values)


# -- reading a study's text fields ------------------------------------------------------


def _intervention_names(study: Study) -> list[tuple[str, str]]:
    texts = []
    for index, intervention in enumerate(study.interventions):
        if intervention.name:
            texts.append((f"interventions[{index}].name", intervention.name))
        texts += [(f"interventions[{index}].other_names[{j}]", n) for j, n in enumerate(intervention.other_names) if n]
    return texts


def _attribute(name: str) -> Callable[[Study], list[tuple[str, str]]]:
    def read(study: Study) -> list[tuple[str, str]]:
        value = getattr(study, name)
        return [(name, value)] if value else []

    return read


def _each(name: str, key: str) -> Callable[[Study], list[tuple[str, str]]]:
    def read(study: Study) -> list[tuple[str, str]]:
        items = getattr(study, name)
        return (
            [(f"{name}[{i}].{key}", text) for i, item in enumerate(items) if (text := getattr(item, key))]
            if items
            else []
        )

    return read


def _listed(name: str) -> Callable[[Study], list[tuple[str, str]]]:
    return lambda study: [(f"{name}[{index}]", value) for index, value in enumerate(getattr(study, name)) if value]


READERS: dict[str, Callable[[Study], list[tuple[str, str]]]] = {
    "interventions": _intervention_names,
    "intervention_types": _each("interventions", "type"),
    "intervention_descriptions": _each("interventions", "description"),
    "arm_labels": _each("arms", "label"),
    "arm_descriptions": _each("arms", "description"),
    "brief_title": _attribute("brief_title"),
    "official_title": _attribute("official_title"),
    "acronym": _attribute("acronym"),
    "keywords": _listed("keywords"),
    "conditions": _listed("conditions"),
    "summary": _attribute("summary"),
    "description": _attribute("description"),
    "outcomes": _each("outcomes", "measure"),
}
"""How each profile field name reads a study: its non-empty (path, text) pairs."""
assert set(READERS) == set(TEXT_FIELDS)

_PATH_STEP = re.compile(r"([a-z_]+)((?:\[\d+\])*)")


def field_text(study: Study, path: str) -> str:
    """The text an evidence path points at, e.g. ``interventions[2].name`` or ``study_type``."""
    value: Any = study
    for step in path.split("."):
        match = _PATH_STEP.fullmatch(step)
        if match is None:
            raise ValueError(f"not a study field path: {path!r}")
        value = getattr(value, match.group(1))
        for index in re.findall(r"\d+", match.group(2)):
            value = value[int(index)]
    return value or ""


# -- the matcher ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Entry:
    """A profile term compiled for matching, with the section and label it belongs to."""

    section: str  # overlapping phrases compete within a section
    family: str  # "strategy", "phenotype", "condition" or "context"
    label: str
    term: Term
    fields: frozenset[str]
    ignore: bool
    tests: tuple[tuple[str, str], ...]  # one (how, value) per word after the first
    length: int


@dataclass(frozen=True)
class _Starts:
    """The entries a word can start in one field, split so the next word picks the few to check."""

    single: tuple[_Entry, ...]  # one-word terms: a match already
    by_next: dict[str, tuple[_Entry, ...]]  # longer terms, by the folded form of their second word
    other: tuple[_Entry, ...]  # longer terms whose second word is tested otherwise


_NO_START = _Starts((), {}, ())


@dataclass(slots=True)
class _Match:
    """A term found in a field text, at word positions ``begin`` up to ``stop``."""

    entry: _Entry
    field: str
    path: str
    source: str  # the whole field text
    begin: int
    stop: int
    chars: tuple[int, int] | None = None  # character offsets, worked out when first needed

    def span(self) -> tuple[int, int]:
        if self.chars is None:
            words = list(itertools.islice(WORD.finditer(self.source), self.begin, self.stop))
            self.chars = (words[0].start(), words[-1].end())
        return self.chars


def _word_test(word: str, case_sensitive: bool) -> tuple[str, str]:
    if word.endswith("*"):
        return ("prefix_exact" if case_sensitive else "prefix", word[:-1] if case_sensitive else word[:-1].lower())
    return ("exact", word) if case_sensitive else ("folded", fold_word(word))


class _Matcher:
    """Finds every profile term in text: whole words, one dictionary look-up per word.

    For each field, the entries a word can start are computed once per distinct word and
    remembered, so scanning costs one look-up per word plus a check of the rare candidates.
    A field with a small vocabulary (one read for a few contexts, say) is first screened for
    the words its terms can start with, and skipped when none occurs. Short texts recur
    (conditions, keywords, drug names), so their matches are remembered.
    """

    def __init__(self, entries: list[_Entry]):
        self._entries = [entry for entry in entries if not entry.term.regex]
        self._screens: dict[str, re.Pattern[str] | None] = {}
        self._exact: dict[str, list[_Entry]] = {}
        self._folded: dict[str, list[_Entry]] = {}
        self._prefixes: dict[str, list[tuple[tuple[str, str], _Entry]]] = {}  # by the prefix's first letters
        self._regexes: list[tuple[re.Pattern[str], _Entry]] = []
        for entry in entries:
            if entry.term.regex:
                flags = 0 if entry.term.case_sensitive else re.IGNORECASE
                self._regexes.append((re.compile(entry.term.text, flags), entry))
                continue
            how, value = _word_test(term_words(entry.term.text)[0], entry.term.case_sensitive)
            if how == "exact":
                self._exact.setdefault(value, []).append(entry)
            elif how == "folded":
                self._folded.setdefault(value, []).append(entry)
            else:
                self._prefixes.setdefault(value[:_PREFIX_KEY].lower(), []).append(((how, value), entry))
        self._candidates: dict[str, list[_Entry]] = {}
        self._starts: dict[str, dict[str, _Starts]] = {}
        self._field_regexes: dict[str, list[tuple[re.Pattern[str], _Entry]]] = {}
        self._memo: dict[tuple[str, str], list[tuple[_Entry, int, int, tuple[int, int] | None]]] = {}
        self._fold: dict[str, str] = {}

    def _first_word_entries(self, word: str) -> list[_Entry]:
        """All entries whose first word matches ``word``, in any field (remembered)."""
        found = self._candidates.get(word)
        if found is None:
            found = list(self._folded.get(self._folded_word(word), ()))
            found += self._exact.get(word, ())
            if word.endswith("s"):
                found += self._exact.get(word[:-1], ())
            lowered = word.lower()
            for key in {lowered[:length] for length in range(1, _PREFIX_KEY + 1)}:
                found += [entry for test, entry in self._prefixes.get(key, ()) if self._passes(test, word)]
            if len(self._candidates) > _CACHE_LIMIT:
                self._candidates.clear()
            self._candidates[word] = found
        return found

    def _starting_with(self, field_name: str, word: str) -> _Starts:
        """The entries read in this field whose first word matches ``word`` (remembered)."""
        found = [entry for entry in self._first_word_entries(word) if field_name in entry.fields]
        starts = self._starts[field_name]
        if len(starts) > _CACHE_LIMIT:
            starts.clear()
        if not found:
            starts[word] = _NO_START
            return _NO_START
        by_next: dict[str, list[_Entry]] = {}
        for entry in found:
            if entry.tests and entry.tests[0][0] == "folded":
                by_next.setdefault(entry.tests[0][1], []).append(entry)
        result = _Starts(
            single=tuple(entry for entry in found if not entry.tests),
            by_next={key: tuple(entries) for key, entries in by_next.items()},
            other=tuple(entry for entry in found if entry.tests and entry.tests[0][0] != "folded"),
        )
        starts[word] = result
        return result

    def _folded_word(self, word: str) -> str:
        folded = self._fold.get(word)
        if folded is None:
            if len(self._fold) > _CACHE_LIMIT:
                self._fold.clear()
            folded = self._fold[word] = fold_word(word)
        return folded

    def _passes(self, test: tuple[str, str], word: str) -> bool:
        how, value = test
        if how == "folded":
            return self._folded_word(word) == value
        if how == "exact":
            return word == value or (word.endswith("s") and word[:-1] == value)
        if how == "prefix":
            return word.lower().startswith(value)
        return word.startswith(value)

    def _screen(self, field_name: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """The strings a term read in this field must start with: lower-case ones to find in
        the lower-cased text, exact ones in the text itself. None when too many to be worth it."""
        lower, exact = set(), set()
        for entry in self._entries:
            if field_name in entry.fields:
                how, value = _word_test(term_words(entry.term.text)[0], entry.term.case_sensitive)
                if how == "folded":  # a folded word is the start of every word that folds to it
                    lower.add(value[:-1] if value.endswith("y") else value)
                elif how == "prefix":
                    lower.add(value)
                else:
                    exact.add(value)
        if len(lower) + len(exact) > _SCREEN_LIMIT:
            return None
        return tuple(lower), tuple(exact)

    def scan(self, field_name: str, texts: list[tuple[str, str]], out: list[_Match]) -> None:
        """Append the matches in a field's (path, text) pairs that win their overlaps."""
        if field_name not in self._screens:
            self._screens[field_name] = self._screen(field_name)
            self._starts[field_name] = {}
            self._field_regexes[field_name] = [(p, entry) for p, entry in self._regexes if field_name in entry.fields]
        screen = self._screens[field_name]
        read_words = screen is None or _may_contain(screen, "\n".join(text for _, text in texts))
        memo = self._memo
        for path, text in texts:
            if len(text) > _MEMO_LENGTH:
                found = self._text_matches(field_name, text, read_words)
            else:
                found = memo.get((field_name, text))
                if found is None:
                    if len(memo) > _CACHE_LIMIT:
                        memo.clear()
                    found = memo[field_name, text] = self._text_matches(field_name, text, read_words)
            for entry, begin, stop, chars in found:
                out.append(_Match(entry, field_name, path, text, begin, stop, chars))

    def _text_matches(
        self, field_name: str, text: str, read_words: bool
    ) -> list[tuple[_Entry, int, int, tuple[int, int] | None]]:
        """The matches in one text that win their overlaps: (entry, begin, stop, regex span)."""
        hits = self._word_hits(field_name, text) if read_words else []
        chars: dict[int, tuple[int, int]] = {}
        for pattern, entry in self._field_regexes[field_name]:
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    chars[len(hits)] = m.span()
                    hits.append((entry, *_word_range(text, m.start(), m.end())))
        if len(hits) == 1:
            return [] if hits[0][0].ignore else [(*hits[0], chars.get(0))]
        return [(*hits[index], chars.get(index)) for index in _winners(hits)]

    def _follows(self, tests: tuple[tuple[str, str], ...], words: list[str], index: int) -> bool:
        """Whether the words after ``index`` pass a term's remaining word tests."""
        fold = self._fold
        for position, test in enumerate(tests, index + 1):
            word = words[position]
            if test[0] == "folded":
                if (fold.get(word) or self._folded_word(word)) != test[1]:
                    return False
            elif not self._passes(test, word):
                return False
        return True

    def _word_hits(self, field_name: str, text: str) -> list[tuple[_Entry, int, int]]:
        """Every term starting at every word: (entry, first word, word after the last)."""
        words = WORD.findall(text)
        count = len(words)
        starts = self._starts[field_name]
        fold = self._fold
        hits: list[tuple[_Entry, int, int]] = []
        for index, start in enumerate(map(starts.get, words)):
            if start is _NO_START:
                continue
            if start is None:
                start = self._starting_with(field_name, words[index])
            for entry in start.single:
                hits.append((entry, index, index + 1))
            if index + 1 == count:
                continue
            if start.by_next:
                following = words[index + 1]
                for entry in start.by_next.get(fold.get(following) or self._folded_word(following), ()):
                    stop = index + entry.length
                    if stop <= count and self._follows(entry.tests[1:], words, index + 1):
                        hits.append((entry, index, stop))
            for entry in start.other:
                stop = index + entry.length
                if stop <= count and self._follows(entry.tests, words, index):
                    hits.append((entry, index, stop))
        return hits


def _may_contain(screen: tuple[tuple[str, ...], tuple[str, ...]], text: str) -> bool:
    lowered = text.lower()
    return any(head in lowered for head in screen[0]) or any(head in text for head in screen[1])


def _word_range(text: str, start: int, end: int) -> tuple[int, int]:
    """The words a character range touches, as (first word, word after the last)."""
    spans = [word.span() for word in WORD.finditer(text)]
    begin = sum(word_end <= start for _, word_end in spans)
    return begin, max(begin + 1, sum(word_start < end for word_start, _ in spans))


def _winners(hits: list[tuple[_Entry, int, int]]) -> list[int]:
    """Leftmost-longest within each section of one text; a winning ``ignore`` phrase hides
    what it covers. Returns the indexes of the hits that count."""
    kept = []
    last_stop: dict[str, int] = {}
    for index in sorted(range(len(hits)), key=lambda i: (hits[i][0].section, hits[i][1], hits[i][1] - hits[i][2])):
        entry, begin, stop = hits[index]
        if begin >= last_stop.get(entry.section, 0):
            last_stop[entry.section] = stop
            if not entry.ignore:
                kept.append(index)
    return kept


class _NearestStrategy:
    """TF-IDF cosine between a study's words and each strategy's own words in the profile.

    A strategy's words are its name, description and unconditional aliases, brands and aims:
    codes and acronyms are fragments, and a conditional term counts only under its
    conditions. Condition and phenotype words are ignored: they say who is studied, not how.
    """

    def __init__(self, profile: Profile, candidates: list[str], min_shared_words: int):
        self._min_shared = min_shared_words
        ignored = [*profile.condition.terms, *(term for phenotype in profile.phenotypes for term in phenotype.terms)]
        self._stop = _STOPWORDS | {fold_word(word) for term in ignored for word in term_words(term.text)}
        documents: dict[str, Counter[str]] = {}
        for strategy in profile.strategies:
            if strategy.id in candidates:
                texts = [strategy.name, strategy.description]
                texts += [term.text.replace("*", "") for term in strategy.terms if _unconditional(term)]
                documents[strategy.id] = Counter(self._words(" ".join(texts)))
        frequency = Counter(word for document in documents.values() for word in document)
        self._idf = {word: math.log(len(documents) / count) for word, count in frequency.items()}
        self._vectors = {strategy: self._normalised(document) for strategy, document in documents.items()}

    def _words(self, text: str) -> list[str]:
        return [w for w in map(fold_word, _CONTENT_WORD.findall(text)) if w not in self._stop]

    def _normalised(self, counts: Counter[str]) -> dict[str, float]:
        vector = {word: count * self._idf.get(word, 0.0) for word, count in counts.items()}
        norm = math.sqrt(sum(value * value for value in vector.values())) or 1.0
        return {word: value / norm for word, value in vector.items() if value}

    def nearest(self, texts: list[tuple[str, str, str]]) -> tuple[str, float, list[tuple[str, float]]] | None:
        """The best strategy sharing enough words, its similarity and its strongest shared words."""
        query = self._normalised(Counter(word for _, _, text in texts for word in self._words(text)))
        best: tuple[float, str, dict[str, float]] | None = None
        for strategy, vector in self._vectors.items():
            shared = {word: value * vector[word] for word, value in query.items() if word in vector}
            if len(shared) >= self._min_shared and (best is None or sum(shared.values()) > best[0]):
                best = (sum(shared.values()), strategy, shared)
        if best is None:
            return None
        score, strategy, shared = best
        return strategy, score, sorted(shared.items(), key=lambda item: -item[1])[:3]


def _unconditional(term: Term) -> bool:
    """A strategy alias, brand or aim that counts wherever it appears."""
    conditions = (term.fields, term.study_types, term.requires, term.unless, term.with_groups)
    return term.kind in ("alias", "brand", "aim") and not term.regex and not any(conditions)


# -- the classifier ---------------------------------------------------------------------


@dataclass(slots=True)
class _Found:
    """A strategy match after the term's options have decided which strategy it counts for."""

    strategy: str
    match: _Match
    weight: float


def _heaviest(found: list[_Found]) -> list[_Found]:
    """The matches from the heaviest fields among them."""
    if not found:
        return []
    top = max(f.weight for f in found)
    return [f for f in found if f.weight == top]


class Classifier:
    """Sorts a study into the profile's strategies and phenotypes, with the evidence for each."""

    def __init__(self, profile: Profile):
        self.profile = profile
        rules = profile.rules
        self._weights = {spec.name: spec.weight for spec in profile.fields}
        default_fields = frozenset(spec.name for spec in profile.fields if spec.weight > 0 and not spec.explicit)
        self._order = {strategy.id: index for index, strategy in enumerate(profile.strategies)}
        self._role = {strategy.id: strategy.role for strategy in profile.strategies}
        self._group = {strategy.id: strategy.group for strategy in profile.strategies}
        self._curative = {strategy.id: strategy.curative_intent for strategy in profile.strategies}
        self._phenotype_order = {phenotype.id: index for index, phenotype in enumerate(profile.phenotypes)}
        self._narrower = {phenotype.id: phenotype.narrower for phenotype in profile.phenotypes if phenotype.narrower}
        self._design = [s.id for s in profile.strategies if s.role == "design"]

        entries: list[_Entry] = []

        def add(section: str, label: str, term: Term, fields, ignore: bool = False) -> None:
            words = term_words(term.text) if not term.regex else ()
            entries.append(
                _Entry(
                    section=section,
                    family=section.partition(":")[0],
                    label=label,
                    term=term,
                    fields=frozenset(term.fields or fields),
                    ignore=ignore,
                    tests=tuple(_word_test(word, term.case_sensitive) for word in words[1:]),
                    length=len(words),
                )
            )

        for strategy in profile.strategies:
            for term in strategy.terms:
                add("strategy", strategy.id, term, default_fields)
        for term in profile.ignore.strategies:
            add("strategy", "", term, default_fields, ignore=True)
        for phenotype in profile.phenotypes:
            for term in phenotype.terms:
                add("phenotype", phenotype.id, term, rules.phenotype_fields)
        for term in profile.ignore.phenotypes:
            add("phenotype", "", term, rules.phenotype_fields, ignore=True)
        for term in profile.condition.terms:
            add("condition", _ON_CONDITION, term, rules.condition_fields)
        for not_condition in profile.condition.not_conditions:
            for term in not_condition.terms:
                add("condition", not_condition.id, term, rules.condition_fields)
        for context in profile.contexts:
            for term in context.terms:
                add(f"context:{context.id}", context.id, term, context.fields or rules.context_fields)
        self._matcher = _Matcher(entries)
        read = set().union(*(entry.fields for entry in entries)) | set(rules.fallback.fields)
        self._readers = [(name, READERS[name]) for name in TEXT_FIELDS if name in read]
        fallback_candidates = [s.id for s in profile.strategies if s.role != "design"]
        self._fallback = _NearestStrategy(profile, fallback_candidates, rules.fallback.min_shared_words)

    def classify(self, study: Study) -> Classification:
        found: list[_Match] = []
        texts: dict[str, list[tuple[str, str]]] = {}
        for name, read in self._readers:
            field_texts = read(study)
            if field_texts:
                self._matcher.scan(name, field_texts, found)
                texts[name] = field_texts
        by_section: dict[str, list[_Match]] = {"strategy": [], "phenotype": [], "condition": [], "context": []}
        for m in found:
            by_section[m.entry.family].append(m)
        contexts = {m.entry.label for m in by_section["context"]}

        condition = by_section["condition"]
        on_condition = [m for m in condition if m.entry.label == _ON_CONDITION]
        if not on_condition:
            return self._not_condition(study, condition)
        evidence = [self._evidence(on_condition[0], _ON_CONDITION, "ms")]
        phenotypes = self._phenotypes(study, by_section["phenotype"], contexts, evidence)
        strategies, method = self._strategies(study, texts, by_section["strategy"], contexts, evidence)
        return Classification(
            is_ms=True,
            strategies=strategies,
            phenotypes=phenotypes,
            curative_intent=any(self._curative[s] for s in strategies),
            evidence=evidence,
            method=method,
        )

    def _evidence(self, m: _Match, label: str, kind: str, weight: float | None = None) -> Evidence:
        weight = self._weights.get(m.field, 0.0) if weight is None else weight
        start, end = m.span()
        return Evidence(label, kind, m.path, m.entry.term.text, m.source[start:end], start, end, weight)

    def _default_evidence(self, study: Study, label: str, kind: str, why: str) -> Evidence:
        """Evidence for a label given by a rule, not a term: it points at the study type."""
        text = study.study_type or ""
        return Evidence(label, kind, "study_type", why, text, 0, len(text), 0.0)

    def _not_condition(self, study: Study, condition: list[_Match]) -> Classification:
        rules = self.profile.rules
        evidence = [self._evidence(m, _NOT_CONDITION, "not_ms") for m in condition[:_EVIDENCE_PER_LABEL]]
        if not evidence:  # nothing names another disease either: point at what the study is about
            path = "conditions[0]" if study.conditions else "brief_title"
            text = field_text(study, path)
            evidence = [Evidence(_NOT_CONDITION, "not_ms", path, "(no condition term)", text, 0, len(text), 0.0)]
        return Classification(
            is_ms=False,
            strategies=list(rules.not_condition_strategies),
            phenotypes=list(rules.not_condition_phenotypes),
            curative_intent=False,
            evidence=evidence,
        )

    def _phenotypes(
        self, study: Study, matches: list[_Match], contexts: set[str], evidence: list[Evidence]
    ) -> list[str]:
        """The phenotypes named, a broad one dropped when a narrower one is named too."""
        found: dict[str, list[_Match]] = {}
        for m in matches:
            if not any(context in contexts for context in m.entry.term.unless):
                found.setdefault(m.entry.label, []).append(m)
        for broad, narrower in self._narrower.items():
            if broad in found and any(n in found for n in narrower):
                del found[broad]
        if not found:
            default = self.profile.rules.default_phenotype
            evidence.append(self._default_evidence(study, default, "phenotype", "(no phenotype term)"))
            return [default]
        labels = sorted(found, key=self._phenotype_order.__getitem__)
        evidence += [
            self._evidence(m, label, "phenotype") for label in labels for m in found[label][:_EVIDENCE_PER_LABEL]
        ]
        return labels

    def _resolve(self, term: Term, home: str, contexts: set[str]) -> str | None:
        """The strategy a match counts for, given the contexts present (None: it does not count)."""
        for context, target in term.redirect:
            if context in contexts:
                return target
        if term.requires and not any(context in contexts for context in term.requires):
            return term.otherwise
        return home

    def _strategies(
        self,
        study: Study,
        texts: dict[str, list[tuple[str, str]]],
        matches: list[_Match],
        contexts: set[str],
        evidence: list[Evidence],
    ) -> tuple[list[str], str]:
        """The strategies (and the method that found them) by rules 3-5 of the module docstring."""
        rules = self.profile.rules
        study_type = (study.study_type or "").upper()
        observational = study_type in rules.design_study_types
        found: list[_Found] = []
        therapy: list[_Found] = []  # ordinary therapy terms
        weak_therapy: list[_Found] = []
        comparators: list[_Found] = []  # therapy terms counted only beside certain groups
        focus: list[_Found] = []
        design: list[_Found] = []
        for m in matches:
            term = m.entry.term
            if term.study_types and study_type not in term.study_types:
                continue
            if term.unless and any(context in contexts for context in term.unless):
                continue
            if term.kind == "aim" and rules.aims_need_intervention and not study.interventions:
                continue
            strategy = self._resolve(term, m.entry.label, contexts) if term.redirect or term.requires else m.entry.label
            if strategy is None:
                continue
            field_weight = self._weights[m.field]
            f = _Found(strategy, m, field_weight * rules.weak_weight if term.weak else field_weight)
            found.append(f)
            role = self._role[strategy]
            if role == "therapy":
                (comparators if term.with_groups else weak_therapy if term.weak else therapy).append(f)
            elif not term.weak:
                (focus if role == "focus" else design).append(f)

        focus_weight = max((self._weights[f.match.field] for f in focus + design), default=0.0)
        chosen = _heaviest(therapy)
        if not chosen:
            chosen = _heaviest([f for f in weak_therapy if self._weights[f.match.field] >= focus_weight])
        therapy_weight = max((self._weights[f.match.field] for f in chosen), default=0.0)
        if therapy_weight < min(rules.therapy_min_weight, focus_weight):
            chosen, therapy_weight = [], 0.0
        groups = {self._group[f.strategy] for f in chosen}
        chosen += [f for f in comparators if groups.intersection(f.match.entry.term.with_groups)]
        labels = {f.strategy for f in chosen}
        if focus and (not labels or observational or max(self._weights[f.match.field] for f in focus) > therapy_weight):
            labels |= {f.strategy for f in focus}
        labels |= {f.strategy for f in design}
        if observational and not design and (chosen or not labels):
            for strategy in self._design:
                labels.add(strategy)
                evidence.append(self._default_evidence(study, strategy, "strategy", f"study type {study_type}"))

        kept: Counter[str] = Counter()
        for f in sorted((f for f in found if f.strategy in labels), key=lambda f: -f.weight):
            kept[f.strategy] += 1
            if kept[f.strategy] <= _EVIDENCE_PER_LABEL:
                evidence.append(self._evidence(f.match, f.strategy, "strategy", f.weight))
        if labels:
            return sorted(labels, key=self._order.__getitem__), "dictionary"
        return self._fall_back(study, texts, evidence)

    def _fall_back(
        self, study: Study, texts: dict[str, list[tuple[str, str]]], evidence: list[Evidence]
    ) -> tuple[list[str], str]:
        rules = self.profile.rules
        readable = [(name, path, text) for name in rules.fallback.fields for path, text in texts.get(name, ())]
        nearest = self._fallback.nearest(readable)
        if nearest is not None and nearest[1] >= rules.fallback.min_similarity:
            strategy, _, words = nearest
            for word, contribution in words:
                located = self._locate(readable, word)
                if located is not None:
                    path, start, end, text = located
                    evidence.append(
                        Evidence(strategy, "strategy", path, word, text, start, end, round(contribution, 4))
                    )
            return [strategy], "fallback"
        default = rules.default_strategy
        evidence.append(self._default_evidence(study, default, "strategy", "(no strategy term)"))
        return [default], "dictionary"

    @staticmethod
    def _locate(texts: list[tuple[str, str, str]], folded: str) -> tuple[str, int, int, str] | None:
        for _, path, text in texts:
            for m in _CONTENT_WORD.finditer(text):
                if fold_word(m.group()) == folded:
                    return path, m.start(), m.end(), m.group()
        return None
