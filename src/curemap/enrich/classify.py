"""Explainable strategy classification: which research strategy a study or paper pursues, and why.

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

10. Roles. Each therapy label of a study says what part the therapy plays: ``tested`` (what
   the study gives to test, or what an observational cohort is about) or ``comparator`` (an
   active comparator arm). Registry arm types decide where the record has them (an
   intervention only in active-comparator arms is a comparator; one only in placebo or sham
   arms, or given to every arm beside a therapy that is not, is dropped). Otherwise the
   titles decide, by the profile's role cues: a therapy after "versus" is compared with those
   named before it; one after "previously treated with" or "add-on to" was given before the
   study or to everyone, and is dropped; a therapy the titles name elsewhere is tested, and
   one only the intervention list names, beside a therapy the titles name, is a comparator.
   Drugs of a named strategy's regimen (a transplant's conditioning, a CAR-T's
   lymphodepletion) are that strategy, not strategies of their own. A study's ``purpose`` is
   ``about`` when it observes (an observational study type) or its titles say it registers,
   follows or measures people on a therapy (pregnancy, adherence, vaccine response…), else
   ``treatment``: stages and counts rest on tested labels of treatment studies only. The
   fallback never gives a curative-intent label: that claim rests on a named therapy.

Papers go through the same rules (:meth:`Classifier.classify_paper`). Each paper field is
read as the study field the profile's ``paper_fields`` maps it to, at its own weight (the
title like a brief title, the abstract like a summary), so a therapy the title names
outranks one the abstract names. Where papers differ, the profile's ``paper_rules`` say how:

6. Condition. An animal model of the condition (EAE) counts as the condition, and a field
   with a minimum (the abstract) must name the condition that often, and more often than
   any other condition, so a drug "approved for MS" does not make a cancer paper MS research.
7. Acronyms. Papers define their own: MS may be mass spectrometry, NPC the near point of
   convergence. A case-sensitive condition, phenotype or strategy term counts only in a
   paper that names the same label in words too.
8. Therapies. An abstract names background drugs and comparators besides the one it
   studies: among the therapies of the deciding field, one named less often than the
   profile's share of the most-named one (counting each strategy's most repeated term) is
   background. Stated aims count only as for a study naming no intervention. The fallback
   reads only the profile's paper fallback fields (none: a long abstract shares words with
   every strategy), so a paper no term reaches gets the default strategy.
9. Design. Every paper gets one design (randomised trial, cohort, case report, review,
   preclinical, other) from the first field, in the profile's order, that names one
   (publication types before the title, MeSH, keywords and abstract; weak terms only when
   no field names a design otherwise); there the design named most often wins, ties going
   to the design the profile lists first. The design strategy's own terms (cohort,
   registry) count only in papers whose design observes people: in a review or a trial
   they describe something else. A paper's design does not stand in for a study type: no
   design strategy is added for it without its own terms, and a focus (imaging, a
   biomarker) joins a therapy only when named in heavier fields, as abstracts name scans
   and diagnoses in passing.

Speed (about 10,000 studies a second on one core) comes from reading words, not regexes
(the shared matcher of :mod:`curemap.enrich.terms`: one dictionary look-up per word), and
from computing character offsets only for the matches that become evidence.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from curemap.enrich.terms import TermMatcher, word_range, word_span
from curemap.model import Paper, Study
from curemap.profile import PAPER_FIELDS, TEXT_FIELDS, WORD, Profile, RoleWords, Term, fold_word, term_words

_CONTENT_WORD = re.compile(r"[^\W\d_]{3,}")
"""A word the fallback compares: three or more letters (numbers and fragments say little)."""

_CACHE_LIMIT = 200_000
"""Short texts whose matches the matcher remembers before it starts afresh (bounds memory)."""

_EVIDENCE_PER_LABEL = 3
"""Strongest matches kept as evidence for each label (enough to explain, small to store)."""

_MEMO_LENGTH = 48
"""Texts this short (conditions, keywords, drug names) recur across studies: their matches are remembered."""

TESTED, COMPARATOR = "tested", "comparator"
"""The roles a strategy label takes (rule 10)."""
TREATMENT, ABOUT = "treatment", "about"
"""A study's purpose: it gives therapies to test them, or it is only about them."""

_ON_CONDITION = "is_ms"
_NOT_CONDITION = "not_ms"
"""Evidence labels for the condition decision (the names the store and reports use)."""

_DESIGN = "design"
"""The section and evidence kind of a paper's design."""

