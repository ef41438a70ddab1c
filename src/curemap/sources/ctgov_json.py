"""ClinicalTrials.gov API v2 study records (``/api/v2/studies``) normalised to :class:`Study`.

The raw API record is the richest form a ClinicalTrials.gov study takes: unlike
the flattened CSV it carries every site, the arms, the design and, once posted,
the results section, which is where outcome figures and adverse events live.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from curemap.model import (
    DATE_FIELDS,
    AdverseEvent,
    Arm,
    Eligibility,
    Intervention,
    Location,
    ParsedRecord,
    PartialDate,
    PlannedOutcome,
    Reference,
    ResultAnalysis,
    ResultValue,
    Sponsor,
    Study,
)
from curemap.normalise import normalise_nct_id, normalise_phase, normalise_status, parse_partial_date
from curemap.sources.validation import API_STUDY, check, record_name

SOURCE = "ctgov"

_FIELDS_BY_PART: dict[tuple[str, ...], frozenset[str]] = {
    ("protocolSection", "identificationModule"): frozenset(
        {"brief_title", "official_title", "acronym", "secondary_ids"}
    ),
    ("protocolSection", "statusModule"): frozenset({"status", "why_stopped", *DATE_FIELDS}),
    ("protocolSection", "sponsorCollaboratorsModule"): frozenset({"lead_sponsor", "collaborators"}),
    ("protocolSection", "descriptionModule"): frozenset({"summary", "description"}),
    ("protocolSection", "conditionsModule"): frozenset({"conditions", "keywords"}),
    ("protocolSection", "designModule"): frozenset(
        {"phase", "phase_raw", "study_type", "design", "enrollment", "enrollment_type"}
    ),
    ("protocolSection", "armsInterventionsModule"): frozenset({"interventions", "arms"}),
    ("protocolSection", "outcomesModule"): frozenset({"outcomes"}),
    ("protocolSection", "eligibilityModule"): frozenset({"eligibility"}),
    ("protocolSection", "contactsLocationsModule"): frozenset({"locations", "total_locations"}),
    ("protocolSection", "referencesModule"): frozenset({"references"}),
    ("hasResults",): frozenset({"has_results"}),
    ("resultsSection", "outcomeMeasuresModule"): frozenset({"result_values", "result_analyses"}),
    ("resultsSection", "adverseEventsModule"): frozenset({"adverse_events"}),
}
"""Which Study fields each part of the record carries. A search requested with
``fields=`` leaves whole modules out; those fields are then unknown, not empty."""

COVERS = frozenset().union(*_FIELDS_BY_PART.values())
"""Every Study field but the identity: the API record is the complete form of a study."""

DEATHS_TERM = "Deaths (all causes)"


def _module(section: dict[str, Any], name: str) -> dict[str, Any]:
    """The named module, or ``{}`` when the record leaves it out."""
    return section.get(name) or {}


def _date(status: dict[str, Any], struct_name: str) -> PartialDate | None:
    struct = status.get(struct_name) or {}
    return parse_partial_date(struct.get("date"), struct.get("type"))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _design(design_info: dict[str, Any]) -> dict[str, Any]:
    """``designInfo`` with snake_case keys and ``maskingInfo`` flattened into it."""
    flat: dict[str, Any] = {}
    for key, value in design_info.items():
        if isinstance(value, dict):
            flat.update({_snake(k): v for k, v in value.items()})
        else:
            flat[_snake(key)] = value
    return flat


def _sponsor(entry: dict[str, Any]) -> Sponsor | None:
    name = (entry.get("name") or "").strip()
    return Sponsor(name, entry.get("class")) if name else None


def _location(site: dict[str, Any]) -> Location:
    geo = site.get("geoPoint") or {}
    return Location(
        country=site.get("country"),
        city=site.get("city"),
        state=site.get("state"),
        facility=site.get("facility"),
        status=normalise_status(site.get("status")),
        lat=geo.get("lat"),
        lon=geo.get("lon"),
    )


def _eligibility(module: dict[str, Any]) -> Eligibility | None:
    if not module:
        return None
    return Eligibility(
        criteria=module.get("eligibilityCriteria"),
        sex=module.get("sex"),
        minimum_age=module.get("minimumAge"),
        maximum_age=module.get("maximumAge"),
        healthy_volunteers=module.get("healthyVolunteers"),
        std_ages=list(module.get("stdAges") or []),
    )


def _secondary_ids(identification: dict[str, Any], nct_id: str) -> list[str]:
    """The sponsor's own study id first, then every registered secondary id, once each."""
    infos = [identification.get("orgStudyIdInfo") or {}] + list(identification.get("secondaryIdInfos") or [])
    ids: list[str] = []
    for info in infos:
        value = (info.get("id") or "").strip()
        if value and value != nct_id and value not in ids:
            ids.append(value)
    return ids


