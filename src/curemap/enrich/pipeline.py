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
from curemap.enrich import classify, outcomes, populations, sponsors
from curemap.enrich.classify import Classifier
from curemap.enrich.outcomes import OutcomeExtractor
from curemap.profile import Profile
from curemap.store import Store
from curemap.store.kinds import PAPER, STUDY

BATCH_SIZE = 1000


CLASSIFYING_CODE = (classify, populations, sponsors)
"""The modules whose code a classification is made with (strategies, populations, sponsors)."""


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
    """Extract outcome figures from paper abstracts and posted registry results, where stale."""
    extractor = OutcomeExtractor(profile)
    key = enrichment_key(profile, outcomes)
    from_abstract, from_results = partial(paper_figures, extractor), partial(study_figures, extractor)
    save = lambda batch: store.save_figures(batch, key)  # noqa: E731
    return _run("extracting outcome figures from papers", store.extraction_targets(PAPER, key), from_abstract, save) + _run(
        "extracting outcome figures from registry results", store.extraction_targets(STUDY, key), from_results, save
    )


def paper_figures(extractor: OutcomeExtractor, paper) -> list[dict[str, Any]]:
    """A paper's outcome figures, from its abstract, as the store keeps them."""
    return [_figure_row(f, "abstract") for f in extractor.extract(paper.abstract or "")]


def study_figures(extractor: OutcomeExtractor, study) -> list[dict[str, Any]]:
    """A study's outcome figures, from its posted results, as the store keeps them."""
    return [_figure_row(f, "results") for f in extractor.extract_results(study)]


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
