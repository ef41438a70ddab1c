"""The evidence store: schema, migrations, idempotent upserts, change log and snapshots."""

from curemap.store.store import ImportCounts, Store

__all__ = ["ImportCounts", "Store"]
