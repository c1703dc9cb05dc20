"""`bench template check PATH`: is a template folder usable here, and if not, what to fix.

Each problem names its file, the key or line where it applies, and what to do (for a module
the code imports but this Python lacks: the pip name to install, since the sandbox cannot
install anything). Errors make the template unusable; warnings are tolerated differences (the
AI Scientist's templates often lack prompt.json or seed_ideas.json).
"""
from __future__ import annotations

import ast
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from scientist.templates import (
    ESSENTIAL_FILES,
    IDEA_KEYS,
    IDEA_SCORES,
    MANIFEST_FILE,
    TemplateManifest,
)

# Import names whose PyPI distribution is named differently.
PIP_NAMES = {
    "sklearn": "scikit-learn", "cv2": "opencv-python", "PIL": "Pillow", "yaml": "PyYAML",
    "skimage": "scikit-image", "bs4": "beautifulsoup4", "Crypto": "pycryptodome", "dateutil": "python-dateutil",
    "attr": "attrs", "jax": "jax[cpu]", "torch_geometric": "torch-geometric", "e3nn": "e3nn",
    "mace": "mace-torch", "gym": "gym", "tensorflow": "tensorflow", "wandb": "wandb",
}
# Import names with no PyPI distribution at all: the install line of their source repository.
# (PyPI's `npeet` is an unrelated package; 2d_diffusion imports gregversteeg's NPEET.)
SOURCE_INSTALLS = {
    "npeet": "pip install git+https://github.com/gregversteeg/NPEET",
}


def install_line(module: str) -> str:
    """The command that installs the top-level import `module` (its PyPI name, or its repository)."""
    if module in SOURCE_INSTALLS:
        return SOURCE_INSTALLS[module]
    return "pip install " + ("'ai-scientist-bench[templates]'" if module == "torch" else PIP_NAMES.get(module, module))


class Problem(BaseModel):
    severity: str  # "error" or "warning"
    file: str  # relative to the template folder
    where: str = ""  # key, idea index, line, module
    message: str

    def line(self) -> str:
        where = f" [{self.where}]" if self.where else ""
        return f"{self.severity}: {self.file}{where}: {self.message}"


class CheckReport(BaseModel):
    path: str
    layout: str | None = None
    problems: list[Problem] = Field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def add(self, severity: str, file: str, message: str, where: str = "") -> None:
        self.problems.append(Problem(severity=severity, file=file, where=where, message=message))


def _json(report: CheckReport, folder: Path, name: str) -> object | None:
    try:
        return json.loads((folder / name).read_text())
    except json.JSONDecodeError as err:
        report.add("error", name, f"invalid JSON: {err.msg}", f"line {err.lineno}")
    except (OSError, UnicodeDecodeError) as err:
        report.add("error", name, f"cannot be read: {err}")
    return None


def _check_prompt(report: CheckReport, folder: Path) -> None:
    if not (folder / "prompt.json").is_file():
        report.add("warning", "prompt.json", "missing: a generic system prompt and task description are used")
        return
    data = _json(report, folder, "prompt.json")
    if data is None:
        return
    if not isinstance(data, dict):
        report.add("error", "prompt.json", "must be a JSON object with 'system' and 'task_description'")
        return
    for key in ("system", "task_description"):
        if key not in data:
            report.add("warning", "prompt.json", "missing: a generic text is used", key)
        elif not isinstance(data[key], str):
            report.add("error", "prompt.json", f"must be a string, not {type(data[key]).__name__}", key)


def _check_ideas(report: CheckReport, folder: Path, name: str, scored: bool) -> None:
    if not (folder / name).is_file():
        if name == "seed_ideas.json":
            report.add("warning", name, "missing: the model proposes ideas without examples")
        return
    data = _json(report, folder, name)
    if data is None:
        return
    if not isinstance(data, list):
        report.add("error", name, "must be a JSON list of ideas")
        return
    for i, idea in enumerate(data):
        if not isinstance(idea, dict):
            report.add("error", name, "is not a JSON object", f"idea {i}")
            continue
        if not scored:
            continue
        for key in IDEA_KEYS:
            if key not in idea and key.lower() not in idea:
                report.add("error", name, "missing", f"idea {i}: {key}")
        for key in IDEA_SCORES:
            v = idea.get(key, idea.get(key.lower()))
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 10):
                report.add("error", name, f"must be an integer from 1 to 10, got {v!r}", f"idea {i}: {key}")


def _check_manifest(report: CheckReport, folder: Path) -> None:
    if not (folder / MANIFEST_FILE).is_file():
        return
    data = _json(report, folder, MANIFEST_FILE)
    if data is None:
        return
    try:
        TemplateManifest.model_validate(data)
    except ValidationError as err:
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"]) or "object"
            msg = e["msg"]
            if e["type"] == "extra_forbidden":
                msg = ("unknown key (run_args, smoke_args, description are known; time and memory "
                       "limits are set by the harness, not the template)")
            report.add("error", MANIFEST_FILE, msg, key)