def _planned_outcomes(module: dict[str, Any]) -> list[PlannedOutcome]:
    return [
        PlannedOutcome(
            measure=entry["measure"],
            kind=kind,
            description=entry.get("description"),
            time_frame=entry.get("timeFrame"),
        )
        for kind in ("primary", "secondary", "other")
        for entry in module.get(f"{kind}Outcomes") or []
    ]


def _denominators(denoms: list[dict[str, Any]], where: str) -> dict[str, int]:
    """Participants analysed per group id; the ``Participants`` row when several units are given."""
    if not denoms:
        return {}
    chosen = next((d for d in denoms if d.get("units") == "Participants"), denoms[0])
    counts: dict[str, int] = {}
    for count in chosen.get("counts") or []:
        value = str(count.get("value", "")).strip()
        if not value.isdigit():
            raise ValueError(f"{where}: denominator {value!r} for group {count.get('groupId')} is not a count")
        counts[count["groupId"]] = int(value)
    return counts


def _result_values(module: dict[str, Any]) -> list[ResultValue]:
    """One row per posted figure: measure × class × category × group."""
    rows: list[ResultValue] = []
    for measure in module.get("outcomeMeasures") or []:
        title = measure.get("title") or ""
        group_titles = {g["id"]: g.get("title") for g in measure.get("groups") or []}
        measure_denominators = _denominators(measure.get("denoms") or [], f"outcome measure {title!r}")
        outcome_type, param_type, unit = measure.get("type") or "", measure.get("paramType"), measure.get("unitOfMeasure")
        time_frame, dispersion_type = measure.get("timeFrame"), measure.get("dispersionType")
        for klass in measure.get("classes") or []:
            # A class may be analysed on fewer participants than the measure as a whole.
            denominators = (
                _denominators(klass["denoms"], f"outcome measure {title!r}, class {klass.get('title')!r}")
                if klass.get("denoms")
                else measure_denominators
            )
            class_title = klass.get("title")
            for category in klass.get("categories") or []:
                category_title = category.get("title")
                rows += [
                    ResultValue(  # in field order: the measure's parts were read once above
                        outcome_type,
                        title,
                        figure["groupId"],
                        group_titles.get(figure["groupId"]),
                        figure.get("value"),
                        param_type,
                        unit,
                        time_frame,
                        category_title,
                        class_title,
                        dispersion_type,
                        figure.get("spread"),
                        figure.get("lowerLimit"),
                        figure.get("upperLimit"),
                        denominators.get(figure["groupId"]),
                    )
                    for figure in category.get("measurements") or []
                ]
    return rows


def _result_analyses(module: dict[str, Any]) -> list[ResultAnalysis]:
    """Every posted between-group analysis, with the titles of the groups it compares in its order."""
    rows: list[ResultAnalysis] = []
    for measure in module.get("outcomeMeasures") or []:
        group_titles = {g["id"]: g.get("title") for g in measure.get("groups") or []}
        for analysis in measure.get("analyses") or []:
            ids = list(analysis.get("groupIds") or [])
            notes = [analysis.get(key) for key in ("groupDescription", "estimateComment") if analysis.get(key)]
            rows.append(
                ResultAnalysis(
                    outcome_type=measure.get("type") or "",
                    outcome_title=measure.get("title") or "",
                    group_ids=ids,
                    group_titles=[group_titles.get(i) for i in ids],
                    param_type=analysis.get("paramType"),
                    param_value=analysis.get("paramValue"),
                    ci_percent=analysis.get("ciPctValue"),
                    ci_lower=analysis.get("ciLowerLimit"),
                    ci_upper=analysis.get("ciUpperLimit"),
                    p_value=analysis.get("pValue"),
                    method=analysis.get("statisticalMethod"),
                    non_inferiority=analysis.get("nonInferiorityType"),
                    description=" ".join(notes) or None,
                    unit=measure.get("unitOfMeasure"),
                    time_frame=measure.get("timeFrame"),
                )
            )
    return rows


