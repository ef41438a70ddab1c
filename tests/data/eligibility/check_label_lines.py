"""Check that every label row's "line" and 30-character "text" match its study's eligibility text.

Line n is the n-th line of ``criteria.splitlines()`` (line 0 is the registry age field); the text is
the first 30 characters of that line, less its list marker ("-", "*", "•", "1.", "1\\.") and markdown
backslashes, stripped. Usage: python check_label_lines.py labels-*.jsonl
"""

import json
import re
import sys

MARK = re.compile(r"^\s*(?:[-*•]|\d+\\?\.|[ivx]+\)|[ivx]+\.|[a-z]\.)\s+")


def matches(row: dict, text: str) -> bool:
    lines = text.splitlines()
    if not 1 <= row["line"] <= len(lines):
        return False
    source = lines[row["line"] - 1].replace("\\", "").strip()
    candidates = {source[:30].rstrip(), MARK.sub("", source, count=1).strip()[:30].rstrip()}
    return row["text"] in candidates


def main(paths: list[str]) -> int:
    bad = 0
    for path in paths:
        texts, checked = {}, 0
        with open(path, encoding="utf-8") as handle:
            for raw in handle:
                row = json.loads(raw)
                if "eligibility" in row:
                    texts[row["study"]] = row["eligibility"]["criteria"] or ""
                elif row["line"] != 0:
                    checked += 1
                    if not matches(row, texts[row["study"]]):
                        bad += 1
                        print("MISMATCH", path, row["study"], row["line"], repr(row["text"]))
        print(path, checked, "rows checked")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
