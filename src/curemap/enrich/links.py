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
from collections.abc import Iterator
from typing import Any

from curemap.model import Paper, Study
from curemap.store import Store
from curemap.store.kinds import PAPER

REGISTRY_NUMBER = re.compile(
    r"\b(NCT\d{8}|\d{4}-\d{6}-\d{2}-\d{2}|\d{4}-\d{6}-\d{2})\b",
)
"""ClinicalTrials.gov, EU CT (CTIS) and EudraCT numbers."""


def registry_numbers(text: str | None) -> Iterator[re.Match[str]]:
    return REGISTRY_NUMBER.finditer(text or "")


def add_aliases(aliases: dict[str, str], study: Study) -> None:
    """Record every id the study is known by (its own and its secondary ids) → its id."""
    for secondary in study.secondary_ids:
        for match in registry_numbers(secondary):
            aliases.setdefault(match.group(0).upper(), study.id)
    aliases[study.id] = study.id


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


def link_store(store: Store) -> int:
    """Recompute every link from the stored papers and studies; returns how many."""
    aliases: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for study in store.iter_studies():
        add_aliases(aliases, study)
        rows += study_reference_links(study)
    rows += [row for paper in store.iter_records(PAPER) for row in paper_links(paper, aliases)]
    store.replace_links(rows)
    return len(rows)
