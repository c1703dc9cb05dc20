"""Shared helpers for the sandbox tests: run a hostile program from hostile/ in a fresh run directory."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from scientist.sandbox import SandboxLimits, SandboxResult, SandboxUnavailable, run_in_sandbox
from scientist.sandbox.bwrap import find_bwrap, probe

HOSTILE = Path(__file__).parent / "hostile"


def _sandbox_missing() -> str | None:
    try:
        probe(find_bwrap())
    except SandboxUnavailable as err:
        return str(err)
    return None


@pytest.fixture(scope="session")
def bwrap_ready() -> None:
    """Skips a test where bubblewrap cannot isolate (say a laptop without it); .ci/run installs it."""
    missing = _sandbox_missing()
    if missing:
        pytest.skip(f"no working bubblewrap: {missing}")


def _processes_in(workdir: Path) -> list[int]:
    """Host pids whose current directory is inside workdir: what outlived a run."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = Path(os.readlink(entry / "cwd"))
            except OSError:
                continue
            if cwd == workdir or workdir in cwd.parents:
                found.append(int(entry.name))
    return found


@pytest.fixture
def processes_in():
    """processes_in(workdir) -> host pids whose current directory is inside workdir."""
    return _processes_in


@pytest.fixture
def run_hostile(tmp_path: Path, bwrap_ready):
    """run_hostile("fork_bomb", *args, **limits, readonly_binds=...) -> (result, workdir)."""

    def run(name: str, *args: str, readonly_binds=(), env=None, **limits) -> tuple[SandboxResult, Path]:
        workdir = tmp_path / "run"
        workdir.mkdir(exist_ok=True)
        shutil.copy(HOSTILE / f"{name}.py", workdir / f"{name}.py")
        result = run_in_sandbox(["python", f"{name}.py", *args], workdir, limits=SandboxLimits(**limits),
                                readonly_binds=readonly_binds, env=env)
        return result, workdir

    return run
