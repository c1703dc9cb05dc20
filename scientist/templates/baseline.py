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
from scientist.sandbox import safe_io
from scientist.templates import TemplateError, load_template, template_dir, validate_final_info

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


def copy_template(name: str | Path, dest: Path, *, force: bool = False) -> Path:
    """A fresh copy of template `name` (a name or a path) at `dest` (refuses to overwrite
    earlier results unless `force`)."""
    src = template_dir(name)
    if dest.exists() and any(dest.iterdir()):
        if not force:
            raise FileExistsError(f"{dest} exists and is not empty; pass force=True (--force) to replace it")
        shutil.rmtree(dest)
    shutil.copytree(src, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "run_*", "*.pyc"))
    return dest


def _run(args: list[str], workdir: Path, wall_time_s: float, memory_mb: int, unsafe_no_sandbox: bool,
         gpus: tuple[int, ...] = ()) -> CommandRecord:
    from scientist.sandbox import SandboxLimits

    limits = SandboxLimits(wall_time_s=wall_time_s, memory_mb=memory_mb, gpus=gpus)
    return run_command(args, workdir, limits, unsafe_no_sandbox=unsafe_no_sandbox)


def run_baseline(
    name: str | Path,
    out_dir: Path | None = None,
    *,
    large: bool = False,
    smoke: bool = False,
    seeds: int | None = None,
    wall_time_s: float | None = None,
    memory_mb: int = 4096,
    unsafe_no_sandbox: bool = False,
    force: bool = False,
    gpus: tuple[int, ...] = (),
) -> BaselineResult:
    """Copy template `name` (a name or a path) to `out_dir`, run `experiment.py --out_dir run_0`
    (with the manifest's run arguments, and its smoke ones if `smoke`) and `plot.py` there.

    `large` and `seeds` are flags of our own templates' experiment.py; a template whose
    experiment.py takes only --out_dir (the AI Scientist's) gets TemplateError for them.
    Raises scientist.sandbox.SandboxUnavailable when the sandbox cannot run and
    `unsafe_no_sandbox` is False; a failed experiment is reported in the result, not raised.
    """
    template = load_template(name)
    if template.layout != "bench" and (large or seeds is not None):
        raise TemplateError(f"{template.path}: --large and --seeds are flags of this project's templates; "
                            "this one's experiment.py takes only --out_dir (declare extra arguments in "
                            "bench_template.json)")
    out = Path(out_dir) if out_dir is not None else DEFAULT_OUT_ROOT / template.name
    copy_template(template.path, out, force=force)
    if wall_time_s is None:
        wall_time_s = 7200.0 if large else 600.0  # the default baseline is meant to take under 5 minutes
    args = ["experiment.py", "--out_dir", "run_0", *template.run_args(smoke)]
    args += ["--large"] if large else []
    args += ["--seeds", str(seeds)] if seeds is not None else []

    t0 = time.monotonic()
    experiment = _run(args, out, wall_time_s, memory_mb, unsafe_no_sandbox, gpus)
    final_info, info_error = None, None
    info_path = out / "run_0" / "final_info.json"
    if safe_io.is_file(info_path, root=out):  # written by the run: a link or FIFO is refused, size capped
        try:
            final_info = json.loads(safe_io.read_bytes(info_path, root=out, max_bytes=4 * 1024 * 1024))
            validate_final_info(final_info, n_seeds=seeds)
        except (json.JSONDecodeError, UnicodeDecodeError, OSError, TemplateError) as err:
            info_error = str(err)
    elif experiment.ok:
        info_error = "experiment.py exited normally but wrote no run_0/final_info.json"

    plot = None
    figures_before = {p.name for p in out.glob("*.png")}
    if experiment.ok:
        plot = _run(["plot.py"], out, 300.0, memory_mb, unsafe_no_sandbox, gpus)
    figures = sorted(p.name for p in out.glob("*.png") if p.name not in figures_before)

    result = BaselineResult(
        template=str(name),
        out_dir=str(out.resolve()),
        options={"large": large, "smoke": smoke, "seeds": seeds, "wall_time_s": wall_time_s, "memory_mb": memory_mb,
                 "unsafe_no_sandbox": unsafe_no_sandbox, "gpus": list(gpus)},
        experiment=experiment,
        plot=plot,
        final_info=final_info,
        final_info_error=info_error,
        figures=figures,
        wall_time_s=time.monotonic() - t0,
    )
    (out / RECORD_FILE).write_text(result.model_dump_json(indent=2))
    return result
