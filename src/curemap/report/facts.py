"""The living review as data: sections of statements, each assembled from store facts and
carrying the records it rests on.

A statement's ``cites`` are store record ids (NCT ids, EU CT numbers, ``PMID:n``,
``DOI:…``); a statement about the whole store instead names the snapshot it was counted in
(``basis``). Registry and abstract text enters only as quoted titles and spans, and is
escaped by each renderer.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from curemap.analysis import trends
from curemap.analysis.evidence import strategy_evidence
from curemap.analysis.landscape import RECRUITING_STATUSES, strategy_landscape, strategy_studies
from curemap.errors import InputError
from curemap.normalise import PHASE_RANK
from curemap.profile import Profile
from curemap.report.charts import bar_chart, stacked_bars
from curemap.wording import citation_kind, phase_words, status_words
from curemap.store import Store, schema

MAX_FIGURES = 12
"""Single-record figures listed per strategy and part (the largest denominators first)."""
MAX_PAPERS = 10
"""Papers listed per strategy and part (the newest first)."""


@dataclass
class Statement:
    text: str
    cites: list[str] = field(default_factory=list)
    basis: str | None = None  # "snapshot <id>" for counts over the whole store

    def __post_init__(self) -> None:
        self.cites = list(dict.fromkeys(self.cites))


@dataclass
class Block:
    kind: str  # "paragraph" | "list" | "figure" | "table"
    statements: list[Statement] = field(default_factory=list)
    svg: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Section:
    title: str
    anchor: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)

    def say(self, *statements: Statement) -> None:
        self.blocks.append(Block("paragraph", list(statements)))

    def items(self, statements: list[Statement]) -> None:
        if statements:
            self.blocks.append(Block("list", statements))


@dataclass
class Report:
    title: str
    snapshot: str
    snapshot_hash: str
    data_date: str | None
    since: str | None
    sections: list[Section]
    references: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    def statements(self):
        def walk(section: Section):
            for block in section.blocks:
                yield from block.statements
            for sub in section.subsections:
                yield from walk(sub)

        for section in self.sections:
            yield from walk(section)

    def cited(self) -> list[str]:
        return list(dict.fromkeys(c for s in self.statements() for c in s.cites))


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


@dataclass
class PaperFacts:
    id: str
    title: str | None
    journal: str | None
    published: str | None
    design: str | None
    strategies: set[str]
    first_seen_at: str


def _studies(store: Store, ids: set[str]) -> dict[str, StudyFacts]:
    st = schema.studies
    found = {}
    with store.connect() as conn:
        for row in conn.execute(select(st.c.id, st.c.data, st.c.first_seen_at).order_by(st.c.id)):
            if row.id in ids:
                data = json.loads(row.data)
                found[row.id] = StudyFacts(
                    row.id, data.get("brief_title"), data.get("status"), data.get("phase"), data.get("study_type"),
                    data.get("enrollment"), data.get("enrollment_type"),
                    (data.get("lead_sponsor") or {}).get("name"), bool(data.get("has_results")), row.first_seen_at,
                )
    return found


def _ms_papers(store: Store) -> dict[str, PaperFacts]:
    """MS papers with a citable id (PMID or DOI), with design and strategies."""
    cl, pp, rs = schema.classifications, schema.papers, schema.record_strategies
    strategies: dict[str, set[str]] = defaultdict(set)
    with store.connect() as conn:
        for row in conn.execute(select(rs.c.record_id, rs.c.strategy)):
            strategies[row.record_id].add(row.strategy)
        rows = conn.execute(
            select(pp.c.id, pp.c.title, pp.c.journal, pp.c.published, pp.c.first_seen_at, cl.c.design)
            .join(cl, cl.c.record_id == pp.c.id)
            .where(cl.c.is_ms, pp.c.deleted.is_(False))
            .order_by(pp.c.id)
        ).all()
    return {
        row.id: PaperFacts(row.id, row.title, row.journal, row.published, row.design, strategies[row.id], row.first_seen_at)
        for row in rows
        if citation_kind(row.id) in ("pmid", "doi")
    }


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
    stays one quotation."""
    cleaned = " ".join((text or "untitled").replace("“", '"').replace("”", '"').split())
    return f"“{cleaned}”"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _trial_line(study: StudyFacts, countries: list[str]) -> Statement:
    parts = [phase_words(study.phase), status_words(study.status)]
    if study.enrollment is not None:
        planned = " (planned)" if (study.enrollment_type or "").upper() == "ESTIMATED" else ""
        parts.append(f"{study.enrollment:,} participants{planned}")
    text = f"{_quote(study.title)}: {', '.join(parts)}"
    if study.sponsor:
        text += f", sponsor: {study.sponsor}"
    text += f"; sites in {', '.join(countries)}" if countries else "; no site countries given"
    return Statement(text, [study.id])


