"""The living review as data: sections of statements, each assembled from store facts and
carrying the records it rests on.

A statement's ``cites`` are store record ids (NCT ids, EU CT numbers, ``PMID:n``,
``DOI:…``); a statement about the whole store instead names the snapshot it was counted in
(``basis``). Records are cited by number in order of first use; a statement resting on more
than three records cites the table that lists them (``see``) instead. Registry and abstract
text enters only as quoted titles and spans, and is escaped by each renderer.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from curemap.analysis import trends
from curemap.analysis.evidence import synthesise
from curemap.enrich.comparisons import Comparison
from curemap.enrich.outcomes import statement as figure_statement
from curemap.analysis.landscape import RECRUITING_STATUSES, counted_registrations, strategy_landscape, strategy_studies
from curemap.errors import InputError
from curemap.jsontext import parse_json
from curemap.normalise import PHASE_RANK
from curemap.profile import Profile
from curemap.report.charts import bar_chart, stacked_bars
from curemap.store import Store, schema
from curemap.views import strategy_comparisons, with_clauses
from curemap.wording import (
    PHASE_PLAIN,
    REGISTRY_NAMES,
    citation_kind,
    citation_label,
    citation_url,
    number_words,
    phase_words,
    status_words,
)

MAX_CITES = 3
"""A statement resting on more than this many records cites the table listing them instead."""
KEY_TRIALS = 5
"""Trials shown in a strategy's key-trial table (the rest are in its appendix table)."""
MAX_PAPERS = 3
"""Papers named per strategy and part (the newest first)."""


@dataclass
class Statement:
    text: str
    cites: list[str] = field(default_factory=list)
    basis: str | None = None  # "snapshot <id>" for counts over the whole store
    see: str | None = None  # the anchor of the table listing the cited records, when there are many

    def __post_init__(self) -> None:
        self.cites = list(dict.fromkeys(self.cites))
        if len(self.cites) > MAX_CITES and self.see is None:
            raise ValueError(f"{self.text[:60]!r} rests on {len(self.cites)} records and names no table listing them")


@dataclass
class Block:
    kind: str  # "paragraph" | "list" | "figure" | "table"
    statements: list[Statement] = field(default_factory=list)
    svg: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    row_cites: list[str | None] = field(default_factory=list)  # the record each row rests on
    row_links: list[str | None] = field(default_factory=list)  # the dashboard page of each row's first cell
    anchor: str = ""  # a table others refer to
    label: str = ""  # "Table 2", "Table A3"


@dataclass
class Section:
    title: str
    anchor: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)
    link: str | None = None  # the dashboard page of what the section is about

    def say(self, *statements: Statement) -> None:
        self.blocks.append(Block("paragraph", list(statements)))

    def items(self, statements: list[Statement]) -> None:
        if statements:
            self.blocks.append(Block("list", statements))

    def walk(self):
        yield self
        for sub in self.subsections:
            yield from sub.walk()


@dataclass
class Report:
    title: str
    snapshot: str
    snapshot_hash: str
    data_date: str | None
    since: str | None
    sections: list[Section]
    appendix: list[Section] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)  # record id -> its reference number
    labels: dict[str, str] = field(default_factory=dict)  # table anchor -> "Table A3"
    manifest: dict[str, Any] = field(default_factory=dict)

    def blocks(self):
        for top in [*self.sections, *self.appendix]:
            for section in top.walk():
                yield from section.blocks

    def statements(self):
        for block in self.blocks():
            yield from block.statements

    def cited(self) -> list[str]:
        """Every record the review rests on, in the order of their reference numbers."""
        return sorted(self.numbers, key=self.numbers.get)

    def number(self) -> None:
        """Numbers records in order of first use (a statement citing a table leaves its records
        to that table's rows); checks that such a table lists every record the statement rests on."""
        tables = {b.anchor: b for b in self.blocks() if b.anchor}
        self.labels = {anchor: b.label for anchor, b in tables.items()}
        late: list[str] = []

        def use(record: str) -> None:
            self.numbers.setdefault(record, len(self.numbers) + 1)

        for block in self.blocks():
            for statement in block.statements:
                if statement.see:
                    listed = set(tables[statement.see].row_cites)
                    missing = [c for c in statement.cites if c not in listed]
                    if missing:
                        raise ValueError(f"{statement.text[:60]!r}: {statement.see} does not list {missing[:3]}")
                    late += statement.cites
                else:
                    for record in statement.cites:
                        use(record)
            for record in block.row_cites:
                if record:
                    use(record)
        for record in late:
            use(record)

# -- reading the store ------------------------------------------------------------------


@dataclass
class StudyFacts:
    id: str
    title: str | None
    status: str | None
    phase: str | None
    study_type: str | None
    enrollment: int | None
    enrollment_type: str | None
    sponsor: str | None
    has_results: bool
    first_seen_at: str
    acronym: str | None = None
    start: str | None = None
    completion: str | None = None


@dataclass
class PaperFacts:
    id: str
    title: str | None
    journal: str | None
    published: str | None
    design: str | None
    strategies: set[str]
    first_seen_at: str
    citation: str | None = None  # the journal's citation line: "J Neuroimmunol. 2021 Feb 12;353:577521."
    authors: list[str] = field(default_factory=list)
    pmid: str | None = None
    doi: str | None = None


def _date(value: Any) -> str | None:
    return value.get("value") if isinstance(value, dict) else value


def _studies(store: Store, ids: set[str]) -> dict[str, StudyFacts]:
    st = schema.studies
    found = {}
    with store.connect() as conn:
        for row in conn.execute(select(st.c.id, st.c.data, st.c.first_seen_at).order_by(st.c.id)):
            if row.id in ids:
                data = parse_json(row.data)
                found[row.id] = StudyFacts(
                    row.id, data.get("brief_title"), data.get("status"), data.get("phase"), data.get("study_type"),
                    data.get("enrollment"), data.get("enrollment_type"),
                    (data.get("lead_sponsor") or {}).get("name"), bool(data.get("has_results")), row.first_seen_at,
                    data.get("acronym"), _date(data.get("start_date")), _date(data.get("completion_date")),
                )
    return found


def _ms_papers(store: Store) -> dict[str, PaperFacts]:
    """MS papers with a citable id (PMID or DOI), with design and strategies."""
    cl, pp, rs = schema.classifications, schema.papers, schema.record_strategies
    strategies: dict[str, set[str]] = defaultdict(set)
    with store.connect() as conn:
        labelled = select(rs.c.record_id, rs.c.strategy).join(cl, cl.c.record_id == rs.c.record_id).where(cl.c.kind == "paper", cl.c.is_ms)
        for row in conn.execute(labelled):
            strategies[row.record_id].add(row.strategy)
        rows = conn.execute(
            select(pp.c.id, pp.c.title, pp.c.journal, pp.c.published, pp.c.first_seen_at, pp.c.data, cl.c.design)
            .join(cl, cl.c.record_id == pp.c.id)
            .where(cl.c.is_ms, pp.c.deleted.is_(False))
            .order_by(pp.c.id)
        ).all()
    papers = {}
    for row in rows:
        if citation_kind(row.id) not in ("pmid", "doi"):
            continue
        data = parse_json(row.data)
        papers[row.id] = PaperFacts(
            row.id, row.title, row.journal, row.published, row.design, strategies[row.id], row.first_seen_at,
            data.get("citation"), [a if isinstance(a, str) else a.get("name", "") for a in data.get("authors") or []],
            data.get("pmid"), data.get("doi"),
        )
    return papers