def _adverse_events(module: dict[str, Any]) -> list[AdverseEvent]:
    """Serious and other events per group, plus all-cause deaths where the groups report them."""
    groups = module.get("eventGroups") or []
    group_titles = {g["id"]: g.get("title") for g in groups}
    events = [
        AdverseEvent(  # in field order
            event["term"],
            seriousness,
            stat["groupId"],
            group_titles.get(stat["groupId"]),
            event.get("organSystem"),
            stat.get("numAffected"),
            stat.get("numAtRisk"),
            stat.get("numEvents"),
        )
        for seriousness, key in (("serious", "seriousEvents"), ("other", "otherEvents"))
        for event in module.get(key) or []
        for stat in event.get("stats") or []
    ]
    events += [
        AdverseEvent(
            term=DEATHS_TERM,
            seriousness="death",
            group_id=group["id"],
            group_title=group.get("title"),
            num_affected=group.get("deathsNumAffected"),
            num_at_risk=group.get("deathsNumAtRisk"),
        )
        for group in groups
        if group.get("deathsNumAffected") is not None or group.get("deathsNumAtRisk") is not None
    ]
    return events


def study_from_api(obj: dict[str, Any]) -> Study:
    """Normalise one API v2 study object; raises ``ValueError`` naming what is missing or malformed."""
    protocol = obj.get("protocolSection")
    if not isinstance(protocol, dict):
        raise ValueError("protocolSection is missing")
    identification = _module(protocol, "identificationModule")
    if not identification.get("nctId"):
        raise ValueError("protocolSection.identificationModule.nctId is missing")
    nct_id = normalise_nct_id(identification["nctId"])
    status = _module(protocol, "statusModule")
    sponsors = _module(protocol, "sponsorCollaboratorsModule")
    description = _module(protocol, "descriptionModule")
    conditions = _module(protocol, "conditionsModule")
    design = _module(protocol, "designModule")
    enrollment = design.get("enrollmentInfo") or {}
    phases = [p for p in design.get("phases") or [] if p]
    arms_interventions = _module(protocol, "armsInterventionsModule")
    sites = _module(protocol, "contactsLocationsModule").get("locations") or []
    results = obj.get("resultsSection") or {}
    return Study(
        id=nct_id,
        source=SOURCE,
        brief_title=identification.get("briefTitle"),
        official_title=identification.get("officialTitle"),
        acronym=identification.get("acronym"),
        secondary_ids=_secondary_ids(identification, nct_id),
        summary=description.get("briefSummary"),
        description=description.get("detailedDescription"),
        status=normalise_status(status.get("overallStatus")),
        why_stopped=status.get("whyStopped"),
        start_date=_date(status, "startDateStruct"),
        primary_completion_date=_date(status, "primaryCompletionDateStruct"),
        completion_date=_date(status, "completionDateStruct"),
        first_posted=_date(status, "studyFirstPostDateStruct"),
        last_update_posted=_date(status, "lastUpdatePostDateStruct"),
        results_first_posted=_date(status, "resultsFirstPostDateStruct"),
        phase=normalise_phase(", ".join(phases)),
        phase_raw="|".join(phases) or None,
        study_type=design.get("studyType"),
        design=_design(design.get("designInfo") or {}),
        enrollment=enrollment.get("count"),
        enrollment_type=enrollment.get("type"),
        lead_sponsor=_sponsor(sponsors.get("leadSponsor") or {}),
        collaborators=[s for s in map(_sponsor, sponsors.get("collaborators") or []) if s],
        conditions=list(conditions.get("conditions") or []),
        keywords=list(conditions.get("keywords") or []),
        interventions=[
            Intervention(
                name=entry["name"],
                type=entry.get("type"),
                description=entry.get("description"),
                other_names=list(entry.get("otherNames") or []),
                arm_labels=list(entry.get("armGroupLabels") or []),
            )
            for entry in arms_interventions.get("interventions") or []
        ],
        arms=[
            Arm(
                label=entry["label"],
                type=entry.get("type"),
                description=entry.get("description"),
                interventions=list(entry.get("interventionNames") or []),
            )
            for entry in arms_interventions.get("armGroups") or []
        ],
        outcomes=_planned_outcomes(_module(protocol, "outcomesModule")),
        eligibility=_eligibility(_module(protocol, "eligibilityModule")),
        locations=[_location(site) for site in sites],
        total_locations=len(sites),
        references=[
            Reference(pmid=entry.get("pmid"), type=entry.get("type"), citation=entry.get("citation"))
            for entry in _module(protocol, "referencesModule").get("references") or []
        ],
        has_results=bool(obj.get("hasResults")) or bool(results),
        result_values=_result_values(results.get("outcomeMeasuresModule") or {}),
        adverse_events=_adverse_events(results.get("adverseEventsModule") or {}),
        result_analyses=_result_analyses(results.get("outcomeMeasuresModule") or {}),
    )


