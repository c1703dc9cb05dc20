"""`bench run`: the scientist pipeline for each template × seed, many ideas at once, each
finished idea checked for validity and committed to the results database as it arrives.

Resuming is the database's job: a rerun with the same --out reuses the ideas it recorded and
runs only those not finished (pending, interrupted, or crashed).
"""
from __future__ import annotations

import json
import pickle
import queue
import secrets
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from benchmark.executors import Executor, ExecutorKind, make_executor, worker_lost
from benchmark.idea_task import MARKER, IdeaTask, ShipMode, execute_idea, own_copy, run_task, task_summary, unpack_folder
from benchmark.panel import ReviewPanel, make_panel
from benchmark.results_db import ResultsDB
from benchmark.validity.checks import ValidityConfig
from scientist.failures import infra_error, infra_kind

__all__ = ["BenchConfig", "BenchmarkRunner", "InfraError", "RunSummary", "execute_idea", "own_copy", "run_benchmark"]

Event = Callable[[str], None]


class InfraError(RuntimeError):
    """Idea generation failed for the infrastructure (credentials, provider, disk), not the model."""


@dataclass
class BenchConfig:
    model: str
    templates: list[str]
    out_dir: Path
    n_ideas: int = 2
    seeds: int = 1
    reviewers: list[str] = field(default_factory=list)  # the panel; empty: $BENCH_REVIEWER or the default
    self_review: bool = False  # review MODEL's papers with MODEL (explicit, marked on the board)
    calibrator: Path | None = None
    force_calibrator: bool = False
    max_runs: int = 5
    max_fixes: int = 4
    check_novelty: bool = True
    unsafe_no_sandbox: bool = False
    concurrency: int = 2
    executor: ExecutorKind = "thread"
    address: str | None = None
    validity: ValidityConfig = field(default_factory=ValidityConfig)
    gpus: str | tuple[int, ...] = "none"  # "auto", "none" or GPU indexes; on Ray: auto or none
    runs_per_gpu: int = 1  # runs sharing one GPU (more than 1 only when asked)
    ship_results: ShipMode = "auto"  # idea folders travel back when a worker cannot see --out
    # further PipelineConfig fields: client_factory (scripted models), litellm_kwargs, sandbox_limits
    pipeline_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir).resolve()  # workers (processes, Ray) may have another cwd

    def panel(self) -> ReviewPanel:
        return make_panel(self.model, self.reviewers, self_review=self.self_review,
                          reviewer_config=self.pipeline_overrides.get("reviewer_kwargs"),
                          calibrator=self.calibrator, force_calibrator=self.force_calibrator)

    def run_dir(self, template: str, seed: int) -> Path:
        return Path(self.out_dir) / template_label(template) / f"seed_{seed}"

    def describe(self) -> dict[str, Any]:
        """What is stored with each run: the settings that shape its results."""
        keep = ("model", "n_ideas", "seeds", "calibrator", "max_runs", "max_fixes",
                "check_novelty", "unsafe_no_sandbox")
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(self).items() if k in keep} | {
            "validity": self.validity.model_dump(), "panel": self.panel().model_dump(mode="json")}


# ---- the pipeline's API, imported lazily (it pulls in litellm and the sandbox) --------------
def _pipeline() -> Any:
    import scientist.pipeline as pipeline

    return pipeline


def pipeline_config(bench: BenchConfig, template: str, seed: int) -> Any:
    """A PipelineConfig for one template and seed; fields it does not define are left out."""
    config_cls = _pipeline().PipelineConfig
    wanted: dict[str, Any] = {
        "model": bench.model, "template": template, "n_ideas": bench.n_ideas,
        "out_dir": bench.run_dir(template, seed), "reviewer_models": bench.panel().reviewers,
        "self_review": bench.self_review, "force_calibrator": bench.force_calibrator,
        "calibrator": bench.calibrator, "max_runs": bench.max_runs, "max_fixes": bench.max_fixes,
        "unsafe_no_sandbox": bench.unsafe_no_sandbox, "check_novelty": bench.check_novelty,
        # a response cache per seed: seeds are independent samples, a rerun of one seed reuses its replies
        "cache_dir": bench.run_dir(template, seed) / "model_cache", **bench.pipeline_overrides,
    }
    fields = getattr(config_cls, "model_fields", None) or getattr(config_cls, "__dataclass_fields__", {})
    unknown = sorted(set(bench.pipeline_overrides) - set(fields))
    if unknown:  # asked for by name: a typo must not pass silently
        raise ValueError(f"PipelineConfig has no field(s) {', '.join(unknown)}; "
                         f"known: {', '.join(f for f in fields if not f.startswith('_'))}")
    return config_cls(**{k: v for k, v in wanted.items() if k in fields})


