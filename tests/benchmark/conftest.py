"""Fixtures of the benchmark tests: the tiny template, and the real `bench run` that recorded
replies drive (test_executors.py in worker processes, test_ray_cluster.py through a Ray cluster)."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from repo_paths import REPO_ROOT

TINY_TEMPLATE = REPO_ROOT / "tests" / "scientist" / "fixtures" / "tiny_template"
# the stages the recorded replies leave out, so that one idea runs in a minute or two
QUICK_PIPELINE = {"idea_reflections": 0, "citation_rounds": 0, "writeup_fix_rounds": 0}


@dataclass
class RecordedRun:
    """gpt-4o on the tiny template, one experiment run per idea, no novelty check, every model
    reply read from `replay` (nothing reaches a provider): the real pipeline, sandbox and pdflatex."""

    replay: Path
    out: Path
    cache: Path
    n_ideas: int

    def command(self, *extra: str) -> list[str]:
        """`python -m benchmark.cli run ...` for a subprocess; `extra`: executor, concurrency, GPUs."""
        options = [arg for key, value in QUICK_PIPELINE.items() for arg in ("--pipeline-option", f"{key}={value}")]
        return [sys.executable, "-m", "benchmark.cli", "run", "gpt-4o", "--templates", str(TINY_TEMPLATE),
                "--ideas", str(self.n_ideas), "--out", str(self.out), "--max-runs", "1", "--no-novelty",
                "--replay", str(self.replay), *options, *extra]

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` without a provider key, with its own response cache and litellm's local cost map."""
        env = {k: v for k, v in base.items() if k != "OPENAI_API_KEY"}
        env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "BENCH_CACHE_DIR": str(self.cache)})
        return env

    def bench_config(self, **kw: Any):  # type: ignore[no-untyped-def]
        """The same run as a BenchConfig, for run_benchmark in this process; `kw`: executor and the like."""
        from benchmark.runner import BenchConfig

        return BenchConfig(model="gpt-4o", templates=[str(TINY_TEMPLATE)], out_dir=self.out, n_ideas=self.n_ideas,
                           max_runs=1, check_novelty=False,
                           pipeline_overrides={"replay": str(self.replay), **QUICK_PIPELINE}, **kw)


@pytest.fixture
def tiny_template() -> Path:
    return TINY_TEMPLATE


@pytest.fixture
def recorded_run(tmp_path: Path) -> Callable[[int], RecordedRun]:
    """recorded_run(n_ideas): the recorded replies for n ideas written under tmp_path, and the run."""
    def make(n_ideas: int = 1) -> RecordedRun:
        from benchmark.perf.faults import _replay_script

        replay = tmp_path / "replay.json"
        replay.write_text(json.dumps(_replay_script(n_ideas)))
        return RecordedRun(replay=replay, out=tmp_path / "results", cache=tmp_path / "cache", n_ideas=n_ideas)

    return make
