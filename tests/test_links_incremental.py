"""Paper–trial links kept up to date from the change log: a pass relinks only the papers and
studies that changed (and the papers naming what a changed study is known by), and gives the
very links a pass over every record gives."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from curemap.enrich.links import LINKS_PASS, link_store
from curemap.sources.files import iter_file_records
from curemap.store import Store, schema
from tests.conftest import SHARED_DATA
from tests.test_store import csv_rows, records_from_rows

LITERATURE_CSV = SHARED_DATA / "literature" / "ms_articles_2021_2022.csv"
RAW_V2 = sorted((SHARED_DATA / "ctgov" / "raw-v2").glob("*.json"))


def _literature_rows() -> list[dict[str, str]]:
    with LITERATURE_CSV.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _write_literature(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _table(store: Store, table) -> list[tuple]:
    with store.engine.connect() as conn:
        return sorted(tuple("" if v is None else v for v in row) for row in conn.execute(select(table)))


def test_a_pass_relinks_what_changed_and_gives_the_links_of_a_whole_pass(store_url, tmp_path, monkeypatch):
    store = Store(store_url)
    studies, papers = csv_rows(), _literature_rows()
    store.import_records(records_from_rows(studies[:300]))
    store.import_records(iter_file_records(_write_literature(tmp_path / "first.csv", papers[:600])))
    assert link_store(store) > 0  # the first pass links everything
    assert link_store(store) == 0  # nothing changed since

    # Papers naming trials by numbers no stored study holds yet: an EU CT number that a
    # ClinicalTrials.gov record lists among its secondary ids, and an NCT number; and a stored
    # paper whose abstract now names a trial.
    named = dict(papers[600], abstract=papers[600]["abstract"] + " Registered as EU CT 2023-510380-34-00.")
    renamed = dict(papers[10], abstract=papers[10]["abstract"] + " ClinicalTrials.gov: NCT02552212.")
    store.import_records(iter_file_records(_write_literature(tmp_path / "second.csv", [named, renamed, *papers[601:]])))
    store.import_records(records_from_rows(studies[300:]))
    for path in RAW_V2:  # API records: secondary ids (EudraCT, EU CT) and references with PMIDs
        store.import_records(iter_file_records(path))

    def every_record(*_args, **_kwargs):
        raise AssertionError("an incremental pass read every record")

    with monkeypatch.context() as patched:
        patched.setattr(Store, "iter_records", every_record)
        assert link_store(store) > 0
    incremental = (_table(store, schema.links), _table(store, schema.registry_aliases))

    links = {(row[0], row[1], row[2]) for row in incremental[0]}
    assert (f"PMID:{named['pmid']}", "NCT06655896", "text") in links  # resolved through the secondary id
    assert (f"PMID:{renamed['pmid']}", "NCT02552212", "text") in links
    assert ("PMID:35296532", "NCT02552212", "registry_reference") in links
    assert ("2015-001894-41", "NCT02552212") in incremental[1]

    with store.engine.begin() as conn:
        conn.execute(delete(schema.enrichment_marks).where(schema.enrichment_marks.c.name == LINKS_PASS))
    link_store(store)  # a whole pass, as on a store's first
    assert (_table(store, schema.links), _table(store, schema.registry_aliases)) == incremental
    store.close()


CTIS_CSV = SHARED_DATA / "ctis" / "ctis_ms_20250924.csv"


@pytest.mark.parametrize("listed_first", [True, False])
def test_a_number_names_the_study_with_that_id_before_one_listing_it(store_url, tmp_path, listed_first):
    """A study whose own id a paper names takes the paper's link from one that only lists the
    number among its secondary ids, whichever was stored first."""
    store = Store(store_url)
    number = "2023-510380-34-00"  # the EU CT number NCT06655896 lists among its secondary ids
    api = SHARED_DATA / "ctgov" / "raw-v2" / "page_search_ms_recruiting_portland.json"
    with CTIS_CSV.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        ctis = dict(next(reader), **{"Trial number": number})  # a real CTIS row under that number
        fields = reader.fieldnames
    with (tmp_path / "ctis.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerow(ctis)
    paper = dict(_literature_rows()[0], abstract=f"An open-label extension of trial {number}.")
    store.import_records(iter_file_records(_write_literature(tmp_path / "paper.csv", [paper])))
    store.import_records(iter_file_records(api))
    if listed_first:
        link_store(store)
    store.import_records(iter_file_records(tmp_path / "ctis.csv"))
    link_store(store)
    targets = {row[1] for row in _table(store, schema.links) if row[0] == f"PMID:{paper['pmid']}"}
    assert targets == {number}
    assert (number, "NCT06655896") in _table(store, schema.registry_aliases)
    store.close()


def _linked_with_passes_counted(store_url, monkeypatch):
    """A store of 200 ClinicalTrials.gov studies and the CTIS records, its registrations linked
    once; each whole pass from then on is counted in ``passes`` (``whole``: the pass itself)."""
    from curemap.enrich import registrations

    store = Store(store_url)
    rows = csv_rows()[:200]
    store.import_records(records_from_rows(rows))
    store.import_records(iter_file_records(CTIS_CSV))
    passes = []
    whole = registrations.link_studies
    monkeypatch.setattr(registrations, "link_studies", lambda *args: passes.append(1) or whole(*args))
    linked = registrations.link_registrations(store)
    assert linked > 0 and len(passes) == 1
    return store, rows, passes, whole, linked


def test_registrations_are_linked_again_only_once_a_study_changes(store_url, tmp_path, monkeypatch):
    from curemap.enrich import registrations

    store, rows, passes, whole, linked = _linked_with_passes_counted(store_url, monkeypatch)
    store.import_records(iter_file_records(_write_literature(tmp_path / "papers.csv", _literature_rows()[:50])))
    assert registrations.link_registrations(store) == linked and len(passes) == 1  # papers only: nothing to relink
    store.import_records(records_from_rows([dict(rows[0], BriefTitle=rows[0]["BriefTitle"] + " (extension)")]))
    assert registrations.link_registrations(store) == linked and len(passes) == 2
    store.close()


def test_a_change_linking_does_not_read_moves_the_mark_and_keeps_the_trials_a_whole_pass_gives(store_url, monkeypatch):
    """A registration pass is skipped when the studies that changed changed nothing linking
    reads (here a status and an enrollment): its mark moves past them, and the trials stored
    are those a pass over every study gives now. A changed start date is read, and relinks."""
    from curemap.enrich import registrations

    store, rows, passes, whole, linked = _linked_with_passes_counted(store_url, monkeypatch)

    status = "TERMINATED" if rows[0]["OverallStatus"] != "TERMINATED" else "COMPLETED"
    store.import_records(records_from_rows([dict(rows[0], OverallStatus=status), dict(rows[1], EnrollmentCount="9999")]))
    latest = store.latest_change()
    assert registrations.link_registrations(store) == linked and len(passes) == 1
    assert store.enrichment_mark(registrations.REGISTRATIONS_PASS) == latest
    assert store.changed_since(latest)["study"] == set()
    assert _table(store, schema.trial_registrations) == sorted(
        tuple("" if v is None else v for v in row.values()) for row in whole(store.iter_studies(), store.get_study)
    )

    store.import_records(records_from_rows([dict(rows[2], StartDate="1999-01")]))
    assert registrations.link_registrations(store) == linked and len(passes) == 2
    store.close()


def test_registrations_linked_before_digests_were_kept_are_linked_again_once_a_study_changes(store_url):
    """A store linked before migration 0022 holds no digest: the first study changed after it
    relinks every study, whatever changed, and the rows then hold digests."""
    from curemap.enrich import registrations

    store = Store(store_url)
    rows = csv_rows()[:50]
    store.import_records(records_from_rows(rows))
    registrations.link_registrations(store)
    with store.engine.begin() as conn:
        conn.execute(schema.trial_registrations.update().values(digest=None))
    status = "TERMINATED" if rows[0]["OverallStatus"] != "TERMINATED" else "COMPLETED"
    store.import_records(records_from_rows([dict(rows[0], OverallStatus=status)]))
    registrations.link_registrations(store)
    with store.engine.connect() as conn:
        digests = list(conn.execute(select(schema.trial_registrations.c.digest)).scalars())
    assert len(digests) == 50 and all(digests)
    store.close()


def test_a_registration_pass_writes_only_the_rows_that_differ(store_url):
    """A pass recomputes every study's trial but rewrites only the rows that moved (on SQLite,
    triggers log every row deleted or inserted); on both stores the table is then exactly the
    pass's rows."""
    from curemap.enrich.registrations import REGISTRATIONS_PASS, link_registrations

    store = Store(store_url)
    store.import_records(records_from_rows(csv_rows()[:100]))
    store.import_records(iter_file_records(CTIS_CSV))
    link_registrations(store)
    rows = [dict(zip(("study_id", "trial_id", "via", "score", "evidence", "digest"), row)) for row in _table(store, schema.trial_registrations)]
    sqlite = store.engine.dialect.name == "sqlite"
    if sqlite:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE written (study_id TEXT)")
            for event, row in (("DELETE", "old"), ("INSERT", "new")):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER written_{event.lower()} AFTER {event} ON trial_registrations"
                    f" BEGIN INSERT INTO written VALUES ({row}.study_id); END"
                )
    apart = next(row for row in rows if row["via"] != "self")
    moved = [dict(row, trial_id=row["study_id"], via="self", score="", evidence="") if row is apart else row for row in rows]
    store.replace_registrations([{k: (None if v == "" else v) for k, v in row.items()} for row in moved], mark=(REGISTRATIONS_PASS, 0))
    assert _table(store, schema.trial_registrations) == sorted(tuple(row.values()) for row in moved)
    if sqlite:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT study_id FROM written").scalars().all() == [apart["study_id"]] * 2
    store.close()
