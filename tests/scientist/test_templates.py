"""Experiment templates: the folder contract, the LaTeX skeletons, a smoke run of every
experiment.py and plot.py, `bench template`, and (slow) the full CPU baselines."""
from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from scientist.templates import (
    PAPER_SECTIONS,
    REQUIRED_FILES,
    TemplateError,
    UnknownTemplateError,
    list_templates,
    load_template,
    template_dir,
    validate_final_info,
    validate_seed_ideas,
)
from scientist.templates.baseline import copy_template, run_baseline

TEMPLATES = list_templates()
EXPECTED_METRICS = {
    "grokking": {"final_train_loss", "final_val_loss", "final_train_acc", "final_val_acc", "step_val_acc_99",
                 "train_time_s"},
    "diffusion_2d": {"mean_kl_divergence", "mean_eval_loss"}
    | {f"{d}_{m}" for d in ("circle", "moons", "spiral", "eight_gaussians")
       for m in ("eval_loss", "kl_divergence", "train_time_s", "sample_time_s")},
    "char_lm": {"final_train_loss", "final_val_loss", "best_val_loss", "final_val_bpc", "train_time_s",
                "sample_chars_per_s"},
}
EXPECTED_FIGURES = {
    "grokking": {"accuracy.png", "loss.png", "step_val_acc_99.png"},
    "diffusion_2d": {"train_loss.png", "generated_samples.png", "kl_divergence.png"},
    "char_lm": {"train_loss.png", "val_loss.png"},
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_timing(metric: str) -> bool:
    return metric.endswith(("_time_s", "_per_s"))


def _python(args: list[str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


# --- discovery and contract ------------------------------------------------------------------


def test_the_three_testbeds_are_templates():
    assert {"grokking", "diffusion_2d", "char_lm"} <= set(TEMPLATES)
    assert set(EXPECTED_METRICS) == set(TEMPLATES), "a new template needs its expected metrics here"


def test_unknown_template_names_the_available_ones():
    with pytest.raises(UnknownTemplateError) as err:
        template_dir("no_such_template")
    for name in TEMPLATES:
        assert name in str(err.value)


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_files_prompt_and_seed_ideas(name):
    t = load_template(name)
    assert t.name == name and t.path == template_dir(name)
    for rel in REQUIRED_FILES:
        assert (t.path / rel).is_file(), rel
    prompt = json.loads((t.path / "prompt.json").read_text())
    assert set(prompt) == {"system", "task_description"}
    assert t.system_prompt == prompt["system"] and len(t.task_description) > 200
    # The task description names every metric the experiment reports (a per-dataset metric by its suffix).
    for metric in EXPECTED_METRICS[name]:
        generic = re.sub(r"^(circle|moons|spiral|eight_gaussians)_", "<dataset>_", metric)
        assert generic in t.task_description, metric
    assert 2 <= len(t.seed_ideas) <= 5
    assert len({i["Name"] for i in t.seed_ideas}) == len(t.seed_ideas)
    for idea in t.seed_ideas:
        assert re.fullmatch(r"[a-z0-9_]+", idea["Name"]), idea["Name"]


_DROP = object()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("Novelty", 11, "from 1 to 10"),
        ("Feasibility", True, "from 1 to 10"),
        ("Interestingness", 7.5, "from 1 to 10"),
        ("Title", _DROP, "lacks Title"),
    ],
)
def test_seed_idea_validation_rejects_bad_ideas(field, value, message):
    idea = {"Name": "x", "Title": "X", "Experiment": "e", "Interestingness": 5, "Feasibility": 5, "Novelty": 5}
    validate_seed_ideas([idea])
    bad = dict(idea)
    if value is _DROP:
        del bad[field]
    else:
        bad[field] = value
    with pytest.raises(TemplateError, match=message):
        validate_seed_ideas([idea, bad])
    with pytest.raises(TemplateError):
        validate_seed_ideas([])


def test_final_info_validation():
    good = {"acc": {"means": 0.5, "stderrs": 0.1, "final_info_dict": [0.4, 0.6]}}
    validate_final_info(good, n_seeds=2)
    with pytest.raises(TemplateError, match="expected 3"):
        validate_final_info(good, n_seeds=3)
    with pytest.raises(TemplateError, match="not the mean"):
        validate_final_info({"acc": {"means": 0.9, "stderrs": 0.1, "final_info_dict": [0.4, 0.6]}})
    with pytest.raises(TemplateError, match="needs"):
        validate_final_info({"acc": {"mean": 0.5, "stderrs": 0.1, "final_info_dict": [0.5]}})
    with pytest.raises(TemplateError):
        validate_final_info({})


# --- LaTeX skeleton ---------------------------------------------------------------------------


def _bib_keys(bib: str) -> list[str]:
    return re.findall(r"^@\w+\{([^,\s]+),", bib, re.M)


@pytest.mark.parametrize("name", TEMPLATES)
def test_latex_has_every_section_slot_and_real_references(name):
    paper_template = pytest.importorskip("scientist.latex.template")
    latex = template_dir(name) / "latex"
    tex = (latex / "template.tex").read_text()
    assert paper_template.section_names(tex) == list(PAPER_SECTIONS)
    for section in PAPER_SECTIONS:
        assert "Placeholder" in paper_template.section_body(tex, section) or section == "Title"
    assert "\\documentclass[11pt]{article}" in tex and "\\bibliography{references}" in tex
    bib = (latex / "references.bib").read_text()
    keys = _bib_keys(bib)
    assert len(keys) >= 5 and len(set(keys)) == len(keys)
    for entry in re.split(r"^(?=@)", bib, flags=re.M)[1:]:
        for field in ("title", "author", "year"):
            assert re.search(rf"^\s*{field}\s*=", entry, re.M), (field, entry[:60])


def _latex(cmd: str, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([cmd, *args], cwd=workdir, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not shutil.which("pdflatex") or not shutil.which("bibtex"),
                    reason="pdflatex/bibtex not installed (Debian: texlive-latex-base, texlive-latex-extra)")
@pytest.mark.parametrize("name", TEMPLATES)
def test_latex_compiles_empty_and_filled_with_citations(name, tmp_path):
    paper_template = pytest.importorskip("scientist.latex.template")
    paper = tmp_path / "paper"
    shutil.copytree(template_dir(name) / "latex", paper)
    opts = ["-interaction=nonstopmode", "-halt-on-error", "template.tex"]

    res = _latex("pdflatex", paper, *opts)
    assert res.returncode == 0, res.stdout[-3000:]
    assert (paper / "template.pdf").stat().st_size > 1000

    # Filled as the write-up stage fills it, citing every reference, with a plot figure.
    keys = _bib_keys((paper / "references.bib").read_text())
    tex = (paper / "template.tex").read_text()
    for section in PAPER_SECTIONS:
        body = "A Filled Title" if section == "Title" else f"Text of {section} \\citep{{{','.join(keys)}}}."
        tex = paper_template.fill_section(tex, section, body)
    tex = paper_template.fill_section(
        tex, "Results", "See Figure~\\ref{fig:x}.\n\\begin{figure}[h]\\centering\\includegraphics[width=0.3\\linewidth]"
        "{figure.png}\\caption{A figure.}\\label{fig:x}\\end{figure}")
    (paper / "template.tex").write_text(tex)
    import matplotlib  # borrow a PNG that matplotlib ships

    shutil.copy(Path(matplotlib.__file__).parent / "mpl-data/images/matplotlib.png", tmp_path / "figure.png")

    res = _latex("pdflatex", paper, *opts)
    assert res.returncode == 0, res.stdout[-3000:]
    res = _latex("bibtex", paper, "template")
    assert res.returncode == 0, res.stdout[-3000:]
    bbl = (paper / "template.bbl").read_text()
    for key in keys:
        assert f"{{{key}}}" in bbl, key
    res = _latex("pdflatex", paper, *opts)
    assert res.returncode == 0, res.stdout[-3000:]
    log = (paper / "template.log").read_text(errors="replace")
    assert "File `figure.png' not found" not in log  # found one folder up, through \graphicspath


# --- smoke runs -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TEMPLATES)
def test_smoke_run_is_well_formed_deterministic_and_plots(name, tmp_path):
    work = copy_template(name, tmp_path / name)
    t0 = time.monotonic()
    res = _python(["experiment.py", "--out_dir", "run_0", "--smoke", "--seeds", "2", "--device", "cpu"], work)
    elapsed = time.monotonic() - t0
    assert res.returncode == 0, res.stderr[-3000:]
    info = json.loads((work / "run_0" / "final_info.json").read_text())
    validate_final_info(info, n_seeds=2)
    assert set(info) == EXPECTED_METRICS[name]
    for metric, entry in info.items():
        assert all(math.isfinite(v) for v in entry["final_info_dict"]), metric
        assert entry["stderrs"] >= 0
    results = json.loads((work / "run_0" / "all_results.json").read_text())
    assert results["preset"] == "smoke" and results["device"] == "cpu" and set(results["seeds"]) == {"0", "1"}
    assert elapsed < 60, f"smoke run took {elapsed:.0f} s"  # < 30 s on an idle 2-core machine

    # Same seed, same numbers: seed 0 again, alone, as a second run for plot.py.
    res = _python(["experiment.py", "--out_dir", "run_1", "--smoke", "--seeds", "1", "--device", "cpu"], work)
    assert res.returncode == 0, res.stderr[-3000:]
    again = json.loads((work / "run_1" / "final_info.json").read_text())
    for metric, entry in info.items():
        if not _is_timing(metric):
            assert again[metric]["final_info_dict"] == [entry["final_info_dict"][0]], metric
    assert all(entry["stderrs"] == 0.0 for entry in again.values())

    res = _python(["plot.py"], work)
    assert res.returncode == 0, res.stderr[-3000:]
    for fig in EXPECTED_FIGURES[name]:
        assert (work / fig).read_bytes()[:8] == PNG_MAGIC, fig


def test_plot_fails_clearly_without_runs(tmp_path):
    work = copy_template("grokking", tmp_path / "g")
    res = _python(["plot.py"], work)
    assert res.returncode != 0 and "no run_*/all_results.json" in res.stderr


def test_char_lm_corpus_is_deterministic_stdlib_source():
    sys.path.insert(0, str(template_dir("char_lm")))
    try:
        import experiment as char_lm
    finally:
        sys.path.pop(0)
        sys.modules.pop("experiment", None)
    train, val, info = char_lm.stdlib_corpus(200_000, max_file_chars=10_000, val_every=5)
    assert char_lm.stdlib_corpus(200_000, max_file_chars=10_000, val_every=5) == (train, val, info)
    assert 200_000 <= len(train) + len(val) <= 200_002
    assert info["train_chars"] == len(train) and info["val_chars"] == len(val)
    assert info["files_used"] >= 20  # the per-file cap spreads the budget over many files
    assert 0.1 < len(val) / (len(train) + len(val)) < 0.35  # every 5th file
    assert val not in train and "def " in val and "import " in train
    ids = char_lm.encode(train)
    assert (ids == char_lm.UNK).float().mean() < 0.01
    assert char_lm.decode(ids[:500].tolist()) == train[:500]


# --- bench template ---------------------------------------------------------------------------


def _cli():
    from benchmark.cli import main

    return main


def test_cli_list_shows_every_template():
    res = CliRunner().invoke(_cli(), ["template", "list"], terminal_width=200)
    assert res.exit_code == 0, res.output
    for name in TEMPLATES:
        assert name in res.output


def test_cli_baseline_rejects_unknown_template_and_existing_output(tmp_path):
    res = CliRunner().invoke(_cli(), ["template", "baseline", "nope", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "available: " in res.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("earlier results")
    res = CliRunner().invoke(_cli(), ["template", "baseline", "grokking", "--out", str(tmp_path / "full")])
    assert res.exit_code == 2 and "--force" in res.output
    assert (tmp_path / "full" / "keep.txt").exists()


def test_cli_baseline_smoke_unsandboxed(tmp_path):
    out = tmp_path / "base"
    res = CliRunner().invoke(
        _cli(), ["template", "baseline", "grokking", "--out", str(out), "--smoke", "--unsafe-no-sandbox"],
        terminal_width=200,
    )
    assert res.exit_code == 0, res.output
    assert "final_val_acc" in res.output and "UNSAFE" in res.output and "(NOT sandboxed)" in res.output
    record = json.loads((out / "baseline.json").read_text())
    assert record["experiment"]["ok"] and not record["experiment"]["sandboxed"]
    assert set(record["final_info"]) == EXPECTED_METRICS["grokking"]
    assert set(record["figures"]) == EXPECTED_FIGURES["grokking"]
    assert (out / "experiment.py").read_text() == (template_dir("grokking") / "experiment.py").read_text()


def _sandbox_or_skip():
    sandbox = pytest.importorskip("scientist.sandbox")
    return sandbox.SandboxUnavailable


def test_baseline_smoke_in_sandbox_reads_the_stdlib(tmp_path):
    """char_lm inside the sandbox: its corpus (the stdlib) must be readable there."""
    unavailable = _sandbox_or_skip()
    try:
        res = run_baseline("char_lm", tmp_path / "c", smoke=True, seeds=1)
    except unavailable as err:
        pytest.skip(f"sandbox unavailable here: {err}")
    assert res.experiment.sandboxed
    assert res.ok, res.experiment.stderr_tail[-3000:]
    validate_final_info(res.final_info, n_seeds=1)
    assert res.plot is not None and res.plot.ok, res.plot.stderr_tail[-3000:] if res.plot else None
    assert {"train_loss.png", "val_loss.png"} <= set(res.figures)
    corpus = json.loads((tmp_path / "c" / "run_0" / "all_results.json").read_text())["corpus"]
    assert corpus["train_chars"] + corpus["val_chars"] >= 50_000 and corpus["files_used"] >= 2


# --- full baselines (slow) --------------------------------------------------------------------
# Quality floors a correct baseline clears with margin; the time limit is the 5 minutes.
BASELINE_FLOORS = {
    # every seed groks: 99% validation accuracy before the 1500-step budget
    "grokking": lambda i: max(i["step_val_acc_99"]["final_info_dict"]) < 1500 and i["final_train_acc"]["means"] > 0.8,
    # a barely trained denoiser (the --smoke configuration) scores a KL of about 2-3
    "diffusion_2d": lambda i: i["mean_kl_divergence"]["means"] < 1.0 and i["mean_eval_loss"]["means"] < 0.3,
    "char_lm": lambda i: i["final_val_loss"]["means"] < 2.3 and i["final_train_loss"]["means"] < 2.3,
}


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", TEMPLATES)
def test_full_cpu_baseline_learns_within_five_minutes(name, tmp_path):
    unavailable = _sandbox_or_skip()
    try:
        res = run_baseline(name, tmp_path / name)
    except unavailable:
        res = run_baseline(name, tmp_path / name, unsafe_no_sandbox=True, force=True)
    assert res.ok, res.experiment.stderr_tail[-3000:]
    assert res.experiment.wall_time_s < 300, f"baseline took {res.experiment.wall_time_s:.0f} s"
    assert BASELINE_FLOORS[name](res.final_info), json.dumps(res.final_info, indent=1)
    assert EXPECTED_FIGURES[name] <= set(res.figures)


# --- templates by path, and `bench template check` -------------------------------------------


@pytest.fixture
def byo(tmp_path):  # type: ignore[no-untyped-def]
    """A usable template folder outside the package (the demo's, in the AI Scientist's layout)."""
    from benchmark.demo.run import copy_template as copy_demo

    return copy_demo(tmp_path / "byo")


def _check(path):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(_cli(), ["template", "check", str(path)], catch_exceptions=False)


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_builtin_template_passes_check_with_its_smoke_manifest(name):
    res = _check(template_dir(name))
    assert res.exit_code == 0 and "usable (this project's layout)" in res.output, res.output
    assert load_template(name).run_args(smoke=True) == ["--smoke", "--seeds", "1"]
    assert load_template(name).run_args() == []


def test_check_accepts_the_ai_scientist_layout_with_warnings(byo):
    (byo / "prompt.json").unlink()
    res = _check(byo)
    assert res.exit_code == 0 and "usable (the AI Scientist's layout), 1 warning(s)" in res.output
    assert "warning: prompt.json: missing" in res.output


def test_check_names_the_missing_module_and_its_pip_name(byo):
    import importlib.util

    # neither is in any extra (einops is: the templates extra installs it)
    assert importlib.util.find_spec("timm") is None and importlib.util.find_spec("cv2") is None
    code = (byo / "experiment.py").read_text()
    (byo / "experiment.py").write_text(code.replace("import numpy as np", "import numpy as np\nimport timm\nimport cv2.aruco"))
    (byo / "plot.py").write_text("try:\n    import timm\nexcept ImportError:\n    timm = None\n" + (byo / "plot.py").read_text())
    res = _check(byo)
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert ("error: experiment.py [line 12]: imports 'timm', which is not installed here: pip install timm "
            "(the sandbox cannot install packages)") in res.output
    assert "error: experiment.py [line 13]: imports 'cv2', which is not installed here: pip install opencv-python" in res.output
    assert "warning: plot.py [line 2]: optional import 'timm' is not installed (pip install timm)" in res.output
    assert "NOT usable: 2 error(s)" in res.output


@pytest.mark.parametrize("file,content,expected", [
    ("seed_ideas.json", '[{"Name": "x", "Title": "t", "Experiment": "e", "Interestingness": 3, "Novelty": 11}]',
     ["seed_ideas.json [idea 0: Feasibility]: missing", "seed_ideas.json [idea 0: Novelty]: must be an integer from 1 to 10"]),
    ("prompt.json", '{"system": "s",\n "task_description": }', ["error: prompt.json [line 2]: invalid JSON"]),
    ("bench_template.json", '{"smoke_args": "--smoke", "time_limit_s": 5}',
     ["bench_template.json [smoke_args]: Input should be a valid list",
      "bench_template.json [time_limit_s]: unknown key", "limits are set by the harness"]),
    ("experiment.py", "def main(:\n", ["error: experiment.py [line 1]: syntax error"]),
    ("latex/template.tex", "\\documentclass{article}\\usepackage{nosuchpkg}\n\\begin{document}Hi\\end{document}\n",
     ["nothing for the write-up to fill", "LaTeX package 'nosuchpkg' is neither in latex/ nor installed"]),
])
def test_check_reports_each_problem_by_file_and_key(byo, file, content, expected):
    (byo / file).write_text(content)
    res = _check(byo)
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    for text in expected:
        assert text in res.output, res.output


def test_check_of_something_that_is_not_a_template(tmp_path):
    for path in (tmp_path / "missing", tmp_path):
        res = _check(path)
        assert res.exit_code == 2 and "Traceback" not in res.output
    assert "experiment.py: missing" in res.output and "latex/template.tex: missing" in res.output


def test_template_by_path_name_and_label(byo, tmp_path):
    from scientist.templates import template_label

    assert template_dir(str(byo)) == byo.resolve() and template_label(byo) == "byo"
    clash = tmp_path / "grokking"  # a folder named like a built-in template
    shutil.copytree(byo, clash)
    assert template_dir("grokking") == template_dir("grokking").parent / "grokking"  # the name wins
    assert template_dir(str(clash)) == clash.resolve()
    assert template_label(clash).startswith("grokking-") and template_label("grokking") == "grokking"
    with pytest.raises(UnknownTemplateError, match="without experiment.py"):
        template_dir(str(tmp_path))


def test_bench_run_refuses_an_unusable_template_in_one_line(byo):
    (byo / "experiment.py").write_text("import timm\nprint('--out_dir')\n")
    res = CliRunner().invoke(_cli(), ["run", "gpt-4o", "--templates", str(byo)], catch_exceptions=False)
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "cannot run here" in res.output and "pip install timm" in res.output


def test_a_template_needing_torch_names_the_templates_extra(monkeypatch):
    """`pip install .` has no torch: the built-in templates then say which extra to install."""
    import importlib.util

    from scientist.templates import TemplateError
    from scientist.templates import check as template_check

    real = importlib.util.find_spec
    monkeypatch.setattr(template_check.importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(TemplateError) as err:
        template_check.require_usable("grokking")
    message = str(err.value)
    assert "\n" not in message and "imports 'torch'" in message
    assert "pip install 'ai-scientist-bench[templates]'" in message


def test_check_survives_hostile_folders(byo):
    (byo / "experiment.py").write_bytes(b"print('--out_dir')\x00\n")
    (byo / "odd.py").mkdir()  # a folder named like a module
    (byo / "seed_ideas.json").write_bytes(b"\xff\xfe not json")
    (byo / "latex" / "template.tex").write_bytes(b"\\begin{document}\xff\\section{A}\nA HERE\n\\end{document}")
    res = _check(byo)
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert "error: experiment.py: syntax error: source code string cannot contain null bytes" in res.output
    assert "error: odd.py: cannot be read" in res.output
    assert "seed_ideas.json: cannot be read" in res.output or "seed_ideas.json [line" in res.output


def test_template_check_and_list_are_light(tmp_path):
    """No model call: neither litellm, llama.cpp nor torch is imported (`pip install .` lacks two)."""
    from test_light_imports import _heavy_modules_loaded

    for args in (("template", "check", str(template_dir("grokking"))), ("template", "list")):
        loaded, proc = _heavy_modules_loaded(tmp_path, *args)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert loaded == [], args


def test_check_gives_the_repository_install_line_for_modules_not_on_pypi(byo):
    """`npeet` on PyPI is another package: the AI Scientist's 2d_diffusion needs gregversteeg's NPEET."""
    import importlib.util

    if importlib.util.find_spec("npeet") is not None:
        pytest.skip("npeet is installed here")
    code = (byo / "experiment.py").read_text()
    (byo / "experiment.py").write_text(code.replace("import numpy as np", "import numpy as np\nfrom npeet import entropy_estimators"))
    res = _check(byo)
    assert res.exit_code == 2
    assert "imports 'npeet', which is not installed here: pip install git+https://github.com/gregversteeg/NPEET " in res.output
    assert "pip install npeet" not in res.output


def test_check_warns_about_data_read_from_outside_the_template(byo):
    code = (byo / "experiment.py").read_text()
    (byo / "experiment.py").write_text(code + "\nDATA = os.path.join('../../data', 'shakespeare_char')\n")
    res = _check(byo)
    assert res.exit_code == 0 and "reads '../../data', outside the template folder" in res.output


def test_the_upstream_templates_lack_only_packages_with_an_install_line():
    """The AI Scientist's own templates (../shared/data): after .ci/install (texlive-science for their
    algorithm packages) every remaining error is a module to install, each with its install line."""
    import os

    root = Path(os.environ.get("BENCH_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    upstream = root / "ai_scientist_templates"
    if not upstream.is_dir():
        pytest.skip(f"no upstream templates at {upstream} (set BENCH_SHARED_DATA)")
    for folder in sorted(p for p in upstream.iterdir() if p.is_dir()):
        res = _check(folder)
        errors = [line for line in res.output.splitlines() if line.startswith("error:")]
        assert all("which is not installed here: pip install " in line for line in errors), (folder.name, errors)
        assert not any("LaTeX package" in line for line in res.output.splitlines()), res.output
        assert (res.exit_code == 0) == (not errors)
