"""LaTeX: compiling with pdflatex + bibtex, extracting the errors, and the bibliography file.

pdflatex runs with shell escape off and with reading/writing restricted to the paper
directory (`openin_any=p`, `openout_any=p`), since the text it compiles was written by a model.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ERROR_LINE = re.compile(r"^(?:\./)?[^:\n]*\.tex:(\d+): (.*)$")
BANG = re.compile(r"^! (.*)$")
CONTEXT = re.compile(r"^l\.(\d+) (.*)$")
BIB_KEY = re.compile(r"@(\w+)\s*\{\s*([^,\s]+)\s*,", re.IGNORECASE)
BIB_TITLE = re.compile(r"(?<![a-z])title\s*=\s*", re.IGNORECASE)


@dataclass
class CompileOutput:
    pdf: Path | None
    errors: list[str] = field(default_factory=list)
    passes: int = 0

    @property
    def ok(self) -> bool:
        return self.pdf is not None and not self.errors


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"openin_any": "p", "openout_any": "p", "shell_escape": "f", "max_print_line": "1000"})
    return env


def _run(cmd: list[str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, errors="replace",
                              timeout=timeout, env=_env(), stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired:
        return None, f"{cmd[0]} timed out after {timeout:.0f} s"


def latex_errors(log: str, max_errors: int = 10) -> list[str]:
    """The errors in a pdflatex log, each with its line number when LaTeX gives one."""
    errors: list[str] = []
    lines = log.splitlines()
    for i, line in enumerate(lines):
        m = ERROR_LINE.match(line)
        bang = BANG.match(line)
        if not (m or bang):
            continue
        message = m.group(2) if m else bang.group(1)
        where = f"line {m.group(1)}: " if m else ""
        if not m:
            ctx = next((CONTEXT.match(x) for x in lines[i + 1:i + 12] if CONTEXT.match(x)), None)
            if ctx:
                where = f"line {ctx.group(1)}: "
                message += f" (near '{ctx.group(2).strip()[-60:]}')"
        entry = f"{where}{message.strip()}"
        if entry not in errors:
            errors.append(entry)
        if len(errors) >= max_errors:
            break
    if not errors and "Emergency stop" in log:
        errors.append("Emergency stop (the document could not be processed)")
    return errors


def bibtex_errors(blg: str) -> list[str]:
    return [ln.strip() for ln in blg.splitlines()
            if "error message" in ln or ln.startswith("I couldn't") or ln.startswith("I found no")][:5]


def compile_latex(paper_dir: Path, main: str = "template", timeout: float = 60.0,
                  out_name: str = "paper.pdf") -> CompileOutput:
    """pdflatex; if it has no errors, bibtex and two more passes. The PDF is copied to `out_name`."""
    exe = shutil.which("pdflatex")
    if exe is None:
        return CompileOutput(pdf=None, errors=["pdflatex is not installed"])
    tex_args = [exe, "-interaction=nonstopmode", "-file-line-error", "-no-shell-escape", f"{main}.tex"]
    (paper_dir / f"{main}.pdf").unlink(missing_ok=True)
    code, out = _run(tex_args, paper_dir, timeout)
    passes = 1
    log_path = paper_dir / f"{main}.log"
    log = log_path.read_text(errors="replace") if log_path.exists() else out
    errors = latex_errors(log) if code is not None else [out]
    if code is not None and not errors:
        aux = paper_dir / f"{main}.aux"
        if shutil.which("bibtex") and aux.exists() and "\\bibdata" in aux.read_text(errors="replace"):
            _run([shutil.which("bibtex") or "bibtex", main], paper_dir, timeout)
            blg = paper_dir / f"{main}.blg"
            errors += bibtex_errors(blg.read_text(errors="replace")) if blg.exists() else []
        for _ in range(2):
            code, out = _run(tex_args, paper_dir, timeout)
            passes += 1
        log = log_path.read_text(errors="replace") if log_path.exists() else out
        errors += latex_errors(log) if code is not None else [out]
    pdf = paper_dir / f"{main}.pdf"
    if not pdf.exists() or pdf.stat().st_size == 0:
        return CompileOutput(pdf=None, errors=errors or ["no PDF was produced"], passes=passes)
    final = paper_dir / out_name
    shutil.copy2(pdf, final)
    return CompileOutput(pdf=final, errors=errors, passes=passes)


def error_context(tex: str, errors: list[str], radius: int = 3, max_chars: int = 4000) -> str:
    """The lines of `tex` around each error's line number, numbered, for the fix prompt."""
    lines = tex.splitlines()
    wanted: set[int] = set()
    for e in errors:
        m = re.match(r"line (\d+):", e)
        if m:
            n = int(m.group(1))
            wanted.update(range(max(1, n - radius), min(len(lines), n + radius) + 1))
    out, last = [], 0
    for n in sorted(wanted):
        if last and n != last + 1:
            out.append("...")
        out.append(f"{n:5d}| {lines[n - 1]}")
        last = n
    return "\n".join(out)[:max_chars]


# ---- bibliography --------------------------------------------------------------------------
def bib_entries(bib: str) -> dict[str, str]:
    """citation key -> title (or '') for every entry of a .bib text."""
    entries: dict[str, str] = {}
    starts = list(BIB_KEY.finditer(bib))
    for i, m in enumerate(starts):
        if m.group(1).lower() in ("string", "comment", "preamble"):
            continue
        chunk = bib[m.end(): starts[i + 1].start() if i + 1 < len(starts) else len(bib)]
        t = BIB_TITLE.search(chunk)
        entries[m.group(2)] = re.sub(r"[{}]", "", _field_value(chunk, t.end())).strip() if t else ""
    return entries


def _field_value(text: str, start: int) -> str:
    """The value of a BibTeX field starting at `start`: {balanced braces} or "quoted"."""
    if start >= len(text):
        return ""
    if text[start] == '"':
        end = text.find('"', start + 1)
        return text[start + 1:end if end >= 0 else len(text)]
    if text[start] != "{":
        return re.split(r"[,}\n]", text[start:], maxsplit=1)[0]
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1:i]
    return text[start + 1:]


CITE = re.compile(r"\\(cite[a-zA-Z]*)(\[[^\]]*\])?\{([^}]*)\}")


def drop_unknown_cites(tex: str, known: set[str]) -> tuple[str, list[str]]:
    """Remove citation keys that are not in the bibliography (a cite of nothing is removed)."""
    removed: list[str] = []

    def fix(m: re.Match[str]) -> str:
        keys = [k.strip() for k in m.group(3).split(",") if k.strip()]
        kept = [k for k in keys if k in known]
        removed.extend(k for k in keys if k not in known)
        return f"\\{m.group(1)}{m.group(2) or ''}{{{','.join(kept)}}}" if kept else ""

    return CITE.sub(fix, tex), removed


def missing_graphics(tex: str, paper_dir: Path) -> list[str]:
    names = re.findall(r"\\includegraphics(?:\[[^\]]*\])?\{([^}]+)\}", tex)
    missing = []
    for name in names:
        path = paper_dir / name
        if not path.exists() and not any(path.with_suffix(s).exists() for s in (".png", ".pdf", ".jpg")):
            missing.append(name)
    return missing
