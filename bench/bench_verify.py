"""`curemap verify` on large reviews: wall-clock seconds of the whole command, per input.

Builds the offline store in a scratch home (or uses --home), writes the living review, and
times `curemap verify --offline` as a user runs it on texts of --megabytes each:

- the review repeated (tens of thousands of citations in ordinary sentences);
- one clause without a line or sentence break that cites one trial over and over, with
  statuses, phases, enrollments, shares and opening quotation marks that never close: the
  input that made reference finding and claim reading quadratic (4 MB took 53 s).

The acceptance bound is 5 s for 4 MB.

Usage: python bench/bench_verify.py [--home DIR] [--megabytes 4]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BOUND_SECONDS = 5.0


def curemap(home: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "curemap.cli", "--home", str(home), *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"curemap {' '.join(args)} failed:\n{done.stderr}")
    return done


def inputs(review: str, size: int, nct: str) -> dict[str, str]:
    clause = f"{nct} was recruiting, is completed, phase 2, enrolled 120 patients, 38% relapse-free, “ "
    return {
        "the review, repeated": (review * (size // len(review) + 1))[:size],
        "one clause, unclosed quotes": (clause * (size // len(clause) + 1))[:size],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a built home [default: build the offline map in a scratch one]")
    parser.add_argument("--megabytes", type=float, default=4.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-verify-") as scratch:
        work = Path(scratch)
        home = args.home or work / "home"
        if args.home is None:
            curemap(home, "build", "--offline")
        curemap(home, "report", "--format", "md", "--out", str(work / "review"))
        review = (work / "review" / "report.md").read_text(encoding="utf-8")
        nct = re.search(r"NCT\d{8}", review).group()
        size = int(args.megabytes * 1_000_000)
        header = f"{'input':<30} {'MB':>5} {'seconds':>8} {'citations':>9} {'mentions':>9}"
        print(header)
        print("-" * len(header))
        worst = 0.0
        for label, text in inputs(review, size, nct).items():
            path = work / "input.md"
            path.write_text(text, encoding="utf-8")
            started = time.perf_counter()
            summary = json.loads(curemap(home, "verify", str(path), "--offline", "--json").stdout)["summary"]
            seconds = time.perf_counter() - started
            worst = max(worst, seconds)
            megabytes = path.stat().st_size / 1_000_000
            print(f"{label:<30} {megabytes:>5.1f} {seconds:>8.2f} {summary['references']:>9,} {summary['mentions']:>9,}")
        verdict = "within" if worst < BOUND_SECONDS else "OVER"
        print(f"\nslowest: {worst:.2f} s, {verdict} the {BOUND_SECONDS:g} s bound for 4 MB")


if __name__ == "__main__":
    main()
