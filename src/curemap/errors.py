"""Every error Curemap raises on purpose, in one hierarchy::

    CuremapError                  anything the command line reports as a handled error (exit 1)
    ├── InputError                a file or value we were given cannot be used
    │   ├── FormatNotRecognised   a file whose content matches no importer
    │   └── RecordError           one source record is malformed (names the record)
    ├── ProfileError              the condition profile file is invalid (names the key)
    ├── StoreError                the store cannot be opened, migrated or written
    └── SourceError               a remote source failed after retries
        ├── TransportError        connection refused, dropped or timed out
        ├── HTTPStatusError       the source answered with an error status
        └── ResponseError         the body was not what the API documents (truncated JSON…)

Each message says what failed and, where one exists, what to do next.
"""

from __future__ import annotations


class CuremapError(Exception):
    """Base class: a failure the user can act on."""


class InputError(CuremapError):
    """A file or value given to Curemap cannot be used."""


class FormatNotRecognised(InputError):
    """A file whose content matches none of the importers."""


class RecordError(InputError):
    """One source record is malformed; ``record`` names it."""

    def __init__(self, record: str, problem: str):
        super().__init__(f"{record}: {problem}")
        self.record = record
        self.problem = problem


class ProfileError(CuremapError):
    """The condition profile is invalid."""


class StoreError(CuremapError):
    """The store cannot be opened, migrated or written."""


class SourceError(CuremapError):
    """A remote source failed after the HTTP client's retries."""

    def __init__(self, message: str, *, url: str | None = None):
        super().__init__(message)
        self.url = url


class TransportError(SourceError):
    """The connection was refused, dropped or timed out."""


class HTTPStatusError(SourceError):
    """The source answered with an error status (after retrying those worth retrying)."""

    def __init__(self, message: str, *, url: str | None = None, status: int):
        super().__init__(message, url=url)
        self.status = status


class ResponseError(SourceError):
    """The body could not be read as the API documents it (truncated, not JSON…)."""
