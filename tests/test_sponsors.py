"""One sponsor vocabulary on the real registry files: every ClinicalTrials.gov class and every CTIS
type maps onto the profile's types, name variants merge, and the registry's words stay beside them."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from curemap.enrich.sponsors import SponsorLabel, SponsorVocabulary, organisation_key
from curemap.model import Sponsor, Study
from curemap.profile import load_profile
from curemap.sources.files import iter_file_records
from tests.conftest import CTGOV_CSV, CTIS_CSV


@pytest.fixture(scope="module")
def vocabulary() -> SponsorVocabulary:
    return SponsorVocabulary(load_profile())


@pytest.fixture(scope="module")
def studies() -> dict[str, Study]:
    records = [r for path in (CTGOV_CSV, CTIS_CSV) for r in iter_file_records(path)]
    return {r.study.id: r.study for r in records if r.study}


@pytest.fixture(scope="module")
def labels(vocabulary, studies) -> dict[str, list[SponsorLabel]]:
    return {study_id: vocabulary.read(study) for study_id, study in studies.items()}


def column(path, name: str) -> set[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row[name] for row in csv.DictReader(handle)}


def test_every_class_in_the_real_files_is_listed_in_the_profile():
    listed = {registry: {c.words for c in classes} for registry, classes in load_profile().sponsors.registries.items()}
    ctgov = column(CTGOV_CSV, "LeadSponsorClass") | {
        part for cell in column(CTGOV_CSV, "CollaboratorClasses") for part in cell.split("|") if part
    }
    assert ctgov == {"INDUSTRY", "OTHER", "NIH", "FED", "OTHER_GOV", "NETWORK", "INDIV", "UNKNOWN", "AMBIG"}
    assert ctgov <= listed["ctgov"]
    # a type written twice for a sponsor written as two joined names reads as its first part
    assert {cell.split(", ")[0] for cell in column(CTIS_CSV, "Sponsor type")} <= listed["ctis"]


def test_every_sponsor_of_both_registries_gets_a_profile_type(labels, studies):
    types = {t.id for t in load_profile().sponsors.types}
    for study_id, found in labels.items():
        study = studies[study_id]
        assert len(found) == bool(study.lead_sponsor) + len(study.collaborators), study_id
        for label in found:
            assert label.type in types and label.organisation, (study_id, label)
    leads = Counter(label.type for found in labels.values() for label in found if label.role == "lead")
    assert set(leads) == types  # every type is used by some lead sponsor of the real files
    assert leads["industry"] > 1000 and leads["academic_hospital"] > 2000


def lead(labels, study_id: str) -> SponsorLabel:
    return next(label for label in labels[study_id] if label.role == "lead")


def test_ctgov_classes_map_and_other_is_refined_by_the_name(labels):
    assert lead(labels, "NCT04019912") == SponsorLabel(
        "lead", "IRCCS Centro Neurolesi Bonino Pulejo", "OTHER", "IRCCS Centro Neurolesi Bonino Pulejo", "academic_hospital"
    )
    queen_mary, *collaborators = labels["NCT04490044"]
    assert (queen_mary.registry_class, queen_mary.type) == ("OTHER", "academic_hospital")
    assert [(c.name, c.registry_class, c.organisation, c.type) for c in collaborators] == [
        ("Roche Pharma AG", "INDUSTRY", "F. Hoffmann-La Roche", "industry"),
        ("Barts & The London NHS Trust", "OTHER", "Barts & The London NHS Trust", "academic_hospital"),
    ]
    by_name = {label.name: label for found in labels.values() for label in found}
    expected = {
        "National Multiple Sclerosis Society": ("OTHER", "patient_organisation"),
        "Fondazione Italiana Sclerosi Multipla": ("OTHER", "patient_organisation"),
        "National Institute of Neurological Disorders and Stroke (NINDS)": ("NIH", "government"),
        "VA Office of Research and Development": ("FED", "government"),
        "Immune Tolerance Network (ITN)": ("NETWORK", "network"),
        "Brown, Theodore R., M.D., MPH": ("INDIV", "individual"),
        "Swiss National Science Foundation": ("OTHER", "government"),
        "Kessler Foundation": ("OTHER", "other"),  # a foundation not named as a patients' organisation
    }
    for name, (registry_class, sponsor_type) in expected.items():
        assert (by_name[name].registry_class, by_name[name].type) == (registry_class, sponsor_type), name


def test_ctis_types_map_with_the_registry_words_kept(labels):
    rows = {}
    with CTIS_CSV.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            rows[row["Trial number"]] = row
    mapping = {
        "Pharmaceutical company": "industry",
        "Hospital/Clinic/Other health care facility": "academic_hospital",
        "Laboratory/Research/Testing facility": "academic_hospital",
        "Educational Institution": "academic_hospital",
        "Health care": "academic_hospital",
        "Patient organisation/association": "patient_organisation",
    }
    seen = set()
    for trial, row in rows.items():
        label = lead(labels, trial)
        words = row["Sponsor type"].split(", ")[0]
        assert label.registry_class.split(", ")[0] == words
        assert label.type == mapping[words], (trial, label)
        seen.add(words)
    assert seen == set(mapping)
    # the connector pairs the joined names with their types; the joined cell itself still reads
    ccdrd = next(trial for trial, row in rows.items() if row["Sponsor type"] == "Pharmaceutical company, Pharmaceutical company")
    assert [(label.role, label.type) for label in labels[ccdrd]] == [("lead", "industry"), ("collaborator", "industry")]
    row = rows[ccdrd]
    joined = SponsorVocabulary(load_profile()).label("lead", Sponsor(row["Sponsor/Co-Sponsors"], row["Sponsor type"]), "ctis")
    assert (joined.registry_class, joined.type) == ("Pharmaceutical company, Pharmaceutical company", "industry")


def test_the_three_spellings_of_merck_kgaa_merge(labels):
    spellings = {
        "Merck KGaA, Darmstadt, Germany",
        "EMD Serono",
        "Merck Healthcare KGaA, Darmstadt, Germany, an affiliate of Merck KGaA, Darmstadt, Germany",
    }
    merged = {label.name: label.organisation for found in labels.values() for label in found if label.name in spellings}
    assert merged == dict.fromkeys(spellings, "Merck KGaA")
    # Merck & Co. (MSD) is another company
    msd = next(label for found in labels.values() for label in found if label.name == "Merck Sharp & Dohme LLC")
    assert msd.organisation == "Merck & Co."


def test_parents_affiliations_suffixes_and_spellings_merge(vocabulary):
    merged = {
        "Genentech, Inc.": "F. Hoffmann-La Roche",
        "F. Hoffmann-La Roche AG": "F. Hoffmann-La Roche",
        "Hoffmann-La Roche": "F. Hoffmann-La Roche",
        "Biogen Idec Research Limited": "Biogen",
        "Sanofi-Aventis Recherche & Developpement": "Sanofi",
        "Genzyme, a Sanofi Company": "Sanofi",
        "Novartis Pharma AG": "Novartis",
        "Novartis Pharmaceuticals": "Novartis",
        "Celgene International II S.a.r.l.": "Bristol-Myers Squibb",
        "Wyeth is now a wholly owned subsidiary of Pfizer": "Pfizer",
        "Acceleron Pharma, Inc., a wholly-owned subsidiary of Merck & Co., Inc., Rahway, NJ USA": "Merck & Co.",
        "Centre Hospitalier Universitaire De Rennes": "Rennes University Hospital",
        "Immunic AG": "Immunic",
        "Zenas BioPharma (USA), LLC": "Zenas BioPharma",
        "Kyverna Therapeutics Inc.": "Kyverna Therapeutics",
        "Eli Lilly & Co.": "Eli Lilly",
    }
    assert {name: vocabulary.organisation(name) for name in merged} == merged
    # spellings that differ in case and accents only are one organisation to the report
    assert organisation_key("Tg Therapeutics") == organisation_key("TG Therapeutics")
    assert organisation_key("Assistance Publique Hopitaux De Paris") == organisation_key("Assistance Publique - Hôpitaux de Paris")


def test_top_60_lead_sponsors_merge_their_variants(labels):
    """Among the 60 commonest lead organisations, no two are spellings of one organisation."""
    counts = Counter(organisation_key(lead(labels, s).organisation) for s in labels if any(l.role == "lead" for l in labels[s]))
    top = [key for key, _ in counts.most_common(60)]
    first_words = Counter(key.split()[0] for key in top if key.split()[0] not in {"university", "universitat", "the", "national", "centre", "state"})
    assert [word for word, n in first_words.items() if n > 1] == []


def test_an_unknown_class_maps_to_other_with_the_registry_words_kept(vocabulary):
    study = Study(
        id="NCT00000000",
        source="ctgov",
        lead_sponsor=Sponsor("Acme Biologics GmbH", "SPACE_AGENCY"),
        collaborators=[Sponsor("Somewhere", None)],
    )
    assert vocabulary.read(study) == [
        SponsorLabel("lead", "Acme Biologics GmbH", "SPACE_AGENCY", "Acme Biologics", "other"),
        SponsorLabel("collaborator", "Somewhere", None, "Somewhere", "other"),
    ]
    assert vocabulary.read(Study(id="x", source="another_registry", lead_sponsor=Sponsor("Bayer", "INDUSTRY")))[0].type == "other"


def test_reading_is_deterministic(vocabulary, studies):
    sample = list(studies.values())[:300]
    assert [vocabulary.read(s) for s in sample] == [SponsorVocabulary(load_profile()).read(s) for s in sample]