def template_label(template: str) -> str:
    """The name a template (given by name or by path) has in results folders and on boards."""
    try:
        from scientist.templates import template_label as label

        return label(template)
    except Exception:  # the template package is not there, or the folder is gone
        return Path(template).name or template


def template_tex(template: str) -> str | None:
    """The template's LaTeX skeleton, to recognise its unfilled text in generated papers."""
    try:
        from scientist.templates import template_dir

        path = Path(template_dir(template)) / "latex" / "template.tex"
    except Exception:  # the template package is not there, or does not know this name
        return None
    return str(path) if path.is_file() else None


def _idea_model() -> Any:
    from scientist.records import Idea

    return Idea


def _dump(obj: Any) -> dict[str, Any]:
    return obj.model_dump(mode="json") if hasattr(obj, "model_dump") else dict(obj)


def _ideas_stage(run_dir: Path) -> dict[str, Any]:
    """How idea generation ended (status, error, tokens, cost), from the pipeline's OUT/ideas.json."""
    try:
        return json.loads((run_dir / "ideas.json").read_text()).get("stage") or {}
    except (OSError, ValueError):
        return {}


@dataclass
class RunSummary:
    db_path: Path
    finished: int = 0
    errors: int = 0
    failed_runs: list[str] = field(default_factory=list)
    infra_errors: int = 0  # ideas (or idea generations) stopped by the infrastructure: rerun to retry


