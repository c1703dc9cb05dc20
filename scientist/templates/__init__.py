"""Experiment templates: the small ML testbeds that the scientist pipeline edits and runs.

A template is a folder `scientist/templates/<name>/` holding `experiment.py`, `plot.py`,
`prompt.json`, `seed_ideas.json` and `latex/` (`template.tex`, `references.bib`); README.md
beside this file states the contract. This module finds, loads and checks templates.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from pydantic import BaseModel, Field

TEMPLATES_ROOT = Path(__file__).resolve().parent
REQUIRED_FILES = (
    "experiment.py",
    "plot.py",
    "prompt.json",
    "seed_ideas.json",
    "latex/template.tex",
    "latex/references.bib",
)
IDEA_KEYS = ("Name", "Title", "Experiment", "Interestingness", "Feasibility", "Novelty")
IDEA_SCORES = ("Interestingness", "Feasibility", "Novelty")
# The slots every latex/template.tex marks with "%% BEGIN SECTION: <Name>" / "%% END SECTION: <Name>"
# lines, in document order; scientist.latex.template fills them.
PAPER_SECTIONS = (
    "Title",
    "Abstract",
    "Introduction",
    "Related Work",
    "Background",
    "Method",
    "Experimental Setup",
    "Results",
    "Conclusion",
)


class UnknownTemplateError(ValueError):
    """A template name that is not a folder of scientist/templates."""


class TemplateError(ValueError):
    """A template folder or file that breaks the template contract."""


class Template(BaseModel):
    name: str
    path: Path
    system_prompt: str
    task_description: str
    seed_ideas: list[dict] = Field(default_factory=list)

    @property
    def experiment_file(self) -> Path:
        return self.path / "experiment.py"

    @property
    def latex_dir(self) -> Path:
        return self.path / "latex"


def list_templates() -> list[str]:
    """Names of the template folders (those holding an experiment.py), sorted."""
    return sorted(
        p.name
        for p in TEMPLATES_ROOT.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and (p / "experiment.py").is_file()
    )


def template_dir(name: str) -> Path:
    if name not in list_templates():
        raise UnknownTemplateError(f"unknown template {name!r}; available: {', '.join(list_templates())}")
    return TEMPLATES_ROOT / name


def load_template(name: str) -> Template:
    path = template_dir(name)
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise TemplateError(f"template {name!r} lacks {', '.join(missing)}")
    prompt = _read_json(path / "prompt.json")
    if not isinstance(prompt, dict) or not all(isinstance(prompt.get(k), str) for k in ("system", "task_description")):
        raise TemplateError(f"{path / 'prompt.json'}: needs string fields 'system' and 'task_description'")
    ideas = _read_json(path / "seed_ideas.json")
    validate_seed_ideas(ideas, source=path / "seed_ideas.json")
    return Template(
        name=name,
        path=path,
        system_prompt=prompt["system"],
        task_description=prompt["task_description"],
        seed_ideas=ideas,
    )


def validate_seed_ideas(ideas: object, source: Path | str = "seed_ideas.json") -> None:
    """Raise TemplateError unless `ideas` is a non-empty list of ideas with the AI Scientist keys."""
    if not isinstance(ideas, list) or not ideas:
        raise TemplateError(f"{source}: must be a non-empty JSON list of ideas")
    for i, idea in enumerate(ideas):
        if not isinstance(idea, dict):
            raise TemplateError(f"{source}: idea {i} is not an object")
        missing = [k for k in IDEA_KEYS if k not in idea]
        if missing:
            raise TemplateError(f"{source}: idea {i} lacks {', '.join(missing)}")
        for k in IDEA_SCORES:
            v = idea[k]
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 10:
                raise TemplateError(f"{source}: idea {i} field {k} must be an integer from 1 to 10, got {v!r}")


def validate_final_info(info: object, n_seeds: int | None = None) -> None:
    """Raise TemplateError unless `info` follows {metric: {"means", "stderrs", "final_info_dict"}}."""
    if not isinstance(info, dict) or not info:
        raise TemplateError("final_info.json must be a non-empty object of metrics")
    for name, entry in info.items():
        if not isinstance(entry, dict) or not {"means", "stderrs", "final_info_dict"} <= entry.keys():
            raise TemplateError(f"metric {name!r} needs 'means', 'stderrs' and 'final_info_dict'")
        for key in ("means", "stderrs"):
            if not isinstance(entry[key], (int, float)) or isinstance(entry[key], bool):
                raise TemplateError(f"metric {name!r}: {key} must be a number")
        values = entry["final_info_dict"]
        if not isinstance(values, list) or not all(isinstance(v, (int, float)) for v in values):
            raise TemplateError(f"metric {name!r}: final_info_dict must be a list of per-seed numbers")
        if n_seeds is not None and len(values) != n_seeds:
            raise TemplateError(f"metric {name!r}: {len(values)} per-seed values, expected {n_seeds}")
        if values and all(math.isfinite(v) for v in values) and not math.isclose(
            entry["means"], sum(values) / len(values), rel_tol=1e-6, abs_tol=1e-9
        ):
            raise TemplateError(f"metric {name!r}: means is not the mean of final_info_dict")


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise TemplateError(f"{path}: invalid JSON ({err})") from None


__all__ = [
    "PAPER_SECTIONS",
    "REQUIRED_FILES",
    "TEMPLATES_ROOT",
    "Template",
    "TemplateError",
    "UnknownTemplateError",
    "list_templates",
    "load_template",
    "template_dir",
    "validate_final_info",
    "validate_seed_ideas",
]
