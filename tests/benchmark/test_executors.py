"""Executors: the task spec crosses to processes, a killed worker is an infrastructure error (retried,
never charged to the model), GPUs are handed out one per idea, and idea folders travel back to the
driver when a worker does not share its disk. Ray's own cluster tests: test_ray_cluster.py."""
from __future__ import annotations

import io
import json
import os
import pickle
import signal
import stat
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import pytest

from bench_fakes import FakeIdea, fake_config
from benchmark.idea_task import IdeaTask, pack_folder, unpack_folder
from benchmark.results_db import ResultsDB
from benchmark.runner import BenchConfig, pipeline_config, run_benchmark


# ---- module-level: spawned worker processes import these by name ------------------------------
def two_ideas(cfg):
    return [FakeIdea(name="dies_once", title="Dies Once"), FakeIdea(name="always_dies", title="Always Dies")]


def killing_run_idea(cfg, idea):
    """Kills its own worker process (SIGKILL: no clean-up, like the OOM killer or a lost machine)."""
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    attempts = out / f"{idea.name}.attempts"
    n = int(attempts.read_text()) if attempts.exists() else 0
    attempts.write_text(str(n + 1))
    if idea.name == "always_dies" and not os.environ.get("KILL_FIXED") or idea.name == "dies_once" and n == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    (out / idea.name).mkdir(exist_ok=True)
    return {"idea_name": idea.name, "title": idea.title, "idea_dir": str(out / idea.name), "stages": {},
            "experiments_passed": True, "n_runs_ok": 1, "cost_usd": 0.1, "wall_time_s": 1.0}


def _bench(tmp_path: Path, **kw) -> BenchConfig:
    return BenchConfig(**{"model": "fake/model", "templates": ["grokking"], "out_dir": tmp_path / "res",
                          "n_ideas": 2, "concurrency": 1, **kw})


def test_a_killed_worker_process_is_retried_and_then_an_infrastructure_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))  # spawned workers import this file
    fakes = {"generate_ideas_fn": two_ideas, "run_idea_fn": killing_run_idea, "idea_model": FakeIdea,
             "config_fn": fake_config}
    summary = run_benchmark(_bench(tmp_path, executor="process"), **fakes)
    run_dir = tmp_path / "res" / "grokking" / "seed_0"
    assert (run_dir / "dies_once.attempts").read_text() == "2"  # killed once, retried, finished
    assert int((run_dir / "always_dies.attempts").read_text()) == 3  # the first try and two retries
    assert (summary.finished, summary.errors, summary.infra_errors) == (1, 0, 1)
    with ResultsDB(tmp_path / "res") as db:
        ideas = {i["idea_name"]: i for i in db.ideas()}
        assert ideas["dies_once"]["status"] == "done"
        lost = ideas["always_dies"]
        assert lost["status"] == "infra_error" and lost["error"] is None  # not the model's crash
        assert lost["infra_error"].startswith("worker_lost: BrokenProcessPool")
    monkeypatch.setenv("KILL_FIXED", "1")  # the machine is fixed: a rerun retries only the lost idea
    summary = run_benchmark(_bench(tmp_path, executor="process"), **fakes)
    assert (summary.finished, summary.infra_errors) == (1, 0)
    assert (run_dir / "dies_once.attempts").read_text() == "2"
    with ResultsDB(tmp_path / "res") as db:
        assert {i["status"] for i in db.ideas()} == {"done"} and db.runs()[0]["status"] == "done"


def test_the_real_config_crosses_to_a_process_after_its_clients_were_cached(tmp_path, tiny_template):
    """Idea generation caches clients (locks inside) on the config; the spec must still pickle."""
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps({"ideas": ["{}"]}))
    bench = _bench(tmp_path, pipeline_overrides={"replay": str(replay)})
    cfg = pipeline_config(bench, str(tiny_template), 0)
    cfg.client()  # what generate_ideas does in the driver
    cfg.on_event = lambda *a: None  # a console hook: stays behind
    assert cfg._clients and cfg._replay_factory is not None
    task = IdeaTask(cfg, {"name": "x", "title": "X"}, None, {}, str(bench.out_dir), "t")
    back = pickle.loads(pickle.dumps(task))
    assert back.config._clients == {} and back.config.on_event is None and back.config.replay == replay
    assert back.config.client().model and back.config.limits() == cfg.limits()


