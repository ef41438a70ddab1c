"""The in-process engine: each file imported in its own transaction, then enrichment of what changed."""

from __future__ import annotations

from pathlib import Path

from curemap.store import ImportCounts, Store


class LocalEngine:
    def run(self, store: Store, paths: list[Path]) -> ImportCounts:
        from curemap.pipeline import enrich, import_paths

        counts = import_paths(store, paths)
        enrich(store)
        return counts
