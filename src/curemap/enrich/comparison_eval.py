"""Measuring the comparison reader against hand labels of direction.

Two label sets:

- the evidence-inference MS articles (``shared/data/literature/evidence-inference-ms``): each
  prompt names an intervention, a comparator and an outcome; annotators labelled the
  direction (significantly increased / decreased / no significant difference). A prompt's gold
  label is its first valid label. The articles are split by ``sha1(pmcid) % 2`` (the PMCID's
  digits): part 0 is developed on, part 1 kept unseen.
- ``tests/data/comparisons/ctgov-analyses.jsonl``: the posted analyses of the real raw API v2
  records, each labelled by reading its estimate, interval, p-value and the groups' values.

Accuracy is the share of labelled items whose direction the reader gives; an item it cannot
read (no sentence found, direction unclear) counts as wrong.

The same evidence-inference labels also score the reader unprompted (``text-dev``,
``text-unseen``): the comparisons it reads from an article's results on its own, as the store
keeps them, against each prompt's evidence words.

Run: ``python -m curemap.enrich.comparison_eval --part dev|unseen|registry|text-dev|text-unseen
[--json]``; the unseen parts print their summary only.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from curemap.enrich.comparisons import ComparisonReader
from curemap.profile import load_profile
from curemap.sources.ctgov_json import study_from_api
from curemap.sources.jats import parse_evidence_inference

LABELS = {
    "significantly increased": "increased",
    "significantly increase": "increased",
    "significantly decreased": "decreased",
    "significantly decrease": "decreased",
    "no significant difference": "no_difference",
}

SHARED = Path(os.environ.get("CUREMAP_SHARED") or Path(__file__).resolve().parents[4] / "shared") / "data"
"""The real data beside the checkout (``../shared``), or where ``CUREMAP_SHARED`` points, as the tests read it."""
EVIDENCE_INFERENCE = SHARED / "literature" / "evidence-inference-ms"
RAW_V2 = SHARED / "ctgov" / "raw-v2"
REGISTRY_LABELS = Path(__file__).resolve().parents[3] / "tests" / "data" / "comparisons" / "ctgov-analyses.jsonl"


@dataclass
class Item:
    key: str
    gold: str
    predicted: str
    text: str


@dataclass
class ComparisonEvalReport:
    part: str
    items: list[Item] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return sum(i.gold == i.predicted for i in self.items) / len(self.items) if self.items else 0.0

    def confusion(self) -> dict[str, int]:
        return dict(sorted(Counter(f"{i.gold}->{i.predicted}" for i in self.items).items()))

    def to_dict(self, details: bool = True) -> dict[str, Any]:
        summary = {"part": self.part, "items": len(self.items), "correct": sum(i.gold == i.predicted for i in self.items),
                   "accuracy": round(self.accuracy, 3), "confusion": self.confusion()}
        return summary | ({"details": [asdict(i) for i in self.items]} if details else {})

    def render_text(self, details: bool = True) -> str:
        lines = [f"Comparison direction, {self.part}: {sum(i.gold == i.predicted for i in self.items)} of "
                 f"{len(self.items)} right, accuracy {self.accuracy:.3f}",
                 "  " + ", ".join(f"{k} {v}" for k, v in self.confusion().items())]
        if details:
            lines += [f"  {'ok ' if i.gold == i.predicted else 'BAD'} {i.key} gold {i.gold} got {i.predicted}: {i.text[:160]!r}"
                      for i in self.items]
        return "\n".join(lines)


def part_of(pmcid: str) -> int:
    """The split an article is in: ``sha1`` of its PMCID's digits, mod 2."""
    return int(hashlib.sha1(pmcid.removeprefix("PMC").encode()).hexdigest(), 16) % 2


def gold_prompts(folder: Path = EVIDENCE_INFERENCE) -> list[tuple[dict[str, str], str]]:
    """Each labelled prompt with its gold direction (its first valid label)."""
    with (folder / "prompts_ms.csv").open(encoding="utf-8") as handle:
        prompts = {row["PromptID"]: row for row in csv.DictReader(handle)}
    gold: dict[str, str] = {}
    with (folder / "v2_annotations_ms.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Valid Label"] == "True" and row["PromptID"] not in gold and row["Label"].strip() in LABELS:
                gold[row["PromptID"]] = LABELS[row["Label"].strip()]
    return [(prompts[pid], label) for pid, label in gold.items() if pid in prompts]


