"""The run directory: where each record lives, and atomic JSON writes.

    OUT/manifest.json, OUT/ideas.json, OUT/baseline/ (template code + run_0, shared by ideas)
    OUT/<idea>/idea.json, novelty.json, notes.txt, code/ (the template copy the model edits,
        with run_0 .. run_N), experiments.json, plots.json, paper/ (template.tex, references.bib,
        figures, paper.pdf), writeup.json, review.json, outcome.json
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from reviewer.atomic_file import write_text_atomic

M = TypeVar("M", bound=BaseModel)

# Files of a template that are not experiment code: they stay out of code/.
NON_CODE = {"prompt.json", "seed_ideas.json", "latex", "__pycache__", "README.md"}


def write_json(path: Path, obj: BaseModel | dict | list) -> None:
    """Write JSON so that a crash never leaves a half-written file."""
    data = obj.model_dump(mode="json") if isinstance(obj, BaseModel) else obj
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_text(path: Path, text: str) -> None:
    write_text_atomic(path, text)


def read_model(path: Path, model: type[M]) -> M | None:
    """The record at `path`, or None when it does not exist (the stage has not finished)."""
    if not path.exists():
        return None
    return model.model_validate_json(path.read_text())


@dataclass(frozen=True)
class IdeaDir:
    root: Path

    @property
    def idea(self) -> Path:
        return self.root / "idea.json"

    @property
    def novelty(self) -> Path:
        return self.root / "novelty.json"

    @property
    def notes(self) -> Path:
        return self.root / "notes.txt"

    @property
    def code(self) -> Path:
        return self.root / "code"

    def run(self, index: int) -> Path:
        return self.code / f"run_{index}"

    @property
    def experiments(self) -> Path:
        return self.root / "experiments.json"

    @property
    def plots(self) -> Path:
        return self.root / "plots.json"

    @property
    def paper(self) -> Path:
        return self.root / "paper"

    @property
    def writeup(self) -> Path:
        return self.root / "writeup.json"

    @property
    def review(self) -> Path:
        return self.root / "review.json"

    @property
    def outcome(self) -> Path:
        return self.root / "outcome.json"

    def stage_file(self, stage: str) -> Path:
        return {"novelty": self.novelty, "experiments": self.experiments, "plots": self.plots,
                "writeup": self.writeup, "review": self.review}[stage]


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def ideas(self) -> Path:
        return self.root / "ideas.json"

    @property
    def baseline(self) -> Path:
        return self.root / "baseline"

    def idea(self, name: str) -> IdeaDir:
        return IdeaDir(self.root / name)
