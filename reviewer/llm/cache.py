"""On-disk response cache keyed by the full request, so a repeated evaluation makes no calls.

Only replies that were used are stored (see `ModelClient.accept`); an entry that cannot be read
(cut off, edited, from another version) is moved aside with a warning and the call is made again.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from reviewer.atomic_file import write_text_atomic

log = logging.getLogger(__name__)


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
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            return self._corrupt(path, f"{type(err).__name__}: {err}")
        if not (isinstance(entry, dict) and isinstance(entry.get("text"), str)
                and isinstance(entry.get("usage"), dict) and isinstance(entry["usage"].get("model"), str)):
            return self._corrupt(path, "not a cached reply")
        return entry

    def _corrupt(self, path: Path, why: str) -> None:
        log.warning("response cache: ignoring unreadable entry %s (%s); the call is made again", path, why)
        try:
            path.replace(path.with_suffix(".corrupt"))
        except OSError:
            pass
        return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        # Atomic: a crash mid-write never leaves a truncated entry. A cache that cannot be written
        # (disk full, read-only) costs a repeated call later, never the reply in hand.
        try:
            write_text_atomic(self._path(key), json.dumps(value, ensure_ascii=False))
        except OSError as err:
            log.warning("response cache: could not store a reply in %s (%s)", self.directory, err)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