def _figure_line(fig, label: str) -> Statement:
    value = f"{fig['value']:g}%" if fig["unit"] == "percent" else f"{fig['value']:g} ({fig['unit']})"
    denominator = f", denominator {fig['n']:,}" if fig["n"] else ""
    timepoint = f", time point: {fig['timepoint']}" if fig.get("timepoint") else ""
    return Statement(f"{label}: {value}{denominator}{timepoint}, from the words {_quote(fig['text'])}", [fig["record_id"]])


# -- the builder ----------------------------------------------------------------------------


class ReportBuilder:
    """Reads the store once and assembles every section."""

    def __init__(self, store: Store, profile: Profile, *, snapshot: tuple[str, str], since: str | None = None):
        self.store, self.profile = store, profile
        self.snapshot_id, self.snapshot_hash = snapshot
        self.basis = f"snapshot {self.snapshot_id}"
        self.since = since
        self.since_time = snapshot_time(store, since) if since else None
        self.ms = trends.ms_studies(store, profile)
        self.landscape = {e.id: e for e in strategy_landscape(store, profile)}
        self.evidence = strategy_evidence(store, profile)
        self.curative_groups = [g for g in profile.groups if g.curative_intent]
        self.curative_ids = {g.id for g in self.curative_groups}
        self.comparison_ids = set(profile.report.comparison_groups)
        # the trials that test each strategy as a treatment (one registration per trial)
        self.studies_of: dict[str, list[str]] = defaultdict(list, strategy_studies(store, profile).tested)
        curative_study_ids = {
            i for s in profile.strategies if s.group in self.curative_ids for i in self.studies_of[s.id]
        }
        self.study = _studies(store, curative_study_ids)
        self.countries = trends.countries_of(store, sorted(curative_study_ids))
        self.papers = _ms_papers(store)
        fig = schema.outcome_figures
        self.figures: dict[str, list[dict]] = defaultdict(list)
        with store.connect() as conn:
            for row in conn.execute(select(fig).order_by(fig.c.record_id, fig.c.position)):
                self.figures[row.record_id].append(dict(row._mapping))
        self.phase_names = {p.id: p.name for p in profile.phases}

    # -- sections ----------------------------------------------------------------------

    def build(self) -> Report:
        sections = [
            self.summary(),
            self.landscape_section(),
            *[self.group_section(g) for g in self.curative_groups],
            self.trends_section(),
            self.challenges_section(),
        ]
        report = Report(
            title=f"{self.profile.name}: the living review",
            snapshot=self.snapshot_id,
            snapshot_hash=self.snapshot_hash,
            data_date=(d.isoformat() if (d := trends.data_date(self.store)) else None),
            since=self.since,
            sections=sections,
        )
        report.references = self.references(report.cited())
        report.manifest = {
            "snapshot": self.snapshot_id,
            "snapshot_hash": self.snapshot_hash,
            "since": self.since,
            "strategies": {s.id: self.studies_of[s.id] for s in self.profile.strategies if s.group in self.curative_ids},
        }
        return report

    def _strategies(self, group_id: str):
        return [s for s in self.profile.strategies if s.group == group_id]

    def _group_studies(self, group_ids: set[str]) -> list[trends.MsStudy]:
        return [s for s in self.ms if s.groups & group_ids]

    def summary(self) -> Section:
        section = Section("Summary for people with MS", "summary")
        curative = [s for s in self.profile.strategies if s.group in self.curative_ids]
        staged = sorted(
            (self.landscape[s.id] for s in curative if self.landscape[s.id].stage),
            key=lambda e: (-PHASE_RANK[e.stage], e.id),
        )
        section.say(
            Statement(
                f"{self.profile.report.introduction} Every statement below names the registry records or papers it rests on."
            )
        )
        promising = []
        for entry in staged[:4]:
            promising.append(
                Statement(
                    f"{entry.name} has reached {phase_words(entry.stage)}, the furthest stage among its "
                    f"{_plural(entry.studies, 'MS study', 'MS studies')}",
                    entry.stage_studies,
                )
            )
            open_now = [i for i in self.studies_of[entry.id] if self.study[i].status in RECRUITING_STATUSES]
            if open_now:
                promising.append(
                    Statement(
                        f"{entry.name}: {_plural(len(open_now), 'study is', 'studies are')} open or about to open to participants",
                        open_now,
                    )
                )
        section.say(Statement("What has come furthest:"))
        section.items(promising)
        late = [e for e in staged if PHASE_RANK[e.stage] >= PHASE_RANK["phase3"]]
        unstaged = [s.name for s in curative if not self.landscape[s.id].stage]
        section.say(
            Statement(
                f"How close it is: {len(late)} of the {len(curative)} strategies aimed at a cure have reached a late "
                "phase (the third or fourth) with at least one registered study",
                sorted({i for e in late for i in e.stage_studies}),
            ),
            Statement(
                f"Without any interventional MS study with a phase: {', '.join(unstaged) if unstaged else 'none'}",
                basis=self.basis,
            ),
        )
        risks = self._safety_estimates(curative)
        if risks:
            section.say(Statement("What it costs in risk (pooled shares of patients, from the records cited):"))
            section.items(risks)
        else:
            section.say(
                Statement(
                    "What it costs in risk: the store holds no poolable safety figure (treatment-related mortality, "
                    "serious or late adverse events) for the strategies aimed at a cure; the safety parts below list "
                    "what single records report."
                )
            )
        expert = Section("Expert summary", "expert-summary")
        for group in self.curative_groups:
            members = self._group_studies({group.id})
            phases = Counter(s.phase for s in members if s.study_type == "INTERVENTIONAL")
            expert.say(
                Statement(
                    f"{group.name}: {_plural(len(members), 'MS study', 'MS studies')}, "
                    f"{sum(s.status in RECRUITING_STATUSES for s in members):,} open to enrolment now, "
                    f"{sum(s.has_results for s in members):,} with posted results; "
                    f"{sum(phases[p] for p in ('phase2_3', 'phase3', 'phase4')):,} interventional studies of phase 2/3 or later",
                    [s.id for s in members],
                )
            )
        pooled = [e for e in self.evidence if self.profile.strategy(e.strategy).group in self.curative_ids and e.estimate.k > 1]
        expert.say(
            Statement(
                f"Pooled estimates from more than one record exist for {_plural(len(pooled), 'strategy and outcome', 'strategy–outcome pairs')} "
                "of the curative groups; the rest of the clinical evidence is single records, listed with their words.",
                sorted({f.record_id for e in pooled for f in e.figures}),
            )
        )
        section.subsections.append(expert)
        return section

    def _safety_estimates(self, strategies) -> list[Statement]:
        ids = {s.id for s in strategies}
        lines = []
        for entry in self.evidence:
            if entry.strategy in ids and entry.measure in self.profile.report.safety_measures:
                lines.append(self._estimate_line(entry))
        return lines

    def _estimate_line(self, entry) -> Statement:
        name = self.profile.strategy(entry.strategy).name
        what = entry.measure.replace("_", " ") + (f" ({entry.event})" if entry.event else "")
        est = entry.estimate
        cites = [f.record_id for f in entry.figures]
        if est.k == 1:
            (fig,) = entry.figures
            return Statement(
                f"{name}, {what}: one record, {fig.events:,} of {fig.total:,} ({_pct(fig.events / fig.total)})", cites
            )
        pooled = est.pooled
        return Statement(
            f"{name}, {what}: pooled {_pct(pooled.proportion)} (95% CI {_pct(pooled.ci.low)}–{_pct(pooled.ci.high)}) "
            f"from {est.k} records with {est.total_patients:,} in their denominators, I² {est.i2:.0%}",
            cites,
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
                [Statement("MS studies by strategy group and phase (a study counts once per group it pursues)", basis=self.basis)],
                svg=stacked_bars(
                    [g.name for g in shown],
                    [(labels[p], [pipeline[g.id].get(p, 0) for g in shown]) for p in phases],
                    "MS studies by strategy group and phase",
                ),
                header=["group", *(labels[p] for p in phases)],
                rows=[[g.name, *(str(pipeline[g.id].get(p, 0)) for p in phases)] for g in shown],
            )
        )
        per_year = trends.started_per_year(self.store, self.profile, studies=self.ms)
        years = sorted({y for g in self.curative_ids for y in per_year[g]})
        recent = [y for y in years if y >= (years[-1] - 14 if years else 0)]
        section.blocks.append(
            Block(
                "figure",
                [Statement("Studies started per year in the groups aimed at a cure (last 15 start years)", basis=self.basis)],
                svg=stacked_bars(
                    [str(y) for y in recent],
                    [(g.name, [per_year[g.id].get(y, 0) for y in recent]) for g in self.curative_groups],
                    "MS studies started per year, by group",
                ),
                header=["year", *(g.name for g in self.curative_groups)],
                rows=[[str(y), *(str(per_year[g.id].get(y, 0)) for g in self.curative_groups)] for y in recent],
            )
        )
        for group in shown:
            members = self._group_studies({group.id})
            recruiting = [s.id for s in members if s.status in RECRUITING_STATUSES]
            results = [s.id for s in members if s.has_results]
            frame = " (the comparison frame, not cure research)" if group.id in self.comparison_ids else ""
            cites = recruiting + results if group.id in self.curative_ids else []
            section.say(
                Statement(
                    f"{group.name}{frame}: {_plural(len(members), 'MS study', 'MS studies')}, "
                    f"{len(recruiting):,} recruiting or about to recruit, {len(results):,} with posted results",
                    sorted(set(cites)),
                    basis=None if cites else self.basis,
                )
            )
        comparison = Section("For comparison: disease control", "comparison")
        for strategy in self.profile.strategies:
            if strategy.group in self.comparison_ids:
                entry = self.landscape[strategy.id]
                comparison.say(
                    Statement(
                        f"{entry.name}: {_plural(entry.studies, 'MS study', 'MS studies')}, furthest stage "
                        f"{phase_words(entry.stage) if entry.stage else 'none'}, {entry.recruiting:,} recruiting; these "
                        "treatments control MS for as long as they are taken",
                        basis=self.basis,
                    )
                )
        section.subsections.append(comparison)
        return section

    def group_section(self, group) -> Section:
        section = Section(group.name, f"group-{group.id}")
        section.say(Statement(" ".join(group.description.split())))
        for strategy in self._strategies(group.id):
            section.subsections.append(self.strategy_section(strategy))
        return section

    def strategy_section(self, strategy) -> Section:
        entry = self.landscape[strategy.id]
        sub = Section(strategy.name, f"strategy-{strategy.id}")
        sub.say(Statement(" ".join(strategy.description.split())))
        ids = self.studies_of[strategy.id]
        if not ids:
            sub.say(Statement(f"The store holds no MS study of {strategy.name.lower()} ({self.basis})."))
        elif entry.stage:
            sub.say(
                Statement(
                    f"Development stage: {phase_words(entry.stage)}, the highest phase among its interventional MS studies",
                    entry.stage_studies,
                )
            )
        else:
            sub.say(Statement("Development stage: none of its MS studies is an interventional study with a phase", ids))
        if ids:
            by_status: dict[str, list[str]] = defaultdict(list)
            for i in ids:
                by_status[self.study[i].status or "UNKNOWN"].append(i)
            sub.say(Statement(f"Registered MS studies: {len(ids):,}, by status:", ids))
            sub.items(
                [
                    Statement(f"{status_words(status)}: {_plural(len(members), 'study', 'studies')}", members)
                    for status, members in sorted(by_status.items(), key=lambda kv: (-len(kv[1]), kv[0]))
                ]
            )
            recruiting = [i for i in ids if self.study[i].status in RECRUITING_STATUSES]
            if recruiting:
                sub.say(Statement("Open to participants now or soon:"))
                sub.items([_trial_line(self.study[i], self.countries.get(i, [])) for i in recruiting])
        self._papers_part(sub, strategy)
        self._clinical_part(sub, strategy, ids)
        self._safety_part(sub, strategy, ids)
        self._changes_part(sub, strategy, ids)
        return sub

    def _strategy_papers(self, strategy_id: str) -> list[PaperFacts]:
        return sorted(
            (p for p in self.papers.values() if strategy_id in p.strategies),
            key=lambda p: (p.published or "", p.id),
            reverse=True,
        )

    def _paper_line(self, paper: PaperFacts) -> Statement:
        where = ", ".join(x for x in (paper.journal, (paper.published or "")[:4]) if x)
        return Statement(f"{_quote(paper.title)}{f' ({where})' if where else ''}", [paper.id])

    def _papers_part(self, sub: Section, strategy) -> None:
        papers = self._strategy_papers(strategy.id)
        markers = set(self.profile.report.biomarker_strategies)
        biomarker = [p for p in papers if p.strategies & markers]
        sub.say(Statement("Mechanisms and biomarkers of response:"))
        if biomarker:
            sub.items([self._paper_line(p) for p in biomarker[:MAX_PAPERS]])
        else:
            sub.say(Statement(f"No MS paper in the store studies predictors of response to {strategy.name.lower()} ({self.basis})."))
        preclinical = [p for p in papers if p.design in self.profile.report.preclinical_designs]
        sub.say(Statement("Preclinical evidence (animal models such as EAE, and cell work; not human data):"))
        if preclinical:
            sub.items([self._paper_line(p) for p in preclinical[:MAX_PAPERS]])
        else:
            sub.say(Statement(f"No preclinical MS paper on {strategy.name.lower()} is in the store ({self.basis})."))

    def _human_records(self, strategy_id: str, study_ids: list[str]) -> list[str]:
        preclinical = set(self.profile.report.preclinical_designs)
        papers = [p.id for p in self._strategy_papers(strategy_id) if p.design not in preclinical]
        return list(study_ids) + papers

    def _figures(self, records: list[str], safety: bool) -> list[dict]:
        wanted = set(self.profile.report.safety_measures)
        found = [f for r in records for f in self.figures.get(r, []) if (f["measure"] in wanted) == safety]
        return sorted(found, key=lambda f: (-(f["n"] or 0), f["record_id"], f["position"]))[:MAX_FIGURES]

    def _clinical_part(self, sub: Section, strategy, ids: list[str]) -> None:
        sub.say(Statement("Clinical evidence (people with MS):"))
        estimates = [
            e for e in self.evidence
            if e.strategy == strategy.id and e.measure not in self.profile.report.safety_measures
        ]
        if estimates:
            sub.items([self._estimate_line(e) for e in estimates])
        figures = self._figures(self._human_records(strategy.id, ids), safety=False)
        if figures:
            sub.say(Statement("Figures reported by single records, with their words:"))
            sub.items([_figure_line(f, f["measure"].replace("_", " ")) for f in figures])
        if not estimates and not figures:
            sub.say(Statement(f"No outcome figure for {strategy.name.lower()} in MS is in the store ({self.basis})."))

    def _safety_part(self, sub: Section, strategy, ids: list[str]) -> None:
        sub.say(Statement("Safety (treatment-related mortality, serious and late adverse events):"))
        lines = self._safety_estimates([strategy])
        lines += [
            _figure_line(f, f["measure"].replace("_", " ") + (f" ({f['event']})" if f.get("event") else ""))
            for f in self._figures(self._human_records(strategy.id, ids), safety=True)
        ]
        lines += self._posted_serious_events(ids)
        if lines:
            sub.items(lines)
        else:
            sub.say(Statement(f"No safety figure for {strategy.name.lower()} in MS is in the store ({self.basis})."))

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
        return [
            Statement(
                "posted serious adverse events, most frequent terms (people affected, all groups): "
                + ", ".join(f"{term} {n:,}" for term, n in terms.most_common(5)),
                [study_id],
            )
            for study_id, terms in sorted(by_study.items())
        ]

    def _changes_part(self, sub: Section, strategy, ids: list[str]) -> None:
        sub.say(Statement("What changed since the last report:"))
        if self.since_time is None:
            sub.say(Statement("This is the first report; later reports list what changed since this one."))
            return
        lines = []
        new = [i for i in ids if self.study[i].first_seen_at >= self.since_time]
        if new:
            lines.append(Statement(f"new in the store: {_plural(len(new), 'study', 'studies')}", new))
        for change in self.store.record_changes(since=self.since_time):
            if change["record_id"] in ids and change["kind"] != "updated":
                old, new_value = change["old"], change["new"]
                if change["field"] == "status":
                    old, new_value = status_words(old), status_words(new_value)
                field_name = change["field"] or change["kind"]
                lines.append(
                    Statement(f"{change['kind'].replace('_', ' ')}: {field_name} was {old!s}, now {new_value!s}", [change["record_id"]])
                )
        new_papers = [p.id for p in self._strategy_papers(strategy.id) if p.first_seen_at >= self.since_time]
        if new_papers:
            lines.append(Statement(f"new papers: {len(new_papers):,}", new_papers))
        if lines:
            sub.items(lines)
        else:
            sub.say(Statement(f"Nothing changed for {strategy.name.lower()} since snapshot {self.since}."))

    def trends_section(self) -> Section:
        section = Section("Methodology, funding and leadership", "trends")
        ms_ids = {s.id for s in self.ms}
        types = trends.sponsor_types(self.store, self.profile, studies=self.ms)
        section.blocks.append(
            Block(
                "figure",
                [
                    Statement("MS trials by the type of their lead sponsor", basis=self.basis),
                    Statement(types.describe(), basis=self.basis),
                ],
                svg=bar_chart([(name, n) for _, name, n, _ in types.rows], "MS trials by lead-sponsor type"),
                header=["lead sponsor type", "MS trials", "share"],
                rows=[[name, f"{n:,}", "—" if share is None else _pct(share)] for _, name, n, share in types.rows],
            )
        )
        leaders = trends.leading_sponsors(self.store, self.profile, groups=self.curative_ids, studies=self.ms)
        section.say(Statement("Leading sponsors of the studies aimed at a cure, affiliates merged (as the registries write them):"))
        section.items([Statement(f"{lead.label()}: {_plural(lead.count, 'study', 'studies')}", lead.ids) for lead in leaders])
        paying = trends.funders(self.store, self.profile, groups=self.curative_ids, studies=self.ms)
        section.say(Statement("Funders and partners named as collaborators on those studies:"))
        if paying["collaborators"]:
            section.items([Statement(f"{c.label()}: {_plural(c.count, 'study', 'studies')}", c.ids) for c in paying["collaborators"]])
        else:
            section.say(Statement(f"None of those studies names a collaborator ({self.basis})."))
        section.say(Statement("Grant agencies named on MS papers:"))
        if paying["grants"]:
            section.items([Statement(f"{name}: {_plural(n, 'paper')}", ids) for name, n, ids in paying["grants"]])
        else:
            section.say(Statement(f"No MS paper in the store names a grant ({self.basis})."))
        countries = trends.country_counts(self.store, study_ids=ms_ids)
        section.blocks.append(
            Block(
                "figure",
                [
                    Statement("Countries with the most MS studies (a study counts once per country with a site)", basis=self.basis),
                    Statement(trends.site_coverage(self.store, ms_ids).describe(), basis=self.basis),
                ],
                svg=bar_chart(countries[:15], "MS studies by country (top 15)"),
                header=["country", "MS studies"],
                rows=[[c, f"{n:,}"] for c, n in countries[:15]],
            )
        )
        for title, groups in (("all MS studies", None), ("studies aimed at a cure", self.curative_ids)):
            periods = trends.design_over_time(self.store, self.profile, groups=groups, studies=self.ms)
            section.blocks.append(
                Block(
                    "table",
                    [Statement(f"Design and size over time, {title}, by start year", basis=self.basis)],
                    header=["start years", "studies", "interventional", "phase 2/3 or later", "median enrollment"],
                    rows=[
                        [p.period, f"{p.studies:,}", f"{p.interventional:,}", f"{p.randomised_phase:,}",
                         "—" if p.median_enrollment is None else f"{p.median_enrollment:g}"]
                        for p in periods
                    ],
                )
            )
        return section

    def challenges_section(self) -> Section:
        section = Section("Strengths, limitations and open challenges", "challenges")
        strengths, limits = [], []
        for group in self.curative_groups:
            for strategy in self._strategies(group.id):
                entry, ids = self.landscape[strategy.id], self.studies_of[strategy.id]
                if not ids:
                    limits.append(Statement(f"{strategy.name}: no MS study in the store ({self.basis})"))
                    continue
                if entry.stage and PHASE_RANK[entry.stage] >= PHASE_RANK["phase3"]:
                    strengths.append(Statement(f"{strategy.name}: a {phase_words(entry.stage)} study is registered", entry.stage_studies))
                else:
                    limits.append(
                        Statement(
                            f"{strategy.name}: no late-phase study yet (furthest: {phase_words(entry.stage) if entry.stage else 'no phase given'})",
                            entry.stage_studies or ids,
                        )
                    )
                enrolled = [self.study[i] for i in ids if self.study[i].study_type == "INTERVENTIONAL" and self.study[i].enrollment]
                if enrolled:
                    limits.append(
                        Statement(
                            f"{strategy.name}: its interventional MS studies plan or report "
                            f"{sum(s.enrollment for s in enrolled):,} participants in all",
                            [s.id for s in enrolled],
                        )
                    ) if sum(s.enrollment for s in enrolled) < 500 else strengths.append(
                        Statement(
                            f"{strategy.name}: its interventional MS studies plan or report "
                            f"{sum(s.enrollment for s in enrolled):,} participants in all",
                            [s.id for s in enrolled],
                        )
                    )
                human = [p for p in self._strategy_papers(strategy.id) if p.design in ("rct", "cohort", "case_series")]
                if human and not any(p.design == "rct" for p in human):
                    limits.append(
                        Statement(
                            f"{strategy.name}: its human evidence in the store is single-arm or observational only "
                            f"({_plural(len(human), 'paper')}, no randomised trial)",
                            [p.id for p in human],
                        )
                    )
        section.say(Statement("Strengths:"))
        section.items(strengths) if strengths else section.say(Statement("No strategy aimed at a cure has reached phase 3."))
        section.say(Statement("Limitations:"))
        section.items(limits)
        overdue = trends.completed_without_results(self.store, self.profile, groups=self.curative_ids, studies=self.ms)
        as_of = trends.data_date(self.store)
        section.say(Statement("Open challenges:"))
        section.items(
            [
                Statement(
                    f"completed interventional studies aimed at a cure without posted results {months} months after completion "
                    f"(as of {as_of}): {len(ids):,}",
                    ids,
                )
                for months, ids in overdue.items()
                if ids
            ]
            or [Statement(f"every completed interventional study aimed at a cure has posted results ({self.basis})")]
        )
        return section

    def references(self, cited: list[str]) -> list[dict[str, Any]]:
        from curemap.wording import citation_label, citation_url

        st, pp = schema.studies, schema.papers
        titles: dict[str, str | None] = {}
        with self.store.connect() as conn:
            for row in conn.execute(select(st.c.id, st.c.brief_title).where(st.c.id.in_(cited))):
                titles[row.id] = row.brief_title
            for row in conn.execute(select(pp.c.id, pp.c.title).where(pp.c.id.in_(cited))):
                titles[row.id] = row.title
        order = sorted(cited, key=lambda i: (citation_kind(i), i))
        return [
            {"id": i, "label": citation_label(i), "url": citation_url(i), "title": _quote(titles.get(i)), "kind": citation_kind(i)}
            for i in order
        ]


def build_report(store: Store, profile: Profile, *, since: str | None = None, record_snapshot: bool = True) -> Report:
    """The whole review, from the store as it is now."""
    return ReportBuilder(store, profile, snapshot=current_snapshot(store, record=record_snapshot), since=since).build()
