"""One trial, several registrations: the records of one trial in ClinicalTrials.gov, EU CTIS
and EudraCT are linked, so that counts can count trials rather than registrations.

Two kinds of evidence, the first trusted outright:

- ``identifier``: a record names another's registry number (among its secondary ids, or an NCT
  number in the text of a record from another registry), or records of two registries carry the
  same sponsor protocol code (a ClinicalTrials.gov org study id, a CTIS protocol code);
- ``title``: records of two registries whose titles, sponsors and start dates agree, each the
  other's clear best match.

Links are transitive. A trial is named by one of its registrations: the NCT number when there is
one (the first posted if several), else the earliest other registration.
"""

from __future__ import annotations

import hashlib
import math
import re
from array import array
from functools import cache
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import orjson
from scipy import sparse

from curemap.enrich.links import registry_numbers
from curemap.model import PartialDate, Study
from curemap.normalise import drop_accents
from curemap.store import Store
from curemap.store.kinds import STUDY

TITLE_WEIGHT = 0.6
SPONSOR_WEIGHT = 0.25
DATE_WEIGHT = 0.15
"""How a pair's score is made: title cosine, sponsor-name cosine and start-date closeness, each
in [0, 1]. Titles carry most, since two registrations of one trial are written by one sponsor
from one protocol; sponsors and dates separate sister trials whose titles are near copies."""

LINK_THRESHOLD = 0.5
"""The lowest score that links two registrations by title. Measured on the hand-labelled pairs
of ``tests/data/registrations/pairs-dev.jsonl`` (209 pairs, 52 the same trial) over the offline
build: the highest-scoring different-trial pair that is each side's clear best scores 0.42 (a
false link from 0.40 down); every threshold from 0.45 to 0.65 keeps precision 1.00, recall 0.94
to 0.88. 0.5 keeps a margin above the false pairs: precision 1.00 (48/48), recall 0.92 (48/52)."""

MARGIN = 0.03
"""How far a link's score must stand above each side's next-best free candidate in the same
registry: sister trials (phase 3 twins, a master protocol and its parts) score alike, and linking
one by a hair would merge two trials. Measured on the same dev pairs: 0.02 to 0.04 give the same
links; 0.05 loses two sister pairs whose titles differ only in the population; 0.01 links twins
told apart by a 0.01 difference, right on dev but too close to a coin toss."""

CANDIDATE_FLOOR = 0.3
"""Title cosine below which a pair is not scored at all (the lowest of a same-trial pair in the dev labels is 0.59)."""

CANDIDATES = 5
"""Best title matches kept per registration and registry before scoring."""

DATE_HORIZON_DAYS = 365
"""Start dates this far apart (or further) earn no closeness; registries often record the start
a few weeks or months apart (first country versus first patient)."""

MISSING_DATE = 0.5
"""The closeness of a pair where either start date is missing: neither for nor against."""

MIN_CODE_LENGTH = 5
"""Protocol codes shorter than this (once reduced to letters and digits), or without a letter,
are too likely to be shared by unrelated studies (``7109``, ``20230309``) to link anything."""

CHUNK = 20000
"""Rows of the larger registry compared at once (a dense block of small × CHUNK cosines)."""

NCT_NUMBER = re.compile(r"^NCT\d{8}$")
EU_NUMBER = re.compile(r"^\d{4}-\d{6}-\d{2}")
"""A EudraCT number, or the trial part of an EU CT number (which adds a two-digit suffix)."""

TEXT_FIELDS = ("brief_title", "official_title", "summary", "description")
"""Where a record from another registry may name its ClinicalTrials.gov number."""


def words(text: str | None) -> list[str]:
    """Lower-case runs of letters or digits, accents dropped."""
    return re.findall(r"[^\W_]+", drop_accents((text or "").casefold()))


def title_words(study: Study) -> set[str]:
    return {word for text in (study.brief_title, study.official_title, study.acronym) for word in words(text)}


def sponsor_words(study: Study) -> set[str]:
    names = ([study.lead_sponsor] if study.lead_sponsor else []) + list(study.collaborators)
    return {word for sponsor in names for word in words(sponsor.name)}


def number_key(number: str) -> str:
    """A registry number as linking compares it: an EU CT number by its trial part."""
    number = number.strip().upper()
    match = EU_NUMBER.match(number)
    return match.group(0) if match else number


def cited_numbers(study: Study) -> set[str]:
    """Registry numbers the record names as its own other registrations."""
    cited = {number_key(m.group(0)) for secondary in study.secondary_ids for m in registry_numbers(secondary)}
    if not NCT_NUMBER.match(study.id):
        texts = (getattr(study, name) for name in TEXT_FIELDS)
        cited |= {m.group(0).upper() for text in texts for m in registry_numbers(text) if m.group(0).upper().startswith("NCT")}
    return cited - {number_key(study.id)}


