"""The store's tables, in SQLAlchemy Core so SQLite and PostgreSQL share one schema.

Studies keep their whole normalised record as JSON (``data``) beside the columns
that lists and filters query; repeated parts that outputs filter or count on
(locations, interventions, conditions, posted results, adverse events) are
also rows of their own. Raw records are kept verbatim with their provenance.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql, sqlite

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("applied_at", String(40), nullable=False),
)

raw_records = Table(
    "raw_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(40), nullable=False),
    Column("source_id", String(300), nullable=False),
    Column("origin", Text, nullable=False),
    Column("fetched_at", String(40), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", Text, nullable=False),
    UniqueConstraint("source", "source_id", "sha256", name="uq_raw_version"),
)

studies = Table(
    "studies",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("source", String(40), nullable=False),
    Column("brief_title", Text),
    Column("status", String(40)),
    Column("phase", String(20)),
    Column("study_type", String(40)),
    Column("enrollment", Integer),
    Column("lead_sponsor", Text),
    Column("lead_sponsor_class", String(100)),
    Column("start_date", String(10)),
    Column("completion_date", String(10)),
    Column("last_update_posted", String(10)),
    Column("has_results", Boolean, nullable=False, default=False),
    Column("data", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("raw_id", Integer, ForeignKey("raw_records.id")),
    Column("first_seen_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    # what the study's classification says, copied here so lists filter on studies' own
    # indexes (NULL until the study is classified); kept by Store.save_classifications
    Column("is_ms", Boolean),
    Column("curative_intent", Boolean),
)
Index("ix_studies_status", studies.c.status)
Index("ix_studies_phase", studies.c.phase)

study_locations = Table(
    "study_locations",
    metadata,
    Column("study_id", String(40), ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("country", Text),
    Column("city", Text),
    Column("state", Text),
    Column("facility", Text),
    Column("status", String(40)),
    Column("lat", Float),
    Column("lon", Float),
)
Index("ix_study_locations_study", study_locations.c.study_id)
Index("ix_study_locations_country", study_locations.c.country)

study_interventions = Table(
    "study_interventions",
    metadata,
    Column("study_id", String(40), ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("type", String(40)),
)
Index("ix_study_interventions_study", study_interventions.c.study_id)

study_conditions = Table(
    "study_conditions",
    metadata,
    Column("study_id", String(40), ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("condition", Text, nullable=False),
)
Index("ix_study_conditions_study", study_conditions.c.study_id)

result_values = Table(
    "result_values",
    metadata,
    Column("study_id", String(40), ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("outcome_type", String(40)),
    Column("outcome_title", Text),
    Column("group_id", String(20)),
    Column("group_title", Text),
    Column("value", Text),
    Column("param_type", String(60)),
    Column("unit", Text),
    Column("time_frame", Text),
    Column("category", Text),
    Column("klass", Text),
    Column("dispersion_type", String(60)),
    Column("spread", Text),
    Column("lower_limit", Text),
    Column("upper_limit", Text),
    Column("denominator", Integer),
)
Index("ix_result_values_study", result_values.c.study_id)

adverse_events = Table(
    "adverse_events",
    metadata,
    Column("study_id", String(40), ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("term", Text, nullable=False),
    Column("seriousness", String(20), nullable=False),
    Column("group_id", String(20)),
    Column("group_title", Text),
    Column("organ_system", Text),
    Column("num_affected", Integer),
    Column("num_at_risk", Integer),
    Column("num_events", Integer),
)
Index("ix_adverse_events_study", adverse_events.c.study_id)

changes = Table(
    "changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(300), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("field", String(60)),
    Column("old_value", Text),
    Column("new_value", Text),
    Column("detected_at", String(40), nullable=False),
    Column("record", String(10)),  # the kind of record changed: "study" or "paper"
)
Index("ix_changes_record", changes.c.record_id)
Index("ix_changes_detected", changes.c.detected_at)
Index("ix_changes_kind", changes.c.kind, changes.c.id)

papers = Table(
    "papers",
    metadata,
    Column("id", String(300), primary_key=True),
    Column("source", String(40), nullable=False),
    Column("pmid", String(20)),
    Column("doi", String(300)),
    Column("title", Text),
    Column("journal", Text),
    Column("published", String(10)),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("data", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("raw_id", Integer, ForeignKey("raw_records.id")),
    Column("first_seen_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
)
Index("ix_papers_pmid", papers.c.pmid)
Index("ix_papers_doi", papers.c.doi)

harvest_cursors = Table(
    "harvest_cursors",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("data", Text, nullable=False),
    Column("updated_at", String(40), nullable=False),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", String(40), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("counts", Text, nullable=False),
)

classifications = Table(
    "classifications",
    metadata,
    Column("record_id", String(300), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("is_ms", Boolean, nullable=False),
    Column("curative_intent", Boolean, nullable=False),
    Column("design", String(40)),
    Column("data", Text, nullable=False),
    Column("record_hash", String(64), nullable=False),
    Column("profile_hash", String(64), nullable=False),
    Column("classified_at", String(40), nullable=False),
    # what a study does with the therapies it tests: "treatment" (gives them to test their
    # effect) or "about" (observes, registers or measures people who take them); papers: NULL
    Column("purpose", String(20)),
    # the lead sponsor in the profile's one vocabulary, and its name with variants merged
    Column("sponsor_type", String(40)),
    Column("organisation", Text),
)
Index("ix_classifications_kind", classifications.c.kind, classifications.c.is_ms)

record_strategies = Table(
    "record_strategies",
    metadata,
    Column("record_id", String(300), nullable=False),
    Column("strategy", String(60), nullable=False),
    # "tested" (what the record tests, or the therapy an observational cohort is about) or
    # "comparator" (an active comparator arm): counts and stages use tested labels only
    Column("role", String(20), nullable=False, server_default="tested"),
)
Index("ix_record_strategies_strategy", record_strategies.c.strategy)
Index("ix_record_strategies_record", record_strategies.c.record_id)

record_phenotypes = Table(
    "record_phenotypes",
    metadata,
    Column("record_id", String(300), nullable=False),
    Column("phenotype", String(40), nullable=False),
)
Index("ix_record_phenotypes_record", record_phenotypes.c.record_id)

record_populations = Table(
    "record_populations",
    metadata,
    Column("record_id", String(300), nullable=False),
    Column("population", String(40), nullable=False),
)
Index("ix_record_populations_population", record_populations.c.population, record_populations.c.record_id)
Index("ix_record_populations_record", record_populations.c.record_id)

trial_registrations = Table(
    "trial_registrations",
    metadata,
    Column("study_id", String(40), primary_key=True),
    # the registration that names the trial: every registration of one trial shares it
    Column("trial_id", String(40), nullable=False),
    Column("via", String(40), nullable=False),  # "self", "identifier", "title"
    Column("score", Float),
    Column("evidence", Text),
    # what linking read of the study (registrations.Features.digest): a pass is needed only once one moves
    Column("digest", String(64)),
)
"""Which trial each study registration belongs to (registrations of one trial in several
registries are linked; an unlinked registration is its own trial)."""
Index("ix_trial_registrations_trial", trial_registrations.c.trial_id)

links = Table(
    "links",
    metadata,
    Column("paper_id", String(300), nullable=False),
    Column("study_id", String(40), nullable=False),
    Column("via", String(40), nullable=False),
    Column("evidence", Text),
)
Index("ix_links_paper", links.c.paper_id)
Index("ix_links_study", links.c.study_id)

registry_aliases = Table(
    "registry_aliases",
    metadata,
    Column("number", String(40), primary_key=True),  # a registry number, as papers name trials
    Column("study_id", String(40), primary_key=True),  # a study known by it (its own id, or a secondary id)
)
"""Every registry number each study is known by, kept with the links so that a link pass reads
the studies the numbers in its papers name, not every study (:mod:`curemap.enrich.links`)."""
Index("ix_registry_aliases_study", registry_aliases.c.study_id)

enrichment_marks = Table(
    "enrichment_marks",
    metadata,
    Column("name", String(60), primary_key=True),  # a derived table's pass, with its version
    Column("change_id", Integer, nullable=False),  # the newest change-log entry it has seen
    Column("updated_at", String(40), nullable=False),
)
"""How far along the change log each incremental enrichment pass has come."""

outcome_figures = Table(
    "outcome_figures",
    metadata,
    Column("record_id", String(300), nullable=False),
    Column("position", Integer, nullable=False),
    Column("source_field", String(40), nullable=False),
    Column("measure", String(40), nullable=False),
    Column("value", Float, nullable=False),
    Column("unit", String(20), nullable=False),
    Column("n", Integer),
    Column("timepoint", Text),
    Column("group_label", Text),
    Column("event", Text),
    Column("text", Text, nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
)
Index("ix_outcome_figures_record", outcome_figures.c.record_id)
Index("ix_outcome_figures_measure", outcome_figures.c.measure)

extractions = Table(
    "extractions",
    metadata,
    Column("record_id", String(300), primary_key=True),
    Column("record_hash", String(64), nullable=False),
    Column("profile_hash", String(64), nullable=False),
    Column("extracted_at", String(40), nullable=False),
)
"""Which version of each record its outcome figures were extracted from, and with what."""

update_lock = Table(
    "update_lock",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("owner", String(200)),  # the holding process (host:pid:nonce); NULL when free
    Column("taken_at", String(40)),
    Column("heartbeat_at", String(40)),
    Column("expires_at", String(40)),  # a holder that stops beating loses the lock then
    Column("next_run_at", String(40)),  # when the scheduler that wrote it runs next
    Column("every_seconds", Integer),
)
"""The one update that runs at a time across processes (:mod:`curemap.service.lock`)."""

update_runs = Table(
    "update_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run", String(40), nullable=False),  # one attempt's id, shared by its steps
    Column("attempt", Integer, nullable=False),
    Column("step", String(40), nullable=False),  # a live source, "map" (enrich and snapshot) or "report"
    Column("owner", String(200), nullable=False),
    Column("started_at", String(40), nullable=False),
    Column("finished_at", String(40)),
    Column("outcome", String(20), nullable=False),  # running, ok, failed, interrupted
    Column("error", Text),
    Column("details", Text),  # JSON: counts, snapshot, report files
)
Index("ix_update_runs_step", update_runs.c.step, update_runs.c.outcome, update_runs.c.id)
"""Each scheduled update's steps and how they ended, for /status and `curemap doctor`."""

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(32), primary_key=True),
    # kept only to send to, never logged, erased on unsubscribing; NULL for a feed-only subscription
    Column("email", Text),
    Column("filters", Text, nullable=False),  # the saved search: /api/studies parameters as JSON
    Column("state", String(20), nullable=False),  # pending (until confirmed), active, unsubscribed
    Column("confirm_token", String(64), nullable=False, unique=True),
    Column("unsubscribe_token", String(64), nullable=False, unique=True),
    Column("feed_token", String(64), nullable=False, unique=True),
    # the newest change-log row the subscriber's digests have covered: the next starts after it
    Column("after_change", Integer, nullable=False, default=0),
    Column("created_at", String(40), nullable=False),
    Column("confirmed_at", String(40)),
    Column("unsubscribed_at", String(40)),
)
"""Digest subscriptions (``curemap.service.digests``)."""

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(32), primary_key=True),  # also the mail's Message-ID, so a resend is the same message
    Column("subscription_id", String(32), ForeignKey("subscriptions.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # confirmation or digest
    Column("after_change", Integer, nullable=False),  # a digest covers change rows (after_change, through_change]
    Column("through_change", Integer, nullable=False),
    Column("entries", Text, nullable=False),  # the digest's items as JSON
    Column("state", String(20), nullable=False),  # pending, sending (claimed), sent, failed, cancelled
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", String(40), nullable=False),
    Column("claimed_at", String(40)),
    Column("sent_at", String(40)),
    UniqueConstraint("subscription_id", "kind", "after_change", name="uq_delivery_window"),
)
"""The digests' outbox: one row per mail, written with the subscription's move past its window."""
Index("ix_deliveries_state", deliveries.c.state, deliveries.c.created_at)

comparisons = Table(
    "comparisons",
    metadata,
    Column("record_id", String(300), nullable=False),
    Column("position", Integer, nullable=False),
    Column("source_field", String(40), nullable=False),
    Column("intervention", Text),
    Column("comparator", Text),
    Column("outcome", Text, nullable=False),
    Column("direction", String(20), nullable=False),
    Column("verdict", String(20)),
    Column("effect", Text),
    Column("effect_value", Float),
    Column("ci_low", Float),
    Column("ci_high", Float),
    Column("ci_level", Float),
    Column("p_value", String(40)),
    Column("n", Integer),
    Column("is_primary", Boolean, nullable=False, default=False),
    Column("text", Text, nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
)
"""Results of comparisons read from posted analyses, abstracts and full text, kept with the
outcome figures of the same extraction (:mod:`curemap.enrich.comparisons`)."""
Index("ix_comparisons_record", comparisons.c.record_id)

strategy_trials = Table(
    "strategy_trials",
    metadata,
    Column("strategy", String(80), primary_key=True),
    Column("study_id", String(40), primary_key=True),
    Column("standing", String(20), nullable=False),  # "tested", "about" or "comparator"
    Column("status", String(40)),
    Column("phase", String(20)),
    Column("study_type", String(40)),
)
"""The MS studies behind each strategy's landscape entry, kept by every write that moves them
(:mod:`curemap.store.summary`): per trial, the newest registration testing the strategy as a
treatment; every study only about it or with it as a comparator. The registry facts the
landscape lists by are copied so the lists read this table alone."""
Index("ix_strategy_trials_standing", strategy_trials.c.strategy, strategy_trials.c.standing, strategy_trials.c.status)
Index("ix_strategy_trials_phase", strategy_trials.c.strategy, strategy_trials.c.phase)

sponsor_trials = Table(
    "sponsor_trials",
    metadata,
    Column("study_id", String(40), primary_key=True),
    Column("organisation", Text, nullable=False),
)
"""Each MS trial naming a lead sponsor, by the registration it is counted by, with the lead
sponsor's organisation: the trials behind the leading sponsors, read for those shown only.
Kept by every write that moves them (:mod:`curemap.store.summary`)."""
Index("ix_sponsor_trials_organisation", sponsor_trials.c.organisation, sponsor_trials.c.study_id)

summary_counts = Table(
    "summary_counts",
    metadata,
    Column("name", String(40), primary_key=True),  # a counter (:mod:`curemap.store.summary`)
    Column("key", String(300), primary_key=True),  # the value counted under it ("" for none)
    Column("n", Integer, nullable=False),
    Column("fetched_at", String(40)),  # raw records: the newest fetch among them
)
"""Whole-store counts, moved by every write in its own transaction, so no page recounts them."""

store_writes = Table(
    "store_writes",
    metadata,
    Column("id", Integer, primary_key=True),  # the one row: 1
    Column("writes", Integer, nullable=False),
)
"""How many transactions have changed what readers see (records, labels, figures, links,
trials, new snapshots): the servers keep their worked-out pages per value of it."""

STUDY_CHILD_TABLES = (study_locations, study_interventions, study_conditions, result_values, adverse_events)
"""Tables whose rows are derived from a study's record and replaced with it."""


def upsert(conn, table):
    """An INSERT that can say ``ON CONFLICT`` on either backend (SQLite and PostgreSQL share the syntax)."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


class PortableText(TypeDecorator):
    """Text that takes the same values on both backends: SQLite never enforces a declared length
    and registry text sometimes exceeds one, so on PostgreSQL the length is lifted (the store's
    connections also write NUL, which PostgreSQL text cannot hold, as U+FFFD)."""

    impl = String
    cache_ok = True

    def __init__(self, declared: String):
        super().__init__()
        self.declared = declared

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(Text() if dialect.name == "postgresql" else self.declared)


for _table in metadata.tables.values():
    for _column in _table.columns:
        if isinstance(_column.type, String):
            _column.type = PortableText(_column.type)
