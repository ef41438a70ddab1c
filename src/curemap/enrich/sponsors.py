"""One sponsor vocabulary: every registry's sponsor classes as the profile's types, names merged.

ClinicalTrials.gov says INDUSTRY or OTHER, EU CTIS says "Pharmaceutical company" or
"Hospital/Clinic/Other health care facility": counted side by side they cannot give a share of
industry sponsorship. The profile's ``sponsors`` section maps each registry's class words onto
one set of types (refining a vague class such as OTHER by the words of the sponsor's name) and
lists the organisations whose affiliates and former names merge into one. Every label keeps the
registry's own name and class words beside the merged ones, so a reader can check the mapping.
"""

from __future__ import annotations

import functools

import re
from dataclasses import dataclass

from curemap.enrich.terms import TermMatcher
from curemap.model import Sponsor, Study
from curemap.normalise import drop_accents
from curemap.profile import WORD, Organisation, Profile, SponsorClass, fold_word, term_words


@dataclass(frozen=True)
class SponsorLabel:
    """A study's sponsor in the profile's vocabulary, beside the registry's own words."""

    role: str  # "lead" | "collaborator"
    name: str  # as the registry writes it
    registry_class: str | None  # the registry's class words, as it writes them
    organisation: str  # the name with variants merged
    type: str  # one of the profile's sponsor types


def plain_words(text: str) -> list[str]:
    """The words of a name as merging compares them: accents dropped, folded as profile terms are."""
    return list(_plain_words(text))


@functools.lru_cache(maxsize=65_536)
def _plain_words(text: str) -> tuple[str, ...]:
    """:func:`plain_words`, remembered: the same names recur across studies and claims."""
    return tuple(fold_word(word) for word in WORD.findall(drop_accents(text)))


def organisation_key(name: str) -> str:
    """What two spellings of one organisation share (case, accents, punctuation aside): the
    report groups merged names by it, so "Tg Therapeutics" and "TG Therapeutics" count as one."""
    return " ".join(plain_words(name))


_MEMO_LIMIT = 100_000
"""Sponsors whose reading is remembered before the memory starts afresh (bounds memory)."""


class SponsorVocabulary:
    """Reads a study's sponsors in the profile's one vocabulary."""

    def __init__(self, profile: Profile):
        words = profile.sponsors
        if words is None:
            raise ValueError(f"profile {profile.id!r} has no sponsors section")
        self._words = words
        self._classes = {
            registry: {item.words: item for item in classes} for registry, classes in words.registries.items()
        }
        self._name_words = {
            sponsor_type.id: TermMatcher((sponsor_type.id, term) for term in sponsor_type.name_words)
            for sponsor_type in words.types
        }
        self._suffixes = sorted(
            {tuple(fold_word(word) for word in term_words(suffix)) for suffix in words.legal_suffixes},
            key=len,
            reverse=True,
        )
        self._organisations: dict[tuple[str, ...], Organisation] = {
            tuple(fold_word(word) for word in term_words(name)): organisation
            for organisation in words.organisations
            for name in organisation.names
        }
        self._longest_name = max((len(key) for key in self._organisations), default=0)
        self._read: dict[tuple[str, str | None, str], tuple[str, str]] = {}

    def read(self, study: Study) -> list[SponsorLabel]:
        """The lead sponsor first, then the collaborators, in the registry's order."""
        sponsors = [("lead", study.lead_sponsor)] if study.lead_sponsor else []
        sponsors += [("collaborator", sponsor) for sponsor in study.collaborators]
        return [self.label(role, sponsor, study.source) for role, sponsor in sponsors if sponsor.name.strip()]

    def label(self, role: str, sponsor: Sponsor, registry: str) -> SponsorLabel:
        name = " ".join(sponsor.name.split())
        key = (name, sponsor.sponsor_class, registry)
        read = self._read.get(key)
        if read is None:  # sponsors recur across thousands of studies: each is read once
            if len(self._read) > _MEMO_LIMIT:
                self._read.clear()
            read = self._read[key] = (self.organisation(name), self.type(name, sponsor.sponsor_class, registry))
        return SponsorLabel(role, name, sponsor.sponsor_class, *read)

    def type(self, name: str, registry_class: str | None, registry: str) -> str:
        """The profile type of a sponsor: its class's type, refined by its name's words where the class allows."""
        entry = self._class(registry_class, registry)
        if entry is None:
            return self._words.unknown_type
        text = drop_accents(name)
        for candidate in entry.refine:
            if self._name_words[candidate].find(text):
                return candidate
        return entry.type

    def typed(self, name: str) -> bool:
        """Whether a name holds a word the profile's sponsor types know organisations by
        ("karolinska", "universit*", "Ltd"), as a name typed in lower case still does."""
        text = drop_accents(name)
        return any(matcher.find(text) for matcher in self._name_words.values())

    def _class(self, registry_class: str | None, registry: str) -> SponsorClass | None:
        """The profile's entry for a class; a class written several times joined by ", " reads as its first part."""
        classes = self._classes.get(registry, {})
        words = (registry_class or "").strip()
        return classes.get(words) or classes.get(words.split(", ")[0])

    def lists(self, name: str) -> bool:
        """Whether a name begins with one of the organisations the profile lists ("Sanofi", "Biogen Idec")."""
        return self._listed(plain_words(name)) is not None

    def _listed(self, words: list[str]) -> Organisation | None:
        """The listed organisation whose name the words begin with, the longest first."""
        for length in range(min(len(words), self._longest_name), 0, -1):
            if (listed := self._organisations.get(tuple(words[:length]))) is not None:
                return listed
        return None

    def organisation(self, name: str) -> str:
        """The merged name: the parent an affiliation names, a listed organisation the name begins
        with, or else the name without remarks and legal suffixes."""
        for pattern in self._words.affiliations:
            found = pattern.search(name)
            if found:
                name = found.group("parent")
                break
        for pattern in self._words.remove:
            name = pattern.sub("", name)
        listed = self._listed(plain_words(name))
        return listed.name if listed is not None else self._without_suffixes(name)

    def _without_suffixes(self, name: str) -> str:
        """The name with trailing legal suffixes cut, one after another; at least one word stays."""
        while True:
            spans = [match.span() for match in WORD.finditer(name)]
            words = plain_words(name)
            if len(words) != len(spans):  # a character whose accents split it: leave the name as it is
                return name.strip()
            cut = next((len(s) for s in self._suffixes if len(s) < len(words) and tuple(words[-len(s) :]) == s), 0)
            if not cut:
                return name.strip()
            name = _TRAILING.sub("", name[: spans[-cut][0]])


_TRAILING = re.compile(r"[\s,.;:&/(\-–]+$")
"""What is left between a name and the legal suffix cut from it ("Genentech, Inc." → "Genentech")."""
