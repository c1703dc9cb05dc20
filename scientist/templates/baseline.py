"""The baseline of a template: a copy of the template whose unmodified experiment.py is run once,
in the sandbox, as run_0, then plotted. `bench template baseline NAME` calls `run_baseline`."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from scientist.execution import CommandResult as CommandRecord
from scientist.execution import run_command
from scientist.templates import TemplateError, template_dir, validate_final_info

DEFAULT_OUT_ROOT = Path("runs/baselines")
RECORD_FILE = "baseline.json"


class BaselineResult(BaseModel):
    """The self-describing record of a baseline, written to <out_dir>/baseline.json."""

    template: str
    out_dir: str
    options: dict[str, Any]
    experiment: CommandRecord
    plot: CommandRecord | None = None
    final_info: dict[str, Any] | None = None
    final_info_error: str | None = None
    figures: list[str] = Field(default_factory=list)
    wall_time_s: float

    @property
    def ok(self) -> bool:
        return self.experiment.ok and self.final_info is not None and self.final_info_error is None


def copy_template(name: str, dest: Path, *, force: bool = False) -> Path:
    """A fresh copy of template `name` at `dest` (refuses to overwrite earlier results unless `force`)."""
    src = template_dir(name)
    if dest.exists() and any(dest.iterdir()):
        if not force:
            raise FileExistsError(f"{dest} exists and is not empty; pass force=True (--force) to replace it")
        shutil.rmtree(dest)
    shutil.copytree(src, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "run_*", "*.pyc"))
    return dest


def _run(args: list[str], workdir: Path, wall_time_s: float, memory_mb: int, unsafe_no_sandbox: bool) -> CommandRecord:
    from scientist.sandbox import SandboxLimits

    limits = SandboxLimits(wall_time_s=wall_time_s, memory_mb=memory_mb)
    return run_command(args, workdir, limits, unsafe_no_sandbox=unsafe_no_sandbox)


def run_baseline(
    name: str,
    out_dir: Path | None = None,
    *,
    large: bool = False,
    smoke: bool = False,
    seeds: int | None = None,
    wall_time_s: float | None = None,
    memory_mb: int = 4096,
    unsafe_no_sandbox: bool = False,
    force: bool = False,
) -> BaselineResult:
    """Copy template `name` to `out_dir`, run `experiment.py --out_dir run_0` and `plot.py` there.

    Raises scientist.sandbox.SandboxUnavailable when the sandbox cannot run and
    `unsafe_no_sandbox` is False; a failed experiment is reported in the result, not raised.
    """
    out = Path(out_dir) if out_dir is not None else DEFAULT_OUT_ROOT / name
    copy_template(name, out, force=force)
    if wall_time_s is None:
        wall_time_s = 7200.0 if large else 600.0  # the default baseline is meant to take under 5 minutes
    args = ["experiment.py", "--out_dir", "run_0"]
    args += ["--large"] if large else []
    args += ["--smoke"] if smoke else []
    args += ["--seeds", str(seeds)] if seeds is not None else []

    t0 = time.monotonic()
    experiment = _run(args, out, wall_time_s, memory_mb, unsafe_no_sandbox)
    final_info, info_error = None, None
    info_path = out / "run_0" / "final_info.json"
    if info_path.is_file():
        try:
            final_info = json.loads(info_path.read_text())
            validate_final_info(final_info, n_seeds=seeds)
        except (json.JSONDecodeError, TemplateError) as err:
            info_error = str(err)
    elif experiment.ok:
        info_error = "experiment.py exited normally but wrote no run_0/final_info.json"

    plot = None
    figures_before = {p.name for p in out.glob("*.png")}
    if experiment.ok:
        plot = _run(["plot.py"], out, 300.0, memory_mb, unsafe_no_sandbox)
    figures = sorted(p.name for p in out.glob("*.png") if p.name not in figures_before)

    result = BaselineResult(
        template=name,
        out_dir=str(out.resolve()),
        options={"large": large, "smoke": smoke, "seeds": seeds, "wall_time_s": wall_time_s, "memory_mb": memory_mb,
                 "unsafe_no_sandbox": unsafe_no_sandbox},
        experiment=experiment,
        plot=plot,
        final_info=final_info,
        final_info_error=info_error,
        figures=figures,
        wall_time_s=time.monotonic() - t0,
    )
    (out / RECORD_FILE).write_text(result.model_dump_json(indent=2))
    return result
