"""Shared test fixtures: where the real data lives, and an isolated response cache."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from repo_paths import shared_data_dir


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real data not found at {path} (set BENCH_SHARED_DATA to ../shared/data)")
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests never read a developer's response cache, and never leave one behind.
    if "BENCH_TEST_SHARED_CACHE" not in os.environ:
        monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path_factory.mktemp("llm-cache")))