def protocol_codes(study: Study) -> set[str]:
    """Sponsor protocol codes (secondary ids that are not registry numbers), reduced to letters and digits."""
    codes = set()
    for secondary in study.secondary_ids:
        if next(registry_numbers(secondary), None) is None:
            code = "".join(words(secondary))
            if len(code) >= MIN_CODE_LENGTH and any(char.isalpha() for char in code):
                codes.add(code)
    return codes


def start_day(value: PartialDate | None) -> date | None:
    """The first day a (partial) start date can mean."""
    if value is None:
        return None
    year, month, day = (value.value.split("-") + ["1", "1"])[:3]
    return date(int(year), int(month), int(day))


def date_closeness(a: Study, b: Study) -> float:
    first, second = start_day(a.start_date), start_day(b.start_date)
    if first is None or second is None:
        return MISSING_DATE
    return max(0.0, 1 - abs((first - second).days) / DATE_HORIZON_DAYS)


@dataclass(frozen=True)
class Link:
    """Evidence that two registrations belong to one trial."""

    a: str
    b: str
    via: str  # "identifier" or "title"
    score: float | None
    evidence: str

    def rank(self) -> tuple:
        """Stronger first: identifiers before titles, then by score, then by ids (deterministic)."""
        return (self.via != "identifier", -(self.score or 0.0), self.a, self.b)


LINKING_FIELDS = (
    "id", "source", "brief_title", "official_title", "acronym", "secondary_ids", "summary", "description",
    "start_date", "first_posted", "lead_sponsor", "collaborators",
)
"""The fields of a study that :class:`Features` reads: a pass rebuilds only these of every study
(its sites, results and the rest are most of a record), and whole studies for the few it scores."""


@dataclass(frozen=True)
class Features:
    """What linking reads of a study: its title words, sponsor words, the registry numbers and
    protocol codes it names, and (in :attr:`digest`) those with its id, registry, start date and
    first posting. The links of a store are a function of its studies' features alone, so a
    study whose digest did not move cannot change them."""

    titles: set[str]
    sponsors: set[str]
    cited: set[str]
    codes: set[str]
    digest: str

    @classmethod
    def of(cls, study: Study) -> "Features":
        titles, sponsors, cited, codes = title_words(study), sponsor_words(study), cited_numbers(study), protocol_codes(study)
        dates = [value.value if value else None for value in (study.start_date, study.first_posted)]  # as given, never parsed here
        read = [study.id, study.source, *(sorted(words) for words in (titles, sponsors, cited, codes)), *dates]
        return cls(titles, sponsors, cited, codes, hashlib.sha256(orjson.dumps(read)).hexdigest())


