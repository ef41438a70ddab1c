"""Runs enrichment over what changed: records never enriched, or enriched from an older
version of the record, of the profile or of the enriching code. Re-running it changes nothing."""

from __future__ import annotations

import hashlib
import time
from functools import partial
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from curemap.console import meter, stderr
from curemap.enrich import classify, comparisons, outcomes, populations, sponsors
from curemap.enrich.comparisons import RESULT_KINDS, ComparisonReader
from curemap.enrich.classify import Classifier
from curemap.enrich.outcomes import OutcomeExtractor
from curemap.profile import Profile
from curemap.store import Store
from curemap.store.kinds import PAPER, STUDY

BATCH_SIZE = 1000


CLASSIFYING_CODE = (classify, populations, sponsors)
"""The modules whose code a classification is made with (strategies, populations, sponsors)."""

EXTRACTING_CODE = (outcomes, comparisons)
"""The modules whose code an extraction (outcome figures and comparisons) is made with."""


def enrichment_key(profile: Profile, *modules: ModuleType) -> str:
    """What stored enrichment was made with: the profile's text and the enriching modules' code.
    A change to any makes it stale."""
    code = b"\0".join(Path(module.__file__).read_bytes() for module in modules)
    return hashlib.sha256(profile.digest.encode() + b"\0" + code).hexdigest()


def classify_store(store: Store, profile: Profile) -> int:
    """Classify every study and paper whose classification is missing or stale; returns how many."""
    classifier = Classifier(profile)
    key = enrichment_key(profile, *CLASSIFYING_CODE)
    done = 0
    for kind, classify_one in ((STUDY, classifier.classify), (PAPER, classifier.classify_paper)):
        done += _run(
            f"classifying {kind.name} records",
            store.classification_targets(kind, key),
            lambda item, classify_one=classify_one: classify_one(item).to_dict(),
            lambda batch, kind=kind: store.save_classifications(kind, batch, key),
        )
    return done


def extract_store(store: Store, profile: Profile) -> int:
    """Extract outcome figures and results of comparisons from papers (abstract and full-text
    results) and posted registry results, where stale."""
    extractor, reader = OutcomeExtractor(profile), ComparisonReader(profile)
    key = enrichment_key(profile, *EXTRACTING_CODE)
    from_paper = partial(paper_extraction, extractor, reader)
    from_study = partial(study_extraction, extractor, reader)
    save = lambda batch: store.save_figures(batch, key)  # noqa: E731
    return _run("extracting outcome figures from papers", store.extraction_targets(PAPER, key), from_paper, save) + _run(
        "extracting outcome figures from registry results", store.extraction_targets(STUDY, key), from_study, save
    )


def paper_extraction(extractor: OutcomeExtractor, reader: ComparisonReader, paper) -> dict[str, Any]:
    """What extraction stores for a paper (:meth:`Store.save_figures`)."""
    return {"figures": paper_figures(extractor, paper), "comparisons": paper_comparisons(reader, paper)}


def study_extraction(extractor: OutcomeExtractor, reader: ComparisonReader, study) -> dict[str, Any]:
    """What extraction stores for a study's posted results."""
    return {"figures": study_figures(extractor, study), "comparisons": study_comparisons(reader, study)}


def paper_figures(extractor: OutcomeExtractor, paper) -> list[dict[str, Any]]:
    """A paper's outcome figures, as the store keeps them: from its abstract, then from the results
    and tables of its full text (``full_text[i]``, offsets into that part), less restatements."""
    found = [(figure, "abstract") for figure in extractor.extract(paper.abstract or "")]
    seen = {outcomes.result_key(figure) for figure, _ in found}
    results = [(index, part) for index, part in enumerate(paper.full_text) if part.kind in RESULT_KINDS]
    # read only for the full text's results: most papers are an abstract alone
    about = bool(results) and extractor.names_condition(f"{paper.title or ''}\n{paper.abstract or ''}")
    for index, part in results:
        for figure in extractor.extract(part.text, about_condition=about):
            if outcomes.result_key(figure) not in seen:
                seen.add(outcomes.result_key(figure))
                found.append((figure, f"full_text[{index}]"))
    return [_figure_row(figure, field) for figure, field in found]


def paper_comparisons(reader: ComparisonReader, paper) -> list[dict[str, Any]]:
    """A paper's results of comparisons, from its abstract and its full text's results."""
    found = [_comparison_row(c, "abstract") for c in reader.text_comparisons(paper.abstract or "")]
    for index, part in enumerate(paper.full_text):
        found += [_comparison_row(c, f"full_text[{index}]") for c in reader.text_comparisons(part.text, kind=part.kind)]
    return found


def study_figures(extractor: OutcomeExtractor, study) -> list[dict[str, Any]]:
    """A study's outcome figures, from its posted results, as the store keeps them."""
    return [_figure_row(f, "results") for f in extractor.extract_results(study)]


def study_comparisons(reader: ComparisonReader, study) -> list[dict[str, Any]]:
    """A study's results of comparisons, from its posted analyses."""
    return [_comparison_row(c, "results") for c in reader.registry_comparisons(study)]


def _comparison_row(comparison, source_field: str) -> dict[str, Any]:
    data = comparison.to_dict()
    data["is_primary"] = data.pop("primary")
    return {**data, "source_field": source_field}


def _figure_row(figure, source_field: str) -> dict[str, Any]:
    data = figure.to_dict()
    data["group_label"] = data.pop("group")
    return {**data, "source_field": source_field}


def _run(
    label: str,
    targets: Iterator[tuple[Any, str]],
    compute: Callable[[Any], Any],
    save: Callable[[list[tuple[str, str, Any]]], None],
) -> int:
    """Compute enrichment for each stale record and save it in batches; returns how many."""
    started = time.monotonic()
    done = 0
    batch: list[tuple[str, str, Any]] = []
    with meter(label) as bar:
        for item, content_hash in targets:
            batch.append((item.id, content_hash, compute(item)))
            if len(batch) >= BATCH_SIZE:
                save(batch)
                bar.count(len(batch))
                done += len(batch)
                batch = []
        save(batch)
        done += len(batch)
    if done:
        seconds = time.monotonic() - started
        stderr.print(f"{label}: {done:,} in {seconds:.1f} s ({done / max(seconds, 1e-9):,.0f}/s)", highlight=False)
    return done
