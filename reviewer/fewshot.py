"""Few-shot examples: (paper text, review) pairs shown to the reviewer for calibration."""
from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from reviewer.form import ReviewForm

DEFAULT_DIR = Path(__file__).parent / "fewshot"


class FewShotExample(BaseModel):
    name: str
    paper: str
    review: ReviewForm


def load_examples(n: int, directory: Path | None = None) -> list[FewShotExample]:
    if n <= 0:
        return []
    directory = Path(directory) if directory else DEFAULT_DIR
    files = sorted(directory.glob("*.json"))
    if len(files) < n:
        raise ValueError(f"asked for {n} few-shot examples but {directory} has {len(files)}")
    examples = []
    for path in files[:n]:
        data = json.loads(path.read_text(encoding="utf-8"))
        examples.append(FewShotExample(name=path.stem, paper=data["paper"], review=data["review"]))
    return examples


def render_examples(examples: list[FewShotExample]) -> str:
    blocks = [
        f"<example_paper>\n{ex.paper}\n</example_paper>\n<example_review>\n"
        f"{ex.review.model_dump_json(by_alias=True, indent=1)}\n</example_review>"
        for ex in examples
    ]
    return "\n\n".join(blocks)
