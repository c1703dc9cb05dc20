"""One idea's task, as it crosses to a thread, a worker process or a Ray node, and what comes back.

`IdeaTask` is plain data: the pipeline's config (settings only: `PipelineConfig.__getstate__`
leaves cached clients behind, and recorded replies travel as a file path), the idea, the
validity settings and the GPUs of the run. Model clients are built where the task runs.

Results come back to the driver, which alone writes results.sqlite. When the worker cannot see
the driver's results folder (no shared filesystem: the driver's marker file is not there), the
idea runs in a scratch folder of the worker and its folder (records, code, runs, paper) travels
back as a capped tar archive that the driver unpacks into the same place as a local run would.
"""
from __future__ import annotations

import copy
import dataclasses
import io
import shutil
import socket
import tarfile
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from benchmark.validity.checks import ValidityConfig, check_idea_dir

ShipMode = Literal["auto", "always", "never"]
MARKER = ".bench-driver"  # in the results folder: a worker that reads the same token shares the driver's disk
SHIP_MAX_BYTES = 256 * 1024 * 1024  # whole idea folder up to this; beyond it, records and paper only
SHIP_ALWAYS = (".json", ".tex", ".bib", ".pdf", ".png", ".log", ".txt", ".sty", ".bst", ".py")


@dataclass
class IdeaTask:
    config: Any  # a PipelineConfig (or a test's stand-in)
    idea: dict[str, Any]
    template_tex: str | None
    validity: dict[str, Any]
    driver_out: str = ""  # the driver's results folder, and the token of its marker file there
    driver_token: str = ""
    ship: ShipMode = "auto"
    gpus: tuple[int, ...] = ()  # assigned by the driver (threads, processes)
    ray_gpus: bool = False  # ask Ray which GPU(s) it gave this task
    run_idea_fn: Callable[..., Any] | None = None  # tests: a scripted pipeline
    idea_model: Any = None


def _pipeline() -> Any:
    import scientist.pipeline as pipeline

    return pipeline


def _dump(obj: Any) -> dict[str, Any]:
    return obj.model_dump(mode="json") if hasattr(obj, "model_dump") else dict(obj)


def own_copy(cfg: Any) -> Any:
    """A config of the idea's own: PipelineConfig caches its model clients, and per-stage usage
    is measured on a client's call log, which ideas running side by side must not share."""
    return dataclasses.replace(cfg) if dataclasses.is_dataclass(cfg) else copy.copy(cfg)


def execute_idea(cfg: Any, idea: dict[str, Any], template_tex_path: str | None, validity: dict[str, Any],
                 run_idea_fn: Callable[..., Any] | None = None, idea_model: Any = None) -> dict[str, Any]:
    """One idea, start to finish, where the task runs: the pipeline, then the validity checks on the
    files it left. Returns plain data; never raises."""
    try:
        cfg = own_copy(cfg)
        run_idea_fn = run_idea_fn or _pipeline().run_idea
        if idea_model is None:
            from scientist.records import Idea as idea_model
        idea_obj = idea_model.model_validate(idea)
        outcome = _dump(run_idea_fn(cfg, idea_obj))
        report = check_idea_dir(
            Path(outcome.get("idea_dir") or Path(cfg.out_dir) / idea["name"]),
            tex_path=outcome.get("tex_path"), pdf_path=outcome.get("pdf_path"),
            template_tex=Path(template_tex_path) if template_tex_path else None,
            config=ValidityConfig.model_validate(validity),
        )
        return {"outcome": outcome, "validity": report.model_dump(), "error": None}
    except BaseException as err:  # noqa: BLE001 - a task must report, not vanish
        if isinstance(err, KeyboardInterrupt):
            raise
        return {"outcome": None, "validity": None,
                "error": f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=8)}"}


def _ray_gpu_ids() -> tuple[int, ...]:
    import ray

    ids = []
    for gid in ray.get_gpu_ids():
        try:
            ids.append(int(gid))
        except (TypeError, ValueError):
            raise RuntimeError(f"Ray assigned GPU {gid!r}, not an index: set CUDA_VISIBLE_DEVICES on the "
                               "cluster's nodes to indexes") from None
    return tuple(ids)


def _with_gpus(cfg: Any, gpus: tuple[int, ...]) -> Any:
    if hasattr(cfg, "with_gpus"):
        return cfg.with_gpus(gpus)
    cfg = own_copy(cfg)
    cfg.gpus = gpus
    return cfg


def _where() -> str:
    """This machine, and the Ray node when the task runs on one."""
    import sys

    host = socket.gethostname()
    ray = sys.modules.get("ray")
    try:
        if ray is not None and ray.is_initialized():
            return f"{host} (Ray node {ray.get_runtime_context().get_node_id()[:12]})"
    except Exception:  # noqa: BLE001 - only a label
        pass
    return host