def current_snapshot(store: Store, *, record: bool = True) -> tuple[str, str]:
    """The snapshot (id, content hash) of the store as it is: recorded now when ``record``
    (an unchanged store names the same snapshot), else the newest one recorded."""
    from curemap.store.kinds import STUDY

    snaps = schema.snapshots
    if record:
        counts = {"studies": store.count_studies(), "ms_studies": store.count_ms(STUDY), "papers": store.count_papers()}
        snapshot_id = store.record_snapshot(counts)
        query = select(snaps.c.id, snaps.c.content_hash).where(snaps.c.id == snapshot_id)
    else:
        query = select(snaps.c.id, snaps.c.content_hash).order_by(snaps.c.created_at.desc(), snaps.c.id).limit(1)
    with store.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise InputError("the store holds no snapshot yet; run `curemap build --offline` first")
    return row.id, row.content_hash


def snapshot_time(store: Store, snapshot_id: str) -> str:
    snaps = schema.snapshots
    with store.connect() as conn:
        created = conn.execute(select(snaps.c.created_at).where(snaps.c.id == snapshot_id)).scalar_one_or_none()
    if created is None:
        raise InputError(f"--since {snapshot_id}: no such snapshot in the store (see the snapshot ids `curemap build` printed)")
    return created


# -- helpers for wording --------------------------------------------------------------------


def _quote(text: str | None) -> str:
    """A registry or paper title, quoted; its own curly quotes are straightened so the quote
    stays one quotation, and quotes around the whole title are dropped."""
    cleaned = " ".join((text or "untitled").replace("“", '"').replace("”", '"').split())
    if len(cleaned) > 2 and cleaned[0] == cleaned[-1] == '"':
        cleaned = cleaned[1:-1].strip()
    return f"“{cleaned}”"


def _short(text: str | None, limit: int = 60) -> str:
    cleaned = " ".join((text or "untitled").split())
    return cleaned if len(cleaned) <= limit else cleaned[:limit].rsplit(" ", 1)[0].rstrip(",;:-") + "…"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{number_words(n)} {one if n == 1 else (many or one + 's')}"


def _join(words: list[str], last: str = "and") -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _country(name: str) -> str:
    """A country as it reads in a sentence: "the United States", "the Netherlands"."""
    return f"the {name}" if name.startswith(("United ", "Netherlands", "Czech", "Russian", "Republic ", "Philippines")) else name


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _year(value: str | None) -> str:
    return (value or "")[:4] or "—"


_PAREN_ACRONYM = re.compile(r"\(([A-Z][A-Za-z0-9]*-[A-Za-z0-9-]*[A-Za-z0-9])\)|^([A-Z][A-Z0-9]+(?:-[A-Za-z0-9.]+)*):\s")


def _lower(name: str) -> str:
    """A strategy name inside a sentence: "autologous …", but "CAR-T …", "Epstein-Barr …",
    "B-cell …" and a person's name ("Bruton's …") kept."""
    first = name.split(" ", 1)[0]
    proper = first[1:] != first[1:].lower() or first[1:2] == "-" or first.endswith("'s")
    return name if proper else name[:1].lower() + name[1:]


def _none(n: int) -> str:
    return "none" if n == 0 else number_words(n)


# -- the builder ----------------------------------------------------------------------------