def test_a_config_holding_live_clients_is_refused_before_anything_runs(tmp_path):
    import threading as th

    lock = th.Lock()
    bench = _bench(tmp_path, executor="process", pipeline_overrides={"client_factory": lambda name: lock})
    calls = []
    with pytest.raises(ValueError, match="cannot be sent to a worker.*client_factory"):
        run_benchmark(bench, generate_ideas_fn=lambda cfg: [FakeIdea(name="a", title="A")],
                      run_idea_fn=lambda cfg, idea: calls.append(idea), idea_model=FakeIdea)
    assert calls == []


# ---- GPUs handed out by the driver (threads, processes) --------------------------------------
@pytest.fixture
def stand_in_gpus(monkeypatch):
    from scientist.sandbox import gpu

    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    root = Path(tempfile.mkdtemp(prefix="fake-dev-", dir="/tmp"))
    root.chmod(0o755)  # the sandbox's own user reaches the nodes there
    for minor in (0, 1):
        os.mknod(root / f"nvidia{minor}", stat.S_IFCHR | 0o666, os.makedev(195, minor))
    monkeypatch.setattr(gpu, "DEVICE_ROOT", root)
    monkeypatch.setattr(gpu, "PROC_GPUS", root / "none")
    yield root
    import shutil

    shutil.rmtree(root, ignore_errors=True)


def test_each_idea_is_pinned_to_one_gpu_and_no_gpu_is_shared(tmp_path, stand_in_gpus):
    lock = threading.Lock()
    running: dict[int, int] = {}
    per_gpu_peak: dict[int, int] = {}
    seen: list[tuple[str, tuple[int, ...]]] = []
    peak = [0]

    def run_idea(cfg, idea):
        gpus = cfg.sandbox_limits.gpus
        with lock:
            seen.append((idea.name, gpus))
            for g in gpus:
                running[g] = running.get(g, 0) + 1
                per_gpu_peak[g] = max(per_gpu_peak.get(g, 0), running[g])
            peak[0] = max(peak[0], sum(running.values()))
        time.sleep(0.4)
        with lock:
            for g in gpus:
                running[g] -= 1
        return {"idea_name": idea.name, "title": idea.title, "idea_dir": str(Path(cfg.out_dir) / idea.name)}

    ideas = [FakeIdea(name=f"i{k}", title=f"I{k}") for k in range(5)]
    events: list[str] = []
    summary = run_benchmark(_bench(tmp_path, n_ideas=5, concurrency=4, gpus=(0, 1)), on_event=events.append,
                            generate_ideas_fn=lambda cfg: ideas, run_idea_fn=run_idea, idea_model=FakeIdea)
    assert summary.finished == 5 and summary.errors == 0
    # each task probes CUDA where it runs: stand-in nodes have no driver behind them, and it says so loudly
    probes = [e for e in events if "CUDA does NOT work inside the sandbox" in e]
    assert len(probes) == 5 and all(e.startswith("WARNING: i") for e in probes)
    assert all(len(g) == 1 and g[0] in (0, 1) for _, g in seen) and {g for _, g in seen} == {(0,), (1,)}
    assert peak[0] == 2 and per_gpu_peak == {0: 1, 1: 1}  # four slots, but two GPUs: two ideas at once
    with ResultsDB(tmp_path / "res") as db:
        assert {i["gpus"] for i in db.ideas()} == {"0", "1"}

    running.clear(), seen.clear(), per_gpu_peak.clear()
    shared = _bench(tmp_path / "k2", n_ideas=5, concurrency=4, gpus=(0,), runs_per_gpu=2)
    run_benchmark(shared, generate_ideas_fn=lambda cfg: ideas, run_idea_fn=run_idea, idea_model=FakeIdea)
    assert per_gpu_peak == {0: 2}  # asked for with --runs-per-gpu 2: two runs share GPU 0, never three


def test_unknown_gpu_is_bad_input(tmp_path, stand_in_gpus):
    from scientist.sandbox.gpu import GpuSpecError

    with pytest.raises(GpuSpecError, match="no GPU 3"):
        run_benchmark(_bench(tmp_path, gpus=(3,)), generate_ideas_fn=lambda cfg: [], run_idea_fn=None)


