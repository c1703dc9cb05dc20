"""A real local Ray cluster of two nodes (a head with 2 CPUs and 2 stand-in GPUs, a second node
with 1 CPU), started with `ray start` and stopped by the PIDs we started: `bench run` with recorded
replies through it (the real config pickled, the real pipeline, sandbox and pdflatex), two runs
placed at once on their own GPU ids, and a killed worker retried and never charged to the model."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("ray") is None, reason="ray is not installed (pip install '.[ray]')")]

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("OPENAI_API_KEY", None)  # nothing may reach a real provider
    env.update({"RAY_AUTH_MODE": "disabled",  # a throw-away cluster on the loopback interface
                "PYTHONPATH": os.pathsep.join([str(REPO), str(Path(__file__).parent)]),
                "LITELLM_LOCAL_MODEL_COST_MAP": "True", "NO_PROXY": "127.0.0.1,localhost"})
    return env


@pytest.fixture(scope="module")
def cluster():
    """Two nodes; --block keeps each `ray start` alive as ours to stop (never `ray stop`, which would
    stop every Ray instance on the machine)."""
    import ray

    port = _free_port()
    tmp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths have a length limit
    common = ["--block", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    procs = [subprocess.Popen(["ray", "start", "--head", f"--port={port}", "--num-cpus=2", "--num-gpus=2",
                               "--include-dashboard=false", f"--temp-dir={tmp}", *common],
                              env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)]
    address = f"127.0.0.1:{port}"
    os.environ["RAY_AUTH_MODE"] = "disabled"
    try:
        for _ in range(180):
            if list(tmp.glob("session_*/sockets/raylet*")):
                break
            assert procs[0].poll() is None, procs[0].stderr.read().decode()[-2000:]
            time.sleep(1)
        procs.append(subprocess.Popen(["ray", "start", f"--address={address}", "--num-cpus=1", "--num-gpus=0", *common],
                                      env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      start_new_session=True))
        ray.init(address=address, log_to_driver=False)
        try:
            for _ in range(180):
                if sum(n["Alive"] for n in ray.nodes()) == 2:
                    break
                assert procs[1].poll() is None, procs[1].stderr.read().decode()[-2000:]
                time.sleep(1)
            assert sum(n["Alive"] for n in ray.nodes()) == 2
            assert ray.cluster_resources().get("GPU") == 2
        finally:
            ray.shutdown()
        yield address
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


def _by_value() -> None:
    """This module's functions travel to the workers inside the task (they cannot import a test file)."""
    import ray.cloudpickle

    import bench_fakes

    for module in (sys.modules[__name__], bench_fakes):
        ray.cloudpickle.register_pickle_by_value(module)


def _ideas(names: list[str]):
    from bench_fakes import FakeIdea

    return lambda cfg: [FakeIdea(name=n, title=n.title()) for n in names]


def placed_run_idea(cfg, idea):
    """Records which GPUs its sandboxed runs would see, and when it ran."""
    start = time.time()
    time.sleep(4)
    log = Path(cfg.out_dir).parent.parent / "placements"
    log.mkdir(exist_ok=True)
    (log / idea.name).write_text(json.dumps({"gpus": list(cfg.sandbox_limits.gpus), "start": start,
                                             "end": time.time(), "cvd": os.environ.get("CUDA_VISIBLE_DEVICES")}))
    return {"idea_name": idea.name, "title": idea.title, "idea_dir": str(Path(cfg.out_dir) / idea.name)}


def test_two_runs_are_placed_at_once_each_on_its_own_gpu(cluster, tmp_path):
    from bench_fakes import FakeIdea
    from benchmark.results_db import ResultsDB
    from benchmark.runner import BenchConfig, run_benchmark

    _by_value()
    bench = BenchConfig(model="fake/model", templates=["grokking"], out_dir=tmp_path / "res", n_ideas=2,
                        concurrency=2, executor="ray", address=cluster, gpus="auto")
    events: list[str] = []
    summary = run_benchmark(bench, generate_ideas_fn=_ideas(["first", "second"]), run_idea_fn=placed_run_idea,
                            idea_model=FakeIdea, on_event=events.append)
    assert summary.finished == 2 and summary.errors == 0, events
    placed = {p.name: json.loads(p.read_text()) for p in (tmp_path / "res" / "placements").iterdir()}
    assert sorted(tuple(p["gpus"]) for p in placed.values()) == [(0,), (1,)]  # one GPU each, never the same
    assert all(p["cvd"] == str(p["gpus"][0]) for p in placed.values())  # the id Ray assigned, passed on
    a, b = placed.values()
    assert a["start"] < b["end"] and b["start"] < a["end"]  # at once
    assert any("Ray cluster: 2 GPU(s)" in e for e in events)
    with ResultsDB(bench.out_dir) as db:
        assert sorted(i["gpus"] for i in db.ideas()) == ["0", "1"] and all("Ray node" in i["host"] for i in db.ideas())


