"""Named, transactional schema migrations.

Each migration runs in its own transaction together with the row that records
it in ``schema_migrations``, so a store is always at a named version and a
failed migration leaves the previous version intact. New migrations are only
ever appended.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError

from curemap.console import meter, stderr
from curemap.errors import StoreError
from curemap.store import schema, search, summary
from curemap.store.bulk import bulk_insert


def _create(*tables) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        for table in tables:
            table.create(conn, checkfirst=True)

    return run


LIST_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_studies_start_date ON studies (start_date)",
    "CREATE INDEX IF NOT EXISTS ix_studies_last_update_posted ON studies (last_update_posted)",
    "CREATE INDEX IF NOT EXISTS ix_studies_sponsor_class ON studies (lead_sponsor_class)",
    "CREATE INDEX IF NOT EXISTS ix_record_phenotypes_phenotype ON record_phenotypes (phenotype, record_id)",
    "CREATE INDEX IF NOT EXISTS ix_record_strategies_strategy_record ON record_strategies (strategy, record_id)",
    "CREATE INDEX IF NOT EXISTS ix_study_locations_country_study ON study_locations (country, study_id)",
    "CREATE INDEX IF NOT EXISTS ix_papers_published ON papers (published)",
)
"""Indexes behind the dashboard's and API's list filters and sort orders."""


def _search_and_list_indexes(conn: Connection) -> None:
    """The full-text index (filled from what the store already holds) and the list indexes."""
    search.create_index(conn)
    search.index_existing(conn)
    for statement in LIST_INDEXES:
        conn.execute(text(statement))


def _roles_populations_sponsors_trials(conn: Connection) -> None:
    """Strategy roles, study purpose, the lead sponsor's one-vocabulary type, populations and
    trial registrations. Existing classifications are made stale so enrichment refills them.
    (A new store's earlier migrations already create the columns from the current schema.)"""
    added = {
        "record_strategies": (("role", "VARCHAR(20) NOT NULL DEFAULT 'tested'"),),
        "classifications": (("purpose", "VARCHAR(20)"), ("sponsor_type", "VARCHAR(40)"), ("organisation", "TEXT")),
    }
    for table, columns in added.items():
        present = {column["name"] for column in inspect(conn).get_columns(table)}
        for column, kind in columns:
            if column not in present:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))
    conn.execute(text("UPDATE classifications SET profile_hash = ''"))
    _create(schema.record_populations, schema.trial_registrations)(conn)
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_record_strategies_role ON record_strategies (strategy, role, record_id)"))


def _sponsor_type_index(conn: Connection) -> None:
    """The index behind the lists' filter on the lead sponsor's one-vocabulary type."""
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_classifications_sponsor_type ON classifications (sponsor_type, record_id)"))


def _comparisons_fulltext(conn: Connection) -> None:
    """Results of comparisons; every extraction is made stale so comparisons and full-text figures fill in."""
    _create(schema.comparisons)(conn)
    conn.execute(text("UPDATE extractions SET profile_hash = ''"))


SCALE_INDEXES = {
    "both": (
        "CREATE INDEX IF NOT EXISTS ix_studies_ms_last_update ON studies (is_ms, last_update_posted, id)",
        "CREATE INDEX IF NOT EXISTS ix_studies_curative_last_update ON studies (curative_intent, last_update_posted, id)",
        "CREATE INDEX IF NOT EXISTS ix_studies_last_update_id ON studies (last_update_posted, id)",
        "CREATE INDEX IF NOT EXISTS ix_studies_status_last_update ON studies (status, last_update_posted, id)",
        "CREATE INDEX IF NOT EXISTS ix_studies_phase_last_update ON studies (phase, last_update_posted, id)",
        "CREATE INDEX IF NOT EXISTS ix_papers_published_id ON papers (published, id)",
    ),
    # Newest first with undated records last reads these forwards (SQLite reads the ones above backwards).
    "postgresql": (
        "CREATE INDEX IF NOT EXISTS ix_studies_newest ON studies (last_update_posted DESC NULLS LAST, id DESC)",
        "CREATE INDEX IF NOT EXISTS ix_studies_status_newest ON studies (status, last_update_posted DESC NULLS LAST, id DESC)",
        "CREATE INDEX IF NOT EXISTS ix_studies_phase_newest ON studies (phase, last_update_posted DESC NULLS LAST, id DESC)",
        "CREATE INDEX IF NOT EXISTS ix_studies_ms_newest ON studies (is_ms, last_update_posted DESC NULLS LAST, id DESC)",
        "CREATE INDEX IF NOT EXISTS ix_studies_curative_newest ON studies (curative_intent, last_update_posted DESC NULLS LAST, id DESC)",
        "CREATE INDEX IF NOT EXISTS ix_papers_newest ON papers (published DESC NULLS LAST, id DESC)",
    ),
}
"""Indexes that serve list filters together with their default order, and keyset cursors."""


