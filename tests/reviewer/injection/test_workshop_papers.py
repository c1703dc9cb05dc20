"""Three workshop-style papers compiled by real pdflatex, each with instructions to the reviewing
system (a German paraphrase, a polite note to automated assessment systems, an instruction split
across columns and across hyphenated lines, Chinese and Russian notes, homoglyphs, zero-width
characters, white 1-pt text, text under a figure, render mode 3, off-page text, an annotation):
every one is found through the PDF path and none reaches the reviewer's prompt; the clean twins
of the same papers have no finding."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmark.perf.injection_papers import WorkshopPaper, build, papers, squash
from reviewer.injection.scan import scan_pdf

pytestmark = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")

PAPERS = {p.name: p for p in papers()}
# Sentences of each paper's own text: the reviewer must still read the paper.
OWN_TEXT = {
    "curriculum_dropout": "increases the dropout rate as the training loss falls",
    "federated_label_noise": "weights each update by the inverse of that loss",
    "sparse_attention_tabular": "we replace the softmax over columns by sparsemax",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("workshop")
    return {name: (build(p, root), build(p, root, injected=False)) for name, p in PAPERS.items()}


def test_each_paper_carries_several_variants_of_each_family() -> None:
    names = {v.name for p in PAPERS.values() for v in p.variants}
    assert {"german_visible", "polite_automated", "split_across_columns", "split_across_lines"} <= names
    assert {"white_1pt", "under_figure", "render_mode_invisible", "off_page", "zero_width", "homoglyphs",
            "annotation"} <= names
    assert all(len(p.variants) >= 3 for p in PAPERS.values())


@pytest.mark.parametrize("name", sorted(PAPERS))
def test_every_variant_is_caught_through_the_pdf_path(name: str, built) -> None:
    paper: WorkshopPaper = PAPERS[name]
    findings = scan_pdf(built[name][0])
    for variant in paper.variants:
        hits = [f for f in findings if f.kind == variant.kind
                and all(squash(probe) in squash(f.text) for probe in variant.probes)]
        assert hits, f"{variant.name} not caught: {[(f.kind, f.text[:60]) for f in findings]}"
        assert all(f.page == 1 and f.bbox is not None for f in hits)
    # nothing but the variants: every finding carries the words of one of them
    for f in findings:
        assert any(squash(probe) in squash(f.text) for v in paper.variants for probe in v.probes), f.text


@pytest.mark.parametrize("name", sorted(PAPERS))
def test_clean_twin_has_no_finding(name: str, built) -> None:
    assert scan_pdf(built[name][1]) == []


def _review_json() -> str:
    return json.dumps({
        "Summary": "A paper.", "Strengths": ["clear"], "Weaknesses": ["small"], "Originality": 2, "Quality": 2,
        "Clarity": 2, "Significance": 2, "Questions": ["why?"], "Limitations": ["few runs"],
        "Ethical Concerns": False, "Soundness": 2, "Presentation": 2, "Contribution": 2, "Overall": 4,
        "Confidence": 3, "Decision": "Reject"})


@pytest.mark.parametrize("name", sorted(PAPERS))
def test_the_reviewer_prompt_never_contains_a_variant(name: str, built) -> None:
    from reviewer.llm.scripted import ScriptedModelClient
    from reviewer.paper_text import load_paper_text
    from reviewer.review_file import review_file

    paper, pdf = PAPERS[name], built[name][0]
    extracted = squash(load_paper_text(pdf))
    visible = [v for v in paper.variants if v.kind == "reviewer_directive"]
    # the danger is real: the reviewer's own extraction reads every visible variant
    assert all(squash(p) in extracted for v in visible for p in v.probes)
    client = ScriptedModelClient(lambda messages, purpose: _review_json(), model="gpt-4o")
    record = review_file(pdf, client=client)
    prompt = squash(" ".join(m["content"] for _, messages in client.requests for m in messages))
    assert squash(OWN_TEXT[name]) in prompt  # the paper itself was reviewed
    leaked = [(v.name, p) for v in paper.variants for p in v.probes if squash(p) in prompt]
    assert leaked == []
    recorded = {f["kind"] for f in record.prompt_injection}
    assert {v.kind for v in paper.variants} <= recorded