def _cuda_here(gpus: tuple[int, ...], unsafe: bool) -> str:
    """Whether CUDA works in a sandbox given `gpus` on the machine the task runs on (Ray nodes cannot be
    probed from the driver's preflight): one short sandboxed probe, a few seconds."""
    try:
        from scientist.sandbox.gpu import probe_cuda

        return probe_cuda(gpus, unsafe_no_sandbox=unsafe).line()
    except Exception as err:  # noqa: BLE001 - the idea's own runs will say what is wrong
        return f"GPU(s) {', '.join(map(str, gpus))}: CUDA does NOT work inside the sandbox ({type(err).__name__}: {err})"


def shares_driver_disk(task: IdeaTask) -> bool:
    try:
        return (Path(task.driver_out) / MARKER).read_text() == task.driver_token
    except OSError:
        return False


def run_task(task: IdeaTask) -> dict[str, Any]:
    """The executors' entry point: GPUs, where to write, the idea, and its folder shipped back if needed."""
    try:
        gpus = _ray_gpu_ids() if task.ray_gpus else tuple(task.gpus)
    except Exception as err:  # noqa: BLE001 - the cluster's misconfiguration, not the model's
        return {"outcome": None, "validity": None, "error": None, "infra_error": f"{type(err).__name__}: {err}"}
    cfg = _with_gpus(task.config, gpus) if (gpus or task.ray_gpus) else task.config
    ship = task.ship == "always" or (task.ship == "auto" and task.driver_token and not shares_driver_disk(task))
    scratch: Path | None = None
    driver_run = Path(cfg.out_dir)
    if ship:
        scratch = Path(tempfile.mkdtemp(prefix="bench-idea-"))
        cfg = own_copy(cfg)
        cfg.out_dir = scratch / "run"
        cache = getattr(cfg, "cache_dir", None)
        if cache is not None and Path(cache).is_relative_to(driver_run):
            cfg.cache_dir = cfg.out_dir / Path(cache).relative_to(driver_run)
    try:
        cuda = _cuda_here(gpus, bool(getattr(cfg, "unsafe_no_sandbox", False))) if gpus else None
        result = execute_idea(cfg, task.idea, task.template_tex, task.validity, task.run_idea_fn, task.idea_model)
        result["gpus"], result["cuda"] = list(gpus), cuda
        result["host"] = _where()
        if scratch is not None and result.get("outcome"):
            outcome = result["outcome"]
            local_idea = Path(outcome.get("idea_dir") or Path(cfg.out_dir) / task.idea["name"])
            if not local_idea.is_relative_to(cfg.out_dir):  # the folder is always the run's: never elsewhere
                local_idea = Path(cfg.out_dir) / task.idea["name"]
            outcome["idea_dir"] = str(local_idea)
            result["files"], result["files_note"] = pack_folder(local_idea)
            for key in ("idea_dir", "pdf_path", "tex_path"):
                value = outcome.get(key)
                if isinstance(value, str) and Path(value).is_relative_to(cfg.out_dir):
                    outcome[key] = str(driver_run / Path(value).relative_to(cfg.out_dir))
        return result
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def pack_folder(folder: Path, max_bytes: int = SHIP_MAX_BYTES) -> tuple[bytes, str | None]:
    """The idea folder as a tar.gz: regular files and folders only (a link the run planted is left
    behind); over `max_bytes`, only records, sources, figures and the paper, with a note."""
    entries: list[tuple[Path, int]] = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            continue
        entries.append((path, path.lstat().st_size if path.is_file() else 0))
    total = sum(size for _, size in entries)
    note = None
    if total > max_bytes:
        entries = [(p, s) for p, s in entries if p.is_dir() or p.suffix in SHIP_ALWAYS]
        note = (f"idea folder of {total / 2**20:.0f} MB is over {max_bytes / 2**20:.0f} MB: only records, "
                "sources, figures and the paper were shipped back")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(folder, arcname=".", recursive=False)
        for path, _ in entries:
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buf.getvalue(), note


def unpack_folder(data: bytes, dest: Path, max_bytes: int = 2 * SHIP_MAX_BYTES) -> None:
    """Replace `dest` with the shipped folder. The archive came from a worker that ran model-written
    code: tarfile's `data` filter refuses links out, devices, absolute and `..` paths; size is capped."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
        for m in members:  # pack_folder writes regular files and folders with relative names, nothing else
            if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in Path(m.name).parts:
                raise tarfile.TarError(f"shipped idea folder refused: member {m.name!r} is not a plain file or "
                                       "folder inside it")
        if sum(m.size for m in members) > max_bytes:
            raise ValueError(f"shipped idea folder is over {max_bytes} bytes")
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        try:
            tar.extractall(staging, members=members, filter="data")
            if dest.exists():
                shutil.rmtree(dest)
            staging.rename(dest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def task_summary(result: dict[str, Any]) -> str:
    """Where a task ran, for the event log: GPUs and host."""
    gpus = result.get("gpus") or []
    where = f" on GPU {','.join(map(str, gpus))}" if gpus else ""
    return where + (f" ({result['host']})" if result.get("host") else "")
