"""The run directory: where each record lives, and atomic JSON writes.

    OUT/manifest.json, OUT/ideas.json, OUT/baseline/ (template code + run_0, shared by ideas)
    OUT/<idea>/idea.json, novelty.json, notes.txt, code/ (the template copy the model edits,
        with run_0 .. run_N), experiments.json, plots.json, paper/ (template.tex, references.bib,
        figures, paper.pdf), writeup.json, review.json, outcome.json
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from reviewer.atomic_file import write_text_atomic

M = TypeVar("M", bound=BaseModel)

# Files of a template that are not experiment code: they stay out of code/.
NON_CODE = {"prompt.json", "seed_ideas.json", "ideas.json", "bench_template.json", "latex", "__pycache__", "README.md"}

# Names the run directory uses for itself (bench run's OUT/<template>/seed_<n>/ included): an idea
# directory must never be one of them.
RESERVED_NAMES = frozenset({"baseline", "model_cache", "literature_cache", "logs", "previous", "records"})
LOCK_NAME = ".lock"
SETTINGS_NAME = "settings.json"


class RunDirError(ValueError):
    """The run directory cannot be used as asked (bad input: exit code 2)."""


class RunDirBusy(RunDirError):
    """Another process is running in this directory."""


def check_idea_name(name: str) -> str:
    if not name or name.lower() in RESERVED_NAMES or name.startswith(".") or "/" in name:
        raise RunDirError(f"idea name {name!r} is reserved by the run directory")
    return name


# ---- one process per directory ------------------------------------------------------------
@contextmanager
def run_lock(out_dir: Path) -> Iterator[Path]:
    """Hold OUT/.lock for the block; a second process gets RunDirBusy naming the holder's pid.

    An flock dies with its process, so a run killed with -9 leaves no stale lock behind.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise RunDirBusy(f"{out_dir} is in use by another run (pid {holder}); "
                             "wait for it to finish or use another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Serialize read-modify-write of `path` across threads and processes (.PATH.lock beside it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = str(path.resolve())
    with _thread_locks_guard:
        lock = _thread_locks.setdefault(key, threading.Lock())
    with lock:
        fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


# ---- settings of a run ----------------------------------------------------------------------
def check_settings(out_dir: Path, settings: dict[str, Any], *, force_new: bool = False) -> None:
    """Record `settings` at a run's first start; refuse a rerun with other settings.

    `force_new` moves what the earlier run left into OUT/previous/<time>/ and starts afresh,
    so results made under two settings are never mixed in one directory.
    """
    out_dir = Path(out_dir)
    path = out_dir / SETTINGS_NAME
    wanted = json.loads(json.dumps(settings, default=str))
    if path.exists():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            recorded = None
        if recorded == wanted:
            return
        if not force_new:
            if isinstance(recorded, dict):
                keys = sorted(k for k in set(recorded) | set(wanted) if recorded.get(k) != wanted.get(k))
                diff = ", ".join(f"{k}: {recorded.get(k)!r} -> {wanted.get(k)!r}" for k in keys[:6])
            else:
                diff = f"{path} is unreadable"
            raise RunDirError(f"{out_dir} holds a run with other settings ({diff}); "
                              "use another --out, or --force-new to move the old run aside")
        archive_previous(out_dir)
    elif force_new and out_dir.is_dir() and any(not _kept(p.name) for p in out_dir.iterdir()):
        archive_previous(out_dir)
    write_json(path, wanted)


def _kept(name: str) -> bool:
    return name in (LOCK_NAME, "previous") or (name.startswith(".") and name.endswith(".lock"))


def archive_previous(out_dir: Path) -> Path:
    """Move an earlier run's files into OUT/previous/<time>/ (nothing is deleted)."""
    dest = Path(out_dir) / "previous" / time.strftime("%Y%m%dT%H%M%S")
    dest.mkdir(parents=True, exist_ok=True)
    for entry in list(Path(out_dir).iterdir()):
        if not _kept(entry.name):
            shutil.move(str(entry), str(dest / entry.name))
    return dest


def write_json(path: Path, obj: BaseModel | dict | list) -> None:
    """Write JSON so that a crash never leaves a half-written file."""
    data = obj.model_dump(mode="json") if isinstance(obj, BaseModel) else obj
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_text(path: Path, text: str) -> None:
    write_text_atomic(path, text)


def read_model(path: Path, model: type[M]) -> M | None:
    """The record at `path`, or None when it does not exist (the stage has not finished)."""
    if not path.exists():
        return None
    return model.model_validate_json(path.read_text())


@dataclass(frozen=True)
class IdeaDir:
    root: Path

    @property
    def idea(self) -> Path:
        return self.root / "idea.json"

    @property
    def novelty(self) -> Path:
        return self.root / "novelty.json"

    @property
    def notes(self) -> Path:
        return self.root / "notes.txt"

    @property
    def code(self) -> Path:
        return self.root / "code"

    def run(self, index: int) -> Path:
        return self.code / f"run_{index}"

    @property
    def experiments(self) -> Path:
        return self.root / "experiments.json"

    @property
    def plots(self) -> Path:
        return self.root / "plots.json"

    @property
    def paper(self) -> Path:
        return self.root / "paper"

    @property
    def writeup(self) -> Path:
        return self.root / "writeup.json"

    @property
    def review(self) -> Path:
        return self.root / "review.json"

    @property
    def outcome(self) -> Path:
        return self.root / "outcome.json"

    def stage_file(self, stage: str) -> Path:
        return {"novelty": self.novelty, "experiments": self.experiments, "plots": self.plots,
                "writeup": self.writeup, "review": self.review}[stage]


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def ideas(self) -> Path:
        return self.root / "ideas.json"

    @property
    def baseline(self) -> Path:
        return self.root / "baseline"

    def idea(self, name: str) -> IdeaDir:
        return IdeaDir(self.root / check_idea_name(name))
