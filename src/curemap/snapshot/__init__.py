"""The offline snapshot: registry exports for MS built into the package (gzip-compressed).

``curemap build --offline`` imports these, so a fresh install builds the map with
no network and nothing beside the package. ``make snapshot`` refreshes them from
the shared data; MANIFEST.md says where each came from.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from importlib import resources
from pathlib import Path


@contextmanager
def snapshot_files() -> Iterator[list[Path]]:
    """The snapshot's files as real paths for as long as the context is open."""
    package = resources.files(__name__)
    names = sorted(entry.name for entry in package.iterdir() if entry.name.endswith(".gz"))
    with ExitStack() as stack:
        yield [stack.enter_context(resources.as_file(package / name)) for name in names]