_SECTIONS = ("strategy", "phenotype", "condition", "context", _DESIGN, "regimen", "cue", "about")
"""The families of profile terms, as the matches of a record are grouped."""

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
    kind: str  # "strategy" | "phenotype" | "ms" | "not_ms" | "design"
    field: str  # a path into the study or paper, e.g. "interventions[2].name", "mesh[3].descriptor"
    term: str
    text: str  # the words exactly as in the field: field_text(record, field)[start:end]
    start: int
    end: int
    weight: float


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _plain(value: Any) -> Any:
    """A copy of a value made of lists, dicts and scalars."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


@dataclass
class Classification:
    """Where one study sits in the profile's taxonomy; strategies in taxonomy order."""

    is_ms: bool
    strategies: list[str]
    phenotypes: list[str]
    curative_intent: bool
    evidence: list[Evidence] = field(default_factory=list)
    method: str = "dictionary"  # "dictionary" | "fallback"
    roles: dict[str, str] = field(default_factory=dict)  # strategy -> "tested" | "comparator"
    purpose: str | None = None  # "treatment" | "about" (studies); None for papers and other conditions
    populations: list[str] = field(default_factory=list)  # whom a study admits (its evidence has kind "population")
    sponsors: list[dict[str, Any]] = field(default_factory=list)  # in the profile's one vocabulary

    @property
    def tested_strategies(self) -> list[str]:
        """The strategies the record tests (a label without a role, as papers have, is tested)."""
        return [s for s in self.strategies if self.roles.get(s, TESTED) == TESTED]

    def to_dict(self) -> dict[str, Any]:
        """What :func:`dataclasses.asdict` gives (fields in order, evidence as dicts, nothing
        shared with the classification), built directly: ``asdict`` deep-copies value by value,
        a sixth of classifying a record."""
        values = {name: _plain(getattr(self, name)) for name in _field_names(type(self))}
        evidence = _field_names(Evidence)
        values["evidence"] = [{name: getattr(item, name) for name in evidence} for item in self.evidence]
        return values

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Classification:
        """Rebuild a Classification from :meth:`to_dict` output (as stored)."""
        values = dict(data)
        values["evidence"] = [Evidence(**item) for item in values.get("evidence") or []]
        return cls(**values)


@dataclass(kw_only=True)
class PaperClassification(Classification):
    """Where one paper sits: the study labels plus its design (its evidence has kind "design")."""

    design: str


# -- reading a study's or paper's text fields -------------------------------------------

Reader = Callable[[Any], list[tuple[str, str]]]
"""Reads one field of a record: its non-empty (path, text) pairs."""


def _intervention_names(study: Study) -> list[tuple[str, str]]:
    texts = []
    for index, intervention in enumerate(study.interventions):
        if intervention.name:
            texts.append((f"interventions[{index}].name", intervention.name))
        texts += [(f"interventions[{index}].other_names[{j}]", n) for j, n in enumerate(intervention.other_names) if n]
    return texts


def _attribute(name: str) -> Reader:
    def read(record: Any) -> list[tuple[str, str]]:
        value = getattr(record, name)
        return [(name, value)] if value else []

    return read


def _each(name: str, key: str) -> Reader:
    def read(record: Any) -> list[tuple[str, str]]:
        items = getattr(record, name)
        return (
            [(f"{name}[{i}].{key}", text) for i, item in enumerate(items) if (text := getattr(item, key))]
            if items
            else []
        )

    return read


def _listed(name: str) -> Reader:
    return lambda record: [(f"{name}[{index}]", value) for index, value in enumerate(getattr(record, name)) if value]


