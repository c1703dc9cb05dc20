"""Where idea tasks run: threads or processes on this machine, or Ray tasks on a cluster.

Every executor returns `concurrent.futures.Future`s, so the runner needs one code path; the
bound on concurrent ideas is the runner's, not the executor's.
"""
from __future__ import annotations

import os
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Literal, Protocol

ExecutorKind = Literal["thread", "process", "ray"]
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Executor(Protocol):
    def submit(self, fn: Callable[..., Any], *args: Any) -> Future: ...

    def shutdown(self, cancel: bool = False) -> None: ...


class PoolExecutor:
    """A thread or process pool of `workers` workers."""

    def __init__(self, kind: Literal["thread", "process"], workers: int) -> None:
        if kind == "process":
            import multiprocessing

            # spawn: forking a process that holds threads and sockets (litellm, llama.cpp) is unsafe
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        else:
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-idea")

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._pool.submit(fn, *args)

    def shutdown(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)


class RayExecutor:
    """Ideas as Ray tasks: an existing cluster (`address`, e.g. "ray://head:10001" or "auto"), or
    a local instance when no address is given. Workers must be able to import this project:
    installed on the cluster's nodes, or reachable through PYTHONPATH (set here for local use)."""

    def __init__(self, address: str | None = None, *, cpus_per_task: float = 1.0,
                 local_cpus: int | None = None) -> None:
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
        self._remote: dict[Callable[..., Any], Any] = {}

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        if fn not in self._remote:
            self._remote[fn] = self._ray.remote(num_cpus=self._cpus, max_retries=0)(fn)
        return self._remote[fn].remote(*args).future()

    def shutdown(self, cancel: bool = False) -> None:
        if self._started_here:
            self._ray.shutdown()


def make_executor(kind: ExecutorKind, concurrency: int, address: str | None = None) -> Executor:
    if kind == "ray":
        return RayExecutor(address, local_cpus=concurrency if address is None else None)
    if address is not None:
        raise ValueError("--address is only meaningful with --executor ray")
    return PoolExecutor(kind, concurrency)
