"""Running the model's code: every command goes through the sandbox module, with the files the
model may not edit bound read-only. Also the template copy the model works on."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from scientist.rundir import NON_CODE, write_json
from scientist.sandbox import safe_io

EDITABLE_CODE = ("experiment.py", "plot.py")
FINAL_INFO_MAX_BYTES = 4 * 1024 * 1024


class CommandResult(BaseModel):
    """What the pipeline keeps of one sandboxed command."""

    command: list[str] = Field(default_factory=list)
    ok: bool
    exit_code: int | None
    timed_out: bool
    wall_time_s: float
    stdout_tail: str = ""
    stderr_tail: str = ""
    incidents: list[dict[str, Any]] = Field(default_factory=list)
    sandboxed: bool = True


def copy_template_code(template_path: Path, dest: Path) -> None:
    """A fresh copy of the template's code (not its prompts, LaTeX or old results) at `dest`."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for item in template_path.iterdir():
        if item.name in NON_CODE or item.name.startswith(("run_", ".")):
            continue
        if item.is_dir():
            shutil.copytree(item, dest / item.name, ignore=shutil.ignore_patterns("__pycache__", "run_*"))
        else:
            shutil.copy2(item, dest / item.name)


def harness_files(code_dir: Path, editable: tuple[str, ...]) -> list[Path]:
    """Every file of the template copy the model may not change: bound read-only in the sandbox.

    Entries are taken by lstat: a symlink (or FIFO, device) a run left here is never bound, so it
    cannot carry a host path such as /etc into the next run."""
    return sorted(
        code_dir / name for name, kind in safe_io.safe_entries(code_dir)
        if kind in ("file", "dir") and name not in editable and not name.startswith("run_") and name != "__pycache__"
    )


def run_dirs(code_dir: Path, exclude: str | None = None) -> list[Path]:
    """The run_* result directories of a code copy, real directories only (a planted link is skipped)."""
    return sorted(code_dir / name for name, kind in safe_io.safe_entries(code_dir)
                  if kind == "dir" and name.startswith("run_") and name != exclude)


def run_command(
    args: list[str], workdir: Path, limits: Any, *, readonly: list[Path] | None = None,
    unsafe_no_sandbox: bool = False, log_path: Path | None = None,
) -> CommandResult:
    """`python <args>` in the sandbox, with `workdir` writable. The full record goes to `log_path`."""
    from scientist.sandbox import run_in_sandbox

    command = [sys.executable, *args]
    result = run_in_sandbox(command, workdir, limits=limits,
                            readonly_binds=list(readonly or []), unsafe_no_sandbox=unsafe_no_sandbox)
    if log_path is not None:
        write_json(log_path, result)
    return CommandResult(
        command=command, ok=bool(result.ok), exit_code=result.exit_code, timed_out=bool(result.timed_out),
        wall_time_s=float(result.wall_time_s or 0.0), stdout_tail=result.stdout_tail or "",
        stderr_tail=result.stderr_tail or "",
        incidents=[i.model_dump(mode="json") if hasattr(i, "model_dump") else dict(i) for i in result.incidents],
        sandboxed=bool(getattr(result, "sandboxed", True)),
    )


def read_final_info(run_dir: Path) -> dict[str, Any] | None:
    """run_dir/final_info.json if it is a regular file of at most 4 MB holding a JSON object; else None.

    The run wrote it: a symlink, FIFO, device or huge sparse file is refused, never read."""
    data = safe_io.read_json(run_dir / "final_info.json", root=run_dir.parent, max_bytes=FINAL_INFO_MAX_BYTES)
    return data if isinstance(data, dict) else None


def failure_text(res: CommandResult, limit_s: float | None, tail: int = 1500) -> str:
    """Why a run failed, in the words sent back to the model."""
    if res.timed_out:
        head = (f"The run was stopped by the harness after its time limit of {limit_s:.0f} s. "
                "Make the experiment cheaper (fewer steps, smaller model) so that it finishes in time.")
    else:
        head = f"The run failed with exit code {res.exit_code}."
    kinds = sorted({str(i.get("kind")) for i in res.incidents if i.get("kind") != "timeout"})
    if kinds:
        head += f" The sandbox recorded: {', '.join(kinds)}."
    err = (res.stderr_tail or res.stdout_tail or "")[-tail:]
    return f"{head}\nOutput (end):\n{err}" if err else head
