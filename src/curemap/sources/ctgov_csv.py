"""ClinicalTrials.gov studies flattened to one CSV row each (list fields joined with ``|``).

This is the format of the offline snapshot. Rows stream one at a time, so memory
stays flat however large the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from curemap.model import (
    Intervention,
    Location,
    ParsedRecord,
    PlannedOutcome,
    Sponsor,
    Study,
)
from curemap.normalise import (
    normalise_phase,
    normalise_status,
    parse_partial_date,
)
from curemap.sources.csv_rows import iter_csv_records
from curemap.sources.validation import CTGOV_ROW, check

SOURCE = "ctgov"

REQUIRED_COLUMNS = frozenset({"NCTId", "BriefTitle", "OverallStatus", "StudyType", "Phase"})
"""The header columns that identify this format."""

COVERS = frozenset(
    {
        "brief_title",
        "official_title",
        "status",
        "start_date",
        "primary_completion_date",
        "completion_date",
        "last_update_posted",
        "first_posted",
        "results_first_posted",
        "study_type",
        "phase",
        "phase_raw",
        "enrollment",
        "enrollment_type",
        "lead_sponsor",
        "collaborators",
        "conditions",
        "keywords",
        "locations",
        "total_locations",
        "interventions",
        "outcomes",
        "has_results",
    }
)


def _split(value: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.split("|") if part.strip()]


def row_to_study(row: dict[str, str]) -> Study:
    """Normalise one flattened row; raises ``ValueError`` naming the bad field."""
    cells = check(CTGOV_ROW, row, strict=False)
    nct_id = cells["NCTId"]
    collaborator_names = _split(row.get("Collaborators"))
    collaborator_classes = _split(row.get("CollaboratorClasses"))
    intervention_names = _split(row.get("InterventionNames"))
    intervention_types = _split(row.get("InterventionTypes"))
    countries = _split(row.get("LocationCountry"))
    cities = _split(row.get("LocationCity"))
    states = _split(row.get("LocationState"))
    sponsor_name = (row.get("LeadSponsorName") or "").strip()
    return Study(
        id=nct_id,
        source=SOURCE,
        brief_title=(row.get("BriefTitle") or "").strip() or None,
        official_title=(row.get("OfficialTitle") or "").strip() or None,
        status=normalise_status(row.get("OverallStatus")),
        start_date=parse_partial_date(cells.get("StartDate")),
        primary_completion_date=parse_partial_date(cells.get("PrimaryCompletionDate")),
        completion_date=parse_partial_date(cells.get("CompletionDate")),
        last_update_posted=parse_partial_date(cells.get("LastUpdatePostDate")),
        first_posted=parse_partial_date(cells.get("StudyFirstPostDate")),
        results_first_posted=parse_partial_date(cells.get("ResultsFirstPostDate")),
        study_type=(row.get("StudyType") or "").strip().upper() or None,
        phase=normalise_phase((row.get("Phase") or "").replace("|", ", ")),
        phase_raw=(row.get("Phase") or "").strip() or None,
        enrollment=cells.get("EnrollmentCount"),
        enrollment_type=(row.get("EnrollmentType") or "").strip().upper() or None,
        lead_sponsor=Sponsor(sponsor_name, (row.get("LeadSponsorClass") or "").strip() or None)
        if sponsor_name
        else None,
        collaborators=[
            Sponsor(name, collaborator_classes[i] if i < len(collaborator_classes) else None)
            for i, name in enumerate(collaborator_names)
        ],
        conditions=_split(row.get("Conditions")),
        keywords=_split(row.get("Keywords")),
        # The flattened file carries the first site only (TotalLocations
        # counts them all); its columns line up position by position.
        locations=[
            Location(
                country=country,
                city=cities[i] if len(cities) == len(countries) else None,
                state=states[i] if len(states) == len(countries) else None,
            )
            for i, country in enumerate(countries)
        ],
        total_locations=cells.get("TotalLocations"),
        interventions=[
            Intervention(
                name=name,
                type=intervention_types[i] if len(intervention_types) == len(intervention_names) else None,
            )
            for i, name in enumerate(intervention_names)
        ],
        outcomes=[PlannedOutcome(m, "primary") for m in _split(row.get("PrimaryOutcomeMeasures"))]
        + [PlannedOutcome(m, "secondary") for m in _split(row.get("SecondaryOutcomeMeasures"))],
        has_results=bool(cells.get("HasResults")),
    )


def looks_like(header: list[str]) -> bool:
    return REQUIRED_COLUMNS <= set(header)


def iter_records(lines: Iterable[str], origin: str) -> Iterator[ParsedRecord]:
    """Yield one :class:`ParsedRecord` per row; a bad row carries its error, never raises."""
    return iter_csv_records(
        lines, origin, source=SOURCE, parse=row_to_study, covers=lambda _: COVERS, id_column="NCTId"
    )
