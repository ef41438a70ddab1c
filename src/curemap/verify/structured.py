"""Reviews kept as JSON (notebooks, chat exports, trackers' exports), read with each line's place in the file.

A Jupyter notebook (.ipynb) is read as the Markdown its cells show: each markdown cell's lines,
each output's printed lines and HTML tables (a data frame's rows one line each), its code left
out (code queries; it claims nothing). Any other JSON or JSON Lines file is read as labelled
cards, one per record that holds text: a ``key: value`` line per field, a nested object's fields
(a chat message's link preview) in its record's card, a list of several objects as records of
their own; so a record's fields are read by their names ("phase", "status", "sponsor",
"enrollment") as a table's columns are. Every line read keeps the line of the file it came
from, which is what the verifier reports.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass

from curemap.errors import InputError


@dataclass(frozen=True)
class Text:
    """A JSON string or number with the line of the file it starts on."""

    value: str
    line: int


_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_SCALAR = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")
_SPACE = re.compile(r"\s*")


class _Reader:
    """A JSON text's values, strings and numbers as :class:`Text` (the json module keeps no positions)."""

    def __init__(self, text: str, first_line: int, name: str):
        self.text, self.position, self.name, self.first_line = text, 0, name, first_line
        self._breaks = [m.start() for m in re.finditer("\n", text)]

    def line(self, position: int) -> int:
        return self.first_line + bisect_right(self._breaks, position - 1)

    def fail(self, what: str) -> InputError:
        return InputError(f"{self.name}: not valid JSON at line {self.line(self.position)} ({what}); save it again as JSON, or as Markdown or text")

    def value(self):
        self.position = _SPACE.match(self.text, self.position).end()
        if self.position >= len(self.text):
            raise self.fail("the file ends inside a value")
        char = self.text[self.position]
        if char == "{":
            return self._members()
        if char == "[":
            return self._items()
        if char == '"':
            match = _STRING.match(self.text, self.position)
            if match is None:
                raise self.fail("a string that does not close")
            self.position = match.end()
            return Text(json.loads(match.group()), self.line(match.start()))
        match = _SCALAR.match(self.text, self.position)
        if match is None:
            raise self.fail(f"unexpected {char!r}")
        self.position = match.end()
        return Text(match.group(), self.line(match.start())) if match.group()[0] in "-0123456789" else None

    def _expect(self, chars: str) -> str:
        self.position = _SPACE.match(self.text, self.position).end()
        if self.position >= len(self.text) or self.text[self.position] not in chars:
            raise self.fail(f"expected one of {chars!r}")
        self.position += 1
        return self.text[self.position - 1]

    def _next_is(self, char: str) -> bool:
        """Whether the next character past any spaces is ``char`` (an empty object's or list's end)."""
        at = _SPACE.match(self.text, self.position).end()
        return at < len(self.text) and self.text[at] == char

    def _members(self) -> dict:
        self.position += 1
        members: dict = {}
        if self._next_is("}"):
            self._expect("}")
            return members
        while True:
            key = self.value()
            if not isinstance(key, Text):
                raise self.fail("a key that is not a string")
            self._expect(":")
            members[key.value] = self.value()
            if self._expect(",}") == "}":
                return members

    def _items(self) -> list:
        self.position += 1
        items: list = []
        if self._next_is("]"):
            self._expect("]")
            return items
        while True:
            items.append(self.value())
            if self._expect(",]") == "]":
                return items


def _parsed(content: str, name: str) -> list:
    """The file's top-level values: one for JSON, one per line for JSON Lines."""
    reader = _Reader(content, 1, name)
    try:
        value = reader.value()
        if _SPACE.match(content, reader.position).end() == len(content):
            return [value]
    except InputError:
        if not name.lower().endswith((".jsonl", ".ndjson")):
            raise
    values = []
    for number, line in enumerate(content.split("\n"), 1):
        if line.strip():
            values.append(_Reader(line, number, name).value())
    return values