# ---- results shipped back when the worker does not share the driver's disk --------------------
def test_idea_folders_travel_back_to_the_driver_without_a_shared_disk(tmp_path):
    where: list[Path] = []

    def run_idea(cfg, idea):
        idea_dir = Path(cfg.out_dir) / idea.name
        (idea_dir / "paper").mkdir(parents=True)
        (idea_dir / "paper" / "paper.pdf").write_bytes(b"%PDF-1.5 fake")
        (idea_dir / "outcome.json").write_text('{"ok": true}')
        os.symlink("/etc/passwd", idea_dir / "leak")  # planted by a run: must not travel
        os.mkfifo(idea_dir / "pipe")
        where.append(Path(cfg.out_dir))
        return {"idea_name": idea.name, "title": idea.title, "idea_dir": str(idea_dir),
                "pdf_path": str(idea_dir / "paper" / "paper.pdf"), "paper_compiled": True}

    bench = _bench(tmp_path, n_ideas=1, ship_results="always")
    summary = run_benchmark(bench, generate_ideas_fn=lambda cfg: [FakeIdea(name="a", title="A")],
                            run_idea_fn=run_idea, idea_model=FakeIdea)
    assert summary.finished == 1
    run_dir = bench.run_dir("grokking", 0)
    assert where[0] != run_dir and not where[0].exists()  # ran in a scratch folder, since removed
    got = run_dir / "a"
    assert (got / "paper" / "paper.pdf").read_bytes() == b"%PDF-1.5 fake"
    assert json.loads((got / "outcome.json").read_text()) == {"ok": True}
    assert not os.path.lexists(got / "leak") and not os.path.lexists(got / "pipe")
    with ResultsDB(bench.out_dir) as db:
        idea = db.ideas()[0]
        assert idea["pdf_path"] == str(got / "paper" / "paper.pdf") and idea["idea_dir"] == str(got)


def test_a_worker_that_shares_the_disk_writes_in_place(tmp_path):
    where: list[Path] = []

    def run_idea(cfg, idea):
        where.append(Path(cfg.out_dir))
        return {"idea_name": idea.name, "title": idea.title, "idea_dir": str(Path(cfg.out_dir) / idea.name)}

    bench = _bench(tmp_path, n_ideas=1)  # ship_results=auto: the marker is readable here
    run_benchmark(bench, generate_ideas_fn=lambda cfg: [FakeIdea(name="a", title="A")], run_idea_fn=run_idea,
                  idea_model=FakeIdea)
    assert where == [bench.run_dir("grokking", 0)]


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()


@pytest.mark.parametrize("hostile", ["../outside.txt", "/tmp/absolute.txt", "link_out", "device"])
def test_a_hostile_shipped_archive_writes_nothing_outside(tmp_path, hostile):
    info = tarfile.TarInfo(hostile)
    data = b"pwned"
    if hostile == "link_out":
        info.type, info.linkname, data = tarfile.SYMTYPE, "/etc/passwd", b""
    elif hostile == "device":
        info.type, info.devmajor, info.devminor, data = tarfile.CHRTYPE, 195, 0, b""
    info.size = len(data)
    dest = tmp_path / "run" / "idea"
    with pytest.raises(tarfile.TarError):
        unpack_folder(_tar([(info, data)]), dest)
    assert not (tmp_path / "run" / "outside.txt").exists() and not Path("/tmp/absolute.txt").exists()
    assert not dest.exists() and not list((tmp_path / "run").glob("*")) and not list((tmp_path / "run").glob(".*"))


def test_pack_keeps_records_and_paper_when_the_folder_is_too_big(tmp_path):
    (tmp_path / "paper").mkdir()
    (tmp_path / "paper" / "paper.pdf").write_bytes(b"%PDF")
    (tmp_path / "ckpt.pt").write_bytes(b"x" * 5000)
    data, note = pack_folder(tmp_path, max_bytes=1000)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
    assert "paper/paper.pdf" in names and "ckpt.pt" not in names and "over" in note


def test_a_lost_worker_reads_as_the_infrastructures_failure():
    from benchmark.executors import worker_lost
    from scientist.failures import infra_kind

    assert infra_kind(worker_lost(RuntimeError("node 3 gone"))) == "worker_lost"
    assert infra_kind("NodeDiedError: the node running the task died") == "worker_lost"
    assert infra_kind("the model call failed: RuntimeError: worker_lost: forged by the model") is None


# ---- preflight and the command line --------------------------------------------------------------
def test_preflight_warns_loudly_when_a_template_wants_cuda_and_gets_none(tmp_path, stand_in_gpus, tiny_template):
    import shutil as sh

    from benchmark.preflight import check_gpus

    cuda = tmp_path / "cuda_template"
    sh.copytree(tiny_template, cuda)
    (cuda / "experiment.py").write_text((cuda / "experiment.py").read_text() + "\nDEVICE = 'cuda'\n")
    lines, warnings = check_gpus((), [str(cuda), str(tiny_template)], unsafe_no_sandbox=False)
    assert lines == [f"GPUs: none for the runs (GPUs 0 (/dev/nvidia0), 1 (/dev/nvidia1); a run sees only those it "
                     "is given (--gpus): their nodes, nvidiactl, nvidia-uvm, nvidia-uvm-tools, /sys and the driver "
                     "libraries read-only; no address-space rlimit on GPU runs)"]
    assert len(warnings) == 1 and "cuda_template asks for CUDA" in warnings[0]
    if sh.which("bwrap") is None:
        return
    lines, warnings = check_gpus((1,), [str(cuda)], unsafe_no_sandbox=False)  # a stand-in node: no driver behind it
    assert "GPU(s) 1: CUDA does NOT work inside the sandbox" in lines[0]
    assert any("CUDA does not work inside the sandbox on GPU 1" in w for w in warnings)
    assert any("asks for CUDA" in w for w in warnings)


