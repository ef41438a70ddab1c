"""The Dask engine: parse, classify and extract on a cluster, one input file per partition.

Workers write each partition as Parquet into a work directory (on a cluster at
``--scheduler``, a directory the workers and this process share); this process
loads the partitions into the store in input order as they finish, so loading
overlaps with the work still running, and the store has one writer. The workers also
stage partitions of new records (in a PostgreSQL store, or in SQLite files beside the
partitions), which the writer moves in set-based (:mod:`curemap.store.staging`).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from curemap.console import report_import
from curemap.engine.partitions import PartitionResult, load_partition, process_file
from curemap.errors import CuremapError
from curemap.store import ImportCounts, Store


@contextmanager
def _partitions_dir(kept: Path | None) -> Iterator[str]:
    if kept is not None:
        kept.mkdir(parents=True, exist_ok=True)
        yield str(kept.resolve())
        return
    with tempfile.TemporaryDirectory(prefix="curemap-partitions-") as out:
        yield out


class DaskEngine:
    def __init__(
        self, *, workers: int = 2, scheduler: str | None = None, work_dir: Path | None = None, connect_timeout: float = 30
    ):
        """``work_dir``: where the Parquet partitions are written and kept (by default a temporary
        directory, removed after the run)."""
        self.workers = workers
        self.scheduler = scheduler
        self.work_dir = work_dir
        self.connect_timeout = connect_timeout
        self.results: list[PartitionResult] = []
        """Each partition's result from the last run, with its per-stage seconds (for benchmarks)."""
        self.load_seconds = 0.0

    def _client(self):
        from dask.distributed import Client, LocalCluster

        if self.scheduler is not None:
            try:
                return Client(self.scheduler, timeout=self.connect_timeout), None
            except OSError as exc:
                raise CuremapError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}") from exc
        cluster = LocalCluster(
            # Any free port for the scheduler's HTTP endpoint, so clusters side by side never collide.
            n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
        )
        return Client(cluster), cluster

    def run(self, store: Store, paths: list[Path]) -> ImportCounts:
        from curemap.pipeline import enrich

        counts = ImportCounts()
        self.results, self.load_seconds = [], 0.0
        store.drop_left_staging()  # what builds that stopped before loading left behind
        client, cluster = self._client()
        try:
            with _partitions_dir(self.work_dir) as out:
                # The workers also stage new records' rows, which the writer moves in set-based.
                futures = [
                    client.submit(process_file, str(path.resolve()), out, index, store.url, pure=False)
                    for index, path in enumerate(paths)
                ]
                loading = 0
                try:
                    for loading, (path, future) in enumerate(zip(paths, futures)):
                        result = future.result()
                        started = time.perf_counter()
                        loaded = load_partition(store, result)
                        self.load_seconds += time.perf_counter() - started
                        future.release()
                        self.results.append(result)
                        report_import(path.name, loaded)
                        counts.add(loaded)
                except BaseException:
                    _drop_unloaded(store, futures[loading:])
                    raise
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        enrich(store)
        return counts


def _drop_unloaded(store: Store, futures: list) -> None:
    """After a failed load, drop what the partitions not loaded staged, the failed one's too
    (those still being worked on are cancelled; one a worker is already staging may leave its
    staging behind)."""
    for future in futures:
        if future.status != "finished":
            future.cancel()
            continue
        result = future.result()
        if result.staged is not None:
            store.drop_staged(result.staged)
