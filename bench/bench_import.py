"""Import throughput and peak memory, for the CSV snapshot and for raw API v2 JSON at scale.

Each measurement runs in a fresh child process so its peak resident memory is
its own; records per CPU second, beside records per second, holds steadier on a
busy machine. The JSON inputs replicate the real recorded API records (all of
``shared/data/ctgov/raw-v2``) under new NCT ids, as JSON Lines and as API pages
of 100 studies, at growing sizes: flat peak memory across sizes shows the import streams.

With ``--profile N`` it instead imports N such records under cProfile and prints where a
record's time goes, stage by stage (cumulative, so nested stages overlap), with the share
the garbage collector took.

Usage: python bench/bench_import.py [--shared ../shared] [--sizes 10000,30000,100000] [--profile 3000]
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import gzip
import itertools
import json
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def written_bytes() -> int | None:
    """Bytes this process has sent to storage so far (Linux ``/proc/self/io``), else ``None``."""
    try:
        fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    except OSError:
        return None
    return int(fields["write_bytes"])


def measure(path: Path, home: Path) -> dict:
    """Import one file (or each file of a folder, one import each) into a fresh store in this
    process; report rate, peak memory and what the store wrote to disk (the database, its
    write-ahead log and any temporary files)."""
    from curemap.sources.files import iter_file_records
    from curemap.store import ImportCounts, Store

    paths = sorted(path.iterdir()) if path.is_dir() else [path]
    store = Store.open(home)
    counts = ImportCounts()
    written_before = written_bytes()
    started, cpu_started = time.perf_counter(), time.process_time()
    for file in paths:
        counts.add(store.import_records(iter_file_records(file)))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    written = None if written_before is None else written_bytes() - written_before
    records = counts.imported + counts.changed + counts.unchanged + len(counts.rejected)
    return {
        "file": path.name,
        "megabytes": round(sum(file.stat().st_size for file in paths) / 1e6, 1),
        "records": records,
        "rejected": len(counts.rejected),
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
        "records_per_cpu_s": round(records / cpu_seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "written_kb_per_record": None if written is None else round(written / records / 1000),
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


def write_replicated_pages(studies: list[dict], count: int, directory: Path, per_page: int = 100) -> None:
    """The records :func:`write_replicated_jsonl` writes, as API v2 pages of ``per_page`` studies, one file each."""
    directory.mkdir()
    lines = directory.parent / f"{directory.name}.jsonl"
    write_replicated_jsonl(studies, count, lines)
    with lines.open(encoding="utf-8") as handle:
        for number, page in enumerate(iter(lambda: list(itertools.islice(handle, per_page)), [])):
            text = '{"studies": [' + ", ".join(line.rstrip("\n") for line in page) + '], "nextPageToken": "next"}'
            (directory / f"page_{number:05d}.json").write_text(text, encoding="utf-8")
    lines.unlink()


def write_replicated_csv(source: Path, copies: int, path: Path) -> None:
    with source.open(newline="") as src, gzip.open(path, "wt", newline="") as out:
        reader = csv.DictReader(src)
        rows = list(reader)
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames)
        writer.writeheader()
        for copy in range(copies):
            for index, row in enumerate(rows):
                writer.writerow(dict(row, NCTId=f"NCT{80_000_000 + copy * 10_000 + index:08d}"))


PROFILED_STAGES = {
    "read and parse a JSON line": ("files.py", "_json_line"),
    "  parse (parse_json)": ("jsontext.py", "parse_json"),
    "  parse (json.loads)": ("json/__init__.py", "loads"),
    "  nesting depth": ("validation.py", "nesting_depth_exceeds"),
    "  schema validation": ("validation.py", "check"),
    "  normalise (study_from_api)": ("ctgov_json.py", "study_from_api"),
    "store: upsert a batch": ("store.py", "_upsert"),
    "  to_dict": ("model.py", "to_dict"),
    "  canonical_json": ("store.py", ("canonical_json", "canonical_json_hashed")),
    "    plain-JSON check": ("store.py", "_written_alike"),
    "  child rows (bulk_insert)": ("store.py", "_insert_children"),
    "  search index": ("search.py", "index_records"),
    "store: raw records": ("store.py", "_store_raw"),
    "commit": ("~", "<method 'commit' of 'sqlite3.Connection' objects>"),
}


def profile(path: Path, home: Path) -> None:
    """Import ``path`` under cProfile; print the time of each stage per record."""
    from curemap.sources.files import iter_file_records
    from curemap.store import Store

    collecting = [0.0, 0.0]

    def timed(phase: str, _info: dict) -> None:
        if phase == "start":
            collecting[1] = time.perf_counter()
        else:
            collecting[0] += time.perf_counter() - collecting[1]

    store = Store.open(home)
    profiler = cProfile.Profile()
    gc.callbacks.append(timed)
    started = time.perf_counter()
    profiler.enable()
    counts = store.import_records(iter_file_records(path))
    profiler.disable()
    total = time.perf_counter() - started
    gc.callbacks.remove(timed)
    records = counts.imported + counts.changed + counts.unchanged + len(counts.rejected)
    stats = pstats.Stats(profiler).stats
    print(f"{records:,} records, {total / records * 1e3:.3f} ms a record under the profiler")
    for stage, (file_name, functions) in PROFILED_STAGES.items():
        names = functions if isinstance(functions, tuple) else (functions,)
        seconds = sum(
            cumulative
            for (file, _line, name), (_calls, _primitive, _own, cumulative, _callers) in stats.items()
            if file.endswith(file_name) and name in names
        )
        print(f"{stage:<34} {seconds / records * 1e3:8.3f} ms")
    print(f"{'garbage collection (all stages)':<34} {collecting[0] / records * 1e3:8.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--profile", type=int, metavar="RECORDS", help="profile importing this many API v2 records")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "HOME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), Path(args.child[1]))))
        return
    if args.profile:
        with tempfile.TemporaryDirectory() as scratch:
            jsonl = Path(scratch) / "api_v2.jsonl"
            write_replicated_jsonl(real_api_studies(args.shared / "data" / "ctgov" / "raw-v2"), args.profile, jsonl)
            profile(jsonl, Path(scratch) / "home")
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
            pages = scratch_dir / f"api_v2_pages_{size}"
            write_replicated_pages(studies, size, pages)
            rows.append(dict(run_child(pages), input="API v2 pages of 100, one file each"))
            shutil.rmtree(pages)

    header = (
        f"{'input':<45} {'records':>9} {'MB':>8} {'seconds':>8} {'records/s':>10} {'per CPU s':>10} "
        f"{'peak RSS MB':>12} {'KB written/record':>18}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['input']:<45} {row['records']:>9,} {row['megabytes']:>8} {row['seconds']:>8} "
            f"{row['records_per_s']:>10,} {row['records_per_cpu_s']:>10,} {row['peak_rss_mb']:>12} "
            f"{row['written_kb_per_record'] if row['written_kb_per_record'] is not None else '-':>18}"
        )


if __name__ == "__main__":
    main()
