"""Experiment templates: the small ML testbeds that the scientist pipeline edits and runs.

A template is a folder holding `experiment.py`, `plot.py` and `latex/template.tex`, in one of
two layouts (README.md beside this file states both):

- ours (`scientist/templates/<name>/`): `prompt.json`, `seed_ideas.json`, a LaTeX skeleton with
  `%% BEGIN SECTION` slots, flat final_info.json, and `bench_template.json` declaring the extra
  run arguments of the smoke configuration;
- the AI Scientist's: experiment.py takes only `--out_dir`, final_info.json is nested per
  dataset, the skeleton has `\\section{}` headings with placeholder bodies (`INTRO HERE`),
  `ideas.json` may sit beside `seed_ideas.json`, and `prompt.json` or `seed_ideas.json` may be
  missing.

Every command takes a template by name (a folder of scientist/templates) or by path. This
module finds, loads and checks templates; time limits never come from a template.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

TEMPLATES_ROOT = Path(__file__).resolve().parent
REQUIRED_FILES = (
    "experiment.py",
    "plot.py",
    "prompt.json",
    "seed_ideas.json",
    "latex/template.tex",
    "latex/references.bib",
)
# What any template, in either layout, cannot do without.
ESSENTIAL_FILES = ("experiment.py", "plot.py", "latex/template.tex")
MANIFEST_FILE = "bench_template.json"
IDEA_KEYS = ("Name", "Title", "Experiment", "Interestingness", "Feasibility", "Novelty")
IDEA_SCORES = ("Interestingness", "Feasibility", "Novelty")
# The slots every latex/template.tex of ours marks with "%% BEGIN SECTION: <Name>" / "%% END SECTION: <Name>"
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
DEFAULT_SYSTEM_PROMPT = "You are an ambitious AI researcher who is looking to publish a paper that will contribute significantly to the field."
DEFAULT_TASK = "Study the experiment in experiment.py: propose a change to it, run it, and report what it shows."


class UnknownTemplateError(ValueError):
    """A template name that is not a folder of scientist/templates, nor a template folder."""


class TemplateError(ValueError):
    """A template folder or file that breaks the template contract."""


class TemplateManifest(BaseModel):
    """`bench_template.json`, optional: extra arguments of experiment.py. Limits (time, memory)
    are the harness's and cannot be set here."""

    model_config = ConfigDict(extra="forbid")

    run_args: list[str] = Field(default_factory=list, description="arguments of every run")
    smoke_args: list[str] = Field(default_factory=list,
                                  description="arguments added in the smoke configuration (seconds, meaningless numbers)")
    description: str = ""


class Template(BaseModel):
    name: str
    path: Path
    system_prompt: str
    task_description: str
    seed_ideas: list[dict] = Field(default_factory=list)
    previous_ideas: list[dict] = Field(default_factory=list)  # ideas.json: ideas already generated
    layout: str = "bench"  # "bench" (ours) or "ai_scientist"
    manifest: TemplateManifest = Field(default_factory=TemplateManifest)
    builtin: bool = True

    @property
    def experiment_file(self) -> Path:
        return self.path / "experiment.py"

    @property
    def latex_dir(self) -> Path:
        return self.path / "latex"

    def run_args(self, smoke: bool = False) -> list[str]:
        """Extra arguments of experiment.py: the manifest's, plus its smoke ones if asked."""
        return [*self.manifest.run_args, *(self.manifest.smoke_args if smoke else [])]


def list_templates() -> list[str]:
    """Names of the template folders (those holding an experiment.py), sorted."""
    return sorted(
        p.name
        for p in TEMPLATES_ROOT.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and (p / "experiment.py").is_file()
    )


def _is_path_spec(spec: str) -> bool:
    return "/" in spec or "\\" in spec or spec.startswith(".") or spec not in list_templates()


def template_dir(spec: str | Path) -> Path:
    """The folder of a template given by name (scientist/templates/<name>) or by path. A name
    wins over a folder of the same name in the working directory; write ./name for the folder."""
    spec = str(spec)
    if not _is_path_spec(spec):
        return TEMPLATES_ROOT / spec
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "experiment.py").is_file():
        return path.resolve()
    if path.is_dir():
        raise UnknownTemplateError(f"{path} is a folder without experiment.py: not a template")
    raise UnknownTemplateError(f"unknown template {spec!r}: not a folder, nor a template name "
                               f"(available: {', '.join(list_templates())})")