def _lookup(obj: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path``, or ``None`` when any step is absent or not an object."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _covered(obj: dict[str, Any]) -> frozenset[str]:
    """The fields this particular record states, so a ``fields=``-filtered page blanks nothing.

    An unfiltered record (the API always adds ``derivedSection`` and ``hasResults``
    to those) states everything: there a missing module means "none".
    """
    if "derivedSection" in obj and "hasResults" in obj:
        return COVERS
    present = [fields for path, fields in _FIELDS_BY_PART.items() if _lookup(obj, path) is not None]
    return frozenset().union(*present)


def record_from_api(obj: Any, origin: str, position: str = "study", raw: str | None = None) -> ParsedRecord:
    """Wrap one study object as a :class:`ParsedRecord`; a bad one carries its error, never raises.

    ``position`` names the record when it has no NCT id (``studies[3]``); ``raw`` is
    the record's own text when the caller has it (a JSON Lines line), otherwise
    the object is serialised.
    """
    # Parsed JSON holds no cycles: not looking for them writes the same text a seventh faster.
    raw = raw if raw is not None else json.dumps(obj, ensure_ascii=False, sort_keys=True, check_circular=False)
    if not isinstance(obj, dict):
        problem = f"a JSON {type(obj).__name__}, not a study object"
        return ParsedRecord(SOURCE, position, raw, origin, COVERS, error=problem)
    nct_id = _lookup(obj, ("protocolSection", "identificationModule", "nctId"))
    source_id = record_name(nct_id, position)
    try:
        # The API's types are documented, not enforced: a wrong-typed part is a bad record, not a crash.
        check(API_STUDY, obj, strict=True)
        study = study_from_api(obj)
    except ValueError as exc:
        return ParsedRecord(SOURCE, source_id, raw, origin, COVERS, error=str(exc))
    return ParsedRecord(SOURCE, study.id, raw, origin, _covered(obj), study=study)


def looks_like(obj: Any) -> bool:
    """True for one API v2 study, a ``studies`` page, or a list of studies."""
    if isinstance(obj, dict):
        return isinstance(obj.get("protocolSection"), dict) or isinstance(obj.get("studies"), list)
    return isinstance(obj, list) and bool(obj) and all(isinstance(s, dict) and "protocolSection" in s for s in obj)


def iter_records(obj: Any, origin: str) -> Iterator[ParsedRecord]:
    """Yield one record per study in a study object, a ``studies`` page or a list of studies.

    Never raises: an element that is not a study becomes an error record named by its position.
    """
    if isinstance(obj, dict) and "studies" in obj and "protocolSection" not in obj:
        studies = obj["studies"]
        if not isinstance(studies, list):
            raw = json.dumps(obj, ensure_ascii=False, sort_keys=True)
            problem = f"'studies' is a JSON {type(studies).__name__}, not a list of studies"
            yield ParsedRecord(SOURCE, "page", raw, origin, COVERS, error=problem)
            return
        for index, study in enumerate(studies):
            yield record_from_api(study, origin, f"studies[{index}]")
    elif isinstance(obj, list):
        for index, study in enumerate(obj):
            yield record_from_api(study, origin, f"[{index}]")
    else:
        yield record_from_api(obj, origin)
