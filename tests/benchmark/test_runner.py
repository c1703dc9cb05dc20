"""The runner and the results database, with a fake pipeline (ideas on a script)."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from benchmark.results_db import ResultsDB
from benchmark.runner import BenchConfig, run_benchmark

from bench_fakes import FakeIdea, calls, fake_config, fake_generate, fake_run_idea

FAKES = dict(generate_ideas_fn=fake_generate, run_idea_fn=fake_run_idea, idea_model=FakeIdea, config_fn=fake_config)


def bench(tmp_path, **kw):
    return BenchConfig(model="fake/model", templates=["grokking"], out_dir=tmp_path / "res", n_ideas=3, **kw)


def test_rows_per_idea_with_validity_stages_and_crash(tmp_path):
    summary = run_benchmark(bench(tmp_path, concurrency=2), **FAKES)
    assert (summary.finished, summary.errors) == (2, 1)
    with ResultsDB(tmp_path / "res") as db:
        ideas = {i["idea_name"]: i for i in db.ideas()}
        run = db.runs()[0]
        assert (run["run_id"], run["n_ideas"], run["status"]) == ("fake/model|grokking|0", 3, "failed")
        good, bad, crash = ideas["good"], ideas["no_paper"], ideas["crash"]
        assert (good["status"], good["paper_valid"], good["overall"], good["decision"], good["tokens"]) == \
            ("done", 1, 6.0, "Accept", 200)
        assert (bad["status"], bad["paper_valid"], bad["novel"], bad["n_incidents"]) == ("done", 0, None, 1)
        assert "pdf_compiles: no PDF was produced" in bad["validity_summary"]
        assert crash["status"] == "error" and crash["error"].startswith("RuntimeError: sandbox exploded")
        assert [c["check_name"] for c in db.checks(run["run_id"], "good")][0] == "pdf_compiles"
        assert {s["stage"]: s["status"] for s in db.stages(run["run_id"], "no_paper")} == \
            {"experiments": "failed", "writeup": "skipped"}


def test_rerun_continues_without_redoing_finished_ideas(tmp_path, monkeypatch):
    run_benchmark(bench(tmp_path), **FAKES)
    assert calls(tmp_path / "res") == ["crash", "good", "no_paper"]
    monkeypatch.setenv("FAKE_CRASH_FIXED", "1")
    summary = run_benchmark(bench(tmp_path), **FAKES)
    assert (summary.finished, summary.errors) == (1, 0)
    assert calls(tmp_path / "res") == ["crash", "crash", "good", "no_paper"]  # only the crashed one again
    with ResultsDB(tmp_path / "res") as db:
        assert db.runs()[0]["status"] == "done"
        assert sorted(i["status"] for i in db.ideas()) == ["done"] * 3


def test_interrupted_ideas_are_pending_on_restart(tmp_path):
    """A kill leaves ideas 'running'; committed ones survive and the next run takes the rest."""
    b = bench(tmp_path)
    with ResultsDB(b.out_dir) as db:
        rid = db.ensure_run("fake/model", "grokking", 0, 3, b.run_dir("grokking", 0), {})
        db.add_ideas(rid, [i.model_dump() for i in fake_generate(fake_config(b, "grokking", 0))])
        db.mark_running(rid, "good")
        db.mark_running(rid, "no_paper")
        db.record_outcome(rid, fake_run_idea(fake_config(b, "grokking", 0), FakeIdea(name="no_paper", title="x")), None)
    # an outside reader sees committed rows while nothing runs
    con = sqlite3.connect(b.out_dir / "results.sqlite")
    assert dict(con.execute("SELECT idea_name, status FROM ideas").fetchall()) == \
        {"good": "running", "no_paper": "done", "crash": "pending"}
    con.close()
    run_benchmark(b, **FAKES)
    assert calls(tmp_path / "res") == ["crash", "good", "no_paper"]  # no_paper only by the setup above


def test_failed_idea_generation_is_recorded_and_retried(tmp_path):
    def broken(_cfg):
        raise ConnectionError("model server down")

    summary = run_benchmark(bench(tmp_path, seeds=2), **{**FAKES, "generate_ideas_fn": broken})
    assert len(summary.failed_runs) == 2
    with ResultsDB(tmp_path / "res") as db:
        assert [(r["seed"], r["status"], r["n_ideas"]) for r in db.runs()] == [(0, "failed", 3), (1, "failed", 3)]
        assert db.runs()[0]["error"] == "ConnectionError: model server down"
    run_benchmark(bench(tmp_path, seeds=2), **FAKES)
    with ResultsDB(tmp_path / "res") as db:
        assert len(db.ideas()) == 6


def test_process_executor(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_CRASH_FIXED", "1")
    # spawned workers import the fakes by module name
    monkeypatch.setenv("PYTHONPATH", ":".join(p for p in sys.path if p))
    summary = run_benchmark(bench(tmp_path, executor="process", concurrency=2), **FAKES)
    assert (summary.finished, summary.errors) == (3, 0)


@pytest.mark.slow  # 15-30 s on two loaded cores: starting the local instance dominates
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install ray)")
def test_ray_executor_with_local_instance(tmp_path, monkeypatch):
    import ray
    import ray.cloudpickle

    import bench_fakes
    import bench_paper_folder

    for module in (bench_fakes, bench_paper_folder):
        ray.cloudpickle.register_pickle_by_value(module)
    monkeypatch.setenv("FAKE_CRASH_FIXED", "1")  # inherited by the local instance's workers
    # the executor starts (and stops) a local instance: ray.init(num_cpus=1, include_dashboard=False)
    summary = run_benchmark(bench(tmp_path, executor="ray", concurrency=1), **FAKES)
    assert not ray.is_initialized()
    assert (summary.finished, summary.errors) == (3, 0)
    with ResultsDB(tmp_path / "res") as db:
        assert {i["idea_name"]: i["paper_valid"] for i in db.ideas()} == {"good": 1, "no_paper": 0, "crash": 0}


def test_rerun_with_more_ideas_adds_only_the_new_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_CRASH_FIXED", "1")
    b = bench(tmp_path)
    b.n_ideas = 2
    run_benchmark(b, **FAKES)
    b.n_ideas = 3
    summary = run_benchmark(b, **FAKES)
    assert summary.finished == 1 and calls(tmp_path / "res") == ["crash", "good", "no_paper"]
    with ResultsDB(b.out_dir) as db:
        assert [(i["idea_name"], i["position"]) for i in db.ideas()] == [("good", 0), ("no_paper", 1), ("crash", 2)]
        assert db.runs()[0]["n_ideas"] == 3


@pytest.mark.slow  # starts a Ray head node as a separate process, like an existing cluster
@pytest.mark.skipif(shutil.which("ray") is None, reason="ray is not installed (pip install ray)")
def test_ray_executor_joins_an_existing_cluster(tmp_path, monkeypatch):
    import ray.cloudpickle

    import bench_fakes
    import bench_paper_folder

    for module in (bench_fakes, bench_paper_folder):
        ray.cloudpickle.register_pickle_by_value(module)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # a throw-away cluster on the loopback interface
    ray_tmp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths have a length limit
    env = {**os.environ, "FAKE_CRASH_FIXED": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}  # the cluster's nodes have the project
    port = "6391"
    # --block: the head lives as long as this process, which is ours to stop (never `ray stop`,
    # which would stop every Ray instance on the machine)
    head = subprocess.Popen(["ray", "start", "--head", "--block", f"--port={port}", "--num-cpus=1",
                             "--node-ip-address=127.0.0.1",
                             "--include-dashboard=false", f"--temp-dir={ray_tmp}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        for _ in range(120):
            if list(ray_tmp.glob("session_*/sockets/raylet*")):
                break
            assert head.poll() is None, head.stderr.read().decode()[-2000:]
            time.sleep(1)
        summary = run_benchmark(bench(tmp_path, executor="ray", address=f"127.0.0.1:{port}", concurrency=2), **FAKES)
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(timeout=60)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert (summary.finished, summary.errors) == (3, 0)


def test_sigkill_loses_nothing_finished_and_the_rerun_continues(tmp_path, monkeypatch):
    here = Path(__file__).resolve().parent
    code = ("import sys; from pathlib import Path; from bench_fakes import *; "
            "from benchmark.runner import BenchConfig, run_benchmark; "
            f"run_benchmark(BenchConfig(model='fake/model', templates=['grokking'], out_dir=Path({str(tmp_path / 'res')!r}), "
            "n_ideas=3, concurrency=1), generate_ideas_fn=fake_generate, run_idea_fn=fake_run_idea, "
            "idea_model=FakeIdea, config_fn=fake_config)")
    env = {**os.environ, "FAKE_HANG": "1", "PYTHONPATH": os.pathsep.join([str(here), str(here.parents[1])])}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    db_path = tmp_path / "res" / "results.sqlite"

    def done() -> set[str]:
        try:
            con = sqlite3.connect(db_path)
            try:
                return {r[0] for r in con.execute("SELECT idea_name FROM ideas WHERE status = 'done'")}
            finally:
                con.close()
        except sqlite3.OperationalError:  # not created yet
            return set()

    try:
        for _ in range(600):  # two ideas finish, the third hangs
            if db_path.exists() and {"good", "no_paper"} <= done() and "crash" in calls(tmp_path / "res"):
                break  # the third idea has started, and hangs
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.1)
    finally:
        proc.kill()  # SIGKILL: no cleanup, no atexit
        proc.wait()
    monkeypatch.setenv("FAKE_CRASH_FIXED", "1")
    summary = run_benchmark(bench(tmp_path), **FAKES)
    assert (summary.finished, summary.errors) == (1, 0)
    assert calls(tmp_path / "res") == ["crash", "crash", "good", "no_paper"]
    with ResultsDB(tmp_path / "res") as db:
        assert [i["status"] for i in db.ideas()] == ["done"] * 3 and db.runs()[0]["status"] == "done"


def test_idea_stage_error_is_noted_on_a_run_that_still_counts(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_CRASH_FIXED", "1")

    def one_of_three(cfg):
        out = Path(cfg.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "ideas.json").write_text(json.dumps({"stage": {
            "status": "ok", "error": "2 of 3 idea(s) failed", "tokens": 900, "cost_usd": 0.01}}))
        return fake_generate(cfg)[:1]

    run_benchmark(bench(tmp_path), **{**FAKES, "generate_ideas_fn": one_of_three})
    with ResultsDB(tmp_path / "res") as db:
        run = db.runs()[0]
        assert (run["status"], run["error"], run["ideas_tokens"]) == ("done", "idea generation ok: 2 of 3 idea(s) failed", 900)
        assert [i["idea_name"] for i in db.ideas()] == ["good"]


def test_each_idea_gets_its_own_config_and_model_clients(tmp_path):
    from dataclasses import dataclass, field

    from benchmark.runner import execute_idea

    @dataclass
    class Config:
        out_dir: Path
        _clients: dict = field(default_factory=dict, init=False)

    cfg = Config(tmp_path)
    cfg._clients["m"] = object()  # a client cached while generating ideas
    seen = []

    def run_idea(c, idea):
        seen.append(c)
        c._clients["m"] = object()
        return {"idea_name": idea.name, "title": idea.title, "idea_dir": str(tmp_path / idea.name)}

    for name in ("a", "b"):
        execute_idea(cfg, {"name": name, "title": name}, None, {}, run_idea, FakeIdea)
    assert seen[0] is not cfg and seen[1] is not seen[0] and seen[0]._clients is not seen[1]._clients
    assert len(cfg._clients) == 1 and seen[0].out_dir == tmp_path


def test_an_older_database_gains_new_columns_on_open(tmp_path):
    con = sqlite3.connect(tmp_path / "results.sqlite")
    con.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, model TEXT NOT NULL, template TEXT NOT NULL, "
                "seed INTEGER NOT NULL, n_ideas INTEGER NOT NULL, status TEXT NOT NULL, error TEXT, out_dir TEXT, "
                "config_json TEXT, ideas_tokens INTEGER, ideas_cost_usd REAL, started_at REAL, finished_at REAL)")
    con.commit()
    con.close()
    with ResultsDB(tmp_path) as db:
        rid = db.ensure_run("m", "t", 0, 1, tmp_path, {})
        db.set_run_ideas_usage(rid, 10, 0.5, 12.5)
        assert db.runs()[0]["ideas_seconds"] == 12.5