def _scale(conn: Connection) -> None:
    """Whole-store counts kept as rows (filled from what the store holds); each study's MS and
    curative labels copied onto it (filled from its classification); the list indexes."""
    _create(schema.summary_counts)(conn)
    summary.rebuild(conn)
    present = {column["name"] for column in inspect(conn).get_columns("studies")}
    for column in ("is_ms", "curative_intent"):
        if column not in present:
            conn.execute(text(f"ALTER TABLE studies ADD COLUMN {column} BOOLEAN"))
        conn.execute(text(f"UPDATE studies SET {column} = (SELECT c.{column} FROM classifications c WHERE c.record_id = studies.id)"))
    for statement in SCALE_INDEXES["both"] + (SCALE_INDEXES["postgresql"] if conn.dialect.name == "postgresql" else ()):
        conn.execute(text(statement))


def _kept_trials(conn: Connection) -> None:
    """The overview's and the landscape's trial figures kept as summary rows, and the rows their
    lists of trials read, all filled from what the store holds; the index behind the overview's
    newest changes."""
    _create(schema.strategy_trials, schema.sponsor_trials)(conn)
    summary.rebuild_trials(conn)
    # the overview's newest changes of one kind, read back from the newest
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_changes_kind ON changes (kind, id)"))


def _status_phase_index(conn: Connection) -> None:
    """On SQLite, the index behind a list filtered by status and phase together, newest first.
    Without planner statistics SQLite reads such a list through the status index alone, row by
    row over every study of that status (55,000 at 100,000 studies for COMPLETED) to test each
    one's phase; with both in one index it reads the matching entries only, already in order.
    PostgreSQL's planner, with its statistics, starts from the narrower filter and needs none."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_studies_status_phase_last_update ON studies (status, phase, last_update_posted, id)"))


PREFIX_INDEXES = ("ix_studies_status", "ix_studies_phase", "ix_studies_last_update_posted", "ix_papers_published")
"""Indexes on studies and papers whose column is the first of a wider index
(:data:`SCALE_INDEXES`) that answers every query they did: each one more index every record
written must enter. (Migration 0001 still makes the first two; this one drops them.)"""

LARGE_TEXT = {"studies": ("data",), "papers": ("data",), "raw_records": ("content",), "search_documents": ("title", "body"), "classifications": ("data",)}
"""The columns whose values PostgreSQL compresses (past about 2 kB): records' JSON and verbatim text."""


def _lighter_writes(conn: Connection) -> None:
    """Less work per record written: the prefix indexes dropped, and on a PostgreSQL server
    that has lz4 the large text columns compressed with it (several times faster to write
    and read than the default pglz; values stored before keep theirs)."""
    for name in PREFIX_INDEXES:
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
    if conn.dialect.name != "postgresql" or not lz4_available(conn):
        return
    for table, columns in LARGE_TEXT.items():
        for column in columns:
            conn.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4"))


def lz4_available(conn: Connection) -> bool:
    """Whether the PostgreSQL server was built with lz4 (setting it as the default checks)."""
    try:
        with conn.begin_nested():
            conn.execute(text("SET LOCAL default_toast_compression = 'lz4'"))
    except DBAPIError:
        return False
    return True


OVERVIEW_INDEXES = {
    "sqlite": ("CREATE INDEX IF NOT EXISTS ix_studies_open_curative ON studies (curative_intent, status, is_ms, last_update_posted, id)",),
    "postgresql": (
        "CREATE INDEX IF NOT EXISTS ix_studies_open_curative ON studies (curative_intent, status, is_ms, last_update_posted DESC NULLS LAST, id DESC)",
    ),
}
"""The index behind the overview's list of curative MS trials open now (and any list filtered by
curative intent and status, MS or not): its count and its newest page read only their entries."""


