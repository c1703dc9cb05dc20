"""Overhead of the experiment sandbox against a bare subprocess, measured in the same run.

    python benchmark/perf/sandbox_overhead.py [--repeats 5]

For a trivial script and for one that imports torch, it runs the bare and the sandboxed command
alternately (so load drifts hit both alike) and prints median wall times and their ratio.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scientist.sandbox import SandboxLimits, run_in_sandbox

CASES = {
    "trivial": "pass",
    "import torch": "import torch; torch.ones(1)",
}


def bare(code: str, workdir: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=workdir, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def sandboxed(code: str, workdir: Path) -> float:
    start = time.perf_counter()
    result = run_in_sandbox([sys.executable, "-c", code], workdir, limits=SandboxLimits(wall_time_s=300))
    elapsed = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"sandboxed run failed: {result.stderr_tail[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sandbox-overhead-") as tmp:
        workdir = Path(tmp)
        print(f"{'case':<14} {'bare s':>8} {'sandbox s':>10} {'ratio':>7} {'+ms':>7}   (median of {args.repeats})")
        for name, code in CASES.items():
            bare(code, workdir), sandboxed(code, workdir)  # warm the page cache for both
            times: dict[str, list[float]] = {"bare": [], "sandbox": []}
            for _ in range(args.repeats):
                times["bare"].append(bare(code, workdir))
                times["sandbox"].append(sandboxed(code, workdir))
            b, s = statistics.median(times["bare"]), statistics.median(times["sandbox"])
            print(f"{name:<14} {b:8.3f} {s:10.3f} {s / b:7.2f} {1000 * (s - b):7.0f}")


if __name__ == "__main__":
    main()
