"""On-disk response cache keyed by the full request, so a repeated evaluation makes no calls."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from reviewer.atomic_file import write_text_atomic


def default_cache_dir() -> Path:
    env = os.environ.get("BENCH_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ai-scientist-bench" / "llm"


def request_key(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        # Atomic: a crash mid-write never leaves a truncated entry that poisons later runs.
        write_text_atomic(self._path(key), json.dumps(value, ensure_ascii=False))