def _change_record_kinds(conn: Connection) -> None:
    """Each change-log entry names the kind of record it is about (filled from the tables that hold
    them), and the log is indexed by kind of change and of record: the overview's newest added
    studies are read back from the newest study entries, not through every paper added since."""
    if "record" not in {column["name"] for column in inspect(conn).get_columns("changes")}:
        conn.execute(text("ALTER TABLE changes ADD COLUMN record VARCHAR(10)"))
    conn.execute(text(
        "UPDATE changes SET record = CASE WHEN EXISTS (SELECT 1 FROM studies s WHERE s.id = changes.record_id) THEN 'study' "
        "WHEN EXISTS (SELECT 1 FROM papers p WHERE p.id = changes.record_id) THEN 'paper' END"
    ))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_changes_kind_record ON changes (kind, record, id)"))
    for statement in OVERVIEW_INDEXES.get(conn.dialect.name, ()):
        conn.execute(text(statement))


LISTING_INDEX = "ix_studies_listing"
"""Each study's id with the columns a list filters and orders it by: a list narrowed to a set of
ids (a strategy, a group, a country, a full-text match …) reads the ids' entries here instead of
their rows (at a million studies the rows of a group's 31,000 studies are gigabytes read from
disk; their entries here a few megabytes), then the rows of its page alone."""


def _strategy_lists(conn: Connection) -> None:
    """The index lists narrowed to a set of ids read, and the kept counts of studies by the
    strategies they are labelled with (the totals of a list filtered by a strategy or a group)."""
    conn.execute(text(f"CREATE INDEX IF NOT EXISTS {LISTING_INDEX} ON studies (id, last_update_posted, status, phase, is_ms, curative_intent)"))
    summary.rebuild_labelled(conn)


def _search_facets(conn: Connection) -> None:
    """Withdrawn papers out of the full-text index; on SQLite, the index made again with each
    record's facets (its kind, a study's phase and status) and a title's words weighing more in
    its relevance. (A store made since has them from migration 0005.)"""
    if conn.dialect.name != "sqlite":
        conn.execute(text("DELETE FROM search_documents WHERE record_id IN (SELECT id FROM papers WHERE deleted)"))
        return
    _index_again(conn)


def _index_again(conn: Connection) -> None:
    """The full-text index made again as this version makes it (:func:`search.index_current`),
    unless it is: each migration that changed the index calls this, so a store several behind is
    indexed once. PostgreSQL's large text keeps lz4 where the server has it (migration 0015)."""
    if search.index_current(conn):
        return
    conn.execute(text("DROP TABLE search_documents"))
    if conn.dialect.name == "sqlite":
        conn.execute(text("DELETE FROM search_keys"))
    search.create_index(conn)
    if conn.dialect.name == "postgresql" and lz4_available(conn):
        for column in LARGE_TEXT["search_documents"]:
            conn.execute(text(f"ALTER TABLE search_documents ALTER COLUMN {column} SET COMPRESSION lz4"))
    search.index_existing(conn)


def _registration_digests(conn: Connection) -> None:
    """Each trial registration keeps a digest of what linking read of its study, so a pass
    after an update that moved none (a status, the sites, results) is skipped. (A new store's
    earlier migrations already create the column from the current schema.)"""
    if "digest" not in {column["name"] for column in inspect(conn).get_columns("trial_registrations")}:
        conn.execute(text("ALTER TABLE trial_registrations ADD COLUMN digest VARCHAR(64)"))


def _written_search_words(conn: Connection) -> None:
    """PostgreSQL: a document's words a column written as its row is (by a trigger, or by the
    insert that brings them, staged), no longer one generated: a worker's connection can then
    stem a partition's documents, not the writer's (:mod:`curemap.store.staging`). The words
    held are kept."""
    if conn.dialect.name != "postgresql":
        return
    generated = conn.exec_driver_sql(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'search_documents' AND column_name = 'document'"
        " AND is_generated = 'ALWAYS'"
    ).first()
    if generated is not None:
        conn.exec_driver_sql("ALTER TABLE search_documents ALTER COLUMN document DROP EXPRESSION")
    search.create_index(conn)


def _store_writes(conn: Connection) -> None:
    """The counter of writing transactions, from nothing (a server reading it anew works every page out again)."""
    schema.store_writes.create(conn, checkfirst=True)
    conn.execute(schema.store_writes.insert().values(id=1, writes=0))