class _Lines:
    """Lines of text to read, each with the line of the file it came from."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, int]] = []

    def add(self, text: str, line: int) -> None:
        self.lines.append((" ".join(text.split()) if "\n" in text.rstrip("\n") else text.rstrip("\n"), line))

    def gap(self) -> None:
        if self.lines and self.lines[-1][0]:
            self.lines.append(("", self.lines[-1][1]))

    def joined(self) -> tuple[str, list[tuple[int, int]]]:
        """The text and its anchors (offset, source line), one per line."""
        anchors, offset = [], 0
        for text, line in self.lines:
            anchors.append((offset, line))
            offset += len(text) + 1
        return "\n".join(text for text, _ in self.lines) + "\n", anchors


def _strings(value) -> list[Text]:
    return [v for v in value if isinstance(v, Text)] if isinstance(value, list) else []


def _notebook(cells: list, out: _Lines) -> None:
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        if isinstance(kind, Text) and kind.value in ("markdown", "raw"):
            for piece in _strings(cell.get("source")):
                out.add(piece.value, piece.line)
            out.gap()
        outputs = cell.get("outputs")
        for output in outputs if isinstance(outputs, list) else ():
            if not isinstance(output, dict):
                continue
            data = output.get("data") if isinstance(output.get("data"), dict) else {}
            if html := _strings(data.get("text/html")):
                _html_rows(html, out)
            else:
                for piece in _strings(output.get("text")) or _strings(data.get("text/markdown")) or _strings(data.get("text/plain")):
                    out.add(piece.value, piece.line)
            out.gap()


def _html_rows(pieces: list[Text], out: _Lines) -> None:
    """An HTML output's lines, each table row's on one line (the line of its ``<tr>``)."""
    row: list[str] = []
    start = 0
    for piece in pieces:
        if re.search(r"<tr\b", piece.value, re.IGNORECASE) and not row:
            start = piece.line
        if row or re.search(r"<tr\b", piece.value, re.IGNORECASE):
            row.append(piece.value.strip())
            if re.search(r"</tr\s*>", piece.value, re.IGNORECASE):
                out.add("".join(row), start)
                row = []
        else:
            out.add(piece.value, piece.line)


def _card(record: dict, out: _Lines, prefix: str = "") -> list:
    """A record's fields as labelled lines (nested single objects' fields too); the lists of
    several objects it holds, returned to be read as records of their own."""
    apart, said = [], set()
    for key, value in record.items():
        label = f"{prefix}{key}"
        if (runs := _runs(value)) is not None:
            words = "".join(run.value for run in runs)
            if " ".join(words.split()) not in said:  # a chat export's message, its runs again as "text_entities"
                said.add(" ".join(words.split()))
                out.add(f"{label}: {words}", runs[0].line)
        elif isinstance(value, Text) and value.value.strip():
            out.add(f"{label}: {value.value}", value.line)
        elif isinstance(value, dict):
            apart += _card(value, out, f"{key} ")
        elif isinstance(value, list) and (texts := _strings(value)) and len(texts) == len(value):
            out.add(f"{label}: {', '.join(t.value for t in texts)}", texts[0].line)
        elif isinstance(value, list) and sum(isinstance(v, dict) for v in value) == 1:
            for item in value:
                if isinstance(item, dict):
                    apart += _card(item, out, f"{key} ")
        elif isinstance(value, list):
            apart.append(value)
    return apart


def _runs(value) -> list[Text] | None:
    """A text written as runs (a chat export's message: plain strings between links, mentions and
    bold words, each an object with its "text"), as the runs' words; None for any other value."""
    if not isinstance(value, list) or not any(isinstance(v, dict) for v in value) or not any(isinstance(v, Text) for v in value):
        return None  # plain strings between the objects: runs of one text, not a list of records (a post's attachments)
    runs = [v if isinstance(v, Text) else v.get("text") if isinstance(v, dict) else None for v in value]
    return runs if runs and all(isinstance(run, Text) for run in runs) else None


def _records(value, out: _Lines) -> None:
    if isinstance(value, list):
        for item in value:
            _records(item, out)
    elif isinstance(value, dict):
        apart = _card(value, out)
        out.gap()
        for nested in apart:
            _records(nested, out)


def json_as_text(content: str, name: str) -> tuple[str, list[tuple[int, int]], bool]:
    """A JSON review's readable text, its anchors (offset, line of the file) and whether it is
    Markdown (a notebook's cells) rather than labelled cards."""
    values = _parsed(content, name)
    out = _Lines()
    notebook = len(values) == 1 and isinstance(values[0], dict) and isinstance(values[0].get("cells"), list)
    if notebook:
        _notebook(values[0]["cells"], out)
    else:
        for value in values:
            _records(value, out)
    text, anchors = out.joined()
    return text, anchors, notebook
