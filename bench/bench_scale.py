"""Scale: the batch engines and both stores on a million studies and a million abstracts.

Inputs are made from the real records by cycling them under new ids (NCT9xxxxxxx studies
from the flattened ClinicalTrials.gov CSV, PMIDs from 40,000,000 up for the literature
CSV's abstracts), written as files of ``--per-file`` records, the way a registry dump or a
PubMed baseline comes: they are streamed to disk, never held in memory.

Printed figures:

- throughput per stage: parse, classify and extract (on the Dask workers) and load (into
  SQLite, in this process), from the full build by the Dask engine on 2 workers; then the
  load of the study partitions (kept as Parquet) into PostgreSQL;
- peak memory: of the loading process and of each worker process (sampled);
- speedup from 1 to 2 Dask workers, on the first ``--speedup-files`` files of each kind;
- API latency (p50/p95), uncached: ``/api/status``, ``/api/stats``, the overview page and
  ``GET /api/studies`` with each filter alone and combined, with ``q`` (newest first, and by relevance; a rare word and a common one, whose ranking reads its newest matches only), the search page, and the 2,000th page
  (by cursor), over a real uvicorn server on 127.0.0.1 that keeps no responses and no
  aggregates (what a reader meets after every update), on the SQLite and PostgreSQL stores.

With ``--before-src DIR`` (the ``src`` of an earlier version of the code) the same run also
times that version: its API server over the very same stores (the 2,000th page by offset, as
it pages), and its load of the first ``--load-files`` study partitions into fresh stores
beside this version's, so before/after ratios come from one run on one machine.

PostgreSQL is a server started for the run in a temporary directory (as the tests do).

Usage: python bench/bench_scale.py [--scale 1000000] [--per-file 50000] [--speedup-files 2]
       [--requests 50] [--before-src DIR] [--load-files 2] [--work DIR [--api-only | --loads-only]]

``--loads-only`` times only the loads (studies, then papers, into fresh SQLite and PostgreSQL
stores, and the --before-src version's beside them) from the partitions a previous run kept.
Every load of this version is timed twice: record by record, and staged (the partitions staged
first, as the Dask workers stage them, that cost printed apart, then the writer's merge).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CUREMAP_SHARED") or ROOT.parent / "shared") / "data"
POSTGRES_BIN = Path(os.environ.get("CUREMAP_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
csv.field_size_limit(sys.maxsize)


def say(*parts) -> None:
    print(*parts, flush=True)


# -- inputs ----------------------------------------------------------------------------


def write_cycled(source: Path, out_dir: Path, prefix: str, total: int, per_file: int, renumber) -> list[Path]:
    """Write ``total`` rows cycling through ``source``'s rows, each given a new id by ``renumber``."""
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    files, cycled = [], itertools.cycle(rows)
    for number, start in enumerate(range(0, total, per_file)):
        path = out_dir / f"{prefix}-{number:04d}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            for index in range(start, min(start + per_file, total)):
                writer.writerow(renumber(dict(next(cycled)), index))
        files.append(path)
    return files


def new_study_id(row: dict, index: int) -> dict:
    row["NCTId"] = f"NCT{90_000_000 + index:08d}"
    return row


def new_pmid(row: dict, index: int) -> dict:
    row["pmid"] = str(40_000_000 + index)
    row["link"] = f"https://pubmed.ncbi.nlm.nih.gov/{row['pmid']}/"
    return row


# -- memory ----------------------------------------------------------------------------


