"""How soon a live `bench reviewer eval` sends its first call, and how close its review phase comes
to the ideal, at several concurrencies, against the local OpenAI-compatible stub
(benchmark/perf/openai_stub.py: every call answered after a fixed latency, on 127.0.0.1).

For each concurrency c, N papers (default 2c, at least 8) are reviewed by the real command in a
fresh process (real client, litellm, injection scan, anonymization), with no response cache, and:

  start-up       process launch -> review phase starts (imports, dataset, litellm, preparation workers)
  first call     review phase starts -> the stub receives the first request
  review phase   review phase starts -> last review saved; ideal = N * latency / c (one call per paper)

The papers are real ICLR 2022 texts from the shared data when present (their preparation costs what
it costs in use: injection scan and anonymization of a full paper), else, or with --short, generated
short ones (then the figures measure the review machinery itself: client, event loop, litellm).

Run: python -m benchmark.perf.review_startup [--concurrency 1,16,64,256] [--latency 1.0]
     [--papers-per-slot 2] [--prepare-workers N] [--short] [--json F]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmark.perf.faults import REPO, Stub, _env, make_dataset
from reviewer.eval.dataset import find_shared_data


def real_dataset(root: Path, n: int) -> Path | None:
    """N real paper texts (linked, not copied) with made-up labels: the labels are not scored here."""
    shared = find_shared_data()
    source = shared / "iclr2022" / "papers" if shared else None
    if source is None or not source.is_dir():
        return None
    texts = sorted(source.glob("*.txt"))[:n]
    if len(texts) < n:
        return None
    papers = root / "papers"
    papers.mkdir(parents=True)
    rows = ["paper_id\trating_1\trating_2\tdecision"]
    for i, text in enumerate(texts):
        (papers / text.name).symlink_to(text)
        rows.append(f"{text.stem}\t{6 if i % 2 else 3}\t{8 if i % 2 else 5}\t{'Accept' if i % 2 else 'Reject'}")
    (root / "ratings.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def run_once(c: int, n: int, latency: float, workdir: Path, prepare_workers: int | None, short: bool = False) -> dict:
    real = None if short else real_dataset(workdir / "data", n)
    data = real or make_dataset(workdir / "data", n)
    out = workdir / "out"
    with Stub(workdir / "stub", latency=latency) as stub:
        cmd = [sys.executable, "-m", "benchmark.cli", "reviewer", "eval", "--ratings", str(data / "ratings.tsv"),
               "--papers", str(data / "papers"), "--model", "openai/gpt-4o", "--api-base", stub.api_base,
               "--out-dir", str(out), "--concurrency", str(c), "--no-cache", "--resamples", "0",
               "--no-audit", "--no-text-baseline"]
        if prepare_workers is not None:
            cmd += ["--prepare-workers", str(prepare_workers)]
        launched = time.time()
        proc = subprocess.run(cmd, cwd=REPO, env=_env(BENCH_CACHE_DIR=str(workdir / "cache")),
                              capture_output=True, text=True, timeout=1800)
        ended = time.time()
        requests = stub.requests()
    if proc.returncode != 0:
        raise RuntimeError(f"c={c}: exit {proc.returncode}: {proc.stderr[-2000:]}")
    timing = json.loads((out / "timing.json").read_text())
    start = timing["review_started_at"]
    first_seen = min(r["t"] for r in requests)
    ideal = n * latency / c
    return {
        "concurrency": c, "papers": n, "papers_kind": "real ICLR 2022 texts" if real else "generated short",
        "latency_s": latency,
        "calls": len(requests),
        "prepare_workers": timing["prepare_workers"],
        "startup_s": round(start - launched, 2),
        "first_call_s": round(first_seen - start, 3),
        "first_call_from_launch_s": round(first_seen - launched, 2),
        "review_phase_s": round(timing["review_phase_s"], 2),
        "ideal_s": round(ideal, 2), "phase_over_ideal": round(timing["review_phase_s"] / ideal, 2),
        "process_total_s": round(ended - launched, 2),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concurrency", default="1,16,64,256")
    ap.add_argument("--latency", type=float, default=1.0, help="seconds the stub takes per call")
    ap.add_argument("--papers-per-slot", type=int, default=2, help="N = this x c papers (at least 8)")
    ap.add_argument("--prepare-workers", type=int, default=None, help="override the automatic choice (0: a thread)")
    ap.add_argument("--short", action="store_true", help="generated short papers instead of the real texts")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    results = []
    print(f"papers: {'generated short' if args.short else 'real ICLR 2022 texts where present'}; "
          f"stub latency {args.latency} s; one call per paper")
    print(f"{'c':>4} {'N':>5} {'workers':>7} {'start-up':>9} {'1st call':>9} {'phase':>8} {'ideal':>7} {'ratio':>6}")
    for c in (int(x) for x in args.concurrency.split(",")):
        n = max(8, args.papers_per_slot * c)
        with tempfile.TemporaryDirectory(prefix="review-startup-") as tmp:
            r = run_once(c, n, args.latency, Path(tmp), args.prepare_workers, args.short)
        results.append(r)
        print(f"{c:>4} {n:>5} {r['prepare_workers']:>7} {r['startup_s']:>8.2f}s {r['first_call_s']:>8.3f}s "
              f"{r['review_phase_s']:>7.2f}s {r['ideal_s']:>6.2f}s {r['phase_over_ideal']:>5.2f}x", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
