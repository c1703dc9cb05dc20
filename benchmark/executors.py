"""Where idea tasks run: threads or processes on this machine, or Ray tasks on a cluster.

Every executor returns `concurrent.futures.Future`s, so the runner needs one code path; the
bound on concurrent ideas is the runner's, not the executor's. A task's function never raises
(it reports its errors as data), so an exception out of a future is the infrastructure's: a
worker process killed, a node lost. Executors retry those (`retries` times) before giving up;
the runner records what still fails as an infrastructure error, never as the model's.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Literal, Protocol

ExecutorKind = Literal["thread", "process", "ray"]
PROJECT_ROOT = Path(__file__).resolve().parents[1]
WORKER_RETRIES = 2  # a task whose worker died is started again this many times


class Executor(Protocol):
    kind: str

    def submit(self, fn: Callable[..., Any], *args: Any, gpus: float = 0) -> Future: ...

    def shutdown(self, cancel: bool = False) -> None: ...


def worker_lost(err: BaseException) -> str:
    """The infrastructure error text for a task whose worker or node was lost."""
    first = (str(err).strip().splitlines() or [""])[0][:300]
    return f"worker_lost: {type(err).__name__}: {first} (the task's worker or node died; not the model's failure)"


class PoolExecutor:
    """A thread or process pool of `workers` workers. A process pool whose worker is killed is
    broken for every task in it: it is replaced, and the lost tasks are submitted again."""

    def __init__(self, kind: Literal["thread", "process"], workers: int, retries: int = WORKER_RETRIES) -> None:
        self.kind = kind
        self._workers = workers
        self._retries = retries
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> Any:
        if self.kind == "process":
            import multiprocessing

            # spawn: forking a process that holds threads and sockets (litellm, llama.cpp) is unsafe
            return ProcessPoolExecutor(max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"))
        return ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="bench-idea")

    def submit(self, fn: Callable[..., Any], *args: Any, gpus: float = 0) -> Future:
        if self.kind == "thread":
            return self._pool.submit(fn, *args)
        outer: Future = Future()
        self._attempt(outer, fn, args, self._retries)
        return outer

    def _attempt(self, outer: Future, fn: Callable[..., Any], args: tuple, retries_left: int) -> None:
        with self._lock:
            pool = self._pool
        try:
            inner = pool.submit(fn, *args)
        except BrokenProcessPool:
            self._replace(pool)
            if retries_left > 0:
                self._attempt(outer, fn, args, retries_left - 1)
            else:
                outer.set_exception(BrokenProcessPool("the worker pool broke and could not be replaced"))
            return

        def done(f: Future) -> None:
            if f.cancelled():
                outer.cancel()
                return
            err = f.exception()
            if isinstance(err, BrokenProcessPool) and retries_left > 0:
                self._replace(pool)
                self._attempt(outer, fn, args, retries_left - 1)
            elif err is not None:
                outer.set_exception(err)
            else:
                outer.set_result(f.result())
        inner.add_done_callback(done)

    def _replace(self, broken: Any) -> None:
        with self._lock:
            if self._pool is broken:
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()

    def shutdown(self, cancel: bool = False) -> None:
        with self._lock:
            pool = self._pool
        pool.shutdown(wait=not cancel, cancel_futures=cancel)


class RayExecutor:
    """Ideas as Ray tasks: an existing cluster (`address`, e.g. "ray://head:10001" or "auto"), or
    a local instance when no address is given. Workers must be able to import this project:
    installed on the cluster's nodes, or reachable through PYTHONPATH (set here for local use).
    A task whose worker or node dies is retried by Ray itself (`max_retries`: system failures only)."""

    kind = "ray"

    def __init__(self, address: str | None = None, *, cpus_per_task: float = 1.0,
                 local_cpus: int | None = None, retries: int = WORKER_RETRIES) -> None:
        try:
            import ray
        except ImportError as err:
            raise RuntimeError("--executor ray needs Ray: pip install 'ai-scientist-bench[ray]'") from err
        self._ray = ray
        self._started_here = not ray.is_initialized()
        if self._started_here:
            kwargs: dict[str, Any] = {"address": address, "ignore_reinit_error": True, "log_to_driver": False}
            if address is None:  # a local instance: its workers import this checkout
                kwargs["include_dashboard"] = False
                path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
                kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
                if local_cpus is not None:
                    kwargs["num_cpus"] = local_cpus
            ray.init(**kwargs)
        self._cpus = cpus_per_task
        self._retries = retries
        self._remote: dict[tuple[Callable[..., Any], float], Any] = {}

    def cluster_gpus(self) -> float:
        """GPUs the cluster offers (all nodes together)."""
        return float(self._ray.cluster_resources().get("GPU", 0))

    def submit(self, fn: Callable[..., Any], *args: Any, gpus: float = 0) -> Future:
        key = (fn, gpus)
        if key not in self._remote:
            # retry_exceptions stays False: only a lost worker or node is retried, never the task's own error
            self._remote[key] = self._ray.remote(num_cpus=self._cpus, num_gpus=gpus, max_retries=self._retries)(fn)
        return self._remote[key].remote(*args).future()

    def shutdown(self, cancel: bool = False) -> None:
        if self._started_here:
            self._ray.shutdown()


def make_executor(kind: ExecutorKind, concurrency: int, address: str | None = None) -> Executor:
    if kind == "ray":
        return RayExecutor(address, local_cpus=concurrency if address is None else None)
    if address is not None:
        raise ValueError("--address is only meaningful with --executor ray")
    return PoolExecutor(kind, concurrency)