class ReportBuilder:
    """Reads the store once and assembles every section."""

    def __init__(self, store: Store, profile: Profile, *, snapshot: tuple[str, str], since: str | None = None):
        self.store, self.profile = store, profile
        self.snapshot_id, self.snapshot_hash = snapshot
        self.basis = f"snapshot {self.snapshot_id}"
        self.since = since
        self.since_time = snapshot_time(store, since) if since else None
        counted = counted_registrations(store)
        behind = strategy_studies(store, profile, counted)  # read once: the MS trials' groups and each strategy's trials
        self.ms = trends.ms_studies(store, profile, counted, behind)
        self.ms_by_id = {s.id: s for s in self.ms}
        self.landscape = {e.id: e for e in strategy_landscape(store, profile)}
        synthesis = synthesise(store, profile)
        self.evidence = synthesis.evidence
        self.left_out: dict[str, list] = defaultdict(list)
        for figure in synthesis.left_out:
            self.left_out[figure.strategy].append(figure)
        self.measures = {m.id: m for m in profile.outcome_measures}
        self.curative_groups = [g for g in profile.groups if g.curative_intent]
        self.curative_ids = {g.id for g in self.curative_groups}
        self.comparison_ids = set(profile.report.comparison_groups)
        self.curative = [s for s in profile.strategies if s.group in self.curative_ids]
        # the trials that test each strategy as a treatment (one registration per trial)
        self.studies_of: dict[str, list[str]] = defaultdict(list, behind.tested)
        self.curative_trials = sorted({i for s in self.curative for i in self.studies_of[s.id]})
        self.study = _studies(store, set(self.curative_trials))
        self.short_titles = Counter(_short(s.title or "", 50) for s in self.study.values())
        self.countries = trends.countries_of(store, self.curative_trials)
        self.papers = _ms_papers(store)
        fig = schema.outcome_figures
        self.figures: dict[str, list[dict]] = defaultdict(list)
        with store.connect() as conn:
            for row in conn.execute(select(fig).order_by(fig.c.record_id, fig.c.position)):
                self.figures[row.record_id].append(dict(row._mapping))
        self.phase_names = {p.id: p.name for p in profile.phases}
        self.meaning = {m.id: "the " + re.sub(r"\s*\(.*\)$", "", m.meaning) for m in profile.outcome_measures}
        self.acronyms = [
            (acronym, re.compile(rf"(?<![\w-]){re.escape(acronym)}(?![\w-])"))
            for acronym in sorted({t.text for s in profile.strategies for t in s.terms if t.kind == "acronym" and not t.regex}, key=len, reverse=True)
        ]
        self.named: dict[str, str] = {}  # name() of each study named so far
        self.strategy_of: dict[str, list[str]] = defaultdict(list)
        for strategy in self.curative:
            for i in self.studies_of[strategy.id]:
                self.strategy_of[i].append(strategy.name)
        self.as_of = trends.data_date(store)
        self.overdue = trends.completed_without_results(store, profile, groups=self.curative_ids, studies=self.ms)

    # -- naming ------------------------------------------------------------------------

    def name(self, study_id: str) -> str:
        """A trial as a person names it: its acronym (the registry's, a known one in its title,
        or one in brackets there), else its title, shortened and quoted. (Worked out once a
        study: a review names its trials tens of thousands of times at a store's scale.)"""
        if study_id not in self.named:
            self.named[study_id] = self._name(self.study[study_id])
        return self.named[study_id]

    def _name(self, study) -> str:
        if study.acronym:
            return study.acronym
        title = study.title or ""
        for acronym, pattern in self.acronyms:
            if pattern.search(title):
                return acronym
        if match := _PAREN_ACRONYM.search(title):
            return match.group(1) or match.group(2)
        short = _short(title, 50)
        if self.short_titles[short] == 1:
            return _quote(short)
        # titles that shorten alike ("…, Study One", "…, Study Two") keep the part after their last comma
        if "," not in title[34:]:
            return _quote(_short(title, 70))
        tail = title.rsplit(",", 1)[-1].strip()[-24:]
        return _quote(f"{_short(title, 34).rstrip('…')}… {tail}")

    def names(self, ids: list[str]) -> str:
        return _join([self.name(i) for i in ids])

    def open_now(self, ids: list[str]) -> list[str]:
        return [i for i in ids if self.study[i].status in RECRUITING_STATUSES]

    def countries_named(self, ids: list[str], shown: int = 3) -> str:
        counts = Counter(c for i in ids for c in self.countries.get(i, []))
        ranked = sorted(counts, key=lambda c: (-counts[c], c))
        if not ranked:
            return ""
        rest = len(ranked) - shown
        named = [_country(c) for c in ranked[:shown]] + ([f"{number_words(rest)} other {'country' if rest == 1 else 'countries'}"] if rest > 0 else [])
        return _join(named)

    def cite(self, text: str, ids: list[str], table: str) -> Statement:
        """A statement citing its records, or, when there are many, the table listing them."""
        ids = list(dict.fromkeys(ids))
        return Statement(text, ids, see=table if len(ids) > MAX_CITES else None)

    # -- sections ----------------------------------------------------------------------

    def build(self) -> Report:
        sections = [
            self.summary(),
            self.changes_section(),
            self.landscape_section(),
            *[self.group_section(g) for g in self.curative_groups],
            self.emerging_section(),
            self.trends_section(),
            self.challenges_section(),
            Section("About this edition", "about"),
        ]
        report = Report(
            title=f"{self.profile.name}: the living review",
            snapshot=self.snapshot_id,
            snapshot_hash=self.snapshot_hash,
            data_date=self.as_of.isoformat() if self.as_of else None,
            since=self.since,
            sections=sections,
            appendix=self.appendix(),
        )
        body = [b for s in sections for sub in s.walk() for b in sub.blocks if b.anchor]
        extra = [b for s in report.appendix for sub in s.walk() for b in sub.blocks if b.anchor]
        for prefix, blocks in (("Table ", body), ("Table A", extra)):
            for n, block in enumerate(blocks, start=1):
                block.label = f"{prefix}{n}"
        report.number()
        report.references = self.references(report.cited())
        report.manifest = {
            "snapshot": self.snapshot_id,
            "snapshot_hash": self.snapshot_hash,
            "since": self.since,
            "strategies": {s.id: self.studies_of[s.id] for s in self.curative},
        }
        return report

    def _strategies(self, group_id: str):
        return [s for s in self.profile.strategies if s.group == group_id]

    def _group_studies(self, group_ids: set[str]) -> list[trends.MsStudy]:
        return [s for s in self.ms if s.groups & group_ids]

    def _staged(self) -> list:
        return sorted(
            (s for s in self.curative if self.landscape[s.id].stage),
            key=lambda s: (-PHASE_RANK[self.landscape[s.id].stage], -len(self.landscape[s.id].stage_studies), s.id),
        )

    def _newest(self):
        """The strategy aimed at a cure with the most trials started in the last two start years."""
        latest = max((int(self.study[i].start[:4]) for i in self.curative_trials if (self.study[i].start or "")[:4].isdigit()), default=0)

        def recent(strategy) -> list[str]:
            return [i for i in self.studies_of[strategy.id] if (self.study[i].start or "0")[:4] >= str(latest - 1)]

        best = max(self.curative, key=lambda s: (len(recent(s)), len(self.open_now(self.studies_of[s.id])), s.id))
        return best, recent(best), latest - 1

    def summary(self) -> Section:
        section = Section("Summary for people with MS", "summary")
        plain = self.profile.report.plain_name
        open_all = self.open_now(self.curative_trials)
        section.say(
            Statement(
                "Most MS drugs keep the disease in check only while you take them. The research in this review "
                "aims further: to reset the immune system, to teach it to leave the nerves alone, or to repair the damage."
            ),
            Statement(
                f"In all, {number_words(len(self.curative_trials))} trials test such treatments in people with MS, and "
                f"{number_words(len(open_all))} of them are open to new people now or soon",
                basis=self.basis,
            ),
        )
        staged = [s for s in self._staged() if not s.approved]
        furthest = []
        if staged:
            top = staged[0]
            entry = self.landscape[top.id]
            furthest.append(
                self.cite(
                    f"{_cap(_plural(len(entry.stage_studies), 'trial'))} of {plain(top)} "
                    f"{'has' if len(entry.stage_studies) == 1 else 'have'} come furthest: they have reached "
                    f"{phase_words(entry.stage)}, {PHASE_PLAIN.get(entry.stage, '')}",
                    entry.stage_studies, f"table-{top.id}",
                )
            )
            same = [s for s in staged[1:3] if self.landscape[s.id].stage == entry.stage]
            for strategy in same:
                n = len(self.landscape[strategy.id].stage_studies)
                furthest.append(
                    self.cite(f"{_cap(_plural(n, 'trial'))} of {plain(strategy)} {'has' if n == 1 else 'have'} too",
                              self.landscape[strategy.id].stage_studies, f"table-{strategy.id}")
                )
        approved = [s for s in self.curative if s.approved]
        if approved:
            furthest.append(
                Statement(
                    f"{_cap(_join([plain(s) for s in approved]))} are already approved MS drugs. Here they are studied "
                    "as a short course that may reset the immune system for years."
                )
            )
        section.say(*furthest)
        newest, recent, since_year = self._newest()
        entry, ids = self.landscape[newest.id], self.studies_of[newest.id]
        open_new = self.open_now(ids)
        where = self.countries_named(open_new)
        news = [
            self.cite(
                f"The newest is {plain(newest)}: {number_words(len(recent))} of its {number_words(len(ids))} trials "
                f"started in {since_year} or later, and {number_words(len(open_new))} are open now or soon"
                + (f", in {where}" if where else ""),
                recent + open_new, f"table-{newest.id}",
            )
        ]
        if entry.stage:
            news.append(
                self.cite(f"It is early work: the furthest trials are at {phase_words(entry.stage)}, {PHASE_PLAIN.get(entry.stage, '')}",
                          entry.stage_studies, f"table-{newest.id}")
            )
        section.say(*news)
        risks = []
        for strategy in [s for s in self._staged() if s is not newest][:4]:
            found = self._figures(self._human_records(strategy.id, self.studies_of[strategy.id]), safety=True)
            if found and len(risks) < 2:
                fig = found[0]
                opening = "What does it cost in risk? One" if not risks else "One"
                risks.append(Statement(f"{opening} study of {plain(strategy)} reports: {_quote(fig['text'])}", [fig["record_id"]]))
        posted = [i for i in ids if self.study[i].has_results]
        risks.append(
            self.cite(
                f"Of the {number_words(len(ids))} trials of {plain(newest)}, "
                + (f"{number_words(len(posted))} {'has' if len(posted) == 1 else 'have'}" if posted else "none has")
                + " posted results, so its risks are not yet known from trial records",
                ids, f"table-{newest.id}",
            )
        )
        section.say(*risks)
        section.say(
            Statement(
                "To find a trial you could join, use the trial finder on the Curemap site. You give your age, your type "
                "of MS and the drugs you have taken; it lists the open trials that may fit you and the rules that would "
                "keep you out. Take that list to your neurologist. Numbers in square brackets point to the trial "
                "records and papers listed at the end."
            )
        )
        return section

    def changes_section(self) -> Section:
        section = Section("What changed since the previous edition", "changes")
        if self.since_time is None:
            section.say(
                Statement(
                    "This is the first edition built from these data; the next one lists the trials, status changes, "
                    "posted results and papers that are new since this one."
                )
            )
            return section
        rows, cites = [], []
        for i in self.curative_trials:
            if self.study[i].first_seen_at >= self.since_time:
                rows.append([self.name(i), "; ".join(self.strategy_of[i]), "new trial"])
                cites.append(i)
        for change in self.store.record_changes(since=self.since_time):
            record = change["record_id"]
            if record in self.study and change["kind"] != "updated":
                old, new = change["old"], change["new"]
                if change["field"] == "status":
                    old, new = status_words(old), status_words(new)
                rows.append([self.name(record), "; ".join(self.strategy_of[record]),
                             f"{change['field'] or change['kind'].replace('_', ' ')} was {old!s}, now {new!s}"])
                cites.append(record)
        new_papers = [
            p.id for p in self.papers.values()
            if p.first_seen_at >= self.since_time and {s.id for s in self.curative} & p.strategies
        ]
        if not rows and not new_papers:
            section.say(Statement(f"Nothing changed for the strategies aimed at a cure since snapshot {self.since}."))
            return section
        section.say(
            self.cite(
                f"Since the previous edition (snapshot {self.since}) the store records "
                f"{_plural(len(rows), 'change')} to trials aimed at a cure and {_plural(len(new_papers), 'new paper')} on them",
                cites + new_papers, "table-changes",
            )
        )
        rows += [[_quote(_short(self.papers[p].title)), "paper", "new paper"] for p in new_papers]
        section.blocks.append(
            Block("table", [Statement("Changes since the previous edition")], header=["record", "strategy", "change"],
                  rows=rows, row_cites=cites + new_papers,
                  row_links=[f"/studies/{c}" for c in cites] + [f"/papers/{p}" for p in new_papers], anchor="table-changes")
        )
        return section

    def _human_records(self, strategy_id: str, study_ids: list[str]) -> list[str]:
        preclinical = set(self.profile.report.preclinical_designs)
        papers = [p.id for p in self._strategy_papers(strategy_id) if p.design not in preclinical]
        return list(study_ids) + papers

    def _figures(self, records: list[str], safety: bool) -> list[dict]:
        """The largest figure of each record (safety or outcome), largest denominators first.
        A ratio alone is left out: it means something only as one group against another (often
        a risk factor, not the treatment), so ratios are shown as results of comparisons."""
        wanted = set(self.profile.report.safety_measures)
        found = [
            f for r in records for f in self.figures.get(r, [])
            if (f["measure"] in wanted) == safety and f["unit"] != "ratio" and len(re.findall(r"[A-Za-z]", f["text"] or "")) >= 10
        ]
        ranked = sorted(found, key=lambda f: (-(f["n"] or 0), f["record_id"], f["position"]))
        return list({f["record_id"]: f for f in reversed(ranked)}.values())[::-1]

    def _estimate_line(self, entry) -> Statement:
        what = self._measure(entry.measure, entry.event)
        est, cites = entry.estimate, [f.record_id for f in entry.figures]
        if est.k == 1:
            (fig,) = entry.figures
            return Statement(f"One study reports {what}: {fig.events:,} of {fig.total:,} ({_pct(fig.events / fig.total)})", cites)
        pooled = est.pooled
        return self.cite(
            f"Pooled over {number_words(est.k)} studies with {est.total_patients:,} patients, {what}: "
            f"{_pct(pooled.proportion)} (95% CI {_pct(pooled.ci.low)}–{_pct(pooled.ci.high)}; I² {est.i2:.0%})",
            cites, f"table-pool-{entry.strategy}-{entry.measure}-{entry.event or ''}",
        )

    def _measure(self, measure: str, event: str | None) -> str:
        """An outcome measure in words, the event it names put in its place."""
        what = self.meaning.get(measure, measure.replace("_", " "))
        if event:
            named = re.sub(r"\ba named (adverse event|endpoint)\b", event.lower(), what)
            what = named if named != what else f"{what} ({event.lower()})"
        return what

    def _pool_table(self, entry) -> Block:
        return Block(
            "table", [Statement(f"Figures pooled for {self.meaning.get(entry.measure, entry.measure)}")],
            header=["record", "events", "of", "share", "in its words"],
            rows=[[citation_label(f.record_id), f"{f.events:,}", f"{f.total:,}", _pct(f.events / f.total), _quote(f.text)] for f in entry.figures],
            row_cites=[f.record_id for f in entry.figures], row_links=[None] * len(entry.figures),
            anchor=f"table-pool-{entry.strategy}-{entry.measure}-{entry.event or ''}",
        )

    def landscape_section(self) -> Section:
        section = Section("The landscape at a glance", "landscape")
        pipeline = trends.pipeline_by_group_phase(self.store, self.profile, studies=self.ms)
        phases = [p.id for p in self.profile.phases if p.id != "preclinical"] + [trends.NO_PHASE]
        labels = {**self.phase_names, trends.NO_PHASE: "No phase given"}
        shown = [g for g in self.profile.groups if g.id in self.curative_ids | self.comparison_ids]
        section.blocks.append(
            Block(
                "figure",
                [Statement("MS trials by strategy group and phase (a trial counts once per group it tests)", basis=self.basis)],
                svg=stacked_bars(
                    [g.name for g in shown],
                    [(labels[p], [pipeline[g.id].get(p, 0) for g in shown]) for p in phases],
                    "MS trials by strategy group and phase",
                ),
                header=["group", *(labels[p] for p in phases)],
                rows=[[g.name, *(str(pipeline[g.id].get(p, 0)) for p in phases)] for g in shown],
            )
        )
        rows, links = [], []
        for strategy in self.curative:
            entry, ids = self.landscape[strategy.id], self.studies_of[strategy.id]
            planned = sum(self.study[i].enrollment or 0 for i in ids)
            rows.append([strategy.name, phase_words(entry.stage) if entry.stage else "—", f"{len(ids):,}",
                         f"{len(self.open_now(ids)):,}", f"{sum(self.study[i].has_results for i in ids):,}", f"{planned:,}"])
            links.append(f"/strategies/{strategy.id}")
        section.blocks.append(
            Block("table", [Statement("Strategies aimed at a cure: the furthest stage, trials testing each, trials open now, "
                                      "trials with posted results and participants planned or enrolled", basis=self.basis)],
                  header=["strategy", "furthest stage", "trials", "open now", "results posted", "participants"],
                  rows=rows, row_cites=[None] * len(rows), row_links=links, anchor="table-strategies")
        )
        per_year = trends.started_per_year(self.store, self.profile, studies=self.ms)
        years = sorted({y for g in self.curative_ids for y in per_year[g]})
        recent = [y for y in years if y >= (years[-1] - 14 if years else 0)]
        section.blocks.append(
            Block(
                "figure",
                [Statement("Trials started per year in the groups aimed at a cure (last 15 start years; the last year is "
                           f"incomplete, data as of {self.as_of})", basis=self.basis)],
                svg=stacked_bars(
                    [str(y) for y in recent],
                    [(g.name, [per_year[g.id].get(y, 0) for y in recent]) for g in self.curative_groups],
                    "MS trials started per year, by group",
                ),
                header=["year", *(g.name for g in self.curative_groups)],
                rows=[[str(y), *(str(per_year[g.id].get(y, 0)) for g in self.curative_groups)] for y in recent],
            )
        )
        frame = []
        for strategy in self.profile.strategies:
            if strategy.group in self.comparison_ids:
                entry = self.landscape[strategy.id]
                frame.append(f"{_lower(strategy.name)} ({number_words(entry.studies)} trials, {number_words(entry.recruiting)} open)")
        if frame:
            section.say(
                Statement(
                    "For comparison, the disease-control drugs that keep MS in check for as long as they are taken are "
                    f"tested in many more trials: {_join(frame)}",
                    basis=self.basis,
                )
            )
        return section

    def group_section(self, group) -> Section:
        section = Section(group.name, f"group-{group.id}")
        section.say(Statement(" ".join(group.description.split())))
        for strategy in self._strategies(group.id):
            section.subsections.append(self.strategy_section(strategy))
        return section

    def _trial_row(self, i: str, countries: bool = True) -> list[str]:
        study = self.study[i]
        size = "—" if study.enrollment is None else f"{study.enrollment:,}" + (" planned" if (study.enrollment_type or "").upper() == "ESTIMATED" else "")
        row = [self.name(i), phase_words(study.phase), status_words(study.status), size, study.sponsor or "—"]
        if countries:
            named = self.countries.get(i, [])
            row.append(", ".join(named[:3]) + (f" +{len(named) - 3}" if len(named) > 3 else "") if named else "—")
        return row + ["yes" if study.has_results else "no"]

    def _key_trials(self, ids: list[str]) -> list[str]:
        """Late-phase trials first, open ones before closed, then the largest: the pivotal
        randomised trials a neurologist looks for, not a small phase 4 study of infusion care."""

        def rank(i: str):
            s = self.study[i]
            late = PHASE_RANK.get(s.phase or "", -1) >= PHASE_RANK["phase2_3"]
            return (not late, s.status not in RECRUITING_STATUSES, -(s.enrollment or 0), -PHASE_RANK.get(s.phase or "", -1), i)

        return sorted(ids, key=rank)[:KEY_TRIALS]

    def strategy_section(self, strategy) -> Section:
        entry = self.landscape[strategy.id]
        sub = Section(strategy.name, f"strategy-{strategy.id}", link=f"/strategies/{strategy.id}")
        sentences = re.split(r"(?<=\.)\s+", " ".join(strategy.description.split()))
        sub.say(Statement(" ".join(sentences[:2])))
        if strategy.approved:
            sub.say(
                Statement(
                    f"{_cap(self.profile.report.plain_name(strategy))} is an approved disease-modifying drug: "
                    f"{strategy.approved.text} (source: {strategy.approved.source}, {strategy.approved.url}). It is here "
                    "because it is studied as immune reconstitution, a short course meant to reset the immune system; "
                    "its phase 4 studies follow its approval."
                )
            )
        ids = self.studies_of[strategy.id]
        table = f"table-{strategy.id}"
        if ids:
            short = []
            if entry.stage:
                short.append(self.cite(f"In short: the furthest stage is {phase_words(entry.stage)}, reached by "
                                       + (self.names(entry.stage_studies) if len(entry.stage_studies) <= MAX_CITES
                                          else _plural(len(entry.stage_studies), 'trial')), entry.stage_studies, table))
            planned = sum(self.study[i].enrollment or 0 for i in ids)
            posted = sum(self.study[i].has_results for i in ids)
            short.append(
                self.cite(
                    f"{'It' if entry.stage else 'In short: it'} is tested in {_plural(len(ids), 'trial')}, "
                    f"{_none(len(self.open_now(ids)))} open now, with {planned:,} participants planned or enrolled in all; "
                    f"{_none(posted)} {'has' if posted <= 1 else 'have'} posted results",
                    ids, table,
                )
            )
            sub.say(*short)
            key = self._key_trials(ids)
            sub.blocks.append(
                Block("table", [Statement(f"Key trials of {_lower(strategy.name)}" + (f" (all {len(ids)} are listed in the appendix)" if len(ids) > len(key) else ""))],
                      header=["trial", "phase", "status", "size", "sponsor", "countries", "results"],
                      rows=[self._trial_row(i) for i in key], row_cites=key, row_links=[f"/studies/{i}" for i in key])
            )
        self._evidence_part(sub, strategy, ids)
        return sub

    def _strategy_papers(self, strategy_id: str) -> list[PaperFacts]:
        return sorted(
            (p for p in self.papers.values() if strategy_id in p.strategies),
            key=lambda p: (p.published or "", p.id),
            reverse=True,
        )

    def _paper_words(self, paper: PaperFacts) -> str:
        where = ", ".join(x for x in (paper.journal, (paper.published or "")[:4]) if x)
        return f"{_quote(paper.title)}{f' ({where})' if where else ''}"

    def _evidence_part(self, sub: Section, strategy, ids: list[str]) -> None:
        """Evidence first (pooled, then single records with their words), safety, then papers on
        mechanisms and preclinical work; what the store lacks is said once, in one sentence."""
        safety_measures = self.profile.report.safety_measures
        missing = [] if ids else ["MS trials testing it"]
        mine = [e for e in self.evidence if e.strategy == strategy.id]
        human = self._human_records(strategy.id, ids)
        for safety, words in ((False, "outcome figures"), (True, "safety figures")):
            estimates = [e for e in mine if (e.measure in safety_measures) == safety]
            pooled_records = {f.record_id for e in estimates for f in e.figures}
            lines = [self._estimate_line(e) for e in estimates]
            if estimates:
                lines += self._left_out_line(sub, strategy.id, safety)
            for e in estimates:
                if e.estimate.k > MAX_CITES:
                    sub.blocks.append(self._pool_table(e))
            for fig in self._figures(human, safety)[:MAX_CITES]:
                if fig["record_id"] in pooled_records or fig["measure"] not in self.measures:
                    continue
                kind = "trial's posted results" if citation_kind(fig["record_id"]) in ("nct", "euct") else "paper"
                said = figure_statement(self.measures[fig["measure"]], fig).rstrip(".")
                said = said[:1].lower() + said[1:] if said[1:2].islower() else said
                lines.append(Statement(f"One {kind} reports: {said}, in its words {_quote(self._clause(fig))}", [fig["record_id"]]))
            if not safety:
                lines += self._comparison_lines(strategy.id, set(human))
            if safety:
                lines += self._posted_serious_events(ids)
            if lines:
                sub.say(Statement("Safety:" if safety else "Evidence:"), *lines)
            else:
                missing.append(words)
        papers = self._strategy_papers(strategy.id)
        markers = set(self.profile.report.biomarker_strategies)
        preclinical_designs = set(self.profile.report.preclinical_designs)
        for chosen, opening, words in (
            ([p for p in papers if p.strategies & markers], "Papers on mechanisms and markers of response", "papers on markers of response"),
            ([p for p in papers if p.design in preclinical_designs], "Preclinical work (animal models and cells, not people)", "preclinical papers"),
        ):
            if chosen:
                shown = chosen[:MAX_PAPERS]
                more = f", and {number_words(len(chosen) - len(shown))} more in the appendix" if len(chosen) > len(shown) else ""
                sub.say(Statement(f"{opening}: {'; '.join(self._paper_words(p) for p in shown)}{more}", [p.id for p in shown]))
            else:
                missing.append(words)
        if missing:
            held = f"{_plural(len(papers), 'paper')} on it in all" if papers else "no paper on it yet"
            sub.say(Statement(f"Not yet in the records here: {_join(missing)}; the store holds {held}", basis=self.basis))

    def _clause(self, fig: dict) -> str:
        """The words that state a figure: the clause of the paper text it came from, or its own
        words (a registry result's line)."""
        paper = self.store.get_paper(fig["record_id"]) if fig["source_field"] != "results" else None
        if paper is None:
            return fig["text"]
        texts = {"abstract": paper.abstract or "", **{f"full_text[{i}]": p.text for i, p in enumerate(paper.full_text)}}
        return with_clauses([fig], texts)[0]["clause"]

    def _comparison_lines(self, strategy_id: str, records: set[str]) -> list[Statement]:
        """The results of comparisons of a strategy's human records, primary outcomes first, as
        "X vs Y on Z: better (effect, CI; n)" with the words that state them."""
        found = [c for c in strategy_comparisons(self.store, strategy_id) if c["record_id"] in records]
        found.sort(key=lambda c: not c["is_primary"])
        lines = []
        for c in found[:MAX_CITES]:
            kind = "trial's posted results compare" if citation_kind(c["record_id"]) in ("nct", "euct") else "paper compares"
            primary = " on its primary outcome" if c["is_primary"] else ""
            lines.append(Statement(
                f"One {kind}{primary} {Comparison.from_row(c).summary()}, in its words {_quote(c['text'])}", [c["record_id"]]
            ))  # fmt: skip
        return lines

    def _left_out_line(self, sub: Section, strategy_id: str, safety: bool) -> list[Statement]:
        """What the pools above leave out, and why, in one sentence (and a table when it rests on
        many records)."""
        safety_measures = set(self.profile.report.safety_measures)
        left = [f for f in self.left_out[strategy_id] if (f.measure in safety_measures) == safety]
        if not left:
            return []
        reasons = Counter(f.reason for f in left)
        words = _join([f"{_plural(n, 'figure')} ({reason})" for reason, n in reasons.most_common()])
        anchor = f"table-left-{strategy_id}-{'safety' if safety else 'outcomes'}"
        line = self.cite(f"Left out of these pools: {words}", [f.record_id for f in left], anchor)
        if line.see:
            sub.blocks.append(Block(
                "table", [Statement("Figures left out of the pools, and why")],
                header=["record", "measure", "in its words", "why left out"],
                rows=[[citation_label(f.record_id), self._measure(f.measure, f.event), _quote(f.text), f.reason] for f in left],
                row_cites=[f.record_id for f in left], row_links=[None] * len(left), anchor=anchor,
            ))  # fmt: skip
        return [line]

    def _posted_serious_events(self, ids: list[str]) -> list[Statement]:
        ae = schema.adverse_events
        with self.store.connect() as conn:
            rows = conn.execute(
                select(ae.c.study_id, ae.c.term, ae.c.seriousness, ae.c.num_affected)
                .where(ae.c.study_id.in_(ids), ae.c.seriousness.in_(("serious", "death")))
                .order_by(ae.c.study_id, ae.c.position)
            ).all()
        by_study: dict[str, Counter] = defaultdict(Counter)
        for row in rows:
            if row.num_affected:
                by_study[row.study_id][row.term] += row.num_affected
        ranked = sorted(by_study.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:2]
        return [
            Statement(
                f"The posted results of {self.name(study_id)} list serious adverse events, most often "
                + _join([f"{term.lower()} ({number_words(n)} {'person' if n == 1 else 'people'})" for term, n in terms.most_common(3)]),
                [study_id],
            )
            for study_id, terms in ranked
        ]

    def emerging_section(self) -> Section:
        section = Section("Emerging directions", "emerging")
        latest = self.as_of.year if self.as_of else 0
        early = ("early_phase1", "phase1", "phase1_2")
        first = [
            i for i in self.curative_trials
            if self.study[i].phase in early and (self.study[i].start or "0")[:4] >= str(latest - 2)
        ]
        first.sort(key=lambda i: (self.study[i].start or "", i), reverse=True)
        by_strategy = Counter(name for i in first for name in self.strategy_of[i])
        if first:
            section.say(
                self.cite(
                    f"{_cap(_plural(len(first), 'first-in-human or other earliest-phase trial'))} of strategies aimed at a cure "
                    f"started in {latest - 2} or later: " + _join([f"{_lower(name)} ({number_words(n)})" for name, n in by_strategy.most_common()]),
                    first, "table-first-in-human",
                )
            )
            section.blocks.append(
                Block("table", [Statement("Earliest-phase trials aimed at a cure, newest first")],
                      header=["trial", "strategy", "phase", "status", "started", "sponsor"],
                      rows=[[self.name(i), "; ".join(self.strategy_of[i]), phase_words(self.study[i].phase),
                             status_words(self.study[i].status), _year(self.study[i].start), self.study[i].sponsor or "—"] for i in first],
                      row_cites=first, row_links=[f"/studies/{i}" for i in first], anchor="table-first-in-human")
            )
        preclinical = sorted(
            (p for p in self.papers.values() if p.design in self.profile.report.preclinical_designs),
            key=lambda p: (p.published or "", p.id), reverse=True,
        )
        if preclinical:
            section.say(
                self.cite(
                    f"The store holds {_plural(len(preclinical), 'preclinical MS paper')} (animal models and cells); the newest: "
                    + "; ".join(self._paper_words(p) for p in preclinical[:MAX_CITES]),
                    [p.id for p in preclinical[:MAX_CITES]], "table-papers",
                )
            )
        untried = [_lower(s.name) for s in self.curative if not self.studies_of[s.id]]
        if untried:
            section.say(Statement(f"No MS trial in the store yet tests {_join(untried, 'or')}", basis=self.basis))
        return section

    def trends_section(self) -> Section:
        section = Section("Methods, funding and leadership", "trends")
        curative_ms = self._group_studies(self.curative_ids)
        types = trends.sponsor_types(self.store, self.profile, studies=self.ms)
        cure_types = trends.sponsor_types(self.store, self.profile, studies=curative_ms)
        section.blocks.append(
            Block(
                "figure",
                [Statement(types.describe(), basis=self.basis)],
                svg=bar_chart([(name, n) for _, name, n, _ in types.rows], "MS trials by lead-sponsor type"),
                header=["lead sponsor type", "MS trials", "share", "trials aimed at a cure", "share"],
                rows=[[name, f"{n:,}", "—" if share is None else _pct(share), f"{cn:,}", "—" if cshare is None else _pct(cshare)]
                      for (_, name, n, share), (_, _, cn, cshare) in zip(types.rows, cure_types.rows)],
            )
        )
        periods: dict[int, list[trends.MsStudy]] = defaultdict(list)
        for study in self.ms:
            if study.start_year:
                periods[study.start_year - study.start_year % 5].append(study)
        rows = []
        for first in sorted(periods):
            every = trends.sponsor_types(self.store, self.profile, studies=periods[first])
            cure = trends.sponsor_types(self.store, self.profile, studies=[s for s in periods[first] if s.groups & self.curative_ids])
            rows.append([f"{first}–{first + 4}", f"{every.with_lead:,}", "—" if every.industry_share is None else _pct(every.industry_share),
                         f"{cure.with_lead:,}", "—" if cure.industry_share is None else _pct(cure.industry_share)])
        section.blocks.append(
            Block("table", [Statement(f"{types.industry_name} share of lead sponsors over time, by start years", basis=self.basis)],
                  header=["start years", "MS trials naming a lead sponsor", "industry share", "of them aimed at a cure", "industry share"],
                  rows=rows)
        )
        rows, links = [], []
        for strategy in self.curative:
            members = [self.ms_by_id[i] for i in self.studies_of[strategy.id] if i in self.ms_by_id]
            if not members:
                continue
            leads = trends.leading_sponsors(self.store, self.profile, studies=members, limit=2)
            share = trends.sponsor_types(self.store, self.profile, studies=members).industry_share
            rows.append([strategy.name, "; ".join(f"{lead.name} ({lead.count})" for lead in leads) or "—",
                         "—" if share is None else _pct(share)])
            links.append(f"/strategies/{strategy.id}")
        section.blocks.append(
            Block("table", [Statement("Who leads each strategy: the lead sponsors with the most of its trials (affiliates merged; "
                                      "each strategy's trials and sponsors are in its appendix table)", basis=self.basis)],
                  header=["strategy", "leading sponsors (trials)", "industry share"], rows=rows,
                  row_cites=[None] * len(rows), row_links=links)
        )
        ms_ids = {s.id for s in self.ms}
        countries = trends.country_counts(self.store, study_ids=ms_ids)
        cure_countries = trends.country_counts(self.store, study_ids=set(self.curative_trials))
        section.blocks.append(
            Block(
                "figure",
                [Statement(trends.site_coverage(self.store, ms_ids).describe(), basis=self.basis)],
                svg=bar_chart(countries[:12], "MS trials by country of their sites (top 12)"),
                header=["country", "MS trials"],
                rows=[[c, f"{n:,}"] for c, n in countries[:12]],
            )
        )
        if cure_countries:
            coverage = trends.site_coverage(self.store, set(self.curative_trials)).describe()
            section.say(
                Statement(
                    "Trials aimed at a cure have sites most often in "
                    + _join([f"{c} ({n:,})" for c, n in cure_countries[:6]])
                    + f"; {coverage[:1].lower()}"
                    + coverage[1:].rstrip("."),
                    basis=self.basis,
                )
            )
        every = trends.design_over_time(self.store, self.profile, studies=self.ms)
        cure = {p.period: p for p in trends.design_over_time(self.store, self.profile, groups=self.curative_ids, studies=self.ms)}

        def size(p) -> str:
            return "—" if p is None or p.median_enrollment is None else f"{p.median_enrollment:g}"

        section.blocks.append(
            Block(
                "table",
                [Statement("Design and size over time, by start years: trials, late-phase (2/3 to 4) interventional trials "
                           "and the median number of participants, for all MS trials and those aimed at a cure", basis=self.basis)],
                header=["start years", "MS trials", "late phase", "median size", "aimed at a cure", "late phase", "median size"],
                rows=[[p.period, f"{p.studies:,}", f"{p.randomised_phase:,}", size(p),
                       f"{cure[p.period].studies:,}" if p.period in cure else "0",
                       f"{cure[p.period].randomised_phase:,}" if p.period in cure else "0", size(cure.get(p.period))]
                      for p in every],
            )
        )
        return section

    def _overdue_rows(self) -> list[str]:
        return sorted(self.overdue.get(12, []), key=lambda i: (self.study[i].completion or "", i)) if self.overdue else []

    def challenges_section(self) -> Section:
        section = Section("Strengths and limitations", "challenges")
        strengths, limits = [], []
        for strategy in self._staged():
            entry = self.landscape[strategy.id]
            running = [i for i in entry.stage_studies if self.study[i].status in RECRUITING_STATUSES | {"ACTIVE_NOT_RECRUITING"}]
            if not strategy.approved and PHASE_RANK[entry.stage] >= PHASE_RANK["phase2_3"] and running:
                strengths.append(
                    self.cite(f"Late-phase evidence is coming for {_lower(strategy.name)}: "
                              + (self.names(running) if len(running) <= MAX_CITES else _plural(len(running), 'trial'))
                              + f" ({phase_words(entry.stage)}) {'is' if len(running) == 1 else 'are'} under way", running, f"table-{strategy.id}")
                )
        cure_sizes = [s.enrollment for s in self._group_studies(self.curative_ids) if s.study_type == "INTERVENTIONAL" and s.enrollment]
        frame_sizes = [s.enrollment for s in self._group_studies(self.comparison_ids) if s.study_type == "INTERVENTIONAL" and s.enrollment]
        if cure_sizes and frame_sizes:
            limits.append(
                Statement(
                    f"Trials aimed at a cure are small: half of them plan or enrolled {statistics.median(cure_sizes):g} "
                    f"participants or fewer, against {statistics.median(frame_sizes):g} for disease-control trials",
                    basis=self.basis,
                )
            )
        preclinical = set(self.profile.report.preclinical_designs)
        human = [p for p in self.papers.values() if p.strategies & {s.id for s in self.curative} and p.design in ("rct", "cohort", "case_series")]
        if human:
            randomised = [p for p in human if p.design == "rct"]
            limits.append(
                self.cite(
                    f"The human evidence in the store is mostly single-arm: of {_plural(len(human), 'paper')} with patient data "
                    f"on strategies aimed at a cure, {number_words(len(randomised))} {'reports' if len(randomised) == 1 else 'report'} a randomised trial "
                    "and the rest cohorts or case series",
                    [p.id for p in human], "table-papers",
                )
            )
        overdue = self._overdue_rows()
        if overdue:
            limits.append(
                self.cite(
                    f"Results go unreported: {number_words(len(overdue))} completed trials aimed at a cure had posted no results "
                    f"twelve months after completion, {number_words(len(self.overdue.get(24, [])))} of them after 24 months (as of {self.as_of})",
                    overdue, "table-overdue",
                )
            )
        untried = [_lower(s.name) for s in self.curative if not self.studies_of[s.id]]
        if untried:
            limits.append(Statement(f"Some strategies have not reached people with MS: no trial tests {_join(untried, 'or')}", basis=self.basis))
        del preclinical
        if strengths:
            section.say(Statement("Strengths:"))
            section.items(strengths)
        section.say(Statement("Limitations:"))
        section.items(limits)
        return section

    # -- appendix and references ---------------------------------------------------------

    def appendix(self) -> list[Section]:
        section = Section("Appendix: every trial, paper and overdue result", "appendix")
        for strategy in self.curative:
            ids = sorted(self.studies_of[strategy.id], key=lambda i: (-PHASE_RANK.get(self.study[i].phase or "", -1), self.study[i].start or "", i))
            if not ids:
                continue
            sub = Section(f"Trials of {_lower(strategy.name)}", f"appendix-{strategy.id}", link=f"/strategies/{strategy.id}")
            sub.blocks.append(
                Block("table", [Statement(f"Every MS trial testing {_lower(strategy.name)}, furthest phase first")],
                      header=["trial", "registry id", "phase", "status", "size", "started", "sponsor", "results"],
                      rows=[[self.name(i), i, *self._trial_row(i, countries=False)[1:4], _year(self.study[i].start),
                             self.study[i].sponsor or "—", "yes" if self.study[i].has_results else "no"] for i in ids],
                      row_cites=ids, row_links=[f"/studies/{i}" for i in ids], anchor=f"table-{strategy.id}")
            )
            section.subsections.append(sub)
        overdue = self._overdue_rows()
        sub = Section("Completed trials without posted results", "appendix-overdue")
        over24 = set(self.overdue.get(24, []))
        sub.blocks.append(
            Block("table", [Statement(f"Completed interventional trials aimed at a cure without posted results twelve months or more after completion (as of {self.as_of})")],
                  header=["trial", "registry id", "strategy", "completed", "24 months or more", "sponsor"],
                  rows=[[self.name(i), i, "; ".join(self.strategy_of[i]), self.study[i].completion or "—",
                         "yes" if i in over24 else "no", self.study[i].sponsor or "—"] for i in overdue],
                  row_cites=overdue, row_links=[f"/studies/{i}" for i in overdue], anchor="table-overdue")
        )
        section.subsections.append(sub)
        names = {s.id: s.name for s in self.profile.strategies}
        curative = {s.id for s in self.curative}
        listed = sorted(
            (p for p in self.papers.values() if p.strategies & curative or p.design in self.profile.report.preclinical_designs),
            key=lambda p: (p.published or "", p.id), reverse=True,
        )
        sub = Section("Papers on strategies aimed at a cure, and preclinical papers", "appendix-papers")
        sub.blocks.append(
            Block("table", [Statement("MS papers in the store on a strategy aimed at a cure or on preclinical work, newest first")],
                  header=["title", "journal, year", "design", "strategies"],
                  rows=[[_quote(_short(p.title, 90)), ", ".join(x for x in (p.journal, _year(p.published)) if x), p.design or "—",
                         "; ".join(sorted(names.get(s, s) for s in p.strategies))] for p in listed],
                  row_cites=[p.id for p in listed], row_links=[f"/papers/{p.id}" for p in listed], anchor="table-papers")
        )
        section.subsections.append(sub)
        return [section]

    def references(self, cited: list[str]) -> list[dict[str, Any]]:
        """Vancouver-style entries in citation order: a trial's title, acronym, registry and id,
        phase, status and sponsor; a paper's authors, title, journal citation, PMID and DOI."""
        st = schema.studies
        studies: dict[str, dict] = {}
        wanted = [c for c in cited if citation_kind(c) in ("nct", "euct")]
        with self.store.connect() as conn:
            for row in conn.execute(select(st.c.id, st.c.data).where(st.c.id.in_(wanted))):
                studies[row.id] = parse_json(row.data)
        entries = []
        for number, record in enumerate(cited, start=1):
            kind = citation_kind(record)
            if record in studies:
                data = studies[record]
                acronym = data.get("acronym") or (self.name(record) if record in self.study and not self.name(record).startswith("“") else None)
                title = " ".join((data.get("brief_title") or "Untitled").split()).rstrip(".")
                sponsor = (data.get("lead_sponsor") or {}).get("name")
                text = (
                    f"{title}{f' ({acronym})' if acronym and acronym not in title else ''}. {REGISTRY_NAMES.get(kind, kind)} {record}; "
                    f"{phase_words(data.get('phase'))}, {status_words(data.get('status'))}"
                    + (f"; sponsor: {' '.join(sponsor.split()).rstrip('.')}" if sponsor else "") + "."
                )
            else:
                paper = self.papers.get(record)
                authors = paper.authors if paper else []
                names = ", ".join(authors[:6]) + (", et al" if len(authors) > 6 else "")
                source = paper and (paper.citation or "").split(" doi:")[0].strip()
                if paper and not source:
                    source = ". ".join(x for x in (paper.journal, _year(paper.published)) if x and x != "—")
                    source = source + "." if source else ""
                title = " ".join(((paper.title if paper else None) or "Untitled").split()).rstrip(".")
                ids = [f"PMID: {paper.pmid}"] if paper and paper.pmid else []
                # a DOI the store keeps in capitals is left out: the verifier looks DOIs up in lower case
                ids += [f"doi: {paper.doi}"] if paper and paper.doi and paper.doi == paper.doi.lower() else []
                text = f"{names + '. ' if names else ''}{title}. {source or ''} {'; '.join(ids) or citation_label(record)}.".replace("  ", " ")
            entries.append({"id": record, "number": number, "label": citation_label(record), "text": text, "url": citation_url(record), "kind": kind})
        return entries


def build_report(store: Store, profile: Profile, *, since: str | None = None, record_snapshot: bool = True) -> Report:
    """The whole review, from the store as it is now."""
    return ReportBuilder(store, profile, snapshot=current_snapshot(store, record=record_snapshot), since=since).build()
