"""Fault injection against the real commands, with the figures that say whether anything was lost.

Each scenario runs `bench` as a subprocess (the real CLI, the real client, litellm included)
against a local OpenAI-compatible stub on 127.0.0.1 (benchmark/perf/openai_stub.py) or recorded
replies, breaks it, and counts:

  kill_eval       kill -9 at random points of a live `bench reviewer eval`, K times, then rerun:
                  reviews lost, reviews done twice, records left corrupt
  kill_bench_run  the same for `bench run` (recorded replies, tiny template): ideas lost, ideas
                  and stages done twice
  storm           30% of calls answered 429/500/503, some hang past the client time-out: papers
                  finished, attempts recorded vs requests the server saw, cost recorded
  disk_full       the output folder on a tiny tmpfs: exit code, one-line error, half-written files
  bad_replies     truncated / non-JSON / schema-violating replies, then a rerun: what was cached
  corrupt_cache   every cache entry cut in half, then a rerun: warnings, calls made again

Run: python -m benchmark.perf.faults [--k 5] [--papers 24] [--only kill_eval,storm] [--json F]
Every request goes to 127.0.0.1; every loop is bounded by a deadline.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reviewer.atomic_file import TEMP_SUFFIX

REPO = Path(__file__).resolve().parents[2]
TINY_TEMPLATE = REPO / "tests" / "scientist" / "fixtures" / "tiny_template"
MODEL = "openai/gpt-4o"  # priced by litellm's cost map, so the figures carry a real cost


# ---- pieces ------------------------------------------------------------------------------
def make_dataset(root: Path, n: int, prefix: str = "p") -> Path:
    """A reviewer-evaluation folder of `n` short papers; each carries a marker the stub reads."""
    papers = root / "papers"
    papers.mkdir(parents=True, exist_ok=True)
    rows = ["paper_id\trating_1\trating_2\tdecision"]
    for i in range(n):
        pid = f"{prefix}{i:03d}"
        accept = i % 2 == 0
        rows.append(f"{pid}\t{6 if accept else 3}\t{7 if accept else 4}\t{'Accept' if accept else 'Reject'}")
        (papers / f"{pid}.txt").write_text(
            f"A Study of Step Sizes, Part {i}\n\nAbstract\nWe study gradient step sizes on a quadratic "
            f"(ZQX-{pid}-ZQX). We find larger steps converge faster within the stable range.\n\n"
            "1 Introduction\nStep sizes matter. " * 4 + "\n\n2 Results\nThe loss falls by 40%.\n", encoding="utf-8")
    (root / "ratings.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


class Stub:
    """The OpenAI-compatible stub in its own process (it must outlive a killed client)."""

    def __init__(self, workdir: Path, **options: Any) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = self.workdir / "requests.jsonl"
        self.port_file = self.workdir / "port"
        self.options = options
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Stub:
        args = [sys.executable, "-m", "benchmark.perf.openai_stub", "--port-file", str(self.port_file),
                "--log", str(self.log)]
        for key, value in self.options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        self.proc = subprocess.Popen(args, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not self.port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the OpenAI stub did not start")
            time.sleep(0.05)
        self.api_base = f"http://127.0.0.1:{int(self.port_file.read_text())}/v1"
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def control(self, **options: Any) -> None:
        """Change the stub's faults while it keeps its port (a cached reply stays reachable)."""
        import urllib.request

        req = urllib.request.Request(f"{self.api_base}/control", data=json.dumps(options).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update({"NO_PROXY": "127.0.0.1,localhost", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
                "BENCH_BACKOFF_S": "0.05", "BENCH_MAX_RETRIES": "6", "COLUMNS": "200"})
    env.pop("OPENAI_API_KEY", None)  # nothing may reach a real provider
    env.update(extra)
    return env


def eval_command(data: Path, out: Path, api_base: str, *extra: str, concurrency: int = 4) -> list[str]:
    return [sys.executable, "-m", "benchmark.cli", "reviewer", "eval", "--ratings", str(data / "ratings.tsv"),
            "--papers", str(data / "papers"), "--model", MODEL, "--api-base", api_base, "--out-dir", str(out),
            "--concurrency", str(concurrency), "--resamples", "20", "--no-audit", *extra]  # the label-leak audit is beside the point


def valid_records(out: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted((out / "records").glob("*.json")):
        try:
            found[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return found


def corrupt_records(out: Path) -> int:
    return sum(1 for p in (out / "records").glob("*.json") if p.stem not in valid_records(out))


def temp_files(out: Path) -> int:
    return sum(1 for p in out.rglob(f"*{TEMP_SUFFIX}")) if out.exists() else 0


def _wait_for(predicate, timeout_s: float, proc: subprocess.Popen | None = None) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: no cleanup, no atexit, no finally
    except ProcessLookupError:
        pass
    proc.wait()


def _run(cmd: list[str], env: dict[str, str], timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


# ---- scenarios ---------------------------------------------------------------------------
def kill_eval(work: Path, k: int = 3, n_papers: int = 16, latency_s: float = 0.25, concurrency: int = 4,
              seed: int = 0) -> dict[str, Any]:
    """kill -9 a live evaluation K times at random points, then let it finish."""
    rng = random.Random(seed)
    data = make_dataset(work / "data", n_papers)
    out = work / "out"
    env = _env(BENCH_CACHE_DIR=str(work / "cache"))
    done_twice = lost_on_kill = corrupt = 0
    kill_points: list[int] = []
    final_rc = None
    started = time.monotonic()
    for session in range(k + 1):
        before = set(valid_records(out))
        with Stub(work / f"stub_{session}", latency=latency_s) as stub:
            with open(work / f"session_{session}.log", "w") as log:  # a file, not a pipe nobody reads
                proc = subprocess.Popen(eval_command(data, out, stub.api_base, "--no-cache", concurrency=concurrency),
                                        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log,
                                        start_new_session=True)
            if session < k:
                # a random point of the work, the K kills spread over it: after a random number of
                # reviews (within this kill's share of those left) were saved, at a random moment
                share = max(1, (n_papers - len(before)) // (k - session + 1))
                target = len(before) + rng.randint(0, share - 1)
                _wait_for(lambda: bool(stub.requests()) and len(valid_records(out)) >= target, 300, proc)
                time.sleep(rng.uniform(0, 2 * latency_s))
                _kill(proc)
                kill_points.append(len(valid_records(out)))
            else:
                try:
                    proc.wait(timeout=300)
                finally:
                    if proc.poll() is None:
                        _kill(proc)
                final_rc = proc.returncode
            requested = {r["paper"] for r in stub.requests()}
        done_twice += len(requested & before)
        lost_on_kill += len(before - set(valid_records(out)))
        corrupt += corrupt_records(out)
    final = valid_records(out)
    return {"scenario": "kill -9 during `bench reviewer eval` (live, stub server)", "kills": k,
            "papers": n_papers, "done_after_each_kill": kill_points, "reviews_lost": n_papers - len(final),
            "finished_reviews_lost_by_a_kill": lost_on_kill, "reviews_done_twice": done_twice,
            "corrupt_records_seen": corrupt, "temp_files_left": temp_files(out), "final_exit_code": final_rc,
            "seconds": round(time.monotonic() - started, 1)}


def _replay_script(n_ideas: int) -> dict[str, list[str]]:
    def edit(path: str, search: str, replace: str, tail: str) -> str:
        return f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n\n{tail}"

    ideas = [json.dumps({"name": f"step_size_{i}", "title": f"Step Size Study {i}",
                         "experiment": f"Raise the learning rate (variant {i}) and compare the final loss.",
                         "interestingness": 5, "feasibility": 9, "novelty": 3}) for i in range(n_ideas * 3)]
    review = json.dumps({
        "Summary": "Step sizes on a quadratic.", "Strengths": ["clear"], "Weaknesses": ["toy"], "Originality": 2,
        "Quality": 2, "Clarity": 3, "Significance": 2, "Questions": ["more seeds?"], "Limitations": ["toy"],
        "Ethical Concerns": False, "Soundness": 2, "Presentation": 3, "Contribution": 2, "Overall": 4,
        "Confidence": 3, "Decision": "Reject"})
    per_idea = 4 * n_ideas * 3
    return {
        "ideas": ideas,
        "experiments": ["Run 1: learning rate 0.3.\n" + edit("experiment.py", "LR = 0.1", "LR = 0.3", "ACTION: RUN")] * per_idea,
        "plots": [edit("plot.py", 'labels = {"run_0": "Baseline"}', 'labels = {"run_0": "Baseline", "run_1": "LR 0.3"}', ""),
                  json.dumps({"descriptions": {"loss.png": "Loss per step for both step sizes."}})] * per_idea,
        "writeup": ["```latex\nA larger step reaches a lower final loss on a quadratic (Figure~\\ref{fig:loss}).\n"
                    "\\begin{figure}[h]\\centering\\includegraphics[width=0.5\\linewidth]{loss.png}"
                    "\\caption{Loss per step.}\\label{fig:loss}\\end{figure}\n```"] * (per_idea * 10),
        "latex_fix": ["```latex\nNo change.\n```"] * per_idea,
        "review": [review],
        "preflight": ["OK"] * 8,  # bench run's test call of the model and of each reviewer
    }


def _stage_records(out: Path) -> dict[str, bytes]:
    """Finished stage records (a stage status inside) and outcomes, by path: what must not change."""
    found = {}
    for path in out.rglob("*.json"):
        if "previous" in path.parts or path.name in ("manifest.json", "settings.json"):
            continue
        try:
            data = path.read_bytes()
            parsed = json.loads(data)
        except (OSError, ValueError):
            continue
        if path.name == "outcome.json" or (isinstance(parsed, dict) and parsed.get("stage")):
            found[str(path.relative_to(out))] = data
    return found


def _db_ideas(out: Path) -> dict[str, tuple[str, Any]]:
    db = out / "results.sqlite"
    if not db.exists():
        return {}
    con = sqlite3.connect(db, timeout=30)
    try:
        return {r[0]: (r[1], r[2]) for r in con.execute("SELECT idea_name, status, finished_at FROM ideas")}
    except sqlite3.OperationalError:
        return {}
    finally:
        con.close()


def kill_bench_run(work: Path, k: int = 3, n_ideas: int = 3, seed: int = 0) -> dict[str, Any]:
    """kill -9 `bench run` (recorded replies, tiny template, real sandbox and pdflatex) K times."""
    rng = random.Random(seed)
    replay = work / "replay.json"
    work.mkdir(parents=True, exist_ok=True)
    replay.write_text(json.dumps(_replay_script(n_ideas)))
    out = work / "results"
    cmd = [sys.executable, "-m", "benchmark.cli", "run", "gpt-4o", "--templates", str(TINY_TEMPLATE),
           "--ideas", str(n_ideas), "--out", str(out), "--concurrency", "1", "--max-runs", "1", "--no-novelty",
           "--replay", str(replay), "--pipeline-option", "idea_reflections=0",
           "--pipeline-option", "citation_rounds=0", "--pipeline-option", "writeup_fix_rounds=0"]
    env = _env(BENCH_CACHE_DIR=str(work / "cache"))
    ideas_twice = stages_twice = lost_on_kill = 0
    kill_points: list[int] = []
    final_rc, final_tail = None, ""
    started = time.monotonic()
    for session in range(k + 1):
        stages_before = _stage_records(out)
        done_before = {n: v for n, v in _db_ideas(out).items() if v[0] == "done"}
        log_path = work / f"session_{session}.log"
        with open(log_path, "w") as log:  # a file, not a pipe nobody reads
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log,
                                    start_new_session=True)
        if session < k:
            # at a random point of the work, the K kills spread over the ideas: once a random number
            # of ideas (within this kill's share of those left) is done, at a random moment of the next
            share = max(1, (n_ideas - len(done_before)) // (k - session + 1))
            target = len(done_before) + rng.randint(0, share - 1)
            _wait_for(lambda: sum(v[0] == "running" or v[0] == "done" for v in _db_ideas(out).values()) > 0
                      and sum(v[0] == "done" for v in _db_ideas(out).values()) >= target, 300, proc)
            time.sleep(rng.uniform(0.0, 4.0))
            _kill(proc)
            kill_points.append(sum(v[0] == "done" for v in _db_ideas(out).values()))
        else:
            try:
                proc.wait(timeout=600)
            finally:
                if proc.poll() is None:
                    _kill(proc)
            final_rc, final_tail = proc.returncode, _last_line(log_path.read_text(errors="replace"))
        after = _stage_records(out)
        stages_twice += sum(1 for path, data in stages_before.items() if path in after and after[path] != data)
        lost_on_kill += sum(1 for path in stages_before if path not in after)
        now = _db_ideas(out)
        ideas_twice += sum(1 for n, v in done_before.items() if now.get(n) != v)
    ideas = _db_ideas(out)
    statuses: dict[str, int] = {}
    for path in out.rglob("outcome.json"):
        if "previous" not in path.parts:
            for stage in json.loads(path.read_text()).get("stages", {}).values():
                statuses[stage["status"]] = statuses.get(stage["status"], 0) + 1
    return {"scenario": "kill -9 during `bench run` (recorded replies, tiny template)", "kills": k,
            "stage_statuses": statuses,
            "ideas": n_ideas, "done_after_each_kill": kill_points,
            "ideas_lost": n_ideas - sum(v[0] == "done" for v in ideas.values()),
            "ideas_recorded": len(ideas), "ideas_done_twice": ideas_twice, "stages_done_twice": stages_twice,
            "finished_stages_lost_by_a_kill": lost_on_kill, "temp_files_left": temp_files(out),
            "final_exit_code": final_rc, "final_line": final_tail, "seconds": round(time.monotonic() - started, 1)}


def storm(work: Path, n_papers: int = 16, error_rate: float = 0.3, timeout_rate: float = 0.05,
          seed: int = 0) -> dict[str, Any]:
    """A 429/5xx storm plus hangs past a 1 s client time-out: every paper must finish, with its
    attempts and cost on record."""
    data = make_dataset(work / "data", n_papers)
    out = work / "out"
    env = _env(BENCH_CACHE_DIR=str(work / "cache"), BENCH_TIMEOUT_S="1", BENCH_MAX_RETRIES="8")
    started = time.monotonic()
    with Stub(work / "stub", latency=0.05, error_rate=error_rate, timeout_rate=timeout_rate, hang_s=3,
              seed=seed) as stub:
        result = _run(eval_command(data, out, stub.api_base, "--no-cache"), env)
        requests = stub.requests()
    records = valid_records(out)
    calls = [c for r in records.values() for c in r.get("usage", [])]
    outcomes = [r["outcome"] for r in requests]
    return {"scenario": f"{error_rate:.0%} of calls 429/500/503, {timeout_rate:.0%} hang past the time-out",
            "papers": n_papers, "papers_finished": len(records), "exit_code": result.returncode,
            "requests_seen_by_server": len(requests),
            "injected_errors": sum(o in ("429", "500", "503") for o in outcomes),
            "injected_hangs": outcomes.count("hang"), "attempts_recorded": sum(c.get("attempts", 0) for c in calls),
            "calls_recorded": len(calls), "cost_usd_recorded": round(sum(c.get("cost_usd", 0.0) for c in calls), 6),
            "max_attempts_one_call": max((c.get("attempts", 0) for c in calls), default=0),
            "seconds": round(time.monotonic() - started, 1)}


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True,
                   capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def can_mount_tmpfs() -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    probe = Path(tempfile.mkdtemp(prefix="bench-tmpfs-probe-"))
    try:
        with tmpfs(probe, "16k"):
            return True
    except (subprocess.CalledProcessError, OSError):
        return False
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def disk_full(work: Path, n_papers: int = 16, size: str = "32k") -> dict[str, Any]:
    """The output folder fills up mid-evaluation."""
    data = make_dataset(work / "data", n_papers)
    env = _env(BENCH_CACHE_DIR=str(work / "cache"))
    started = time.monotonic()
    with Stub(work / "stub", latency=0.02) as stub, tmpfs(work / "full", size) as full:
        out = full / "out"
        result = _run(eval_command(data, out, stub.api_base, "--no-cache"), env)
        records = list((out / "records").glob("*.json")) if (out / "records").exists() else []
        stats = {"records_written": len(records), "records_half_written": corrupt_records(out),
                 "temp_files_left": temp_files(out)}
    stderr = result.stderr.strip()
    return {"scenario": f"output folder on a {size} tmpfs", "papers": n_papers, "exit_code": result.returncode,
            "error_line": _last_line(stderr), "traceback_shown": "Traceback" in stderr, **stats,
            "seconds": round(time.monotonic() - started, 1)}


def bad_replies(work: Path, n_papers: int = 10) -> dict[str, Any]:
    """Malformed replies: when every reply is bad the papers fail (exit 1, counted) and nothing is
    cached, so a rerun against the same endpoint, healed, asks again; when only the first reply
    is bad it is repaired by re-asking."""
    figures: dict[str, Any] = {"scenario": "truncated, non-JSON and schema-violating replies", "papers": n_papers}
    started = time.monotonic()
    for kind in ("truncated", "not_json", "schema"):
        data = make_dataset(work / kind / "data", n_papers)
        repair_data = make_dataset(work / kind / "repair_data", n_papers, prefix="r")
        out = work / kind / "out"
        env = _env(BENCH_CACHE_DIR=str(work / kind / "cache"))
        with Stub(work / kind / "stub", bad_first=99, bad_kind=kind) as stub:
            broken = _run(eval_command(data, out / "broken", stub.api_base), env)
            broken_done = len(valid_records(out / "broken"))
            cached_after_broken = len(list((work / kind / "cache").rglob("*.json")))
            seen = len(stub.requests())
            stub.control(bad_first=0)  # healed, same port: a cached bad reply would be served now
            healed = _run(eval_command(data, out / "broken", stub.api_base), env)
            asked_again = len({r["paper"] for r in stub.requests()[seen:]})
            seen = len(stub.requests())
            stub.control(bad_first=1)  # only the first reply of each paper is bad
            repaired = _run(eval_command(repair_data, out / "repair", stub.api_base), env)
            n_repair = len(stub.requests()) - seen
        figures[kind] = {
            "broken_exit_code": broken.returncode, "broken_last_line": _last_line(broken.stderr),
            "broken_papers_done": broken_done, "cache_entries_after_broken": cached_after_broken,
            "rerun_exit_code": healed.returncode, "rerun_papers_asked_again": asked_again,
            "rerun_papers_done": len(valid_records(out / "broken")),
            "repaired_exit_code": repaired.returncode, "repaired_papers": len(valid_records(out / "repair")),
            "requests_per_repaired_paper": round(n_repair / n_papers, 2),
        }
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures


def corrupt_cache(work: Path, n_papers: int = 10) -> dict[str, Any]:
    """Every response-cache entry cut in half between two runs against the same endpoint."""
    data = make_dataset(work / "data", n_papers)
    cache = work / "cache"
    env = _env(BENCH_CACHE_DIR=str(cache), COLUMNS="400")
    started = time.monotonic()
    with Stub(work / "stub") as stub:
        first = _run(eval_command(data, work / "out1", stub.api_base), env)
        seen = len(stub.requests())
        entries = list(cache.rglob("*.json"))  # the replies and the text-rows entry (cache/eval/)
        for path in entries:
            text = path.read_text()
            path.write_text(text[: len(text) // 2])
        second = _run(eval_command(data, work / "out2", stub.api_base), env)
        asked = len({r["paper"] for r in stub.requests()[seen:]})
        seen = len(stub.requests())
        third = _run(eval_command(data, work / "out3", stub.api_base), env)  # the repaired cache serves all
        third_requests = len(stub.requests()) - seen
    log = (work / "out2" / "bench.log").read_text() if (work / "out2" / "bench.log").exists() else ""
    return {"scenario": "every response-cache entry truncated", "papers": n_papers, "first_exit_code": first.returncode,
            "entries_corrupted": len([p for p in entries if p.parent.name != "eval"]),
            "text_rows_entries_corrupted": len([p for p in entries if p.parent.name == "eval"]),
            "text_rows_recomputed": (log + second.stderr).count("text-rows cache: ignoring unreadable entry"),
            "second_exit_code": second.returncode,
            "second_papers_done": len(valid_records(work / "out2")), "papers_asked_again": asked,
            "warnings_on_terminal": second.stderr.count("response cache: ignoring unreadable entry"),
            "warnings_in_bench_log": log.count("response cache: ignoring unreadable entry"),
            "entries_moved_aside": len(list(cache.rglob("*.corrupt"))),
            "third_exit_code": third.returncode, "third_run_requests": third_requests, "seconds": round(time.monotonic() - started, 1)}


SCENARIOS = ("kill_eval", "kill_bench_run", "storm", "disk_full", "bad_replies", "corrupt_cache")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--k", type=int, default=5, help="kills per kill scenario")
    ap.add_argument("--papers", type=int, default=24)
    ap.add_argument("--ideas", type=int, default=3)
    ap.add_argument("--only", default=",".join(SCENARIOS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    figures = []
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        work = Path(tmp)
        for name in wanted:
            if name == "kill_eval":
                fig = kill_eval(work / name, k=args.k, n_papers=args.papers, seed=args.seed)
            elif name == "kill_bench_run":
                fig = kill_bench_run(work / name, k=args.k, n_ideas=args.ideas, seed=args.seed)
            elif name == "storm":
                fig = storm(work / name, n_papers=args.papers, seed=args.seed)
            elif name == "disk_full":
                if not can_mount_tmpfs():
                    print("disk_full: skipped (needs root and tmpfs mounts)")
                    continue
                fig = disk_full(work / name, n_papers=args.papers)
            elif name == "bad_replies":
                fig = bad_replies(work / name)
            elif name == "corrupt_cache":
                fig = corrupt_cache(work / name)
            else:
                raise SystemExit(f"unknown scenario {name!r}; one of {', '.join(SCENARIOS)}")
            figures.append(fig)
            print(json.dumps({"name": name, **fig}, indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
