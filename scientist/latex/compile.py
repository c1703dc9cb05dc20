"""LaTeX: compiling with pdflatex + bibtex, extracting the errors, and the bibliography file.

The text compiled was written by a model, so pdflatex and bibtex run in the experiment sandbox
(`scientist.sandbox`): the paper folder is the only writable place, TeX's own trees and any
`readonly` paths are read-only, the environment is rebuilt (no API keys), there is no network, and
time, memory and disk are limited. Inside, shell escape stays off and kpathsea's `openin_any=p` /
`openout_any=p` keep reads and writes to the paper folder. Symlinks, FIFOs and devices in the
paper folder are removed before each run (refused), and every file read back goes through `safe_io`.
"""
from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scientist.latex import source

ERROR_LINE = re.compile(r"^(?:\./)?[^:\n]*\.tex:(\d+): (.*)$")
BANG = re.compile(r"^! (.*)$")
CONTEXT = re.compile(r"^l\.(\d+) (.*)$")


@dataclass
class CompileOutput:
    pdf: Path | None
    errors: list[str] = field(default_factory=list)
    passes: int = 0
    incidents: list[dict[str, Any]] = field(default_factory=list)  # what the sandbox recorded, all passes
    sandboxed: bool = True

    @property
    def ok(self) -> bool:
        return self.pdf is not None and not self.errors


TEX_TREES = (Path("/etc/texmf"), Path("/var/lib/texmf"))  # texmf.cnf, formats, ls-R (/usr/share is bound anyway)
TEX_ENV = {"openin_any": "p", "openout_any": "p", "shell_escape": "f", "max_print_line": "1000"}
LOG_MAX_BYTES = 8 * 1024 * 1024


def latex_limits(timeout: float) -> Any:
    from scientist.sandbox import SandboxLimits

    return SandboxLimits(wall_time_s=timeout, memory_mb=1024, disk_mb=100, pids=16, open_files=256)


class _Runner:
    """pdflatex/bibtex passes in the sandbox, refusing what the folder must not hold before each pass."""

    def __init__(self, paper_dir: Path, timeout: float, readonly: Sequence[Path], unsafe_no_sandbox: bool) -> None:
        self.paper_dir, self.timeout, self.unsafe = paper_dir, timeout, unsafe_no_sandbox
        self.readonly = [p for p in (*TEX_TREES, *readonly) if p.exists()]
        self.out = CompileOutput(pdf=None, sandboxed=not unsafe_no_sandbox)

    def refuse_specials(self) -> None:
        from scientist.sandbox import safe_io

        for f in safe_io.scan_tree(self.paper_dir):
            self.out.incidents.append({"kind": f.kind, "detail": f.detail, "source": "harness", "fatal": False,
                                       "count": 1})
            msg = f"refused: {f.detail} in the paper folder (removed)"
            if msg not in self.out.errors:
                self.out.errors.append(msg)

    def run(self, cmd: list[str]) -> tuple[int | None, str]:
        from scientist.sandbox import SandboxUnavailable, run_in_sandbox

        self.refuse_specials()
        try:
            res = run_in_sandbox(cmd, self.paper_dir, limits=latex_limits(self.timeout), readonly_binds=self.readonly,
                                 env=TEX_ENV, unsafe_no_sandbox=self.unsafe)
        except SandboxUnavailable as err:
            return None, f"{Path(cmd[0]).name} was not run: {err}"
        self.out.incidents += [i.model_dump(mode="json") for i in res.incidents if i.kind != "unsafe_no_sandbox"]
        text = res.stdout_tail + res.stderr_tail
        if res.timed_out:
            return None, f"{Path(cmd[0]).name} timed out after {self.timeout:.0f} s"
        fatal = [i for i in res.incidents if i.fatal]
        if fatal:
            return None, f"{Path(cmd[0]).name} was stopped by the sandbox: {fatal[0].kind}: {fatal[0].detail}"
        return res.exit_code, text

    def read(self, name: str) -> str | None:
        from scientist.sandbox import safe_io

        try:
            return safe_io.read_text(self.paper_dir / name, root=self.paper_dir, max_bytes=LOG_MAX_BYTES)
        except OSError:
            return None


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
                  out_name: str = "paper.pdf", *, readonly: Sequence[Path] = (),
                  unsafe_no_sandbox: bool = False) -> CompileOutput:
    """pdflatex; if it has no errors, bibtex and two more passes, each in the sandbox. The PDF is copied
    to `out_name`. `readonly`: extra host paths the document may read (bound read-only)."""
    from scientist.sandbox import safe_io

    exe = shutil.which("pdflatex")
    if exe is None:
        return CompileOutput(pdf=None, errors=["pdflatex is not installed"])
    tex_args = [exe, "-interaction=nonstopmode", "-file-line-error", "-no-shell-escape", f"{main}.tex"]
    run = _Runner(paper_dir, timeout, readonly, unsafe_no_sandbox)
    out = run.out
    safe_io.remove_path(paper_dir / f"{main}.pdf", root=paper_dir)
    code, text = run.run(tex_args)
    out.passes = 1
    errors = latex_errors(run.read(f"{main}.log") or text) if code is not None else [text]
    if code is not None and not errors:
        aux = run.read(f"{main}.aux") or ""
        if shutil.which("bibtex") and "\\bibdata" in aux:
            run.run([shutil.which("bibtex") or "bibtex", main])
            errors += bibtex_errors(run.read(f"{main}.blg") or "")
        for _ in range(2):
            code, text = run.run(tex_args)
            out.passes += 1
        errors += latex_errors(run.read(f"{main}.log") or text) if code is not None else [text]
    out.errors += [e for e in errors if e not in out.errors]
    pdf = paper_dir / f"{main}.pdf"
    st = safe_io.lstat(pdf, root=paper_dir)
    if st is None or not safe_io.is_file(pdf, root=paper_dir) or st.st_size == 0:
        out.errors = out.errors or ["no PDF was produced"]
        return out
    final = paper_dir / out_name
    safe_io.copy_file(pdf, final, src_root=paper_dir, dst_root=paper_dir, max_bytes=256 * 1024 * 1024)
    out.pdf = final
    return out


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


# ---- bibliography: read by the one LaTeX source reader ---------------------------------
bib_entries = source.bib_entries
drop_unknown_cites = source.drop_unknown_citations


def missing_graphics(tex: str, paper_dir: Path) -> list[str]:
    names = source.included_graphics(tex)
    missing = []
    for name in names:
        path = paper_dir / name
        if not path.exists() and not any(path.with_suffix(s).exists() for s in (".png", ".pdf", ".jpg")):
            missing.append(name)
    return missing