def _local_modules(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.py")} | {p.name for p in folder.iterdir()
                                                    if p.is_dir() and (p / "__init__.py").is_file()}


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """An import inside `try: ... except ImportError` is optional."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Try):
            for h in node.handlers:
                names = [h.type] if not isinstance(h.type, ast.Tuple) else list(h.type.elts)
                if h.type is None or any(getattr(n, "id", None) in ("ImportError", "ModuleNotFoundError", "Exception")
                                         for n in names):
                    return True
    return False


def _check_code(report: CheckReport, folder: Path, name: str) -> str | None:
    path = folder / name
    try:
        source = path.read_text()
        tree = ast.parse(source, filename=name)
    except SyntaxError as err:
        report.add("error", name, f"syntax error: {err.msg}", f"line {err.lineno}" if err.lineno else "")
        return None
    except ValueError as err:  # e.g. null bytes
        report.add("error", name, f"not Python source: {err}")
        return None
    except (OSError, UnicodeDecodeError) as err:
        report.add("error", name, f"cannot be read: {err}")
        return None
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    local = _local_modules(folder)
    seen: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops = [node.module.split(".")[0]]
        else:
            continue
        for top in tops:
            if top in seen or top in local or top in sys.stdlib_module_names:
                continue
            seen.add(top)
            if importlib.util.find_spec(top) is not None:
                continue
            install = install_line(top)
            if _guarded(node, parents):
                report.add("warning", name, f"optional import {top!r} is not installed ({install})",
                           f"line {node.lineno}")
            else:
                report.add("error", name, f"imports {top!r}, which is not installed here: {install} "
                           "(the sandbox cannot install packages)", f"line {node.lineno}")
    _check_outside_paths(report, tree, name)
    return source


def _check_outside_paths(report: CheckReport, tree: ast.AST, name: str) -> None:
    """A relative path that climbs out of the template folder ('../../data'): a sandboxed run sees only
    its own folder, so data kept there (a dataset prepared beside the template) is not found."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("../"):
            report.add("warning", name, f"reads {node.value!r}, outside the template folder: sandboxed runs see only "
                       "their own folder, so prepare such data inside the template (e.g. the AI Scientist's "
                       "data/<dataset>/prepare.py output) and point the code there", f"line {node.lineno}")
            return


def _tex_file_found(name: str, ext: str, latex: Path) -> bool:
    if (latex / f"{name}{ext}").is_file():
        return True
    kpse = shutil.which("kpsewhich")
    if kpse is None:
        return True  # cannot tell without TeX; compile errors will say
    try:
        out = subprocess.run([kpse, f"{name}{ext}"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return True
    return bool(out.stdout.strip())


def _check_latex(report: CheckReport, folder: Path) -> None:
    import re

    from scientist.latex import source as latex

    rel = "latex/template.tex"
    try:
        tex = (folder / rel).read_text(errors="replace")
    except OSError as err:
        report.add("error", rel, f"cannot be read: {err}")
        return
    slots = latex.find_slots(tex)
    if not slots:
        report.add("error", rel, "nothing for the write-up to fill: no '%% BEGIN SECTION' slots and no "
                                 "\\title, abstract or \\section headings")
    else:
        report.layout = "bench" if slots[0].kind == "marker" else "ai_scientist"
    if "\\begin{document}" not in tex:
        report.add("error", rel, "no \\begin{document}")
    body = latex.strip_comments(tex)
    for m in re.finditer(r"\\usepackage\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}", body):
        for pkg in (p.strip() for p in m.group(1).split(",") if p.strip()):
            if not _tex_file_found(pkg, ".sty", folder / "latex"):
                report.add("error", rel, f"LaTeX package {pkg!r} is neither in latex/ nor installed "
                                         "(Debian: texlive-latex-extra, texlive-science)", f"\\usepackage{{{pkg}}}")
    for m in re.finditer(r"\\bibliographystyle\s*\{([^}]*)\}", body):
        if not _tex_file_found(m.group(1).strip(), ".bst", folder / "latex"):
            report.add("error", rel, f"bibliography style {m.group(1).strip()!r} is neither in latex/ nor installed",
                       "\\bibliographystyle")
    has_bib = (folder / "latex" / "references.bib").is_file() or any(
        "@" in b for b in latex.embedded_bibliographies(tex))
    if not has_bib:
        report.add("warning", "latex/references.bib", "missing, and template.tex embeds none: "
                                                     "citations come only from the literature search")


def check_template(path: Path | str) -> CheckReport:
    """Every problem found in the template folder at `path` (never raises for a bad folder)."""
    folder = Path(path).expanduser()
    report = CheckReport(path=str(folder))
    if not folder.is_dir():
        report.add("error", str(folder), "is not a folder")
        return report
    for rel in ESSENTIAL_FILES:
        if not (folder / rel).is_file():
            report.add("error", rel, "missing (a template needs experiment.py, plot.py and latex/template.tex)")
    _check_prompt(report, folder)
    _check_ideas(report, folder, "seed_ideas.json", scored=True)
    _check_ideas(report, folder, "ideas.json", scored=False)
    _check_manifest(report, folder)
    for name in sorted(p.name for p in folder.glob("*.py")):
        source = _check_code(report, folder, name)
        if name == "experiment.py" and source is not None and "out_dir" not in source:
            report.add("error", name, "takes no --out_dir: the harness runs `python experiment.py --out_dir=run_i`")
    if (folder / "latex" / "template.tex").is_file():
        _check_latex(report, folder)
    return report


def require_usable(spec: str | Path) -> None:
    """Raise TemplateError, in one line, when the template (name or path) cannot run here."""
    from scientist.templates import TemplateError, template_dir

    report = check_template(template_dir(spec))
    if not report.usable:
        errors = [p for p in report.problems if p.severity == "error"]
        more = f" (+{len(errors) - 2} more: bench template check {report.path})" if len(errors) > 2 else ""
        raise TemplateError(f"template {str(spec)!r} cannot run here: "
                            + "; ".join(p.line().removeprefix("error: ") for p in errors[:2]) + more)