class _Collected:
    """What one pass over the studies keeps: ids, registries, title words as a sparse matrix,
    sponsor word counts, and the identifiers studies carry."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.sources: list[str] = []
        self.vocabulary: dict[str, int] = {}
        self.indptr = array("q", [0])
        self.indices = array("i")
        self.sponsor_df: Counter[str] = Counter()
        self.cited: dict[str, set[str]] = defaultdict(set)
        self.codes: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.digests: list[str] = []

    def add(self, study: Study) -> None:
        features = Features.of(study)
        self.ids.append(study.id)
        self.sources.append(study.source)
        self.digests.append(features.digest)
        self.indices.extend(sorted(self.vocabulary.setdefault(word, len(self.vocabulary)) for word in features.titles))
        self.indptr.append(len(self.indices))
        self.sponsor_df.update(features.sponsors)
        for number in features.cited:
            self.cited[number].add(study.id)
        for code in features.codes:
            self.codes[code][study.source].add(study.id)

    def titles(self) -> sparse.csr_matrix:
        """Binary title words weighted by inverse document frequency, rows of unit length."""
        shape = (len(self.ids), len(self.vocabulary))
        ones = np.ones(len(self.indices), dtype=np.float64)
        matrix = sparse.csr_matrix((ones, np.frombuffer(self.indices, dtype=np.int32), np.frombuffer(self.indptr, dtype=np.int64)), shape=shape)
        df = np.bincount(matrix.indices, minlength=shape[1])
        matrix = matrix @ sparse.diags(np.log((1 + shape[0]) / (1 + df)) + 1)
        norms = np.sqrt(matrix.multiply(matrix).sum(axis=1)).A1
        norms[norms == 0] = 1
        return sparse.csr_matrix(sparse.diags(1 / norms) @ matrix)


def identifier_links(collected: _Collected) -> list[Link]:
    """Links a record's own naming of another's registry number or protocol code proves."""
    wanted = set(collected.cited)
    owners = {number_key(study_id): study_id for study_id in collected.ids if number_key(study_id) in wanted}
    found = []
    for number, citing in collected.cited.items():
        named = [owners[number]] if number in owners else []
        members = sorted(set(named) | citing)
        found += [
            Link(members[0], other, "identifier", None, f"{number} named by {', '.join(sorted(citing))}")
            for other in members[1:]
        ]
    for code, by_source in collected.codes.items():
        holders = [next(iter(ids)) for ids in by_source.values() if len(ids) == 1]
        if len(holders) > 1 and len(holders) == len(by_source):
            holders.sort()
            evidence = f"protocol code {code} in {' and '.join(holders)}"
            found += [Link(holders[0], other, "identifier", None, evidence) for other in holders[1:]]
    return found


def title_candidates(collected: _Collected) -> dict[tuple[int, int], float]:
    """Pairs of rows from two registries where each is among the other's best few title matches
    (above the floor), with their title cosine."""
    matrix = collected.titles()
    sources = np.array(collected.sources, dtype=object)
    groups = {source: np.flatnonzero(sources == source) for source in sorted(set(collected.sources))}
    order = sorted(groups, key=lambda source: (len(groups[source]), source))
    pairs: dict[tuple[int, int], float] = {}
    for n, small in enumerate(order):
        rows = groups[small]
        for large in order[n + 1 :]:
            for start in range(0, len(groups[large]), CHUNK):
                columns = groups[large][start : start + CHUNK]
                sims = (matrix[rows] @ matrix[columns].T).toarray()
                for i, j in _best_cells(sims):
                    pairs[(int(rows[i]), int(columns[j]))] = round(float(sims[i, j]), 6)
    return pairs


def _best_cells(sims: np.ndarray) -> Iterable[tuple[int, int]]:
    """Cells among their row's or their column's best few, at or above the floor."""
    keep = np.zeros(sims.shape, dtype=bool)
    for axis in (0, 1):
        k = min(CANDIDATES, sims.shape[axis])
        np.put_along_axis(keep, np.argpartition(-sims, k - 1, axis=axis).take(range(k), axis=axis), True, axis=axis)
    return zip(*np.nonzero(keep & (sims >= CANDIDATE_FLOOR)))


def _cosine(first: set[str], second: set[str], idf: dict[str, float]) -> float:
    norm = math.sqrt(sum(idf[w] ** 2 for w in first)) * math.sqrt(sum(idf[w] ** 2 for w in second))
    return sum(idf[w] ** 2 for w in first & second) / norm if norm else 0.0


def title_links(collected: _Collected, fetch) -> list[Link]:
    """Pairs whose score passes the threshold and that are each other's clear best match in the other's registry."""
    total = len(collected.ids)
    idf = {word: math.log((1 + total) / (1 + df)) + 1 for word, df in collected.sponsor_df.items()}
    scored = []
    for (i, j), title in title_candidates(collected).items():
        a, b = fetch(collected.ids[i]), fetch(collected.ids[j])
        sponsor = _cosine(sponsor_words(a), sponsor_words(b), idf)
        when = date_closeness(a, b)
        score = round(TITLE_WEIGHT * title + SPONSOR_WEIGHT * sponsor + DATE_WEIGHT * when, 4)
        evidence = f"{a.id} and {b.id}: title {title:.2f}, sponsor {sponsor:.2f}, start dates {when:.2f}"
        scored.append((score, a, b, evidence))
    return _one_to_one(scored)


def _one_to_one(scored: list[tuple[float, Study, Study, str]]) -> list[Link]:
    """Strongest pairs first, each registration linked to at most one record of each other
    registry; a pair links when it passes the threshold and beats by the margin every rival
    still free on either side. Repeated until nothing changes, since taking a pair frees its
    rivals' competitors."""
    rivals: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    for score, a, b, _ in scored:
        rivals[(a.id, b.source)].append((score, b.id))
        rivals[(b.id, a.source)].append((score, a.id))
    taken: set[tuple[str, str]] = set()

    def clear_best(study: Study, other: Study, score: float) -> bool:
        return all(
            rival_score <= score - MARGIN
            for rival_score, rival in rivals[(study.id, other.source)]
            if rival != other.id and (rival, study.source) not in taken
        )

    links: list[Link] = []
    ordered = sorted((item for item in scored if item[0] >= LINK_THRESHOLD), key=lambda item: (-item[0], item[1].id, item[2].id))
    changed = True
    while changed:
        changed = False
        for score, a, b, evidence in ordered:
            if (a.id, b.source) in taken or (b.id, a.source) in taken:
                continue
            if clear_best(a, b, score) and clear_best(b, a, score):
                links.append(Link(*sorted((a.id, b.id)), "title", score, evidence))
                taken |= {(a.id, b.source), (b.id, a.source)}
                changed = True
    return links