def template_label(spec: str | Path) -> str:
    """A short name for results folders and boards: the template's name, or its folder's name
    (with a path hash when that name is also a built-in template's)."""
    path = template_dir(spec)
    if path.parent == TEMPLATES_ROOT:
        return path.name
    if path.name in list_templates():
        import hashlib

        return f"{path.name}-{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    return path.name


def skeleton_kind(tex: str) -> str:
    """"markers" for our slotted skeletons, "headings" for the AI Scientist's."""
    from scientist.latex.source import find_slots

    slots = find_slots(tex)
    return "markers" if slots and slots[0].kind == "marker" else "headings"


def load_manifest(path: Path) -> TemplateManifest:
    file = path / MANIFEST_FILE
    if not file.is_file():
        return TemplateManifest()
    data = _read_json(file)
    try:
        return TemplateManifest.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'object'}: {e['msg']}" for e in err.errors())
        raise TemplateError(f"{file}: {problems}") from None


def load_template(spec: str | Path) -> Template:
    """A template by name or path. Our own templates must hold every file of REQUIRED_FILES; a
    template given by path needs only ESSENTIAL_FILES (prompt.json and seed_ideas.json missing
    are tolerated; ideas.json beside them is read as ideas already had)."""
    path = template_dir(spec)
    builtin = path.parent == TEMPLATES_ROOT
    missing = [f for f in (REQUIRED_FILES if builtin else ESSENTIAL_FILES) if not (path / f).is_file()]
    if missing:
        raise TemplateError(f"template {str(spec)!r} lacks {', '.join(missing)}")
    prompt: dict = {}
    if (path / "prompt.json").is_file() or builtin:
        prompt = _read_json(path / "prompt.json")
        if not isinstance(prompt, dict) or not all(isinstance(prompt.get(k), str) for k in ("system", "task_description")):
            raise TemplateError(f"{path / 'prompt.json'}: needs string fields 'system' and 'task_description'")
    ideas: list = []
    if (path / "seed_ideas.json").is_file() or builtin:
        ideas = _read_json(path / "seed_ideas.json")
        validate_seed_ideas(ideas, source=path / "seed_ideas.json")
    previous: list = []
    if (path / "ideas.json").is_file():
        previous = _read_json(path / "ideas.json")
        if not isinstance(previous, list) or not all(isinstance(i, dict) for i in previous):
            raise TemplateError(f"{path / 'ideas.json'}: must be a JSON list of idea objects")
    tex = (path / "latex" / "template.tex").read_text(errors="replace")
    return Template(
        name=template_label(path),
        path=path,
        system_prompt=prompt.get("system") or DEFAULT_SYSTEM_PROMPT,
        task_description=prompt.get("task_description") or DEFAULT_TASK,
        seed_ideas=ideas,
        previous_ideas=previous,
        layout="bench" if skeleton_kind(tex) == "markers" else "ai_scientist",
        manifest=load_manifest(path),
        builtin=builtin,
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
    """Raise TemplateError unless `info` is a usable final_info.json: our flat layout
    {metric: {"means", "stderrs", "final_info_dict"}}, checked strictly, or the AI Scientist's
    nested one, read by scientist.templates.final_info (at least one numeric metric)."""
    from scientist.templates.final_info import read_metrics

    if isinstance(info, dict) and any(isinstance(v, dict) and isinstance(v.get("means"), dict)
                                      for v in info.values()):
        try:
            read_metrics(info)
        except ValueError as err:
            raise TemplateError(str(err)) from None
        return
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
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise TemplateError(f"{path}: invalid JSON ({err})") from None
    except OSError as err:
        raise TemplateError(f"{path}: cannot be read ({err.strerror})") from None


__all__ = [
    "ESSENTIAL_FILES",
    "MANIFEST_FILE",
    "PAPER_SECTIONS",
    "REQUIRED_FILES",
    "TEMPLATES_ROOT",
    "Template",
    "TemplateError",
    "TemplateManifest",
    "UnknownTemplateError",
    "list_templates",
    "load_template",
    "template_dir",
    "template_label",
    "validate_final_info",
    "validate_seed_ideas",
]