READERS: dict[str, Reader] = {
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

PAPER_READERS: dict[str, Reader] = {
    "title": _attribute("title"),
    "abstract": _attribute("abstract"),
    "keywords": _listed("keywords"),
    "mesh": _each("mesh", "descriptor"),
    "publication_types": _listed("publication_types"),
}
"""How each profile paper field name reads a paper."""
assert set(PAPER_READERS) == set(PAPER_FIELDS)

_PATH_STEP = re.compile(r"([a-z_]+)((?:\[\d+\])*)")


def field_text(record: Study | Paper, path: str) -> str:
    """The text an evidence path points at, e.g. ``interventions[2].name``, ``study_type`` or ``mesh[3].descriptor``."""
    value: Any = record
    for step in path.split("."):
        match = _PATH_STEP.fullmatch(step)
        if match is None:
            raise ValueError(f"not a record field path: {path!r}")
        value = getattr(value, match.group(1))
        for index in re.findall(r"\d+", match.group(2)):
            value = value[int(index)]
    return value or ""


# -- the matcher ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Entry:
    """A profile term with the section and label it belongs to, and the fields that read it."""

    section: str  # overlapping phrases compete within a section
    family: str  # "strategy", "phenotype", "condition" or "context"
    label: str
    term: Term
    fields: frozenset[str]
    ignore: bool


@dataclass(slots=True)
class _Match:
    """A term found in a field text, at word positions ``begin`` up to ``stop``."""

    entry: _Entry
    field: str
    path: str
    source: str  # the whole field text
    begin: int
    stop: int
    weight: float  # the field's weight for the kind of record read
    chars: tuple[int, int] | None = None  # character offsets, worked out when first needed

    def span(self) -> tuple[int, int]:
        if self.chars is None:
            self.chars = word_span(self.source, self.begin, self.stop)
        return self.chars


class _Matcher:
    """Finds the profile terms each field reads (one :class:`TermMatcher` a field), keeping the
    leftmost-longest match of each section.

    Short texts recur (conditions, keywords, drug names), so their matches are remembered. A
    field with a small vocabulary (one read for a few contexts, say) is first screened for the
    words its terms can start with, and skipped when none occurs.
    """

    def __init__(self, entries: list[_Entry]):
        self._entries = entries
        self._fields: dict[str, TermMatcher[_Entry]] = {}
        self._memo: dict[tuple[str, str], list[tuple[_Entry, int, int, tuple[int, int] | None]]] = {}

    def scan(self, field_name: str, weight: float, texts: list[tuple[str, str]], out: list[_Match]) -> None:
        """Append the matches in a field's (path, text) pairs that win their overlaps."""
        terms = self._fields.get(field_name)
        if terms is None:
            terms = self._fields[field_name] = TermMatcher(
                (entry, entry.term) for entry in self._entries if field_name in entry.fields
            )
        read_words = not terms.screens or terms.may_match(text for _, text in texts)
        memo = self._memo
        for path, text in texts:
            if len(text) > _MEMO_LENGTH:
                found = _text_matches(terms, text, read_words)
            else:
                found = memo.get((field_name, text))
                if found is None:
                    if len(memo) > _CACHE_LIMIT:
                        memo.clear()
                    found = memo[field_name, text] = _text_matches(terms, text, read_words)
            for entry, begin, stop, chars in found:
                out.append(_Match(entry, field_name, path, text, begin, stop, weight, chars))


def _text_matches(
    terms: TermMatcher[_Entry], text: str, read_words: bool
) -> list[tuple[_Entry, int, int, tuple[int, int] | None]]:
    """The matches in one text that win their overlaps: (entry, begin, stop, regex span)."""
    hits = terms.word_hits(WORD.findall(text)) if read_words else []
    chars: dict[int, tuple[int, int]] = {}
    if terms.has_regexes:
        for entry, start, end in terms.regex_hits(text):
            chars[len(hits)] = (start, end)
            hits.append((entry, *word_range(text, start, end)))
    if len(hits) == 1:
        return [] if hits[0][0].ignore else [(*hits[0], chars.get(0))]
    return [(*hits[index], chars.get(index)) for index in _winners(hits)]


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


def _named_enough(found: list[_Found], share: float) -> list[_Found]:
    """The matches of the strategies named at least ``share`` as often as the most-named one.
    A strategy is named as often as its most repeated term: a review naming six drugs of one
    strategy once each and one drug of another once names both alike."""
    per_term = Counter((f.strategy, f.match.entry.term.path) for f in found)
    named: dict[str, int] = {}
    for (strategy, _), count in per_term.items():
        named[strategy] = max(named.get(strategy, 0), count)
    least = share * max(named.values())
    return [f for f in found if named[f.strategy] >= least]


def _entry(section: str, label: str, term: Term, fields: Iterable[str], ignore: bool = False) -> _Entry:
    return _Entry(section, section.partition(":")[0], label, term, frozenset(fields), ignore)


def _profile_entries(
    profile: Profile,
    where: Callable[[Iterable[str]], frozenset[str]],
    strategy_fields: frozenset[str],
    phenotype_fields: Iterable[str],
    condition_fields: Iterable[str],
) -> list[_Entry]:
    """The strategy, phenotype, condition and context terms, each read in the section's fields
    or, when it names study fields of its own, in the fields ``where`` gives for those."""
    entries: list[_Entry] = []

    def add(section: str, label: str, term: Term, fields: Iterable[str], ignore: bool = False) -> None:
        entries.append(_entry(section, label, term, where(term.fields) if term.fields else fields, ignore))

    for strategy in profile.strategies:
        for term in strategy.terms:
            add("strategy", strategy.id, term, strategy_fields)
    for term in profile.ignore.strategies:
        add("strategy", "", term, strategy_fields, ignore=True)
    for phenotype in profile.phenotypes:
        for term in phenotype.terms:
            add("phenotype", phenotype.id, term, phenotype_fields)
    for term in profile.ignore.phenotypes:
        add("phenotype", "", term, phenotype_fields, ignore=True)
    for term in profile.condition.terms:
        add("condition", _ON_CONDITION, term, condition_fields)
    for not_condition in profile.condition.not_conditions:
        for term in not_condition.terms:
            add("condition", not_condition.id, term, condition_fields)
    for context in profile.contexts:
        for term in context.terms:
            add(f"context:{context.id}", context.id, term, where(context.fields or profile.rules.context_fields))
    for strategy in profile.strategies:
        for term in strategy.regimen:
            add(f"regimen:{strategy.id}", strategy.id, term, strategy_fields)
    if profile.roles is not None:
        cue_fields = where(profile.roles.fields)
        for cue in ("comparator", "prior", "background"):
            for term in getattr(profile.roles, cue):
                add(f"cue:{cue}", cue, term, cue_fields)
        for term in profile.roles.about:
            add("about", ABOUT, term, cue_fields)
    return entries


@dataclass(frozen=True)
class _Reading:
    """How the classifier reads one kind of record (studies or papers), and the rules that differ."""

    matcher: _Matcher
    readers: tuple[tuple[str, float, Reader], ...]  # field, weight, reader
    fallback_fields: tuple[str, ...]
    acronyms_need_spelling: bool = False
    condition_min_mentions: Mapping[str, int] = field(default_factory=dict)
    therapy_min_share: float = 0.0


def _reading(
    entries: list[_Entry], fields: list[tuple[str, float, Reader]], fallback_fields: tuple[str, ...], **rules: Any
) -> _Reading:
    """A reading of the fields some term or the fallback reads, in the order given."""
    read = set().union(*(entry.fields for entry in entries), fallback_fields)
    readers = tuple(spec for spec in fields if spec[0] in read)
    return _Reading(_Matcher(entries), readers, fallback_fields, **rules)


@dataclass(slots=True)
class _Record:
    """What the rules need to know about one study or paper besides the words found in it."""

    subject: Study | Paper
    study_type: str  # upper case; "" for a paper, which has none
    observational: bool  # it observes rather than assigns: a focus joins its therapy
    design_terms_count: bool  # the design strategy's own terms (cohort, registry) describe it
    adds_design: bool  # an observational study type: a therapy it follows, or nothing, gets the design strategy
    aims_count: bool  # it names what it gives, so a stated aim can name the strategy
    basis: str  # the path a label given by a rule points at
    topic: str  # the path that says what it is about, when no condition term does
    roles: bool = False  # its therapies take roles and it has a purpose (rule 10): studies


class Classifier:
    """Sorts a study or a paper into the profile's strategies and phenotypes (and a paper
    into a design), with the evidence for each."""

    def __init__(self, profile: Profile):
        self.profile = profile
        rules = profile.rules
        self._order = {strategy.id: index for index, strategy in enumerate(profile.strategies)}
        self._role = {strategy.id: strategy.role for strategy in profile.strategies}
        self._group = {strategy.id: strategy.group for strategy in profile.strategies}
        self._curative = {strategy.id: strategy.curative_intent for strategy in profile.strategies}
        self._phenotype_order = {phenotype.id: index for index, phenotype in enumerate(profile.phenotypes)}
        self._narrower = {phenotype.id: phenotype.narrower for phenotype in profile.phenotypes if phenotype.narrower}
        self._design = [s.id for s in profile.strategies if s.role == "design"]
        self._design_order = {design.id: index for index, design in enumerate(profile.designs)}
        self._observing_designs = {design.id for design in profile.designs if design.observational}

        weights = {spec.name: spec.weight for spec in profile.fields}
        default_fields = frozenset(spec.name for spec in profile.fields if spec.weight > 0 and not spec.explicit)
        self._study = _reading(
            _profile_entries(profile, frozenset, default_fields, rules.phenotype_fields, rules.condition_fields),
            [(name, weights.get(name, 0.0), READERS[name]) for name in TEXT_FIELDS],
            rules.fallback.fields,
        )
        self._paper = self._paper_reading(default_fields) if profile.paper_rules else None
        # who a study admits and who sponsors it, read beside its strategies (imported here:
        # both readers use this module's field readers)
        from curemap.enrich.populations import PopulationReader
        from curemap.enrich.sponsors import SponsorVocabulary

        self._populations = PopulationReader(profile) if profile.populations is not None else None
        self._sponsors = SponsorVocabulary(profile) if profile.sponsors is not None else None
        fallback_groups = set(rules.fallback.groups) or {group.id for group in profile.groups}
        fallback_candidates = [s.id for s in profile.strategies if s.role != "design" and s.group in fallback_groups]
        self._fallback = _NearestStrategy(profile, fallback_candidates, rules.fallback.min_shared_words)

    def _paper_reading(self, default_fields: frozenset[str]) -> _Reading:
        """Papers read every term in the paper fields that read as its study fields, plus the
        condition's models and the designs in the paper fields they name."""
        profile = self.profile
        paper_rules = profile.paper_rules
        assert paper_rules is not None
        reading_as: dict[str, list[str]] = {}
        for spec in profile.paper_fields:
            if spec.reads_as:
                reading_as.setdefault(spec.reads_as, []).append(spec.name)

        def as_paper(names: Iterable[str]) -> frozenset[str]:
            return frozenset(paper_field for name in names for paper_field in reading_as.get(name, ()))

        condition_fields = frozenset(paper_rules.condition_fields)
        entries = _profile_entries(
            profile, as_paper, as_paper(default_fields), paper_rules.phenotype_fields, condition_fields
        )
        entries += [
            _entry("condition", _ON_CONDITION, term, term.fields or condition_fields)
            for term in paper_rules.condition_models
        ]
        entries += [
            _entry(_DESIGN, design.id, term, term.fields) for design in profile.designs for term in design.terms
        ]
        entries += [
            _entry(_DESIGN, "", term, term.fields or paper_rules.design_fields, ignore=True)
            for term in profile.ignore.designs
        ]
        return _reading(
            entries,
            [(spec.name, spec.weight, PAPER_READERS[spec.name]) for spec in profile.paper_fields],
            paper_rules.fallback_fields,
            acronyms_need_spelling=paper_rules.acronyms_need_spelling,
            condition_min_mentions=paper_rules.condition_min_mentions,
            therapy_min_share=paper_rules.therapy_min_share,
        )

    def classify(self, study: Study) -> Classification:
        """Where a study sits in the taxonomy, by rules 1-5 of the module docstring."""
        rules = self.profile.rules
        study_type = (study.study_type or "").upper()
        observational = study_type in rules.design_study_types
        record = _Record(
            subject=study,
            study_type=study_type,
            observational=observational,
            design_terms_count=True,
            adds_design=observational,
            aims_count=bool(study.interventions) or not rules.aims_need_intervention,
            basis="study_type",
            topic="conditions[0]" if study.conditions else "brief_title",
            roles=self.profile.roles is not None,
        )
        result = self._classify(self._study, record, *self._scan(self._study, study), Classification)
        if self._sponsors is not None:
            result.sponsors = [asdict(label) for label in self._sponsors.read(study)]
        if self._populations is not None and result.is_ms:
            for tag in self._populations.read(study):
                result.populations.append(tag.population)
                start = 0 if tag.start is None else tag.start
                end = len(tag.text) if tag.end is None else tag.end
                result.evidence.append(Evidence(tag.population, "population", tag.field, tag.population, tag.text, start, end, 0.0))
        return result

    def classify_paper(self, paper: Paper) -> PaperClassification:
        """Where a paper sits in the taxonomy, and its design, by rules 1-9 of the module docstring."""
        if self._paper is None:
            raise ValueError(
                f"profile {self.profile.id!r} does not describe papers (no paper_fields, paper_rules, designs)"
            )
        by_section, texts = self._scan(self._paper, paper)
        design, design_evidence = self._paper_design(paper, by_section[_DESIGN])
        record = _Record(
            subject=paper,
            study_type="",
            observational=False,
            design_terms_count=design in self._observing_designs,
            adds_design=False,
            aims_count=not self.profile.rules.aims_need_intervention,  # a paper lists no interventions
            basis="title",
            topic="title" if paper.title or not paper.abstract else "abstract",
        )
        make = functools.partial(PaperClassification, design=design)
        result = self._classify(self._paper, record, by_section, texts, make)
        result.evidence += design_evidence
        return result

    def _scan(
        self, reading: _Reading, subject: Study | Paper
    ) -> tuple[dict[str, list[_Match]], dict[str, list[tuple[str, str]]]]:
        """The matches in a record by section (acronyms dropped where the reading asks), and its texts by field."""
        found: list[_Match] = []
        texts: dict[str, list[tuple[str, str]]] = {}
        for name, weight, read in reading.readers:
            field_texts = read(subject)
            if field_texts:
                reading.matcher.scan(name, weight, field_texts, found)
                texts[name] = field_texts
        by_section: dict[str, list[_Match]] = {section: [] for section in _SECTIONS}
        for m in found:
            by_section[m.entry.family].append(m)
        if reading.acronyms_need_spelling:
            for section in ("condition", "phenotype", "strategy"):
                by_section[section] = _spelled_out(by_section[section])
        return by_section, texts

    def _classify(
        self,
        reading: _Reading,
        record: _Record,
        by_section: dict[str, list[_Match]],
        texts: dict[str, list[tuple[str, str]]],
        make: Callable[..., Classification],
    ) -> Classification:
        contexts = {m.entry.label for m in by_section["context"]}
        condition = by_section["condition"]
        named = [m for m in condition if m.entry.label == _ON_CONDITION]
        on_condition = _condition_named(named, condition, reading) if named else named
        if not on_condition:
            return self._not_condition(record, condition, bool(named), make)
        evidence = [self._evidence(on_condition[0], _ON_CONDITION, "ms")]
        phenotypes = self._phenotypes(record, by_section["phenotype"], contexts, evidence)
        strategies, roles, method = self._strategies(reading, record, texts, by_section, contexts, evidence)
        tested = [s for s in strategies if roles.get(s, TESTED) == TESTED]
        return make(
            is_ms=True,
            strategies=strategies,
            phenotypes=phenotypes,
            curative_intent=any(self._curative[s] for s in tested),
            evidence=evidence,
            method=method,
            roles=roles,
            purpose=self._purpose(record, by_section["about"], evidence) if record.roles else None,
        )

    def _evidence(self, m: _Match, label: str, kind: str, weight: float | None = None) -> Evidence:
        start, end = m.span()
        weight = m.weight if weight is None else weight
        return Evidence(label, kind, m.path, m.entry.term.text, m.source[start:end], start, end, weight)

    @staticmethod
    def _pointer(subject: Study | Paper, path: str, label: str, kind: str, why: str) -> Evidence:
        """Evidence for a label given by a rule, not a term: it points at a whole field."""
        text = field_text(subject, path)
        return Evidence(label, kind, path, why, text, 0, len(text), 0.0)

    def _default_evidence(self, record: _Record, label: str, kind: str, why: str) -> Evidence:
        return self._pointer(record.subject, record.basis, label, kind, why)

    def _not_condition(
        self, record: _Record, condition: list[_Match], in_passing: bool, make: Callable[..., Classification]
    ) -> Classification:
        rules = self.profile.rules
        others = [m for m in condition if m.entry.label != _ON_CONDITION]
        evidence = [self._evidence(m, _NOT_CONDITION, "not_ms") for m in others[:_EVIDENCE_PER_LABEL]]
        if not evidence:  # nothing names another disease either: point at what the record is about
            why = "(condition named only in passing)" if in_passing else "(no condition term)"
            evidence = [self._pointer(record.subject, record.topic, _NOT_CONDITION, "not_ms", why)]
        return make(
            is_ms=False,
            strategies=list(rules.not_condition_strategies),
            phenotypes=list(rules.not_condition_phenotypes),
            curative_intent=False,
            evidence=evidence,
        )

    def _phenotypes(
        self, record: _Record, matches: list[_Match], contexts: set[str], evidence: list[Evidence]
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
            evidence.append(self._default_evidence(record, default, "phenotype", "(no phenotype term)"))
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
        reading: _Reading,
        record: _Record,
        texts: dict[str, list[tuple[str, str]]],
        by_section: dict[str, list[_Match]],
        contexts: set[str],
        evidence: list[Evidence],
    ) -> tuple[list[str], dict[str, str], str]:
        """The strategies, their roles and the method that found them, by rules 3-5, 8 and 10
        of the module docstring."""
        rules = self.profile.rules
        found = self._absorb_regimens(self._found(record, by_section["strategy"], contexts), by_section["regimen"])
        therapy: list[_Found] = []  # ordinary therapy terms
        weak_therapy: list[_Found] = []
        comparators: list[_Found] = []  # therapy terms counted only beside certain groups
        focus: list[_Found] = []
        design: list[_Found] = []
        for f in found:
            term = f.match.entry.term
            role = self._role[f.strategy]
            if role == "therapy":
                (comparators if term.with_groups else weak_therapy if term.weak else therapy).append(f)
            elif not term.weak:
                (focus if role == "focus" else design).append(f)

        focus_weight = max((f.match.weight for f in focus + design), default=0.0)
        chosen = _heaviest(therapy)
        if chosen and reading.therapy_min_share:
            chosen = _named_enough(chosen, reading.therapy_min_share)
        if not chosen:
            chosen = _heaviest([f for f in weak_therapy if f.match.weight >= focus_weight])
        therapy_weight = max((f.match.weight for f in chosen), default=0.0)
        if therapy_weight < min(rules.therapy_min_weight, focus_weight):
            chosen, therapy_weight = [], 0.0
        if record.roles:
            chosen += self._titled(found, chosen, by_section["cue"], therapy_weight)
        groups = {self._group[f.strategy] for f in chosen}
        listed_comparators = [f for f in comparators if groups.intersection(f.match.entry.term.with_groups)]
        chosen += listed_comparators
        labels = {f.strategy for f in chosen}
        roles: dict[str, str] = {}
        if record.roles and labels:
            roles = self._roles(record, chosen, listed_comparators, found, by_section["cue"], evidence)
            labels = set(roles)
        if focus and (
            not labels or record.observational or max(f.match.weight for f in focus) > therapy_weight
        ):
            labels |= {f.strategy for f in focus}
        labels |= {f.strategy for f in design}
        if record.adds_design and not design and (chosen or not labels):
            for strategy in self._design:
                labels.add(strategy)
                evidence.append(self._default_evidence(record, strategy, "strategy", f"study type {record.study_type}"))

        kept: Counter[str] = Counter()
        for f in sorted((f for f in found if f.strategy in labels), key=lambda f: -f.weight):
            kept[f.strategy] += 1
            if kept[f.strategy] <= _EVIDENCE_PER_LABEL:
                evidence.append(self._evidence(f.match, f.strategy, "strategy", f.weight))
        if not labels:
            labels_found, method = self._fall_back(reading, record, texts, evidence)
            labels = set(labels_found)
        else:
            method = "dictionary"
        ordered = sorted(labels, key=self._order.__getitem__)
        if record.roles:
            roles = {s: roles.get(s, TESTED) for s in ordered}
        return ordered, roles, method

    def _titled(
        self, found: list[_Found], chosen: list[_Found], cues: list[_Match], therapy_weight: float
    ) -> list[_Found]:
        """Therapies the titles name as what is tested (rule 10) when the intervention list names
        only others (a natalizumab cohort given an antiviral the list calls by an unknown brand):
        a title says what a study tests. When the titles name a listed therapy too, the list
        stands, and a title's other drug is background ("lamotrigine plus interferon")."""
        words = self.profile.roles
        assert words is not None
        if therapy_weight < self.profile.rules.therapy_min_weight:
            return []
        have = {f.strategy for f in chosen}
        titled = [
            f
            for f in found
            if f.match.field in words.fields
            and self._role[f.strategy] == "therapy"
            and not f.match.entry.term.weak
            and not f.match.entry.term.with_groups
        ]
        if any(f.strategy in have for f in titled):
            return []
        tested = {s for s, (role, _) in _title_roles(titled, cues, words).items() if role == TESTED}
        return [f for f in titled if f.strategy in tested]

    def _found(self, record: _Record, matches: list[_Match], contexts: set[str]) -> list[_Found]:
        """The strategy matches that count, each for the strategy its term's options say."""
        found = []
        for m in matches:
            term = m.entry.term
            if term.study_types and record.study_type not in term.study_types:
                continue
            if term.unless and any(context in contexts for context in term.unless):
                continue
            if term.kind == "aim" and not record.aims_count:
                continue
            strategy = self._resolve(term, m.entry.label, contexts) if term.redirect or term.requires else m.entry.label
            if strategy is None:
                continue
            if self._role[strategy] == "design" and not record.design_terms_count:
                continue
            weight = m.weight * self.profile.rules.weak_weight if term.weak else m.weight
            found.append(_Found(strategy, m, weight))
        return found

    def _absorb_regimens(self, found: list[_Found], regimen: list[_Match]) -> list[_Found]:
        """Regimen drugs of a strategy the record names count for that strategy, not their own
        (rule 10): a transplant's cyclophosphamide is the transplant. A strategy is named by a
        term that is no other strategy's regimen drug ("high-dose cyclophosphamide" alone is an
        immunoablation; beside a transplant it is the transplant's conditioning)."""

        def inside(f: _Found, parts: list[_Match]) -> bool:
            return any(
                r.path == f.match.path and r.begin < f.match.stop and f.match.begin < r.stop and r.entry.label != f.strategy
                for r in parts
            )

        named = {
            f.strategy
            for f in found
            if not f.match.entry.term.weak
            and f.match.weight >= self.profile.rules.therapy_min_weight
            and not inside(f, regimen)
        }
        parts = [m for m in regimen if m.entry.label in named]
        if not parts:
            return found
        return [f for f in found if not inside(f, parts)] + [_Found(r.entry.label, r, r.weight) for r in parts]

    def _roles(
        self,
        record: _Record,
        chosen: list[_Found],
        listed_comparators: list[_Found],
        found: list[_Found],
        cues: list[_Match],
        evidence: list[Evidence],
    ) -> dict[str, str]:
        """Each chosen therapy's role by rule 10; a therapy only given before the study, to every
        arm or in placebo arms is left out. Returns strategy -> role for the therapies kept."""
        words = self.profile.roles
        assert words is not None
        study = record.subject
        arms = _ArmTypes(study, words) if isinstance(study, Study) else None
        by_arms: dict[str, set[str]] = {}
        for f in chosen:
            verdict = arms.verdict(f.match.path) if arms is not None else None
            if verdict is not None:
                by_arms.setdefault(f.strategy, set()).add(verdict[0])
                if verdict[0] != TESTED:
                    self._role_evidence(evidence, f.strategy, verdict[1], f"arm type {verdict[2]}")
        titled = [f for f in found if f.match.field in words.fields and self._role[f.strategy] == "therapy"]
        in_titles = _title_roles(titled, cues, words)
        titled_tested = {strategy for strategy, (role, _) in in_titles.items() if role == TESTED}
        roles: dict[str, str] = {}
        for f in chosen:
            strategy = f.strategy
            if strategy in roles:
                continue
            if strategy in by_arms:
                verdicts = by_arms[strategy]
                role = TESTED if TESTED in verdicts else COMPARATOR if COMPARATOR in verdicts else None
            elif strategy in in_titles:
                role, cue = in_titles[strategy]
                if cue is not None:
                    self._role_evidence(evidence, strategy, cue, f"title cue {cue.entry.term.text!r}")
            elif f in listed_comparators:
                role = COMPARATOR
            elif titled_tested:
                role = COMPARATOR
                other = next(g for g in titled if g.strategy in titled_tested)
                self._role_evidence(
                    evidence, strategy, other.match, "(the titles name another therapy as the one tested)"
                )
            else:
                role = TESTED
            if role is not None:
                roles[strategy] = role
        if TESTED not in roles.values():  # "patients on cladribine", and nothing else given: about it
            roles.update({f.strategy: TESTED for f in chosen if f.strategy not in roles})
        return roles

    def _role_evidence(self, evidence: list[Evidence], strategy: str, where: Any, why: str) -> None:
        """Why a label has the role it has: the cue or arm type that decided it."""
        if isinstance(where, _Match):
            start, end = where.span()
            evidence.append(Evidence(strategy, "role", where.path, why, where.source[start:end], start, end, 0.0))
        else:
            path, text = where
            evidence.append(Evidence(strategy, "role", path, why, text, 0, len(text), 0.0))

    def _purpose(self, record: _Record, about: list[_Match], evidence: list[Evidence]) -> str:
        """``about`` for a study that observes, whose titles say it follows people on a therapy
        rather than testing it, or whose interventions are a scan or sample heavier than any
        therapy it names (blood draws for a lab study of cells named in the title) (rule 10);
        else ``treatment``."""
        if record.observational:
            evidence.append(self._default_evidence(record, ABOUT, "purpose", f"study type {record.study_type}"))
            return ABOUT
        if about:
            evidence.append(self._evidence(about[0], ABOUT, "purpose"))
            return ABOUT
        found = [e for e in evidence if e.kind == "strategy"]
        therapy = max((e.weight for e in found if self._role[e.label] == "therapy"), default=0.0)
        focus = [e for e in found if self._role[e.label] == "focus" and e.weight > therapy]
        if therapy and focus:
            evidence.append(replace(focus[0], label=ABOUT, kind="purpose"))
            return ABOUT
        return TREATMENT

    def _fall_back(
        self, reading: _Reading, record: _Record, texts: dict[str, list[tuple[str, str]]], evidence: list[Evidence]
    ) -> tuple[list[str], str]:
        rules = self.profile.rules
        readable = [(name, path, text) for name in reading.fallback_fields for path, text in texts.get(name, ())]
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
        evidence.append(self._default_evidence(record, default, "strategy", "(no strategy term)"))
        return [default], "dictionary"

    @staticmethod
    def _locate(texts: list[tuple[str, str, str]], folded: str) -> tuple[str, int, int, str] | None:
        for _, path, text in texts:
            for m in _CONTENT_WORD.finditer(text):
                if fold_word(m.group()) == folded:
                    return path, m.start(), m.end(), m.group()
        return None

    def _paper_design(self, paper: Paper, matches: list[_Match]) -> tuple[str, list[Evidence]]:
        """A paper's design by rule 9 of the module docstring, with the matches that decided it."""
        rules = self.profile.paper_rules
        assert rules is not None
        for weak in (False, True):
            for name in rules.design_fields:
                here = [m for m in matches if m.field == name and m.entry.term.weak == weak]
                if here:
                    counts = Counter(m.entry.label for m in here)
                    design = min(counts, key=lambda d: (-counts[d], self._design_order[d]))
                    decisive = [m for m in here if m.entry.label == design][:_EVIDENCE_PER_LABEL]
                    return design, [self._evidence(m, design, _DESIGN) for m in decisive]
        default = rules.default_design
        return default, [self._pointer(paper, "title", default, _DESIGN, "(no design term)")]


class _ArmTypes:
    """What the registry's arm types say of each listed intervention (rule 10)."""

    def __init__(self, study: Study, words: RoleWords):
        self._words = words
        self._study = study
        self._arm_index = {arm.label: index for index, arm in enumerate(study.arms) if arm.type}
        self._all_arms = frozenset(self._arm_index)
        self._arms_of = [frozenset(l for l in i.arm_labels if l in self._arm_index) for i in study.interventions]

    def verdict(self, path: str) -> tuple[str, tuple[str, str], str] | None:
        """(role or "background"/"placebo", (the arm-type path, its text), what decided it) for a
        match at ``path``, or None when the arms say nothing of it."""
        step = _PATH_STEP.match(path)
        if step is None or not self._arm_index:
            return None
        name, index = step.group(1), int((re.findall(r"\d+", step.group(2)) or ["-1"])[0])
        if name == "arms" and 0 <= index < len(self._study.arms):
            labels = frozenset({self._study.arms[index].label}) & self._all_arms
        elif name == "interventions" and 0 <= index < len(self._arms_of):
            labels = self._arms_of[index]
        else:
            return None
        if not labels:
            return None
        words = self._words
        types = {label: self._study.arms[self._arm_index[label]].type for label in sorted(labels)}
        where = next(iter(types))
        pointer = (f"arms[{self._arm_index[where]}].type", types[where] or "")
        if set(types.values()) & set(words.tested_arm_types):
            everyone = labels == self._all_arms and len(self._all_arms) > 1
            if everyone and name == "interventions" and any(arms != self._all_arms for arms in self._arms_of):
                return "background", pointer, "given in every arm"
            tested = next(label for label, kind in types.items() if kind in words.tested_arm_types)
            return TESTED, (f"arms[{self._arm_index[tested]}].type", types[tested] or ""), types[tested] or ""
        if set(types.values()) & set(words.comparator_arm_types):
            return COMPARATOR, pointer, types[where] or ""
        if set(types.values()) <= set(words.ignored_arm_types):
            return "placebo", pointer, types[where] or ""
        return None


def _title_roles(
    found: list[_Found], cues: list[_Match], words: RoleWords
) -> dict[str, tuple[str | None, _Match | None]]:
    """What the titles say of each therapy they name (rule 10): strategy -> (role, the cue that
    decided it); role None when the titles name it only as given before the study or to
    everyone."""
    verdicts: dict[str, list[tuple[int, str | None, _Match | None]]] = {}
    rank = {TESTED: 0, COMPARATOR: 1, None: 2}
    for path in sorted({f.match.path for f in found}):  # a fixed order: the evidence kept must not vary
        here = sorted((f for f in found if f.match.path == path), key=lambda f: f.match.begin)
        here_cues = [c for c in cues if c.path == path]
        versus = min((c for c in here_cues if c.entry.label == "comparator"), key=lambda c: c.begin, default=None)
        if versus is not None and not any(f.match.stop <= versus.begin for f in here):
            versus = None  # "best available therapy versus aHSCT": nothing named is compared with
        governed = _governed(here, [c for c in here_cues if c.entry.label != "comparator"], words)
        for f in here:
            if id(f) in governed:
                verdict: tuple[str | None, _Match | None] = (None, governed[id(f)])
            elif versus is not None and f.match.begin >= versus.stop:
                verdict = (COMPARATOR, versus)
            else:
                verdict = (TESTED, None)
            verdicts.setdefault(f.strategy, []).append((rank[verdict[0]], *verdict))
    return {strategy: min(items, key=lambda item: item[0])[1:] for strategy, items in verdicts.items()}


def _governed(found: list[_Found], cues: list[_Match], words: RoleWords) -> dict[int, _Match]:
    """The matches a prior or background cue governs: those following it with at most
    ``window`` gap words between, chained ("switching from fingolimod or natalizumab")."""
    if not cues or not found:
        return {}
    text_words = [fold_word(w) for w in WORD.findall(found[0].match.source)]
    governed: dict[int, _Match] = {}
    for cue in cues:
        position = cue.stop
        for f in found:  # in word order
            if f.match.begin < position:
                continue
            gap = text_words[position : f.match.begin]
            if len(gap) > words.window or any(word not in words.gap_words for word in gap):
                break
            governed[id(f)] = cue
            position = f.match.stop
    return governed


def _spelled_out(matches: list[_Match]) -> list[_Match]:
    """The matches less the acronyms (case-sensitive terms) of labels the record never names in words."""
    in_words = {m.entry.label for m in matches if not m.entry.term.case_sensitive}
    return [m for m in matches if m.entry.label in in_words]


def _condition_named(named: list[_Match], condition: list[_Match], reading: _Reading) -> list[_Match]:
    """The condition matches that count (rule 6): in a field with a minimum, only when the
    condition is named that often there, and more often than any other condition."""
    minimum = reading.condition_min_mentions
    if not minimum:
        return named
    counts = Counter((m.field, m.entry.label) for m in condition)

    def often(field_name: str) -> bool:
        ours = counts[field_name, _ON_CONDITION]
        theirs = [n for (name, label), n in counts.items() if name == field_name and label != _ON_CONDITION]
        return ours >= minimum[field_name] and ours > max(theirs, default=0)

    return [m for m in named if m.field not in minimum or often(m.field)]