class PeakMemory:
    """Samples the resident memory of this process and of each child (the Dask workers)."""

    def __init__(self, every: float = 0.5):
        self.every, self.main, self.workers = every, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self.main = max(self.main, me.memory_info().rss)
            for child in me.children(recursive=True):
                try:
                    self.workers = max(self.workers, child.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


# -- builds ----------------------------------------------------------------------------


def dask_build(url: str, files: list[Path], workers: int, keep: Path | None = None) -> dict:
    from curemap.engine.dask import DaskEngine
    from curemap.pipeline import build
    from curemap.store import Store

    store = Store(url)
    engine = DaskEngine(workers=workers, work_dir=keep)
    with PeakMemory() as memory:
        started = time.perf_counter()
        counts = build(store, engine, files)
        seconds = time.perf_counter() - started
    store.close()
    records = sum(r.records for r in engine.results)
    stages = {name: sum(r.seconds[name] for r in engine.results) for name in ("parse", "classify", "extract")}
    stages["load"] = engine.load_seconds
    return {
        "counts": counts,
        "records": records,
        "seconds": seconds,
        "stages": stages,
        "results": engine.results,
        "peak_main": memory.main,
        "peak_worker": memory.workers,
    }


def print_build(title: str, run: dict) -> None:
    say(f"\n{title}")
    say(f"  {run['records']:,} records in {run['seconds']:,.0f} s: {run['records'] / run['seconds']:,.0f} records/s end to end")
    say(f"  store: {run['counts']['studies']:,} studies ({run['counts']['ms_studies']:,} MS), {run['counts']['papers']:,} papers")
    for name, seconds in run["stages"].items():
        where = "this process" if name == "load" else "summed over workers"
        say(f"  {name:9s} {run['records'] / max(seconds, 1e-9):>9,.0f} records/s  ({seconds:,.0f} s, {where})")
    say(f"  peak memory: loader {mb(run['peak_main'])}, largest worker {mb(run['peak_worker'])}")


LOADER = """
import json, os, sys, time
import psutil
from curemap.engine.partitions import PartitionResult, _enrichers, load_partition
from curemap.store import Store

def server_cpu():
    # CPU seconds of the PostgreSQL server's processes so far (its backends, writers), by pid
    pid = int(os.environ.get("CUREMAP_BENCH_SERVER_PID") or 0)
    seconds = {}
    for process in psutil.Process(pid).children() if pid else ():
        try:
            times = process.cpu_times()
            seconds[process.pid] = times.user + times.system
        except psutil.Error:
            pass
    return seconds

store, keys = Store(sys.argv[1]), _enrichers()[2]
staged = {}
stage = {"seconds": 0.0, "cpu": 0.0, "server_cpu": 0.0}
if os.environ.get("CUREMAP_BENCH_STAGE"):
    # What the Dask workers do in parallel before the writer loads: stage each partition's rows.
    from curemap.engine.partitions import _entries
    from curemap.store import staging
    server_before, started, cpu_started = server_cpu(), time.perf_counter(), time.process_time()
    for parquet in sys.argv[2:]:
        if store.engine.dialect.name == "postgresql":
            staged[parquet] = staging.stage_in_store(store.engine, _entries(parquet), keys)
        else:
            staged[parquet] = staging.stage_in_file(parquet, _entries(parquet), keys)
    stage = {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu_started,
             "server_cpu": sum(n - server_before.get(pid, 0.0) for pid, n in server_cpu().items()),
             "partitions": sum(token is not None for token in staged.values())}
server_before, started, cpu_started = server_cpu(), time.perf_counter(), time.process_time()
for parquet in sys.argv[2:]:
    load_partition(store, PartitionResult(path=parquet, parquet=parquet, keys=keys, **({"staged": staged[parquet]} if staged else {})))
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
server = sum(n - server_before.get(pid, 0.0) for pid, n in server_cpu().items())
print(json.dumps({"seconds": seconds, "cpu": cpu, "server_cpu": server, "records": store.count_studies() + store.count_papers(), "stage": stage}))
"""


def load_into(url: str, partitions: list, src: Path | None = None, server_pid: int | None = None, staged: bool = False) -> dict:
    """Load kept Parquet partitions into the store at ``url`` as the Dask engine does, in a child
    process running the code in ``src`` (default: this checkout's); its peak memory is sampled.
    Returns the records the store then holds, the seconds the loads took, the CPU seconds of
    the loading process and of the PostgreSQL server (``server_pid``: its postmaster), and the
    peak memory."""
    env = {**os.environ, "PYTHONPATH": str(src or ROOT / "src"), "CUREMAP_BENCH_SERVER_PID": str(server_pid or ""),
           "CUREMAP_BENCH_STAGE": "1" if staged else ""}
    child = subprocess.Popen([sys.executable, "-c", LOADER, url, *(r.parquet for r in partitions)], env=env, stdout=subprocess.PIPE, text=True)
    peak = 0
    while child.poll() is None:
        try:
            peak = max(peak, psutil.Process(child.pid).memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.5)
    out = json.loads(child.stdout.read().strip().splitlines()[-1])
    if child.returncode:
        raise SystemExit(f"loading into {url} failed")
    return out | {"peak": peak}


# -- PostgreSQL ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Postgres:
    """A PostgreSQL 15 server for the run, in a temporary directory (as ``postgres`` when root)."""

    def __init__(self):
        import pwd

        self.root = Path(tempfile.mkdtemp(prefix="curemap-bench-postgres-"))
        self.port = free_port()
        self.as_user = []
        if os.getuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        data = self.root / "data"
        self._run(POSTGRES_BIN / "initdb", "-D", data, "-U", "curemap", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c max_wal_size=4GB"
        self._run(POSTGRES_BIN / "pg_ctl", "-D", data, "-l", self.root / "log", "-o", options, "-w", "start")
        self._run(POSTGRES_BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "curemap", "bench")
        self.url = f"postgresql://curemap@127.0.0.1:{self.port}/bench"

    def _run(self, *args) -> None:
        subprocess.run([*self.as_user, *map(str, args)], check=True, capture_output=True)

    def database(self, name: str) -> str:
        """A further empty database on the server."""
        self._run(POSTGRES_BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "curemap", name)
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    @property
    def pid(self) -> int:
        """The postmaster's process id (its backends are its children)."""
        return int((self.root / "data" / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        self._run(POSTGRES_BIN / "pg_ctl", "-D", self.root / "data", "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


# -- API latency -----------------------------------------------------------------------

SERVER = """
import sys, uvicorn
from curemap.store import Store
from curemap.web import create_app, context
# Uncached: no whole responses kept, every aggregate computed afresh (as after every update).
context.AggregateCache.MAX_RESPONSE_BYTES = 0
context.AggregateCache.get = lambda self, name, compute: compute()
uvicorn.run(create_app(Store(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""

QUERIES = [
    "/api/status",
    "/api/stats",
    "/",
    "/api/studies?per_page=20",
    "/api/studies?strategy=ahsct&per_page=20",
    "/api/studies?group=immune_reset&per_page=20",
    "/api/studies?curative=true&per_page=20",
    "/api/studies?ms=true&per_page=20",
    "/api/studies?status=RECRUITING&per_page=20",
    "/api/studies?phase=phase3&per_page=20",
    "/api/studies?strategy=remyelination&phase=phase2&status=COMPLETED&per_page=20",
    "/api/studies?ms=true&curative=true&status=RECRUITING&per_page=20",
    "/api/studies?q=ocrelizumab&per_page=20",
    "/api/studies?q=ocrelizumab&phase=phase3&ms=true&per_page=20",
    "/api/studies?q=ocrelizumab&strategy=anti_cd20&per_page=20",
    "/api/studies?q=transplantation&group=immune_reset&curative=true&per_page=20",
    "/api/studies?q=ocrelizumab&sort=relevance&per_page=20",
    "/api/studies?q=ocrelizumab&phase=phase3&sort=relevance&per_page=20",
    "/search?q=ocrelizumab",
    "/api/studies?q=relapsing&sort=relevance&per_page=20",
    "/api/studies?q=relapsing&country=France&sort=relevance&per_page=20",
    "/api/studies?q=ocrelizumab&sponsor_class=INDUSTRY&phenotype=rrms&per_page=20",
    "/api/papers?q=relapsing&sort=relevance&per_page=20",
    "/search?q=relapsing",
    "/strategies/ahsct",
    "/api/strategies",
    "/api/strategies/ahsct",
    "/api/strategies/anti_cd20",
    "/api/strategies/anti_cd20/lists/tested_studies?per_page=1000",
]
DEEP_PAGE = 2000
SECONDS_PER_QUERY = 10
"""A slow query is timed until this many seconds have passed (at least 3 requests)."""


def deep_page_queries(url: str) -> tuple[str, str]:
    """The 2,000th page of the newest-first list: by cursor (made from the row just before it,
    as following 1,999 next_cursor links would end) and by offset (as numbered pages are)."""
    from curemap.store import Store, schema
    from curemap.web.query import encode_cursor
    from sqlalchemy import select

    store = Store(url)
    per_page = max(1, min(100, store.count_studies() // (DEEP_PAGE + 1)))
    st = schema.studies
    with store.connect() as conn:
        before = conn.execute(
            select(st.c.last_update_posted, st.c.id)
            .order_by(st.c.last_update_posted.desc().nulls_last(), st.c.id.desc())
            .offset((DEEP_PAGE - 1) * per_page - 1)
            .limit(1)
        ).one()
    store.close()
    cursor = encode_cursor("-last_update", before.last_update_posted, before.id)
    return f"/api/studies?per_page={per_page}&cursor={cursor}", f"/api/studies?per_page={per_page}&page={DEEP_PAGE}"


def api_latency(url: str, requests: int, queries: list[str], src: Path | None = None) -> dict[str, dict]:
    """Per query: p50/p95 of uncached requests to a server running the code in ``src``."""
    import httpx

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(src or ROOT / "src")}
    server = subprocess.Popen([sys.executable, "-c", SERVER, url, str(port)], env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
            for _ in range(600):
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.5)
            figures = {}
            for query in queries:
                times, response, started = [], None, time.perf_counter()
                while len(times) < requests and (len(times) < 3 or time.perf_counter() - started < SECONDS_PER_QUERY):
                    began = time.perf_counter()
                    response = client.get(query)
                    times.append((time.perf_counter() - began) * 1000)
                    if response.status_code in (400, 404, 422) and src:
                        break  # a parameter or endpoint the earlier version does not have (sort=relevance)
                    response.raise_for_status()
                if response.status_code in (400, 404, 422):
                    figures[query] = {"times": None, "n": 0, "total": None}
                    continue
                body = response.json() if query.startswith("/api") else {}
                figures[query] = {"times": _p50_p95(times), "n": len(times), "total": body.get("total", body.get("studies"))}
            return figures
    finally:
        server.terminate()
        server.wait()


def _p50_p95(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), statistics.quantiles(times, n=20, method="inclusive")[18]


def print_latency(title: str, figures: dict, before: dict | None = None) -> None:
    say(f"\n{title}")
    say("  uncached p50 / p95 ms (requests)" + ("   before p50 / p95 ms   p95 ratio" if before else "") + "   query (matching)")
    before_rows = list((before or {}).values())
    for index, (query, figure) in enumerate(figures.items()):
        p50, p95 = figure["times"]
        line = f"  {p50:8.1f} / {p95:8.1f} ({figure['n']:2d})"
        if before and before_rows[index]["times"] is None:
            line += f"   {'(not in that version)':>30s}"
        elif before:
            b50, b95 = before_rows[index]["times"]
            line += f"   {b50:8.1f} / {b95:8.1f}   {b95 / p95:6.1f}x"
        total = f"{figure['total']:,}" if isinstance(figure["total"], int) else "page"
        say(f"{line}   {query[:110]} ({total})")


def kept_partitions(work: Path, prefix: str) -> list:
    """The partitions a previous run kept of the input files named ``prefix-*.csv`` (one
    partition per file, in input order: studies first, then abstracts)."""
    from curemap.engine.partitions import PartitionResult, _enrichers

    keys = _enrichers()[2]
    inputs = sorted((work / "inputs").glob("*.csv"), key=lambda path: (not path.name.startswith("studies-"), path.name))
    parts = sorted((work / "partitions").glob("part-*.parquet"))
    return [
        PartitionResult(path=str(source), parquet=str(part), keys=keys)
        for source, part in zip(inputs, parts)
        if source.name.startswith(f"{prefix}-")
    ]


BEFORE_SECONDS = [0.0]
"""Time spent on the --before-src version's parts: a run without it takes that much less."""


def load_rates(args, work: Path, postgres: Postgres, partitions: dict[str, list]) -> None:
    """This version's load of the first --load-files partitions of each kind into fresh
    stores, and the --before-src version's, one after the other on the same partitions."""
    versions = [("after", None)] + ([("before", args.before_src)] if args.before_src else [])
    for kind, kept in partitions.items():
        chosen = kept[: args.load_files]
        for label, src in versions:
            for backend in ("sqlite", "postgresql"):
                name = f"load_{kind}_{label}"
                url = f"sqlite:///{work / f'{name}.db'}" if backend == "sqlite" else postgres.database(name)
                if backend == "sqlite":
                    Path(work / f"{name}.db").unlink(missing_ok=True)
                began = time.perf_counter()
                load = load_into(url, chosen, src, postgres.pid if backend == "postgresql" else None)
                BEFORE_SECONDS[0] += (time.perf_counter() - began) if src else 0
                count, seconds, cpu = load["records"], load["seconds"], load["cpu"] + load["server_cpu"]
                say(f"load {label:6s} into {backend:10s} ({len(chosen)} {kind} partitions): {count:,} {kind} in {seconds:,.1f} s, "
                    f"{count / seconds:,.0f} records/s; CPU {load['cpu']:,.1f} s loader + {load['server_cpu']:,.1f} s server, "
                    f"{count / cpu:,.0f} records per CPU second; peak memory {mb(load['peak'])}")
                if src is None:
                    staged_load(postgres, work, backend, f"{name}_staged", kind, chosen)


def staged_load(postgres: Postgres, work: Path, backend: str, name: str, kind: str, chosen: list) -> None:
    """The same partitions staged first, as the Dask workers stage them in parallel, then moved
    in by the writer: the staging's cost (the workers' and the server's for them) and the writer's."""
    if backend == "sqlite":
        Path(work / f"{name}.db").unlink(missing_ok=True)
        url = f"sqlite:///{work / f'{name}.db'}"
    else:
        url = postgres.database(name)
    load = load_into(url, chosen, None, postgres.pid if backend == "postgresql" else None, staged=True)
    count, seconds, stage = load["records"], load["seconds"], load["stage"]
    say(f"load after  into {backend}, staged ({stage['partitions']} of {len(chosen)} partitions staged): {count:,} {kind}; "
        f"staging {stage['seconds']:,.1f} s (CPU {stage['cpu']:,.1f} s worker + {stage['server_cpu']:,.1f} s server, "
        f"{1000 * (stage['cpu'] + stage['server_cpu']) / count:.3f} ms a record, split among the workers); "
        f"the writer {seconds:,.1f} s, {count / seconds:,.0f} records/s (CPU {load['cpu']:,.1f} s loader + "
        f"{load['server_cpu']:,.1f} s server, {1000 * seconds / count:.3f} ms a record); peak memory {mb(load['peak'])}")


def deep_page_of(src: Path, by_cursor: str, by_offset: str) -> str:
    """The deep page as an earlier version can read it: by cursor once it has cursors (it then
    refuses numbered pages that deep), else by offset."""
    return by_cursor if "def decode_cursor" in (src / "curemap/web/query.py").read_text() else by_offset


def api_part(args, work: Path, sqlite_url: str, study_partitions: list) -> None:
    """Load the study partitions into PostgreSQL, compare load rates, then time the API on both stores."""
    from curemap.store import Store

    postgres = Postgres()
    try:
        load = load_into(postgres.url, study_partitions, server_pid=postgres.pid)
        count, seconds, peak = load["records"], load["seconds"], load["peak"]
        say(f"\nload into PostgreSQL (the {len(study_partitions)} study partitions): {count:,} studies in {seconds:,.0f} s, "
            f"{count / seconds:,.0f} records/s; peak memory {mb(peak)}")
        load_rates(args, work, postgres, {"studies": study_partitions})
        sqlite = Store(sqlite_url)
        held = (sqlite.count_studies(), sqlite.count_papers())
        sqlite.close()
        stores = {f"SQLite store of {held[0]:,} studies and {held[1]:,} papers": sqlite_url,
                  f"PostgreSQL store of {count:,} studies (classified; no papers)": postgres.url}
        for name, url in stores.items():
            by_cursor, by_offset = deep_page_queries(url)
            after = api_latency(url, args.requests, [*QUERIES, by_cursor])
            began = time.perf_counter()
            before = api_latency(url, args.requests, [*QUERIES, deep_page_of(args.before_src, by_cursor, by_offset)], args.before_src) if args.before_src else None
            BEFORE_SECONDS[0] += time.perf_counter() - began
            print_latency(f"API latency, {name} (uncached, up to {args.requests} requests each, uvicorn on 127.0.0.1):", after, before)
    finally:
        postgres.stop()
    say(f"\nload average at the end {os.getloadavg()[0]:.1f}")


def speedup(work: Path, piece: list[Path]) -> None:
    runs = {}
    for workers in (1, 2):
        home = work / f"speedup-{workers}"
        home.mkdir()
        runs[workers] = dask_build(f"sqlite:///{home / 'curemap.db'}", piece, workers)
        shutil.rmtree(home)
    for workers, run in runs.items():
        print_build(f"Dask engine, {workers} worker(s), {len(piece)} files (slice for the speedup):", run)
    say(f"\nspeedup from 1 to 2 Dask workers: {runs[1]['seconds'] / runs[2]['seconds']:.2f}x end to end "
        f"({runs[1]['seconds']:,.0f} s -> {runs[2]['seconds']:,.0f} s)")


# -- main ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1_000_000, help="studies, and abstracts, to generate")
    parser.add_argument("--per-file", type=int, default=50_000, help="records per input file (one partition)")
    parser.add_argument("--speedup-files", type=int, default=2, help="files of each kind for the 1-vs-2-worker run")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per API query")
    parser.add_argument("--before-src", type=Path, help="the src directory of an earlier version, timed beside this one")
    parser.add_argument("--load-files", type=int, default=2, help="study partitions for the before/after load comparison")
    parser.add_argument("--work", type=Path, help="working directory [default: a temporary one, removed after]")
    parser.add_argument(
        "--api-only", action="store_true",
        help="reuse the SQLite store and the study partitions a previous run left in --work; time the API only",
    )
    parser.add_argument(
        "--loads-only", action="store_true",
        help="reuse the partitions a previous run left in --work; time the loads of studies and of papers only",
    )
    args = parser.parse_args()
    if args.loads_only:
        if args.work is None:
            parser.error("--loads-only needs the --work directory of a previous run")
        say(f"machine: {os.cpu_count()} CPUs, {mb(psutil.virtual_memory().total)} memory; load average {os.getloadavg()[0]:.1f}")
        postgres = Postgres()
        try:
            load_rates(args, args.work, postgres, {kind: kept_partitions(args.work, prefix) for kind, prefix in (("studies", "studies"), ("papers", "abstracts"))})
        finally:
            postgres.stop()
        say(f"load average at the end {os.getloadavg()[0]:.1f}")
        return
    if args.api_only:
        if args.work is None:
            parser.error("--api-only needs the --work directory of a previous run")
        say(f"machine: {os.cpu_count()} CPUs, {mb(psutil.virtual_memory().total)} memory; load average {os.getloadavg()[0]:.1f}")
        study_partitions = kept_partitions(args.work, "studies")
        api_part(args, args.work, f"sqlite:///{args.work / 'curemap.db'}", study_partitions)
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="curemap-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    say(f"machine: {os.cpu_count()} CPUs, {mb(psutil.virtual_memory().total)} memory; load average {os.getloadavg()[0]:.1f}")
    try:
        inputs = work / "inputs"
        inputs.mkdir(exist_ok=True)
        started = time.perf_counter()
        studies = write_cycled(SHARED / "ctgov" / "ctgov_ms_20250925.csv", inputs, "studies", args.scale, args.per_file, new_study_id)
        papers = write_cycled(SHARED / "literature" / "ms_articles_2021_2022.csv", inputs, "abstracts", args.scale, args.per_file, new_pmid)
        size = sum(p.stat().st_size for p in studies + papers)
        say(f"inputs: {args.scale:,} studies in {len(studies)} files and {args.scale:,} abstracts in {len(papers)} files, "
            f"{size / 1e9:.2f} GB, written in {time.perf_counter() - started:,.0f} s")

        # Speedup first, on a slice, while the machine is otherwise as it was at the start.
        if args.speedup_files:
            speedup(work, studies[: args.speedup_files] + papers[: args.speedup_files])

        # The whole input, 2 workers, into SQLite, keeping the partitions for PostgreSQL.
        sqlite_url = f"sqlite:///{work / 'curemap.db'}"
        full = dask_build(sqlite_url, studies + papers, 2, keep=work / "partitions")
        print_build(f"Dask engine, 2 workers, the whole input ({len(studies) + len(papers)} files) into SQLite:", full)

        api_part(args, work, sqlite_url, full["results"][: len(studies)])
        minutes = (time.perf_counter() - started) / 60
        say(f"\nthe whole run took {minutes:,.1f} minutes, {minutes - BEFORE_SECONDS[0] / 60:,.1f} without the --before-src parts")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
