"""The forest plot: well-formed standalone SVG, one row per study, and untrusted labels kept inert."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from curemap.analysis.forest import forest_data, forest_svg
from curemap.analysis.meta import StudyProportion, pool_proportions

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>"


def pooled(*counts, labels=None):
    labels = labels or [None] * len(counts)
    studies = [
        StudyProportion(f"NCT0000000{index}", events, total, label=label)
        for index, ((events, total), label) in enumerate(zip(counts, labels, strict=True))
    ]
    return pool_proportions(studies)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def by_class(root: ET.Element, tag: str, name: str) -> list[ET.Element]:
    return [element for element in root.iter(f"{SVG}{tag}") if element.get("class") == name]


def test_one_row_per_study_a_diamond_and_a_prediction_interval():
    root = parse(forest_svg(pooled((12, 20), (30, 41), (7, 15), (22, 25)), "NEDA at 2 years"))
    assert len(by_class(root, "g", "study")) == 4
    assert len(by_class(root, "polygon", "pooled")) == 1
    assert len(by_class(root, "line", "prediction-interval")) == 1
    assert [text.text for text in by_class(root, "g", "axis")[0].iter(f"{SVG}text")] == [
        "0%",
        "20%",
        "40%",
        "60%",
        "80%",
        "100%",
    ]


def test_caption_gives_k_n_i2_and_tau2():
    estimate = pooled((12, 20), (30, 41), (7, 15))
    (caption,) = by_class(parse(forest_svg(estimate, "t")), "text", "caption")
    assert caption.text == (
        f"k = 3 studies, n = 76 patients; I² = {estimate.i2:.1f}%, τ² = {estimate.tau2:.4g}"
    )


def test_two_studies_draw_no_prediction_interval():
    root = parse(forest_svg(pooled((12, 20), (30, 41)), "t"))
    assert by_class(root, "line", "prediction-interval") == []
    assert len(by_class(root, "g", "study")) == 2


def test_single_study_plots_without_heterogeneity():
    root = parse(forest_svg(pooled((9, 10)), "One cohort"))
    assert len(by_class(root, "g", "study")) == 1
    (caption,) = by_class(root, "text", "caption")
    assert caption.text == "k = 1 study, n = 10 patients; I² = n/a, τ² = n/a"


def test_script_in_a_label_or_title_comes_back_escaped():
    svg = forest_svg(pooled((12, 20), (30, 41), labels=[HOSTILE, "Smith & Jones 2019"]), HOSTILE)
    assert "<script" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "Smith &amp; Jones 2019" in svg
    root = parse(svg)
    assert not any(element.tag.endswith("script") for element in root.iter())
    first_row = by_class(root, "g", "study")[0]
    assert first_row.find(f"{SVG}title").text == HOSTILE  # shown as text, not run


def test_no_script_links_or_external_resources():
    svg = forest_svg(pooled((12, 20), (30, 41), (7, 15)), "t")
    for forbidden in ("<script", "href", "url(", "@import", "<style"):
        assert forbidden not in svg
    assert not any(name.startswith("on") for element in parse(svg).iter() for name in element.attrib)


@pytest.mark.parametrize("label", ["bell\x07 and null\x00", "form\x0cfeed", "\ud800lone surrogate"])
def test_characters_xml_forbids_are_dropped(label):
    root = parse(forest_svg(pooled((1, 4), (2, 5), labels=[label, "ok"]), label))
    assert len(by_class(root, "g", "study")) == 2


def test_long_labels_are_shortened_but_kept_whole_in_the_tooltip():
    label = "A" * 80
    row = by_class(parse(forest_svg(pooled((1, 4), (2, 5), labels=[label, None]), "t")), "g", "study")[0]
    assert row.find(f"{SVG}title").text == label
    assert row.find(f"{SVG}text").text == "A" * 39 + "…"


def test_forest_data_falls_back_to_study_id_and_serialises():
    estimate = pooled((12, 20), (30, 41), (7, 15), labels=["Cohort A", None, "Cohort C"])
    data = forest_data(estimate)
    assert [row.label for row in data.rows] == ["Cohort A", "NCT00000001", "Cohort C"]
    assert data.pooled == estimate.pooled.proportion
    assert data.pooled_label == "Random effects (REML, logit)"
    document = json.loads(json.dumps(data.to_dict()))
    assert document["rows"][1]["weight_percent"] == estimate.studies[1].weight_percent
