"""Links between papers and registered trials, found three ways:

- ``databank``: the paper's own record lists the trial (PubMed ``DataBankList``);
- ``text``: the title or abstract names a registry number (NCT, EU CT or EudraCT);
- ``registry_reference``: the registry record cites the paper's PMID.

A registry number resolves to a stored study by its id or by a study's secondary id
(a ClinicalTrials.gov record often lists its EudraCT number); one that resolves to
nothing is kept as given, so the link still names the trial.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from curemap.model import Paper, Study
from curemap.store import Store
from curemap.store.kinds import PAPER, STUDY

REGISTRY_NUMBER = re.compile(
    r"\b(NCT\d{8}|\d{4}-\d{6}-\d{2}-\d{2}|\d{4}-\d{6}-\d{2})\b",
)
"""ClinicalTrials.gov, EU CT (CTIS) and EudraCT numbers."""


def registry_numbers(text: str | None) -> Iterator[re.Match[str]]:
    return REGISTRY_NUMBER.finditer(text or "")


def aliases_of(study: Study) -> list[tuple[str, str]]:
    """Every (registry number, study id) a study is known by: its own id and its secondary ids."""
    known = {(match.group(0).upper(), study.id) for secondary in study.secondary_ids for match in registry_numbers(secondary)}
    return sorted(known | {(study.id, study.id)})


def resolver(aliases: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each number → the study it names: the study with that id, else the first by id that lists
    it among its secondary ids."""
    named: dict[str, str] = {}
    for number, study_id in aliases:
        if number == study_id:
            named[number] = study_id
        elif named.get(number) != number:
            named[number] = min(named.get(number, study_id), study_id)
    return named


def paper_links(paper: Paper, aliases: dict[str, str]) -> list[dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for trial_id in paper.trial_ids:
        number = trial_id.strip().upper()
        target = aliases.get(number, number)
        found.setdefault((target, "databank"), {"paper_id": paper.id, "study_id": target, "via": "databank", "evidence": trial_id})
    for field_name in ("title", "abstract"):
        for match in registry_numbers(getattr(paper, field_name)):
            number = match.group(0).upper()
            target = aliases.get(number, number)
            found.setdefault(
                (target, "text"),
                {"paper_id": paper.id, "study_id": target, "via": "text", "evidence": f"{field_name}[{match.start()}:{match.end()}]"},
            )
    return list(found.values())


def study_reference_links(study: Study) -> list[dict[str, Any]]:
    return [
        {"paper_id": f"PMID:{ref.pmid}", "study_id": study.id, "via": "registry_reference", "evidence": ref.citation}
        for ref in study.references
        if ref.pmid and ref.pmid.strip().isdigit()
    ]


LINKS_PASS = "links-1"
"""The link pass's mark in the store (its version: a new one relinks every paper once)."""
FOUND_IN_PAPERS = ("databank", "text")
"""Links a paper's own record gives; the others (``registry_reference``) a study's."""


def link_store(store: Store) -> int:
    """Bring the paper–study links up to date with what the change log says changed since the last
    pass (every link on a store's first pass); returns how many links were written."""
    mark = store.enrichment_mark(LINKS_PASS)
    latest = store.latest_change()
    if mark is None:
        return _link_everything(store, latest)
    if mark == latest:
        return 0
    changed = store.changed_since(mark)
    studies = list(store.records_of(STUDY, changed[STUDY.name]))
    aliases = [alias for study in studies for alias in aliases_of(study)]
    numbers = {number for number, _ in aliases + store.aliases_of(studies=changed[STUDY.name])}
    named_before = resolver(store.aliases_of(numbers=numbers))
    # papers whose links may move: those changed, and those naming a changed study or a number it held or holds
    relinked = changed[PAPER.name] | store.papers_linked_to(changed[STUDY.name] | numbers | set(named_before.values()), FOUND_IN_PAPERS)
    papers = list(store.records_of(PAPER, relinked))
    mentioned = {number for paper in papers for number in _numbers_in(paper)}
    kept = [alias for alias in store.aliases_of(numbers=mentioned) if alias[1] not in changed[STUDY.name]]
    named = resolver(kept + [alias for alias in aliases if alias[0] in mentioned])
    rows = [row for study in studies for row in study_reference_links(study)]
    rows += [row for paper in papers for row in paper_links(paper, named)]
    store.write_links(
        rows, aliases, mark=(LINKS_PASS, latest), studies=changed[STUDY.name], papers=relinked, via=FOUND_IN_PAPERS
    )
    return len(rows)


def _link_everything(store: Store, latest: int) -> int:
    """Every link and alias, from every stored study and paper."""
    aliases: list[tuple[str, str]] = []
    rows: list[dict[str, Any]] = []
    for study in store.iter_studies():
        aliases += aliases_of(study)
        rows += study_reference_links(study)
    named = resolver(aliases)
    rows += [row for paper in store.iter_records(PAPER) for row in paper_links(paper, named)]
    store.write_links(rows, aliases, mark=(LINKS_PASS, latest))
    return len(rows)


def _numbers_in(paper: Paper) -> set[str]:
    """The registry numbers a paper names: its links' targets when no number resolves."""
    return {row["study_id"] for row in paper_links(paper, {})}