class BenchmarkRunner:
    def __init__(self, bench: BenchConfig, *, generate_ideas_fn: Callable[[Any], list[Any]] | None = None,
                 run_idea_fn: Callable[..., Any] | None = None, idea_model: Any = None,
                 config_fn: Callable[[BenchConfig, str, int], Any] = pipeline_config,
                 on_event: Event | None = None) -> None:
        self.bench = bench
        self.generate_ideas_fn = generate_ideas_fn
        self.run_idea_fn = run_idea_fn
        self.idea_model = idea_model
        self.config_fn = config_fn
        self.on_event = on_event or (lambda _msg: None)
        self.db = ResultsDB(Path(bench.out_dir))

    def _ideas_for(self, rid: str, cfg: Any, template: str, seed: int) -> list[dict[str, Any]]:
        """The run's unfinished ideas: those an earlier attempt recorded, plus fresh ones while
        fewer than asked for are recorded (the pipeline keeps the ideas it already generated)."""
        recorded = self.db.ideas(rid)
        if len(recorded) < self.bench.n_ideas:
            self.db.set_run_status(rid, "running")
            generate = self.generate_ideas_fn or _pipeline().generate_ideas
            try:
                ideas = [_dump(i) for i in generate(cfg)]
            except Exception:
                if not recorded:
                    raise
                ideas = []  # generating more failed: run those already recorded
            self.db.add_ideas(rid, ideas)
            stage = _ideas_stage(self.bench.run_dir(template, seed))
            self.db.set_run_ideas_usage(rid, stage.get("tokens"), stage.get("cost_usd"), stage.get("seconds"))
            recorded = self.db.ideas(rid)
            note = f" (idea generation: {stage['error']})" if stage.get("error") else ""
            self.on_event(f"{template} seed {seed}: {len(recorded)} idea(s){note}")
            if stage.get("error"):
                self.db.set_run_error(rid, f"idea generation {stage.get('status')}: {stage['error']}")
            if not recorded and stage.get("status") == "failed" and infra_kind(stage.get("error")):
                raise InfraError(infra_error(stage["error"]) or stage["error"])
        return [json.loads(i["idea_json"]) for i in recorded if i["status"] != "done"]

    def run(self) -> RunSummary:
        bench = self.bench
        summary = RunSummary(db_path=self.db.path)
        plan = [(t, s) for t in bench.templates for s in range(bench.seeds)]
        configs = {key: self.config_fn(bench, *key) for key in plan}  # a bad setting fails before anything is recorded
        panel_key = bench.panel().key()
        rids = {(t, s): self.db.ensure_run(bench.model, template_label(t), s, bench.n_ideas, bench.run_dir(t, s),
                                           bench.describe(), panel_key) for t, s in plan}
        slots = threading.Semaphore(max(1, bench.concurrency))
        futures: list[Future] = []
        executor = make_executor(bench.executor, bench.concurrency, bench.address)
        validity = bench.validity.model_dump()
        try:
            gpu_pool, ray_gpus = self._gpu_plan(executor)
            for cfg in configs.values():  # a spec that cannot cross fails once, clearly, before anything starts
                _check_crosses(executor, IdeaTask(cfg, {"name": "probe"}, None, validity,
                                                  run_idea_fn=self.run_idea_fn, idea_model=self.idea_model))
            token = self._mark_driver()
            for template, seed in plan:
                rid = rids[(template, seed)]
                cfg = configs[(template, seed)]
                try:
                    ideas = self._ideas_for(rid, cfg, template, seed)
                except InfraError as err:  # not the model's failure: shown apart, retried on rerun
                    self.db.set_run_status(rid, "infra_error", str(err))
                    summary.infra_errors += 1
                    summary.failed_runs.append(rid)
                    self.on_event(f"{template} seed {seed}: infrastructure error (rerun to retry): {err}")
                    continue
                except Exception as err:  # idea generation failed: the run counts, as a failure
                    kind = "infra_error" if infra_kind(f"{type(err).__name__}: {err}") else "failed"
                    self.db.set_run_status(rid, kind, f"{type(err).__name__}: {err}")
                    summary.failed_runs.append(rid)
                    summary.infra_errors += kind == "infra_error"
                    self.on_event(f"{template} seed {seed}: idea generation failed: {err}")
                    continue
                self.db.set_run_status(rid, "running", keep_error=True)
                tex = template_tex(template)
                for idea in ideas:
                    slots.acquire()
                    gpu_id = gpu_pool.get() if gpu_pool is not None else None
                    task = IdeaTask(cfg, idea, tex, validity, str(bench.out_dir), token, bench.ship_results,
                                    gpus=() if gpu_id is None else (gpu_id,), ray_gpus=ray_gpus > 0,
                                    run_idea_fn=self.run_idea_fn or _pipeline().run_idea,
                                    idea_model=self.idea_model or _idea_model())
                    self.db.mark_running(rid, idea["name"])
                    fut = executor.submit(run_task, task, gpus=ray_gpus)
                    fut.add_done_callback(self._recorder(rid, idea["name"], slots, summary, gpu_pool, gpu_id))
                    futures.append(fut)
            for fut in futures:
                try:
                    fut.result()
                except Exception:  # recorded by the callback
                    pass
        except BaseException:
            executor.shutdown(cancel=True)
            raise
        executor.shutdown()
        for (template, seed), rid in rids.items():
            if rid in summary.failed_runs:
                continue
            left = self.db.pending_ideas(rid)
            infra = [i for i in left if i["status"] == "infra_error"]
            if infra and len(infra) == len(left):
                self.db.set_run_status(rid, "infra_error", f"{len(infra)} idea(s) stopped by an infrastructure "
                                       f"error (rerun to retry): {infra[0]['infra_error']}")
            elif left:
                self.db.set_run_status(rid, "failed", f"{len(left)} idea(s) not finished")
            else:
                self.db.set_run_status(rid, "done", keep_error=True)
        return summary

    def _gpu_plan(self, executor: Executor) -> tuple[queue.Queue | None, float]:
        """Local executors: a pool of GPU indexes, each K times (one run per GPU unless --runs-per-gpu
        says more), from which every idea task takes one. Ray: the GPU share each task asks for."""
        bench = self.bench
        per_gpu = max(1, bench.runs_per_gpu)
        if executor.kind == "ray":
            if bench.gpus not in ("auto", "none"):
                raise ValueError("--gpus with --executor ray: auto or none (Ray assigns each task its GPU)")
            found = executor.cluster_gpus() if bench.gpus == "auto" else 0.0  # type: ignore[attr-defined]
            if bench.gpus == "auto":
                self.on_event(f"Ray cluster: {found:g} GPU(s)" + (f"; each idea task asks for {1 / per_gpu:g}"
                                                                  if found else "; runs get no GPU"))
            return None, (1.0 / per_gpu if found else 0.0)
        from scientist.sandbox.gpu import resolve

        ids = resolve(bench.gpus)  # GpuSpecError (a ValueError) names what this machine has
        if not ids:
            return None, 0.0
        pool: queue.Queue = queue.Queue()
        for _ in range(per_gpu):
            for i in ids:
                pool.put(i)
        self.on_event(f"GPUs {', '.join(map(str, ids))}: up to {len(ids) * per_gpu} idea(s) at once, each pinned to "
                      f"one GPU ({per_gpu} per GPU)")
        return pool, 0.0

    def _mark_driver(self) -> str:
        """A fresh token in OUT/.bench-driver: a worker that reads it there writes OUT directly; one that
        does not (another machine, no shared filesystem) ships its idea folder back."""
        from reviewer.atomic_file import write_text_atomic

        token = secrets.token_hex(16)
        write_text_atomic(Path(self.bench.out_dir) / MARKER, token)
        return token

    def _recorder(self, rid: str, name: str, slots: threading.Semaphore, summary: RunSummary,
                  gpu_pool: queue.Queue | None, gpu_id: int | None) -> Callable[[Future], None]:
        def infra(text: str) -> None:
            self.db.record_infra_error(rid, name, text)
            summary.infra_errors += 1
            self.on_event(f"{name}: infrastructure error (not counted; rerun to retry): {text}")

        def record(fut: Future) -> None:
            try:
                if fut.cancelled():
                    return
                err = fut.exception()
                if err is not None:  # the task itself never raises: its worker or node was lost
                    infra(worker_lost(err))
                    return
                result = fut.result()
                if result.get("infra_error"):
                    infra(result["infra_error"])
                    return
                if result.get("error"):
                    self.db.record_error(rid, name, result["error"])
                    summary.errors += 1
                    self.on_event(f"{name}: task crashed: {result['error'].splitlines()[0]}")
                    return
                outcome = result["outcome"]
                if result.get("cuda"):
                    loud = "WARNING: " if "does NOT work" in result["cuda"] else ""
                    self.on_event(f"{loud}{name}{task_summary(result)}: {result['cuda']}")
                if result.get("files") is not None:
                    try:
                        unpack_folder(result["files"], Path(outcome["idea_dir"]))
                    except Exception as ship_err:  # noqa: BLE001 - the transfer failed, not the model
                        infra(f"worker_lost: the idea folder could not be shipped back: {type(ship_err).__name__}: "
                              f"{ship_err}")
                        return
                    if result.get("files_note"):
                        self.on_event(f"{name}: {result['files_note']}")
                self.db.record_outcome(rid, outcome, result["validity"])
                self.db.record_placement(rid, outcome["idea_name"], result.get("gpus") or [], result.get("host"))
                if outcome.get("infra_error"):
                    summary.infra_errors += 1
                    self.on_event(f"{outcome['idea_name']}: infrastructure error (not counted; rerun to "
                                  f"retry): {outcome['infra_error']}")
                    return
                summary.finished += 1
                valid = result["validity"]["valid"] if result["validity"] else False
                self.on_event(f"{outcome['idea_name']}{task_summary(result)}: experiments "
                              f"{'passed' if outcome.get('experiments_passed') else 'failed'}"
                              f", paper {'compiled' if outcome.get('paper_compiled') else 'not compiled'}"
                              f", {'valid' if valid else 'not valid'}")
            except Exception as err:  # noqa: BLE001 - a callback's error would vanish and leave the idea 'running'
                self.on_event(f"{name}: its result could not be recorded: {type(err).__name__}: {err}")
                try:
                    self.db.record_infra_error(rid, name, f"harness: the result could not be recorded: "
                                               f"{type(err).__name__}: {err}")  # not the model's doing
                    summary.infra_errors += 1
                except Exception:  # noqa: BLE001 - the database itself failed; the rerun redoes the idea
                    pass
            finally:
                if gpu_pool is not None and gpu_id is not None:
                    gpu_pool.put(gpu_id)
                slots.release()
        return record