def _dated_labelled_papers(conn: Connection) -> None:
    """Each indexed record dated (:func:`search.record_day`), so a common word is ranked among its
    newest matches (:data:`search.RANK_WINDOW`), and each paper's strategies among its facets, so
    the index answers a paper search by strategy. SQLite: papers keyed by their publication day as
    studies are by their last update, the index made again. PostgreSQL: a column of days filled
    from the records' dates and its index, and the labelled papers' facets written, with the
    trigger that stems a row's words again on an update held off (a paper's words were its text's
    alone, so its facets' are added to them as the trigger would)."""
    if conn.dialect.name == "sqlite" or search.index_current(conn):
        _index_again(conn)
        return
    conn.exec_driver_sql("ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS day INTEGER NOT NULL DEFAULT 0")
    conn.exec_driver_sql("CREATE TEMPORARY TABLE record_days (record_id TEXT PRIMARY KEY, day INTEGER NOT NULL) ON COMMIT DROP")
    for kind, table in (("study", "studies"), ("paper", "papers")):
        column, last = search.DATED_BY[kind], ""
        while rows := conn.execute(
            text(f"SELECT id, {column} FROM {table} WHERE id > :last AND {column} IS NOT NULL ORDER BY id LIMIT 10000"), {"last": last}
        ).all():
            bulk_insert(conn, "record_days", [{"record_id": row[0], "day": search.day_number(row[1])} for row in rows])
            last = rows[-1][0]
    conn.exec_driver_sql("CREATE TEMPORARY TABLE paper_facets (record_id TEXT PRIMARY KEY, facets TEXT NOT NULL) ON COMMIT DROP")
    labelled = list(conn.exec_driver_sql("SELECT DISTINCT r.record_id FROM record_strategies AS r JOIN papers AS p ON p.id = r.record_id").scalars())
    for start in range(0, len(labelled), 10000):
        facets = search.record_facets(conn, labelled[start : start + 10000])
        bulk_insert(conn, "paper_facets", [{"record_id": record_id, "facets": tokens} for record_id, tokens in facets.items()])
    conn.exec_driver_sql("ALTER TABLE search_documents DISABLE TRIGGER search_document_words")
    conn.exec_driver_sql("UPDATE search_documents SET day = d.day FROM record_days AS d WHERE d.record_id = search_documents.record_id")
    conn.exec_driver_sql(
        "UPDATE search_documents SET facets = f.facets, document = document || to_tsvector('simple', f.facets) FROM paper_facets AS f"
        " WHERE f.record_id = search_documents.record_id AND coalesce(search_documents.facets, '') = ''"
    )
    conn.exec_driver_sql("ALTER TABLE search_documents ENABLE TRIGGER search_document_words")
    conn.exec_driver_sql(search.DAY_INDEX)


