"""The trial finder against hand labels: how well it reads criteria and judges them.

A labels file is JSON Lines. A ``study`` line carries one trial's eligibility as the registry
gave it (text, age and sex fields) and the day its time windows are judged on; each criterion
line names the study, the line of the text it labels (0 with the ``kind`` for a registry
field), the first words of that line, the checks it states (``kind`` and whichever values
the labeller wrote down) and, per hand-written person profile, the expected status. Profiles
are TOML files in a ``profiles`` folder beside the labels, named by file stem.

Two accuracies are counted: reading (a criterion's checks have the labelled kinds and values)
and judging (a criterion's status for a profile is the labelled one). The criterion-level
accuracy is over both together. A status judged ``met`` where the label says ``not_met`` or
``unknown`` is counted apart as wrongly met: it tells a person a criterion is fine when it is not
known to be, the worst error a finder can make.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curemap.errors import InputError
from curemap.match.criteria import Criterion, EligibilityReader
from curemap.match.matcher import Matcher
from curemap.match.person import Person, load_person
from curemap.model import Eligibility
from curemap.profile import Profile


@dataclass
class EligibilityReport:
    source: str
    studies: int = 0
    criteria: int = 0
    reading: list[bool] = field(default_factory=list)
    judging: list[bool] = field(default_factory=list)
    misses: list[dict[str, Any]] = field(default_factory=list)
    wrongly_met: int = 0

    @staticmethod
    def _share(items: list[bool]) -> float | None:
        return round(sum(items) / len(items), 4) if items else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": self.source,
            "studies": self.studies,
            "criteria": self.criteria,
            "reading": {"correct": sum(self.reading), "total": len(self.reading), "accuracy": self._share(self.reading)},
            "judging": {"correct": sum(self.judging), "total": len(self.judging), "accuracy": self._share(self.judging)},
            "accuracy": self._share(self.reading + self.judging),
            "wrongly_met": self.wrongly_met,
            "misses": self.misses,
        }

    def render_text(self) -> str:
        data = self.to_dict()
        lines = [
            f"eligibility labels {self.source}: {self.studies} studies, {self.criteria} criteria",
            f"  reading criteria:  {data['reading']['correct']}/{data['reading']['total']} = {data['reading']['accuracy']}",
            f"  judging criteria:  {data['judging']['correct']}/{data['judging']['total']} = {data['judging']['accuracy']}",
            f"  criterion-level accuracy: {data['accuracy']}",
            f"  wrongly met: {self.wrongly_met}",
        ]
        lines += [f"  miss {m['study']} line {m['line']} ({m['what']}): expected {m['expected']}, got {m['got']}" for m in self.misses]
        return "\n".join(lines)


def evaluate_eligibility(path: Path, profile: Profile) -> EligibilityReport:
    """Score the reader and the matcher against one labels file."""
    rows = _rows(path)
    reader = EligibilityReader(profile)
    persons: dict[str, Person] = {}
    report = EligibilityReport(path.name)
    studies: dict[str, tuple[list[Criterion], dt.date]] = {}
    for number, row in rows:
        if "eligibility" in row:
            eligibility = Eligibility(**row["eligibility"])
            studies[row["study"]] = (reader.read(eligibility), dt.date.fromisoformat(row["as_of"]))
            report.studies += 1
            continue
        where = f"{path.name} line {number}"
        if row.get("study") not in studies:
            raise InputError(f"{where}: study {row.get('study')!r} has no study line before it")
        criteria, as_of = studies[row["study"]]
        criterion = _find(criteria, row, where)
        report.criteria += 1
        if "checks" in row:
            got = [check.to_dict() for check in criterion.checks]
            correct = _same_checks(row["checks"], got)
            report.reading.append(correct)
            if not correct:
                report.misses.append({"study": row["study"], "line": row["line"], "what": "reading", "expected": row["checks"], "got": got})
        for name, expected in (row.get("status") or {}).items():
            if name not in persons:
                persons[name] = load_person(path.parent / "profiles" / f"{name}.toml", profile)
            judged = Matcher(profile, persons[name], as_of, reader).judge(criterion)
            report.judging.append(judged.status == expected)
            report.wrongly_met += judged.status == "met" != expected
            if judged.status != expected:
                report.misses.append(
                    {"study": row["study"], "line": row["line"], "what": f"status for {name}", "expected": expected, "got": f"{judged.status} ({judged.reason})"}
                )
    return report


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path.name} line {number}: not JSON: {exc}") from None
        if not isinstance(row, dict) or "study" not in row:
            raise InputError(f"{path.name} line {number}: expected an object with a 'study'")
        rows.append((number, row))
    return rows


def _find(criteria: list[Criterion], row: dict[str, Any], where: str) -> Criterion:
    """The criterion a label names: by line of text (checked against its first words), or by
    kind for a registry field (line 0)."""
    for criterion in (item for top in criteria for item in top.flat()):
        if row["line"] == 0 and criterion.source == "registry" and criterion.kind == row.get("kind"):
            return criterion
        if row["line"] and criterion.line == row["line"]:
            if not criterion.text.startswith(row.get("text", "")):
                raise InputError(f"{where}: line {row['line']} reads {criterion.text[:40]!r}, not {row.get('text')!r}")
            return criterion
    raise InputError(f"{where}: no criterion at line {row['line']} of {row['study']}")


def _same_checks(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> bool:
    """The same kinds of checks, each with the labelled values (values not labelled are not compared)."""
    if sorted(item["kind"] for item in expected) != sorted(item["kind"] for item in got):
        return False
    remaining = list(got)
    for item in expected:
        fit = next((g for g in remaining if g["kind"] == item["kind"] and all(_equal(g.get(k), v) for k, v in item.items())), None)
        if fit is None:
            return False
        remaining.remove(fit)
    return True


def _equal(got: Any, expected: Any) -> bool:
    if isinstance(expected, float) or isinstance(got, float):
        return got is not None and expected is not None and abs(float(got) - float(expected)) < 0.05
    if isinstance(expected, list) and isinstance(got, list):
        return sorted(map(str, expected)) == sorted(map(str, got))
    return got == expected