@pytest.mark.parametrize("args,message", [
    (["--gpus", "7"], "no GPU 7"),
    (["--gpus", "zero"], "expected auto, none or GPU numbers"),
    (["--executor", "ray", "--gpus", "0"], "with --executor ray: auto or none"),
])
def test_bench_run_refuses_bad_gpus_in_one_line(tmp_path, args, message):
    from click.testing import CliRunner

    from benchmark.cli import main

    res = CliRunner().invoke(main, ["run", "m", "--templates", "grokking", "--out", str(tmp_path / "o"), *args])
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output


def test_template_baseline_refuses_a_gpu_this_machine_lacks(tmp_path):
    from click.testing import CliRunner

    from benchmark.cli import main

    res = CliRunner().invoke(main, ["template", "baseline", "char_lm", "--smoke", "--gpus", "5", "--out",
                                    str(tmp_path / "b")])
    assert res.exit_code == 2 and "no GPU 5" in res.output and not (tmp_path / "b").exists()


@pytest.mark.slow  # the real pipeline (sandboxed runs, pdflatex) for one idea in a worker process
def test_bench_run_with_recorded_replies_in_worker_processes(recorded_run):
    """`--executor process` with --replay: the recorded replies travel as a file path, not a live factory."""
    import subprocess

    run = recorded_run(1)
    env = run.env({**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    proc = subprocess.run(run.command("--executor", "process", "--gpus", "none"), env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0 and "cannot pickle" not in proc.stderr, proc.stderr[-3000:]
    out = run.out
    with ResultsDB(out) as db:
        (idea,) = db.ideas()
        assert idea["status"] == "done" and idea["paper_compiled"] == 1 and Path(idea["pdf_path"]).is_file()


def test_bench_run_on_n_gpus_runs_n_ideas_at_once_unless_told(tmp_path, stand_in_gpus, monkeypatch):
    from click.testing import CliRunner

    import benchmark.runner as runner
    from benchmark.cli import main

    seen: list[BenchConfig] = []

    def fake_run(bench, **_kw):
        seen.append(bench)
        return runner.RunSummary(db_path=Path(bench.out_dir) / "results.sqlite")

    monkeypatch.setattr(runner, "run_benchmark", fake_run)
    base = ["run", "m", "--templates", "grokking", "--no-preflight"]
    CliRunner().invoke(main, [*base, "--out", str(tmp_path / "a")])
    CliRunner().invoke(main, [*base, "--out", str(tmp_path / "b"), "--runs-per-gpu", "2"])
    CliRunner().invoke(main, [*base, "--out", str(tmp_path / "c"), "--gpus", "1", "--concurrency", "3"])
    assert [(b.gpus, b.runs_per_gpu, b.concurrency) for b in seen] == [((0, 1), 1, 2), ((0, 1), 2, 4), ((1,), 1, 3)]


def test_a_result_the_driver_cannot_record_is_not_charged_to_the_model(tmp_path):
    """A shipped archive that does not unpack, or an outcome the database refuses: the idea is not left
    'running' and is not the model's failure; a rerun redoes it."""
    def run_idea(cfg, idea):
        return {"idea_name": idea.name, "title": idea.title, "idea_dir": str(Path(cfg.out_dir) / idea.name),
                "stages": "not a mapping"}  # record_outcome fails on it

    events: list[str] = []
    summary = run_benchmark(_bench(tmp_path, n_ideas=1), on_event=events.append,
                            generate_ideas_fn=lambda cfg: [FakeIdea(name="a", title="A")], run_idea_fn=run_idea,
                            idea_model=FakeIdea)
    assert (summary.finished, summary.errors, summary.infra_errors) == (0, 0, 1)
    assert any("could not be recorded" in e for e in events)
    with ResultsDB(tmp_path / "res") as db:
        (idea,) = db.ideas()
        assert idea["status"] == "infra_error" and idea["infra_error"].startswith("harness:")