def _check_crosses(executor: Executor, task: IdeaTask) -> None:
    """A process or Ray worker gets the task pickled: say at once, by name, what cannot cross."""
    if executor.kind == "thread":
        return
    if executor.kind == "ray":
        import ray.cloudpickle as dumper
    else:
        dumper = pickle  # type: ignore[assignment]
    try:
        dumper.dumps(task)
    except Exception as err:  # noqa: BLE001 - pickle raises TypeError, PicklingError, AttributeError...
        live = [k for k, v in vars(task.config).items() if callable(v) and not k.startswith("_")] \
            if hasattr(task.config, "__dict__") else []
        raise ValueError(f"--executor {executor.kind}: the run's settings cannot be sent to a worker ({type(err).__name__}: "
                         f"{err}){'; live objects in the config: ' + ', '.join(live) if live else ''}. Give recorded "
                         "replies as a file (--replay), or use --executor thread") from None


def run_benchmark(bench: BenchConfig, **kwargs: Any) -> RunSummary:
    started = time.monotonic()
    runner = BenchmarkRunner(bench, **kwargs)
    try:
        summary = runner.run()
    finally:
        runner.db.close()
    runner.on_event(f"done in {time.monotonic() - started:.0f}s: {summary.finished} idea(s) finished, "
                    f"{summary.errors} crashed, {summary.infra_errors} infrastructure error(s); "
                    f"results in {summary.db_path}")
    return summary