def killing_run_idea(cfg, idea):
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    attempts = out / f"{idea.name}.attempts"
    n = int(attempts.read_text()) if attempts.exists() else 0
    attempts.write_text(str(n + 1))
    if idea.name == "always_dies" or n == 0:
        os.kill(os.getpid(), signal.SIGKILL)  # the worker dies mid-task, as with the OOM killer or a lost node
    return {"idea_name": idea.name, "title": idea.title, "idea_dir": str(out / idea.name)}


def test_a_killed_ray_worker_is_retried_and_never_charged_to_the_model(cluster, tmp_path):
    from bench_fakes import FakeIdea
    from benchmark.results_db import ResultsDB
    from benchmark.runner import BenchConfig, run_benchmark

    _by_value()
    bench = BenchConfig(model="fake/model", templates=["grokking"], out_dir=tmp_path / "res", n_ideas=2,
                        concurrency=2, executor="ray", address=cluster, gpus="none")
    summary = run_benchmark(bench, generate_ideas_fn=_ideas(["dies_once", "always_dies"]),
                            run_idea_fn=killing_run_idea, idea_model=FakeIdea)
    run_dir = bench.run_dir("grokking", 0)
    assert (run_dir / "dies_once.attempts").read_text() == "2"
    assert (run_dir / "always_dies.attempts").read_text() == "3"  # Ray's retries, then given up
    assert (summary.finished, summary.errors, summary.infra_errors) == (1, 0, 1)
    with ResultsDB(bench.out_dir) as db:
        ideas = {i["idea_name"]: i for i in db.ideas()}
        assert ideas["dies_once"]["status"] == "done"
        assert ideas["always_dies"]["status"] == "infra_error" and ideas["always_dies"]["error"] is None
        assert "worker_lost" in ideas["always_dies"]["infra_error"]
        assert db.runs()[0]["status"] == "infra_error"  # what is left is the infrastructure's: shown apart, retried


def test_bench_run_with_recorded_replies_through_the_cluster(cluster, recorded_run):
    """The real command: the real PipelineConfig (recorded replies as a file) crosses to the nodes,
    each idea runs the real pipeline there (sandboxed runs, pdflatex, review) and the driver records it."""
    run = recorded_run(2)
    out = run.out
    cmd = run.command("--concurrency", "2", "--executor", "ray", "--address", cluster, "--gpus", "none")
    proc = subprocess.run(cmd, cwd=REPO, env=run.env(_env()), capture_output=True, text=True, timeout=900)
    assert "cannot pickle" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    con = sqlite3.connect(out / "results.sqlite")
    rows = con.execute("SELECT idea_name, status, paper_compiled, pdf_path, host FROM ideas").fetchall()
    con.close()
    assert len(rows) == 2 and all(r[1] == "done" and r[2] == 1 for r in rows), rows
    assert all(Path(r[3]).is_file() and Path(r[3]).is_relative_to(out) for r in rows)  # papers where the driver looks
    assert all("Ray node" in r[4] for r in rows)


def test_without_a_shared_disk_the_idea_folder_travels_back(cluster, recorded_run, monkeypatch):
    """As on nodes that do not mount --out: each idea runs in the worker's scratch folder (the real
    pipeline, recorded replies) and its folder, paper included, is unpacked where the driver records it."""
    from benchmark.results_db import ResultsDB
    from benchmark.runner import run_benchmark

    run = recorded_run(1)
    monkeypatch.setenv("BENCH_CACHE_DIR", str(run.cache))
    bench = run.bench_config(concurrency=1, executor="ray", address=cluster, gpus="none", ship_results="always")
    summary = run_benchmark(bench)
    assert summary.finished == 1 and summary.errors == 0 and summary.infra_errors == 0
    with ResultsDB(bench.out_dir) as db:
        (idea,) = db.ideas()
    idea_dir = Path(idea["idea_dir"])
    assert idea_dir.is_relative_to(bench.out_dir) and Path(idea["pdf_path"]).is_file()
    assert (idea_dir / "experiments.json").is_file() and (idea_dir / "outcome.json").is_file()
    assert not list(Path(tempfile.gettempdir()).glob("bench-idea-*"))  # the worker's scratch folder is gone
