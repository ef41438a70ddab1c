"""Reading JSON text fast and exactly as the standard library would: shared by the readers of
source files and the store (kept apart from both, so opening a store does not load the readers)."""

from __future__ import annotations

import json
from typing import Any

import orjson

_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_LONG_INTEGER = b"0" * 19
"""An integer of 19 digits or more may lie past 64 bits, which orjson reads as a float."""


def may_hold_long_integer(data: bytes) -> bool:
    """Whether JSON bytes hold a run of 19 digits or more (an integer orjson may not read exactly)."""
    return _LONG_INTEGER in data.translate(_ZERO_DIGITS)


def parse_json(text: str) -> Any:
    """``json.loads(text)``: its value, or its error. orjson reads the same value several times
    faster from standard JSON with integers inside 64 bits; text outside that (``NaN``, an
    integer past 64 bits, a lone surrogate, deep nesting) and text orjson refuses are read by
    :func:`json.loads`, whose value or error stands."""
    try:
        data = text.encode()
        if not may_hold_long_integer(data):
            return orjson.loads(data)
    except (UnicodeEncodeError, orjson.JSONDecodeError):
        pass
    return json.loads(text)
