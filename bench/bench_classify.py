"""Strategy classification throughput on one core, and peak memory.

Classifies the 3,616 real ClinicalTrials.gov studies of the flattened CSV once (the
classifier starts cold, as in a fresh build), then streams a million records by cycling
through those parsed studies: results are tallied and dropped as they come, so memory
stays that of the 3,616 studies plus the classifier's bounded caches. The process is
pinned to one CPU where the platform allows it.

Usage: python bench/bench_classify.py [--csv PATH] [--records 1000000]
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "ctgov" / "ctgov_ms_20250925.csv"


def peak_rss_mb() -> float:
    """Peak resident memory of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def classify_stream(classifier, studies, count: int) -> tuple[float, Counter]:
    """Classify ``count`` records cycling through ``studies``; seconds taken and strategy tallies."""
    tally: Counter = Counter()
    started = time.perf_counter()
    for study in itertools.islice(itertools.cycle(studies), count):
        tally.update(classifier.classify(study).strategies)
    return time.perf_counter() - started, tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="flattened ClinicalTrials.gov CSV")
    parser.add_argument("--records", type=int, default=1_000_000, help="records in the streamed run")
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    from curemap.enrich.classify import Classifier
    from curemap.profile import load_profile
    from curemap.sources.ctgov_csv import iter_records

    with args.csv.open(newline="", encoding="utf-8") as handle:
        studies = [record.study for record in iter_records(handle, str(args.csv)) if record.study is not None]
    classifier = Classifier(load_profile())
    rss_loaded = peak_rss_mb()

    rows = []
    seconds, tally = classify_stream(classifier, studies, len(studies))
    rows.append((f"{len(studies):,} real studies, once (cold)", len(studies), seconds))
    seconds, _ = classify_stream(classifier, studies, len(studies))
    rows.append((f"{len(studies):,} real studies, again (warm)", len(studies), seconds))
    seconds, _ = classify_stream(classifier, studies, args.records)
    rows.append((f"{args.records:,} records streamed (cycled)", args.records, seconds))

    header = f"{'run':<42} {'records':>10} {'seconds':>8} {'records/s':>10}"
    print(header)
    print("-" * len(header))
    for label, records, seconds in rows:
        print(f"{label:<42} {records:>10,} {seconds:>8.2f} {records / seconds:>10,.0f}")
    print(f"\npeak RSS: {rss_loaded:.1f} MB after loading, {peak_rss_mb():.1f} MB at the end")
    print(f"cpus used: {sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else 'all'}")
    print("strategies over the real studies:", ", ".join(f"{s} {n}" for s, n in tally.most_common()))


if __name__ == "__main__":
    main()
