"""`curemap verify` on large reviews: wall-clock seconds of the whole command, per input.

Builds the offline store in a scratch home (or uses --home), writes the living review, and
times `curemap verify --offline` as a user runs it on texts of --megabytes each:

- the review repeated (tens of thousands of citations in ordinary sentences);
- one clause without a line or sentence break that cites one trial over and over, with
  statuses that were and are ("was recruiting, now completed"), phases, enrollments, shares and
  opening quotation marks that never close: the input that made reference finding and claim
  reading quadratic (4 MB took 53 s; its former statuses alone, 2 MB 123 s).

The acceptance bound is 5 s for 4 MB (wall clock). The processor time the command used (user
and system) is printed beside it: on a machine shared with other work the wall clock stretches,
the processor time does not.

Then, without --offline and with no network, a 200-reference review none of whose references
the store holds (so every one would be looked up): once with the sources' own addresses (on a
machine without a network their names do not resolve) and once with every source pointed at
a listener whose queue is full, so connections are never accepted (packets dropped silently).
The verifier must say once that the network cannot be reached and finish within 10 s.

Usage: python bench/bench_verify.py [--home DIR] [--megabytes 4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BOUND_SECONDS = 5.0
NO_NETWORK_BOUND = 10.0
SOURCE_URLS = ("CUREMAP_CTGOV_URL", "CUREMAP_EUTILS_URL", "CUREMAP_EUROPEPMC_URL", "CUREMAP_CROSSREF_URL")


def curemap(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "curemap.cli", "--home", str(home), *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"curemap {' '.join(args)} failed:\n{done.stderr}")
    return done


def inputs(review: str, size: int, nct: str) -> dict[str, str]:
    clause = f"{nct} was recruiting, now completed, phase 2, enrolled 120 patients, 38% relapse-free, “ "
    return {
        "the review, repeated": (review * (size // len(review) + 1))[:size],
        "one clause, unclosed quotes": (clause * (size // len(clause) + 1))[:size],
    }


def unknown_references(count: int = 200) -> str:
    """A review citing ``count`` references the store does not hold: NCT ids, PMIDs, DOIs, PMCIDs."""
    forms = (
        "- The trial NCT09{n:06d} is a phase 2 trial, recruiting 120 participants.",
        "- A paper (PMID: 9{n:07d}) reports 38% remission.",
        "- See doi:10.9999/bench.{n} for details.",
        "- PMC99{n:05d} describes it.",
    )
    return "\n".join(forms[n % 4].format(n=n) for n in range(count)) + "\n"


def black_hole() -> tuple[socket.socket, list[socket.socket]]:
    """A listener on 127.0.0.1 whose accept queue is full: the kernel drops new connections'
    packets, as a network that drops them silently does."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(listener.getsockname())
        fillers.append(filler)
    return listener, fillers


def no_network(home: Path, work: Path) -> float:
    path = work / "unknown.md"
    path.write_text(unknown_references(), encoding="utf-8")
    listener, fillers = black_hole()
    address = "http://127.0.0.1:%d" % listener.getsockname()[1]
    settings = {
        "sources' own addresses": {k: v for k, v in os.environ.items() if k not in SOURCE_URLS},
        "packets dropped": {**os.environ, **{name: address for name in SOURCE_URLS}},
    }
    worst = 0.0
    try:
        for label, env in settings.items():
            started = time.perf_counter()
            done = curemap(home, "verify", str(path), "--json", env=env)
            seconds = time.perf_counter() - started
            summary = json.loads(done.stdout)["summary"]
            said = done.stderr.count("cannot be reached")
            worst = max(worst, seconds)
            print(f"{label:<30} {seconds:>8.2f} s  {summary['references']} references, "
                  f"{summary['unverifiable']} unverifiable, 'cannot be reached' said {said} time(s)")
    finally:
        for sock in (listener, *fillers):
            sock.close()
    return worst


def _child_cpu() -> float:
    """Processor seconds (user and system) used by the commands run so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
        header = f"{'input':<30} {'MB':>5} {'seconds':>8} {'cpu s':>6} {'citations':>9} {'mentions':>9}"
        print(header)
        print("-" * len(header))
        worst = 0.0
        for label, text in inputs(review, size, nct).items():
            path = work / "input.md"
            path.write_text(text, encoding="utf-8")
            started, used = time.perf_counter(), _child_cpu()
            summary = json.loads(curemap(home, "verify", str(path), "--offline", "--json").stdout)["summary"]
            seconds, cpu = time.perf_counter() - started, _child_cpu() - used
            worst = max(worst, seconds)
            megabytes = path.stat().st_size / 1_000_000
            print(f"{label:<30} {megabytes:>5.1f} {seconds:>8.2f} {cpu:>6.2f} {summary['references']:>9,} {summary['mentions']:>9,}")
        verdict = "within" if worst < BOUND_SECONDS else "OVER"
        print(f"\nslowest: {worst:.2f} s, {verdict} the {BOUND_SECONDS:g} s bound for 4 MB")
        print("\nno network, without --offline, 200 references the store lacks:")
        slowest = no_network(home, work)
        verdict = "within" if slowest < NO_NETWORK_BOUND else "OVER"
        print(f"slowest: {slowest:.2f} s, {verdict} the {NO_NETWORK_BOUND:g} s bound")


if __name__ == "__main__":
    main()