def group(ids: Iterable[str], links: Iterable[Link]) -> dict[str, str]:
    """Each id → the smallest id of its linked group (union-find; the same whatever the order)."""
    parent = {study_id: study_id for study_id in ids}

    def root(study_id: str) -> str:
        while parent[study_id] != study_id:
            parent[study_id] = parent[parent[study_id]]
            study_id = parent[study_id]
        return study_id

    for link in links:
        first, second = root(link.a), root(link.b)
        if first != second:
            parent[max(first, second)] = min(first, second)
    return {study_id: root(study_id) for study_id in parent}


def naming_order(study: Study) -> tuple:
    """The registration that names a trial sorts first: an NCT number, the first posted, then by id."""
    posted = start_day(study.first_posted) or date.max
    return (not NCT_NUMBER.match(study.id), posted, study.id)


def link_studies(studies: Iterable[Study], fetch) -> list[dict[str, Any]]:
    """One ``trial_registrations`` row per study. ``fetch(id)`` gives a study back, so a store's
    studies are streamed once and only candidates are read again."""
    fetch = cache(fetch)
    collected = _Collected()
    for study in studies:
        collected.add(study)
    links = identifier_links(collected) + title_links(collected, fetch)
    groups = group(collected.ids, links)
    members: dict[str, list[str]] = defaultdict(list)
    for study_id, root in groups.items():
        members[root].append(study_id)
    strongest: dict[str, Link] = {}
    for link in sorted(links, key=Link.rank):
        strongest.setdefault(link.a, link)
        strongest.setdefault(link.b, link)
    rows = []
    digests = dict(zip(collected.ids, collected.digests))
    for ids in members.values():
        trial_id = min((fetch(study_id) for study_id in ids), key=naming_order).id if len(ids) > 1 else ids[0]
        for study_id in ids:
            link = strongest.get(study_id)
            rows.append(
                {
                    "study_id": study_id,
                    "trial_id": trial_id,
                    "via": link.via if link else "self",
                    "score": link.score if link else None,
                    "evidence": link.evidence if link else None,
                    "digest": digests[study_id],
                }
            )
    return sorted(rows, key=lambda row: row["study_id"])


REGISTRATIONS_PASS = "registrations-1"
"""The registration pass's mark in the store (its version: a new one links every study again)."""


def link_registrations(store: Store) -> int:
    """Recompute every study's trial if a study is new or what linking reads of one moved since
    the last pass (a new study can change which registrations are each other's best match
    anywhere, so the pass is whole or not at all); a change to anything else (a status, the
    sites, results) only moves the pass's mark. Returns how many trials have more than one
    registration."""
    latest, mark = store.latest_change(), store.enrichment_mark(REGISTRATIONS_PASS)
    changed = set() if mark is None else store.changed_since(mark)[STUDY.name]
    if mark is None or _features_moved(store, changed):
        studies = store.iter_records(STUDY, fields=LINKING_FIELDS)
        store.replace_registrations(link_studies(studies, store.get_study), mark=(REGISTRATIONS_PASS, latest))
    elif changed:
        store.set_mark((REGISTRATIONS_PASS, latest))
    return store.count_linked_trials()


def _features_moved(store: Store, changed: set[str]) -> bool:
    """Whether any of these changed studies is new to the pass, or its :class:`Features` digest
    differs from the one the pass stored (a store linked before digests were kept has none)."""
    if not changed:
        return False
    held = store.registration_digests(changed)
    return any(held.get(study.id) != Features.of(study).digest for study in store.records_of(STUDY, changed))


COMPARED = ("status", "phase", "enrollment", "start_date", "completion_date")
"""The registry facts a trial's registrations are compared on."""


def _agree(first: Any, second: Any) -> bool:
    """Equal, or for dates the same as far as the less precise one goes (``2023-04`` and ``2023-04-12``)."""
    if isinstance(first, str) and isinstance(second, str):
        return first.startswith(second) or second.startswith(first)
    return first == second


def disagreements(registrations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where a trial's registrations disagree: per field, each registration's value and the
    trial's value, which is the newest record's (by last update posted) when it gives one."""
    newest_first = sorted(registrations, key=lambda r: (r["last_update_posted"] or "", r["id"]), reverse=True)
    found = []
    for name in COMPARED:
        given = [(r["id"], r[name]) for r in newest_first if r[name] is not None]
        if any(not _agree(a, b) for n, (_, a) in enumerate(given) for _, b in given[n + 1 :]):
            found.append(
                {
                    "field": name,
                    "value": given[0][1],
                    "from": given[0][0],
                    "values": [{"id": study_id, "value": value} for study_id, value in given],
                }
            )
    return found