def evaluate_evidence_inference(reader: ComparisonReader, part: int, folder: Path = EVIDENCE_INFERENCE) -> ComparisonEvalReport:
    report = ComparisonEvalReport("evidence-inference " + ("development part (0)" if part == 0 else "unseen part (1)"))
    for prompt, gold in gold_prompts(folder):
        if part_of(prompt["PMCID"]) != part:
            continue
        text = (folder / "txt_files" / f"PMC{prompt['PMCID']}.txt").read_text(encoding="utf-8")
        found = reader.answer(parse_evidence_inference(text), prompt["Intervention"], prompt["Comparator"], prompt["Outcome"])
        predicted = found.direction if found else "unclear"
        report.items.append(Item(f"{prompt['PromptID']}/PMC{prompt['PMCID']}", gold, predicted, found.text if found else ""))
    return report


def evaluate_text(reader: ComparisonReader, part: int, folder: Path = EVIDENCE_INFERENCE) -> ComparisonEvalReport:
    """The reader unprompted, as it fills the store: the comparisons it reads from an article's results
    parts (:meth:`ComparisonReader.text_comparisons`) against each labelled prompt's evidence; a
    prompt whose evidence no comparison states counts as not read."""
    report = ComparisonEvalReport("unprompted text, " + ("development part (0)" if part == 0 else "unseen part (1)"))
    read: dict[str, list] = {}
    for prompt, gold in gold_prompts(folder):
        if part_of(prompt["PMCID"]) != part:
            continue
        pmcid = f"PMC{prompt['PMCID']}"
        if pmcid not in read:
            sections = parse_evidence_inference((folder / "txt_files" / f"{pmcid}.txt").read_text(encoding="utf-8"))
            read[pmcid] = [c for section in sections for c in reader.text_comparisons(section.text, kind=section.kind)]
        evidence = " ".join(_evidence(folder, prompt["PromptID"]).split())
        found = next((c for c in read[pmcid] if evidence and _same_words(evidence, " ".join(c.text.split()))), None)
        report.items.append(Item(f"{prompt['PromptID']}/{pmcid}", gold, found.direction if found else "not read",
                                 found.summary() if found else evidence))
    return report


def _same_words(evidence: str, sentence: str) -> bool:
    """Whether a comparison's sentence is the evidence: one holds the other, or its opening words
    (an annotator's span may run into the next sentence or stop inside one)."""
    return evidence in sentence or sentence in evidence or evidence[:80] in sentence or sentence[:80] in evidence


def _evidence(folder: Path, prompt_id: str) -> str:
    """The evidence words of a prompt's first valid label."""
    with (folder / "v2_annotations_ms.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["PromptID"] == prompt_id and row["Valid Label"] == "True" and row["Label"].strip() in LABELS:
                return row["Annotations"]
    return ""


def evaluate_registry(reader: ComparisonReader, labels: Path = REGISTRY_LABELS, raw_dir: Path = RAW_V2) -> ComparisonEvalReport:
    report = ComparisonEvalReport("registry analyses (real raw API v2 records)")
    studies: dict[str, Any] = {}
    with labels.open(encoding="utf-8") as handle:
        for line in handle:
            label = json.loads(line)
            nct = label["nct_id"]
            if nct not in studies:
                study = study_from_api(json.loads((raw_dir / f"{nct}.json").read_text(encoding="utf-8")))
                studies[nct] = (study, reader.registry_comparisons(study))
            _, comparisons = studies[nct]
            found = comparisons[label["analysis"]]
            predicted = found.direction
            if (found.intervention, found.comparator) != (label["intervention"], label["comparator"]):
                predicted = f"{predicted} (groups {found.intervention} vs {found.comparator})"
            report.items.append(Item(f"{nct}#{label['analysis']}", LABELS[label["label"]], predicted, found.text))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("dev", "unseen", "registry", "text-dev", "text-unseen"), required=True)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    reader = ComparisonReader(load_profile())
    if args.part == "registry":
        report = evaluate_registry(reader)
    elif args.part.startswith("text-"):
        report = evaluate_text(reader, 0 if args.part == "text-dev" else 1)
    else:
        report = evaluate_evidence_inference(reader, 0 if args.part == "dev" else 1)
    details = not args.part.endswith("unseen")
    print(json.dumps(report.to_dict(details), indent=2) if args.json else report.render_text(details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