def _study_filter_facets(conn: Connection) -> None:
    """Every filter of the study list among a study's facets (its lead sponsor's class and type,
    phenotypes, populations, the countries of its sites), so the index answers a search however
    narrowed (:func:`search.facet_tokens`). SQLite: the index made again. PostgreSQL: each study's
    new facets written with the trigger that stems a row's words again held off; they follow the
    ones it held, so their words are added to its document as the trigger would."""
    if conn.dialect.name == "sqlite" or search.index_current(conn):
        _index_again(conn)
        return
    conn.exec_driver_sql("CREATE TEMPORARY TABLE study_facets (record_id TEXT PRIMARY KEY, facets TEXT NOT NULL) ON COMMIT DROP")
    total = conn.exec_driver_sql("SELECT count(*) FROM studies").scalar_one()
    with meter("writing the studies' facets for search", total=total) as bar:
        last = ""
        while ids := list(conn.execute(text("SELECT id FROM studies WHERE id > :last ORDER BY id LIMIT 10000"), {"last": last}).scalars()):
            facets = search.record_facets(conn, ids)
            bulk_insert(conn, "study_facets", [{"record_id": record_id, "facets": tokens} for record_id, tokens in facets.items()])
            last = ids[-1]
            bar.advance(len(ids))
            bar.count(len(ids))
    conn.exec_driver_sql("ALTER TABLE search_documents DISABLE TRIGGER search_document_words")
    conn.exec_driver_sql(
        "UPDATE search_documents AS d SET facets = f.facets,"
        " document = d.document || to_tsvector('simple', substr(f.facets, length(coalesce(d.facets, '')) + 1))"
        " FROM study_facets AS f WHERE f.record_id = d.record_id AND f.facets <> coalesce(d.facets, '')"
    )
    conn.exec_driver_sql("ALTER TABLE search_documents ENABLE TRIGGER search_document_words")


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    (
        "0001_evidence_store",
        _create(
            schema.raw_records,
            schema.studies,
            schema.study_locations,
            schema.study_interventions,
            schema.study_conditions,
            schema.result_values,
            schema.adverse_events,
            schema.changes,
            schema.papers,
            schema.harvest_cursors,
            schema.snapshots,
        ),
    ),
    (
        "0002_classifications",
        _create(schema.classifications, schema.record_strategies, schema.record_phenotypes),
    ),
    ("0003_paper_trial_links", _create(schema.links)),
    ("0004_outcome_figures", _create(schema.outcome_figures, schema.extractions)),
    ("0005_search", _search_and_list_indexes),
    ("0006_roles_populations_sponsors_trials", _roles_populations_sponsors_trials),
    ("0007_sponsor_type_index", _sponsor_type_index),
    ("0008_update_runs", _create(schema.update_lock, schema.update_runs)),
    ("0009_subscriptions", _create(schema.subscriptions, schema.deliveries)),
    ("0010_comparisons_fulltext", _comparisons_fulltext),
    ("0011_scale", _scale),
    ("0013_kept_trials", _kept_trials),
    ("0014_status_phase_index", _status_phase_index),
    ("0015_lighter_writes", _lighter_writes),
    ("0016_change_record_kinds", _change_record_kinds),
    ("0017_strategy_lists", _strategy_lists),
    ("0018_search_facets", _search_facets),
    # empty: a store's first link pass after it links every paper and fills the aliases
    ("0019_incremental_links", _create(schema.registry_aliases, schema.enrichment_marks)),
    # each study's labels among its facets; on PostgreSQL the facets themselves
    ("0020_label_facets", _index_again),
    # SQLite: a study's key in the index is its last update's day, so newest matches are read first
    ("0021_dated_search_keys", _index_again),
    # empty: the next registration pass links every study and keeps each one's digest
    ("0022_registration_digests", _registration_digests),
    ("0023_written_search_words", _written_search_words),
    ("0024_store_writes", _store_writes),
    # every record dated in the index (a common word is ranked among its newest matches), and
    # papers' strategies among its facets
    ("0025_dated_labelled_papers", _dated_labelled_papers),
    # every filter of the study list among a study's facets (a search however narrowed is
    # counted and ranked in the index)
    ("0026_study_filter_facets", _study_filter_facets),
]


def applied(engine: Engine) -> list[str]:
    if not inspect(engine).has_table("schema_migrations"):
        return []
    with engine.connect() as conn:
        return [row.name for row in conn.execute(select(schema.schema_migrations.c.name))]


MIGRATION_LOCK = int.from_bytes(b"curemap", "big")
"""The PostgreSQL advisory lock key that migrating processes take in turn."""


def _take_migration_lock(conn: Connection) -> None:
    """Hold the store's write lock (SQLite) or the migration lock (PostgreSQL) until the
    transaction ends, so that of several processes opening a new store at once one migrates
    and the others, waiting, then find the migration done."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite would begin only at the first INSERT
    else:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def migrate(engine: Engine) -> list[str]:
    """Apply every migration not yet applied; returns the names applied now. Safe when several
    processes open a new store at once: each migration is checked again under the lock."""
    done_before = set(applied(engine))
    if done_before >= {name for name, _ in MIGRATIONS}:
        return []  # the usual open takes no lock
    migrations = schema.schema_migrations
    ran = []
    for name, run in MIGRATIONS:
        try:
            with engine.begin() as conn:
                _take_migration_lock(conn)
                migrations.create(conn, checkfirst=True)
                if conn.execute(select(migrations.c.name).where(migrations.c.name == name)).first():
                    continue
                started = time.monotonic()
                if done_before:  # a store with records: some migrations read them all (minutes for millions)
                    stderr.print(f"migrating the store: {name} …", highlight=False)
                run(conn)
                if done_before:
                    stderr.print(f"migrating the store: {name} done in {time.monotonic() - started:,.1f} s", highlight=False)
                conn.execute(
                    migrations.insert().values(name=name, applied_at=datetime.now(UTC).isoformat(timespec="seconds"))
                )
        except Exception as exc:  # any driver error: report it as a store problem
            problem = (str(getattr(exc, "orig", None) or exc) or type(exc).__name__).splitlines()[0]
            raise StoreError(
                f"migration {name} failed and was rolled back ({problem}); "
                "the store is unchanged at its previous version"
            ) from exc
        ran.append(name)
    return ran
