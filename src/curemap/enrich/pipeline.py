"""Runs enrichment over what changed: studies never classified, or classified from an
older version of the study or of the profile. Re-running it changes nothing."""

from __future__ import annotations

import time

import hashlib
from pathlib import Path

from curemap.console import meter, stderr
from curemap.enrich import classify
from curemap.enrich.classify import Classifier
from curemap.profile import Profile
from curemap.store import Store

BATCH_SIZE = 1000


def classification_key(profile: Profile) -> str:
    """What a stored classification was made with: the profile's text and the classifier's code.
    A change to either makes every classification stale."""
    code = Path(classify.__file__).read_bytes()
    return hashlib.sha256(profile.digest.encode() + b"\0" + code).hexdigest()


def classify_store(store: Store, profile: Profile) -> int:
    """Classify every study whose classification is missing or stale; returns how many."""
    classifier = Classifier(profile)
    key = classification_key(profile)
    started = time.monotonic()
    done = 0
    batch: list[tuple[str, str, dict]] = []
    with meter("classifying studies", unit="studies") as bar:
        for study, content_hash in store.classification_targets(key):
            batch.append((study.id, content_hash, classifier.classify(study).to_dict()))
            if len(batch) >= BATCH_SIZE:
                store.save_classifications(batch, key)
                bar.count(len(batch))
                done += len(batch)
                batch = []
        store.save_classifications(batch, key)
        done += len(batch)
    if done:
        seconds = time.monotonic() - started
        stderr.print(f"classified {done:,} studies in {seconds:.1f} s ({done / max(seconds, 1e-9):,.0f}/s)", highlight=False)
    return done
