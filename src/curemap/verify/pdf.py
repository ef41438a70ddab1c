"""Reviews shared as PDF files, read as the HTML the verifier reads.

A PDF holds positioned words, not paragraphs, lists or tables, so each page is laid out again:
words are gathered into printed lines (a superscript citation kept apart from the word it
follows, so "NCT04047628³" stays an id), columns are read in turn and boxes set side by side one
after the other, lines are grouped into headings, paragraphs, list items and numbered references
by size, gaps and leading marks, tables (ruled or found by their columns) become rows under their
header, link annotations keep their addresses, and running heads and page numbers are left out. Each printed line stays one line of the HTML, so
what the verifier reports says "page 3, line 12" as a reader counts it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from io import BytesIO
from statistics import median

from curemap.errors import InputError

GLYPHS = frozenset("•◦▪▫■□●○‣⁃∙►▶➤✓✔")
"""Bullets printed as characters: each opens an item (a dash or a number may go on a wrapped line)."""
BULLET = re.compile(rf"^(?:[{''.join(sorted(GLYPHS))}·\-–—*]|\(?\d{{1,3}}[.)]|\[\d{{1,3}}\]|[a-z][.)])$")
"""A line's first word that opens a list item or a numbered reference."""
UNMAPPED_GLYPH = re.compile(r"^\(cid:\d{1,5}\)$")
"""A word that is one glyph the font maps to no character (a bullet, in fonts that draw their own)."""
PAGE_NUMBER = re.compile(r"^(?:page\s*)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?$", re.IGNORECASE)
LIGATURES = str.maketrans({"ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "\u00ad": ""})
ADDRESS_END = re.compile(r"(?:https?://|www\.|doi\.org/|\b10\.\d{4,9}/)\S*[/.\-_=?&#]$|\b10\.\d{4,9}/?$")
"""A line ending inside an address or a DOI, which the next line goes on without a space."""


@dataclass
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    link: str | None = None
    raised: bool = False  # a superscript: a citation mark, not part of the word before it
    glued: bool = False  # the rest of the word before it, carried over from the next page


@dataclass
class Line:
    words: list[Word]
    table: tuple[int, list[str]] | None = None  # a ruled table's number on the page and its row's cells as HTML
    bulleted: bool = False  # a drawn bullet (a small filled shape) stands just left of it
    edge: float = 0.0  # the right edge of its column: a line stopping well short of it ends its paragraph
    skip: bool = False  # a running head, a footer, a page number, or a table row's later line

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def x0(self) -> float:
        return min(w.x0 for w in self.words)

    @property
    def size(self) -> float:
        return median(w.size for w in self.words if not w.raised) if any(not w.raised for w in self.words) else self.words[0].size

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass
class Page:
    number: int
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)


def _words(page) -> list[Word]:
    """A page's words, each with its size, weight and link."""
    links = [(h["x0"], h["top"], h["x1"], h["bottom"], h.get("uri")) for h in page.hyperlinks if h.get("uri")]
    found = []
    for w in page.extract_words(x_tolerance=1.5, y_tolerance=2, extra_attrs=["size", "fontname"], use_text_flow=False):
        text = UNMAPPED_GLYPH.sub("•", w["text"].translate(LIGATURES))  # a font's bullet with no character: "(cid:127)"
        if not text.strip():
            continue
        cx, cy = (w["x0"] + w["x1"]) / 2, (w["top"] + w["bottom"]) / 2
        link = next((uri for x0, top, x1, bottom, uri in links if x0 - 1 <= cx <= x1 + 1 and top - 1 <= cy <= bottom + 1), None)
        bold = bool(re.search(r"bold|black|heavy|semibold", w["fontname"], re.IGNORECASE))
        found.append(Word(text, w["x0"], w["x1"], w["top"], w["bottom"], round(w["size"], 1), bold, link))
    return found


def _rows(words: list[Word]) -> list[Line]:
    """Words gathered into printed lines: a word joins the line its height overlaps most; a
    smaller word riding high on a line is its superscript."""
    lines: list[Line] = []
    bands: list[tuple[float, float]] = []  # each line's extent as its first full-size words set it
    typical = median(w.size for w in words) if words else 0
    full = [w for w in words if w.size >= 0.95 * typical]
    small = [w for w in words if w.size < 0.95 * typical]  # superscripts and small print, placed after the lines they sit on
    for word in sorted(full, key=lambda w: (w.top, w.x0)) + sorted(small, key=lambda w: (w.top, w.x0)):
        height = word.bottom - word.top
        best, overlap = None, 0.0
        for index, (top, bottom) in enumerate(bands):
            shared = min(word.bottom, bottom) - max(word.top, top)
            enough = 0.4 * min(height, bottom - top)
            if word.size < 0.95 * typical and word.top < (top + bottom) / 2 and any(0 <= word.x0 - w.x1 < 0.5 * w.size for w in lines[index].words):
                enough = -0.5 * word.size  # a superscript set high against the word it marks, even above its line
            if (best is None or shared > overlap) and shared >= enough:
                best, overlap = index, shared
        if best is None:
            lines.append(Line([word]))
            bands.append((word.top, word.bottom))
        else:
            lines[best].words.append(word)
    lines.sort(key=lambda line: line.top)
    for line in lines:
        line.words.sort(key=lambda w: w.x0)
        for before, word in zip(line.words, line.words[1:]):  # set small and high, right against the word it marks
            word.raised = (
                word.size < 0.95 * before.size and word.bottom < before.bottom - 0.2 * before.size
                and word.x0 - before.x1 < 0.3 * before.size and bool(re.fullmatch(r"[\d,\-–*†‡a-z]{1,12}", word.text))
            )
    return lines


def _gutter(lines: list[Line], low: float, high: float, crossed: float = 0.5) -> float | None:
    """The x of the gap between two columns of running text between ``low`` and ``high``: an x
    in the span's middle that fewer than half the lines cross (a full-width title or abstract
    may), with many lines ending before it and many starting after it, the text before it on
    lines reaching both sides continuous (not a table's cells). None for a span of one column.
    Within a column already split off, ``crossed`` is smaller: only a clear gutter splits it again."""
    body = [line for line in lines if len(line.words) > 1]
    if len(body) < 8:
        return None
    best = None
    for step in range(int(low + (high - low) * 0.3), int(low + (high - low) * 0.7), 2):
        crossing = sum(1 for line in body if any(w.x0 < step < w.x1 for w in line.words))
        left = [line for line in body if any(w.x1 < step for w in line.words) and not any(w.x0 < step < w.x1 for w in line.words)]
        right = [line for line in body if any(w.x0 > step for w in line.words) and not any(w.x0 < step < w.x1 for w in line.words)]
        if crossing > len(body) * crossed or len(left) < len(body) * 0.3 or len(right) < len(body) * 0.3:
            continue
        widths = [max(w.x1 for w in line.words) - min(w.x0 for w in line.words if w.x0 > step) for line in right]
        if median(widths) < 0.25 * (high - step):  # what stands right of it is the ends of long lines, not a column
            continue
        both = [line for line in left if any(w.x0 > step for w in line.words)]
        if both and sum(1 for line in both if _spaced_at(line, step)) > 0.3 * len(both):
            continue  # the step falls between words of running lines, as a ragged single column leaves gaps
        continuous = sum(1 for line in both if _continuous([w for w in line.words if w.x1 < step]) or _justified(Line([w for w in line.words if w.x1 < step])))
        if both and continuous < 0.7 * len(both):
            continue
        beyond = sum(1 for line in both if _continuous([w for w in line.words if w.x0 > step]) or _justified(Line([w for w in line.words if w.x0 > step])))
        if both and beyond < 0.5 * len(both):
            continue  # what stands right of it is set apart in cells: a table's first column, not a column of text
        if best is None or crossing < best[0]:
            best = (crossing, [[step]])
        elif crossing == best[0]:
            if best[1][-1][-1] == step - 2:
                best[1][-1].append(step)
            else:
                best[1].append([step])
    return None if best is None else median(max(best[1], key=len))  # the middle of the widest clear run: a gutter, not a table's cell gap


def _spaced_at(line: Line, step: float) -> bool:
    """Whether a line has only a word space at ``step``: not half as wide again as its other gaps' median."""
    gaps = [(b.x0 - a.x1, a.x1 < step < b.x0) for a, b in zip(line.words, line.words[1:])]
    there = [gap for gap, at in gaps if at]
    others = [gap for gap, at in gaps if not at]
    return bool(there and others) and there[0] <= 1.5 * median(others)


def _continuous(words: list[Word]) -> bool:
    """Words set as running text, no gap wider than two spaces (a table's cells stand apart)."""
    return all(b.x0 - a.x1 < 1.2 * a.size for a, b in zip(words, words[1:]))


def _reading_order(lines: list[Line], low: float, high: float, crossed: float = 0.5) -> list[Line]:
    """Lines as a reader takes them: in columns, each band of lines between full-width ones is
    read down the left column, then down the right, each side split again where it holds two
    columns itself (a poster's three)."""
    text = [line for line in lines if line.table is None and not line.skip]
    gutter = _gutter(text, low, high, crossed)
    if gutter is None:
        return lines
    ordered: list[Line] = []
    left: list[Line] = []
    right: list[Line] = []
    for line in lines:
        if any(w.x0 < gutter < w.x1 for w in line.words) or (
            (line.table is not None or line.skip) and not (all(w.x1 <= gutter for w in line.words) or all(w.x0 >= gutter for w in line.words))
        ):  # full width: a title, an abstract, a table across both columns
            ordered += _reading_order(left, low, gutter, 0.2) + _reading_order(right, gutter, high, 0.2) + [line]
            left, right = [], []
            continue
        if line.table is not None or line.skip:  # a table's row within one column stays whole
            (left if line.words[0].x1 <= gutter else right).append(line)
            continue
        before = [w for w in line.words if w.x1 <= gutter]
        after = [w for w in line.words if w.x0 >= gutter]
        if before:
            left.append(Line(before))
        if after:
            right.append(Line(after))
    return ordered + _reading_order(left, low, gutter, 0.2) + _reading_order(right, gutter, high, 0.2)


def _boxes(page) -> list[tuple[float, float, float, float]]:
    """Boxes drawn side by side (a leaflet's options, a poster's panels): each is read whole, in
    turn, rather than across the lines they share."""
    shapes = {
        (round(o["x0"]), round(o["top"]), round(o["x1"]), round(o["bottom"])) for o in page.rects + page.curves
        if page.width * 0.15 <= o["width"] <= page.width * 0.9 and o["height"] >= 18
    }
    return [
        box for box in shapes
        if any(other != box and min(box[3], other[3]) - max(box[1], other[1]) > 0.5 * (box[3] - box[1])
               and (other[0] >= box[2] - 2 or other[2] <= box[0] + 2) for other in shapes)
    ]


def _edges(lines: list[Line]) -> None:
    """Each line's column's right edge: the furthest any line reaches among the lines around it
    that start where it does, give or take a hanging indent."""
    for line in lines:
        column = [other for other in lines if abs(other.x0 - line.x0) < 4 * line.size]
        line.edge = max(max(w.x1 for w in other.words) for other in column)


def _page(number: int, page) -> Page:
    """One page's printed lines, a ruled table's row read whole at its first line (its cells'
    words in place, links kept) and its other lines counted but not read again."""
    result = Page(number, float(page.width), float(page.height))
    words = _words(page)
    lines: list[Line] = []
    held: set[int] = set()
    for index, table in enumerate(page.find_tables()):
        x0, top, x1, bottom = table.bbox
        inside = [w for w in words if x0 - 1 <= (w.x0 + w.x1) / 2 <= x1 + 1 and top - 1 <= (w.top + w.bottom) / 2 <= bottom + 1]
        held.update(id(w) for w in inside)
        for row in table.rows:
            cells, row_words = [], []
            for cell in row.cells:
                within = [] if cell is None else [
                    w for w in inside if cell[0] - 1 <= (w.x0 + w.x1) / 2 <= cell[2] + 1 and cell[1] - 1 <= (w.top + w.bottom) / 2 <= cell[3] + 1
                ]
                cells.append(" ".join(_html_words(line.words) for line in _rows(within)))
                row_words += within
            if not row_words:
                continue
            row_lines = _rows(row_words)
            first, *rest = row_lines
            first.words = row_words
            first.table = (index, cells)
            for line in rest:
                line.skip = True
            lines += row_lines
    boxed: list[tuple[tuple[float, float, float, float], list[Line]]] = []
    for box in _boxes(page):
        within = [w for w in words if id(w) not in held and box[0] <= (w.x0 + w.x1) / 2 <= box[2] and box[1] <= (w.top + w.bottom) / 2 <= box[3]]
        if within:
            held.update(id(w) for w in within)
            boxed.append((box, _rows(within)))
    lines += _rows([w for w in words if id(w) not in held])
    lines.sort(key=lambda line: line.top)
    result.lines = _reading_order(lines, 0, result.width)
    for (x0, top, x1, bottom), inside in sorted(boxed, key=lambda pair: (round(pair[0][1] / 20), pair[0][0]), reverse=True):
        at = next((i for i, line in enumerate(result.lines) if line.top > top), len(result.lines))  # box by box, left to right
        result.lines[at:at] = _reading_order(inside, x0, x1)
    _edges([line for line in result.lines if line.table is None and not line.skip])
    _aligned_tables(result.lines)
    marks = [(o["x1"], o["top"], o["bottom"]) for o in page.curves + page.rects if 1 < o["width"] < 8 and 1 < o["height"] < 8]
    for line in result.lines:
        size = line.size
        line.bulleted = any(line.x0 - 2.5 * size <= x1 <= line.x0 and line.top - 1 <= (top + bottom) / 2 <= line.bottom + 1 for x1, top, bottom in marks)
    return result


def _segments(line: Line, space: float) -> list[list[Word]]:
    """A line's words in runs set apart by more than a word space and a half: a table's cells."""
    runs = [[line.words[0]]]
    for before, word in zip(line.words, line.words[1:]):
        if word.x0 - before.x1 > 1.5 * space and not word.raised:
            runs.append([word])
        else:
            runs[-1].append(word)
    return runs


def _justified(line: Line) -> bool:
    """Whether most of a line's word gaps are alike (within a fifth of their median): running
    text, however widely justified, a superscript or two aside; not a table's cells."""
    gaps = [b.x0 - a.x1 for a, b in zip(line.words, line.words[1:]) if not (a.raised or b.raised)]
    if len(gaps) < 2:
        return False
    middle = median(gaps)
    return sum(1 for gap in gaps if abs(gap - middle) <= 0.2 * max(middle, 0.5)) >= 0.7 * len(gaps)


def _aligned_tables(lines: list[Line]) -> None:
    """Tables drawn without rules (or with only horizontal ones), found by their columns: a
    header line of three cells or more, then lines whose cells start where its cells do, a cell
    that wraps read on with its row. Each row is read whole at its first line, as a ruled table's."""
    gaps: dict[float, Counter] = {}
    for line in lines:
        for before, word in zip(line.words, line.words[1:]):
            gaps.setdefault(round(word.size), Counter())[round(word.x0 - before.x1, 1)] += 1
    def space(size: float) -> float:
        counted = gaps.get(round(size))
        return max(counted.most_common(1)[0][0], 0.15 * size) if counted else 0.3 * size

    index, number = 0, 1000
    while index < len(lines):
        head = lines[index]
        if head.table is not None or head.skip or len(cells := _segments(head, space(head.size))) < 3 or _justified(head):
            index += 1
            continue
        starts = [run[0].x0 for run in cells]
        ends = [run[-1].x1 for run in cells]

        def column(run: list[Word]) -> int | None:  # the header cell a run starts under (or ends under, set right)
            return next((k for k in range(len(starts)) if abs(run[0].x0 - starts[k]) <= 3 or abs(run[-1].x1 - ends[k]) <= 3), None)

        rows: list[tuple[Line, list[list[Word]]]] = [(head, [list(run) for run in cells])]
        following = index + 1
        while following < len(lines):
            line = lines[following]
            if line.table is not None or line.skip or not line.words:
                break
            runs = _segments(line, space(line.size))
            columns = [column(run) for run in runs]
            placed = [(k, run) for k, run in zip(columns, runs) if k is not None]
            close = line.top - lines[following - 1].bottom < 0.45 * line.size  # set as one cell's next line, not a new row
            near = line.top - max(w.bottom for w in rows[-1][0].words) < 0.8 * line.size
            row = len(runs) >= 2 and len(placed) >= 2 and len(placed) >= 0.6 * len(runs) and columns[0] == 0
            if len(rows) > 1 and len(placed) == len(runs) and (close or (near and not row)):
                for k, run in placed:  # cells wrapping onto the next line
                    rows[-1][1][k] += run
                line.skip = True
            elif row:
                cells_now: list[list[Word]] = [[] for _ in starts]
                for k, run in zip(columns, runs):
                    cells_now[k if k is not None else max(i for i, x in enumerate(starts) if x <= run[0].x0 + 3)] += run
                rows.append((line, cells_now))
            else:
                break
            following += 1
        if len(rows) < 2:
            index += 1
            continue
        for line, row in rows:
            line.table = (number, [_html_words(sorted(cell, key=lambda w: (round(w.top), w.x0))) for cell in row])
        number += 1
        index = following


def _running(pages: list[Page]) -> set[int]:
    """Ids of running heads, running feet and page numbers: among the two lines at the top and
    the two at the bottom of each page, those that are a page number or that repeat (numbers
    aside) at the same height on other pages."""
    def shape(line: Line) -> tuple[str, int]:
        return re.sub(r"\d+", "#", line.text.lower()), round(line.top / 4)
    margins = []
    for page in pages:
        text = sorted((line for line in page.lines if not line.skip), key=lambda line: line.top)
        margins += [(page.number, line) for line in text[:2] + text[-2:] if line.bottom < page.height * 0.12 or line.top > page.height * 0.88]
    pages_of: dict[tuple[str, int], set[int]] = {}
    for number, line in margins:
        pages_of.setdefault(shape(line), set()).add(number)
    return {id(line) for _, line in margins if PAGE_NUMBER.match(line.text) or len(pages_of[shape(line)]) > 1}


def _carried(pages: list[Page], running: set[int]) -> None:
    """An address or a number broken at the foot of a page made whole there: the first word of
    the next page's first line moves up to it."""
    for page, following in zip(pages, pages[1:]):
        flow = [line for line in page.lines if not line.skip and line.table is None and id(line) not in running]
        after = [line for line in following.lines if not line.skip and line.table is None and id(line) not in running]
        if not flow or not after:
            continue
        last, first = flow[-1], after[0]
        if (ADDRESS_END.search(last.text) or re.search(r"\d-$", last.text)) and re.match(r"[\w./\-]", first.words[0].text):
            word = first.words.pop(0)
            word.glued = True
            last.words.append(word)
            if not first.words:
                first.skip = True


def _html_words(words: list[Word]) -> str:
    """A line's words as HTML: links wrapped in their addresses, superscripts as such."""
    parts: list[str] = []
    open_link = None
    for word in words:
        if word.link != open_link:
            if open_link:
                parts.append("</a>")
            if word.link:
                parts.append(f' <a href="{escape(word.link)}">')
            open_link = word.link
        text = escape(word.text)
        if word.raised:  # a citation number written as the text's own citations are, so its source is found
            parts.append(f"[{text}]" if re.fullmatch(r"\d{1,3}(?:[,–-]\d{1,3})*", word.text) else f"<sup>{text}</sup>")
        else:
            parts.append(("" if word.glued or not parts or re.fullmatch(r"[.,;:)\]]+", word.text) else " ") + text)
    if open_link:
        parts.append("</a>")
    return "".join(parts).strip()


def _joined(previous: str, line: str, vocabulary: set[str]) -> tuple[str, str]:
    """Two lines of a paragraph as printed, a word hyphenated or an address broken at the end of
    the first made whole on it (the second keeps its line, shorter). A word broken at its own
    hyphen ("three-|patient") keeps it: the hyphen goes only where the whole word is found
    elsewhere in the document ("recruit-|ing")."""
    match = re.search(r"([A-Za-z]{2,})[-‐]$", previous)
    head, _, tail = line.partition(" ")
    if match and head[:1].islower() and not head.startswith("<") and (match.group(1) + re.sub(r"\W+$", "", head)).lower() not in vocabulary:
        return previous + head, tail
    if re.search(r"\d-$", previous) and head[:1].isdigit():  # a number (an EU CT number, a range) broken at its hyphen
        return previous + head, tail
    if match and head[:1].islower() and not head.startswith("<"):
        return previous[:-1] + head, tail
    if ADDRESS_END.search(previous) and head and not head.startswith("<") and re.match(r"[\w./\-]", head):
        return previous + head, tail
    return previous, line


def _ended(previous: Line | None, marker: str | None, first: str) -> bool:
    """Whether a line opening with a list mark or a reference number starts an item: the line
    before it ended its own (stopped short of the column's edge, or closed a sentence), or the
    number follows the item before's ("[4]" after "[3]"); else it is a wrapped line that happens
    to open with "[4]" or a dash."""
    if previous is None or previous.table is not None or first in GLYPHS:  # a "•" never goes on a wrapped line
        return True
    last = max(w.x1 for w in previous.words)
    if last < previous.edge - 2.5 * previous.size:
        return True
    if re.search(r"[.!?:]$", previous.text) and not re.match(r"\(?\d", first):
        return True
    number = re.sub(r"\D", "", first)
    return bool(marker and number and re.sub(r"\D", "", marker) and int(number) == int(re.sub(r"\D", "", marker)) + 1)


@dataclass
class _Block:
    tag: str
    lines: list[str]


def _blocks(page: Page, body_size: float, running: set[int], vocabulary: set[str]) -> list[str | None]:
    """A page's printed lines as HTML source lines (None for one left out), block by block."""
    out: list[str | None] = []
    block: _Block | None = None
    previous: Line | None = None
    marker: str | None = None  # the mark that opened the list item being read
    note: int | None = None  # the number of the page's footnote being read
    left = min((line.x0 for line in page.lines if not line.skip and id(line) not in running), default=0)

    open_table: int | None = None
    open_width = 0

    def close_table() -> None:
        nonlocal open_table
        if open_table is not None:
            last = max(i for i, text in enumerate(out) if text is not None)
            out[last] += "</table>"
            open_table = None

    def close() -> None:
        nonlocal block
        if block is None:
            return
        texts = block.lines
        if block.tag.startswith("h") and len(texts) > 3:  # a long run of large or bold type is a paragraph
            block.tag = "p"
        for i in range(1, len(texts)):
            if texts[i - 1] is not None and texts[i] is not None:
                texts[i - 1], texts[i] = _joined(texts[i - 1], texts[i], vocabulary)
        first = next(i for i, t in enumerate(texts) if t is not None)
        last = max(i for i, t in enumerate(texts) if t is not None)
        if block.tag == "note":  # "3 NCT…" at a page's foot: the entry the body's "[3]" cites
            texts[first] = re.sub(r"^(\d{1,3})\s", r"[\1] ", texts[first])
            block.tag = "p"
        open_tag, close_tag = {"li": ("<ul><li>", "</li></ul>")}.get(block.tag, (f"<{block.tag}>", f"</{block.tag}>"))
        texts[first] = open_tag + texts[first]
        texts[last] = texts[last] + close_tag
        out.extend(texts)
        block = None

    for line in page.lines:
        if line.skip or id(line) in running:
            out.append(None)
            continue
        if line.table is not None:
            close()
            table, cells = line.table
            opening = ""
            if table != open_table and not (open_table is not None and len(cells) == open_width):  # a header ruled apart from its rows
                close_table()
                opening = "<table>"
            open_table, open_width = table, len(cells)
            out.append(opening + "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
            previous = None
            continue
        close_table()
        html = _html_words(line.words)
        first = line.words[0].text
        heading = line.size > body_size * 1.15 or (all(w.bold for w in line.words if not w.raised) and len(line.words) <= 14 and not re.search(r"[.,;:]$", line.text))
        gap = line.top - previous.bottom if previous is not None else 0
        size = line.size
        noted = size < body_size * 0.92 and re.fullmatch(r"\d{1,3}", first) is not None and len(line.words) > 1 and (
            note is None or int(first) == note + 1 or block is None or block.tag != "note"
        )  # a footnote in small print, numbered in turn ("2016" or a wrapped count is no note's number)
        note = int(first) if noted else note if block is not None and block.tag == "note" and size < body_size * 0.92 else None
        starts = (
            block is None
            or previous is None
            or heading != (block.tag.startswith("h"))
            or gap > 0.75 * size
            or gap < -size  # a new column
            or (BULLET.match(first) is not None and _ended(previous, marker, first))
            or line.bulleted
            or noted
            or (block.tag == "note") != (note is not None)
            or (block.tag.startswith("h") and abs(size - previous.size) > 0.5)
            or (line.x0 > previous.x0 + size * 1.2 and block.tag == "p" and line.x0 - left < size * 3 and re.search(r"[.!?:]$", previous.text) is not None)
        )
        if starts:
            close()
            item = line.bulleted or (BULLET.match(first) is not None and _ended(previous, marker, first))
            marker = first if item else None
            tag = "note" if noted else ("h2" if size > body_size * 1.15 else "h3") if heading else "li" if item else "p"
            block = _Block(tag, [])
        block.lines.append(html)
        previous = line
    close()
    close_table()
    return out


def pdf_as_html(data: bytes, name: str) -> str:
    """A PDF as HTML the verifier reads: a ``<section data-place="page N">`` per page, each
    printed line one line of the HTML, so a reference's line is its line on the page."""
    try:
        import pdfplumber
        from pdfminer.psparser import PSException
        from pdfplumber.utils.exceptions import PdfminerException
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise InputError(f"{name}: reading PDF files needs pdfplumber; install curemap again") from exc
    try:
        with pdfplumber.open(BytesIO(data)) as pdf:
            pages = [_page(number, page) for number, page in enumerate(pdf.pages, 1)]
    except (PdfminerException, PSException, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{name}: not a readable PDF ({exc}); save it again, or export the review as HTML, Word (.docx) or text") from exc
    if not any(line.words for page in pages for line in page.lines):
        raise InputError(f"{name}: the PDF holds no text (a scanned image?); run it through text recognition, or export the review as text")
    sizes = Counter()
    for page in pages:
        for line in page.lines:
            if line.table is None and not line.skip:
                sizes.update({w.size: len(w.text) for w in line.words if not w.raised})
    body_size = max(sizes.items(), key=lambda item: (item[1], -item[0]))[0] if sizes else 10.0
    running = _running(pages)
    vocabulary = {w.text.lower().strip(".,;:()[]'\"") for page in pages for line in page.lines for w in line.words}
    _carried(pages, running)
    lines = ["<html><body>"]
    for page in pages:
        lines.append(f'<section data-place="page {page.number}" data-line-offset="{len(lines) + 1}" data-unit="line">')
        lines += ["" if text is None else text for text in _blocks(page, body_size, running, vocabulary)]
        lines.append("</section>")
    lines.append("</body></html>")
    return "\n".join(lines) + "\n"
