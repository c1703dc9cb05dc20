"""Fixtures of the pipeline tests: a client replaying recorded replies per purpose, and
literature clients that are offline or replay recorded search payloads."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from scientist_helpers import FIXTURES, Script, offline_fetch, recorded_fetch


@pytest.fixture
def scripted_client() -> Callable[[dict[str, list[str]]], tuple[object, Script]]:
    from reviewer.llm.scripted import ScriptedModelClient

    def make(replies: dict[str, list[str]], model: str = "gpt-4o") -> tuple[object, Script]:
        script = Script(replies)
        return ScriptedModelClient(script, model=model, max_retries=0), script

    return make


@pytest.fixture
def offline_literature(tmp_path: Path):  # type: ignore[no-untyped-def]
    from scientist.stages.literature import LiteratureClient

    return LiteratureClient(cache_dir=tmp_path / "lit-cache", fetch=offline_fetch)


@pytest.fixture
def recorded_literature(tmp_path: Path):  # type: ignore[no-untyped-def]
    from scientist.stages.literature import LiteratureClient

    fetch = recorded_fetch({"semanticscholar": FIXTURES / "s2_search_grokking.json"})
    return LiteratureClient(cache_dir=tmp_path / "lit-cache", fetch=fetch, sleep=lambda s: None)
