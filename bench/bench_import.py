"""Import throughput and peak memory, for the CSV snapshot and for raw API v2 JSON at scale.

Each measurement runs in a fresh child process so its peak resident memory is
its own. The JSON inputs replicate the real recorded API records (all of
``shared/data/ctgov/raw-v2``) under new NCT ids, as JSON Lines, at growing
sizes: flat peak memory across sizes shows the import streams.

Usage: python bench/bench_import.py [--shared ../shared] [--sizes 10000,30000,100000]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(path: Path, home: Path) -> dict:
    """Import one file into a fresh store in this process; report rate and peak memory."""
    from curemap.sources.files import iter_file_records
    from curemap.store import Store

    store = Store.open(home)
    started = time.perf_counter()
    counts = store.import_records(iter_file_records(path))
    seconds = time.perf_counter() - started
    records = counts.imported + counts.changed + counts.unchanged + len(counts.rejected)
    return {
        "file": path.name,
        "megabytes": round(path.stat().st_size / 1e6, 1),
        "records": records,
        "rejected": len(counts.rejected),
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_child(path: Path) -> dict:
    with tempfile.TemporaryDirectory() as home:
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(path), home],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(output.strip().splitlines()[-1])


def real_api_studies(raw_dir: Path) -> list[dict]:
    studies = []
    for path in sorted(raw_dir.glob("*.json")):
        document = json.loads(path.read_text())
        studies.extend(document.get("studies", [document]))
    return studies


def write_replicated_jsonl(studies: list[dict], count: int, path: Path) -> None:
    """``count`` records cycling through the real ones, each under a fresh NCT id."""
    with path.open("w", encoding="utf-8") as handle:
        for number, study in zip(range(count), itertools.cycle(studies)):
            identification = study["protocolSection"]["identificationModule"]
            original = identification["nctId"]
            identification["nctId"] = f"NCT{90_000_000 + number:08d}"
            handle.write(json.dumps(study, ensure_ascii=False) + "\n")
            identification["nctId"] = original


def write_replicated_csv(source: Path, copies: int, path: Path) -> None:
    with source.open(newline="") as src, gzip.open(path, "wt", newline="") as out:
        reader = csv.DictReader(src)
        rows = list(reader)
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames)
        writer.writeheader()
        for copy in range(copies):
            for index, row in enumerate(rows):
                writer.writerow(dict(row, NCTId=f"NCT{80_000_000 + copy * 10_000 + index:08d}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "HOME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), Path(args.child[1]))))
        return

    from curemap.snapshot import snapshot_files

    rows = []
    with snapshot_files() as paths:
        rows += [dict(run_child(p), input="offline snapshot") for p in paths]
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        big_csv = scratch_dir / "ctgov_csv_x10.csv.gz"
        write_replicated_csv(args.shared / "data" / "ctgov" / "ctgov_ms_20250925.csv", 10, big_csv)
        rows.append(dict(run_child(big_csv), input="flattened CSV x10"))
        big_csv.unlink()
        studies = real_api_studies(args.shared / "data" / "ctgov" / "raw-v2")
        for size in (int(s) for s in args.sizes.split(",")):
            jsonl = scratch_dir / f"api_v2_{size}.jsonl"
            write_replicated_jsonl(studies, size, jsonl)
            rows.append(dict(run_child(jsonl), input=f"API v2 JSON Lines ({len(studies)} real records cycled)"))
            jsonl.unlink()

    header = f"{'input':<45} {'records':>9} {'MB':>8} {'seconds':>8} {'records/s':>10} {'peak RSS MB':>12}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['input']:<45} {row['records']:>9,} {row['megabytes']:>8} {row['seconds']:>8} "
            f"{row['records_per_s']:>10,} {row['peak_rss_mb']:>12}"
        )


if __name__ == "__main__":
    main()
