"""Every error Curemap raises on purpose, in one hierarchy::

    CuremapError                  anything the command line reports as a handled error (exit 1)
    ├── InputError                a file or value we were given cannot be used
    │   ├── FormatNotRecognised   a file whose content matches no importer
    │   └── RecordError           one source record is malformed (names the record)
    ├── ProfileError              the condition profile file is invalid (names the key)
    ├── MailError                 digests cannot be mailed: SMTP not configured, unreachable, or refusing
    ├── StoreError                the store cannot be opened, migrated or written
    │   ├── StoreBusy             another process held the store's write lock past the wait
    │   └── UpdateLockLost        a scheduled update's lock expired and another process took it
    └── SourceError               a remote source failed after retries
        ├── TransportError        connection refused, dropped or timed out
        │   └── NetworkUnreachable  the source never answered: no network, or packets dropped
        ├── HTTPStatusError       the source answered with an error status
        └── ResponseError         the body was not what the API documents (truncated JSON…)

Each message says what failed and, where one exists, what to do next. :func:`handled` turns
any other exception into one of these, so the command line has one error path: a message
that names the file (or the command) and never a traceback, record contents or SQL.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager


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


class StoreBusy(StoreError):
    """Another process kept the store locked for longer than a writer waits (30 s on SQLite)."""


class UpdateLockLost(StoreError):
    """The update lock this process held expired (its heartbeat stopped) and another process
    took it; the update stops before writing anything more."""


class SourceError(CuremapError):
    """A remote source failed after the HTTP client's retries."""

    def __init__(self, message: str, *, url: str | None = None):
        super().__init__(message)
        self.url = url


class TransportError(SourceError):
    """The connection was refused, dropped or timed out."""


class NetworkUnreachable(TransportError):
    """No answer at all from the source: the network is down or drops packets silently.
    The HTTP client stops asking that source at once instead of retrying for minutes."""


class HTTPStatusError(SourceError):
    """The source answered with an error status (after retrying those worth retrying)."""

    def __init__(self, message: str, *, url: str | None = None, status: int):
        super().__init__(message, url=url)
        self.status = status


class ResponseError(SourceError):
    """The body could not be read as the API documents it (truncated, not JSON…)."""


class MailError(CuremapError):
    """Digests could not be mailed: SMTP not configured, unreachable, or a mail refused. The
    message never quotes an address."""


def handled(exc: Exception, subject: str) -> CuremapError:
    """The handled error to report for ``exc``, raised while working on ``subject`` (a file, or
    the command). Other exceptions' own text is left out wherever it could quote a record or
    an SQL statement with its parameters; the traceback is for ``--debug``."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    if isinstance(exc, CuremapError):
        return exc
    if isinstance(exc, UnicodeDecodeError):
        if b"\x00" in exc.object:
            return InputError(f"{subject}: binary data, not text; give a UTF-8 text file")
        return InputError(
            f"{subject}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} cannot stand there in UTF-8; "
            "Latin-1 or Windows-1252 perhaps); save it as UTF-8 and try again"
        )
    if isinstance(exc, gzip.BadGzipFile | EOFError | zlib.error):
        return InputError(f"{subject}: damaged or truncated gzip data; copy or download the file again")
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}" if exc.filename is not None else subject
        return InputError(f"{where}: {exc.strerror.lower()}; check the path and its permissions")
    if isinstance(exc, RecursionError):
        return InputError(f"{subject}: nested too deeply to read")
    if isinstance(exc, csv.Error):
        return InputError(f"{subject}: not readable as CSV ({exc})")
    if isinstance(exc, DBAPIError) and any(word in str(exc.orig).lower() for word in ("locked", "busy", "lock timeout")):
        return StoreBusy(
            f"{subject}: the store is busy: another curemap process kept it locked for too long; "
            "run the command again when that process has finished"
        )
    if isinstance(exc, DBAPIError):
        first_line = str(exc.orig).splitlines()[0] if str(exc.orig) else type(exc.orig).__name__
        return StoreError(f"{subject}: the store failed ({first_line}); check its disk space and permissions")
    if isinstance(exc, SQLAlchemyError):
        return StoreError(f"{subject}: the store failed ({type(exc).__name__}); run again with --debug for the details")
    if isinstance(exc, MemoryError):
        return CuremapError(f"{subject}: ran out of memory")
    return CuremapError(
        f"{subject}: failed on an unexpected {type(exc).__name__}; run again with --debug for the "
        "traceback and report it"
    )


@contextmanager
def about(subject: str) -> Iterator[None]:
    """Report any failure inside the block as :func:`handled` does, naming ``subject``; a
    closed pipe on stdout is left to the command line, which exits quietly on it."""
    try:
        yield
    except BrokenPipeError:
        raise
    except Exception as exc:
        error = handled(exc, subject)
        if error is exc:
            raise
        raise error from exc
