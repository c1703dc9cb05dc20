"""Cache of what `bench reviewer eval` derives from the paper texts alone: the label-leak audit and
the text-baseline rows. Both cost most of an evaluation of recorded reviews (anonymizing every paper,
fitting TF-IDF models) and depend only on the papers, their labels and the settings, so they are
kept under a key made of

- the dataset's content: every rated paper's id, decision and ratings, and the bytes of its file;
- the settings: resamples, seed, refits, which parts were asked for;
- the code that computes them: the bytes of the modules involved (an edit to the anonymizer or a
  metric invalidates every entry, so a cached figure is never one the current code would not give).

Entries live in the response cache's folder (`$BENCH_CACHE_DIR/eval`, default
`~/.cache/ai-scientist-bench/llm/eval`); `BENCH_NO_CACHE=1` or `--no-cache` bypasses them. An entry
that cannot be read is ignored and recomputed.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reviewer.eval.dataset import DatasetError, ReviewerDataset

log = logging.getLogger(__name__)

FORMAT = "ai-scientist-bench/text-rows/1"
# The modules whose code decides the cached figures.
_CODE = ("reviewer/anonymize.py", "reviewer/eval/audit.py", "reviewer/eval/text_baseline.py",
         "reviewer/eval/metrics.py", "reviewer/eval/bootstrap.py", "reviewer/eval/evaluation.py",
         "reviewer/eval/dataset.py", "reviewer/paper_text.py", "reviewer/eval/text_rows_cache.py")
_ROOT = Path(__file__).resolve().parents[2]


def default_dir() -> Path:
    from reviewer.llm.cache import default_cache_dir

    return default_cache_dir() / "eval"


def paper_files(papers_dir: Path, ids: Sequence[str]) -> list[Path]:
    """The file each rated paper's text is read from (as `read_paper_text` picks it)."""
    files = []
    for pid in ids:
        for suffix in (".txt", ".md", ".pdf"):
            candidate = Path(papers_dir) / f"{pid}{suffix}"
            if candidate.is_file():
                files.append(candidate)
                break
        else:
            raise DatasetError(f"{papers_dir}: no text or PDF for paper {pid}")
    return files


def _code_digest() -> str:
    digest = hashlib.sha256()
    for name in _CODE:
        path = _ROOT / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"missing")
    return digest.hexdigest()


def text_rows_key(dataset: ReviewerDataset, files: Sequence[Path], **settings: object) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": FORMAT, "code": _code_digest(), **settings}, sort_keys=True).encode())
    for paper, path in zip(dataset.papers, files):
        digest.update(json.dumps([paper.paper_id, paper.decision, list(paper.ratings), path.suffix]).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _row_to_json(row) -> dict:  # noqa: ANN001 (ScoredRow)
    def arr(a):
        return None if a is None else np.asarray(a).tolist()

    return {"name": row.name, "label": row.label, "kind": row.kind, "notes": row.notes,
            "ci_refit": row.ci_refit, "ci_method": row.ci_method,
            "metrics": {"n": row.metrics.n, "values": row.metrics.values,
                        "ci": {k: list(v) for k, v in row.metrics.ci.items()},
                        "undefined_ci": row.metrics.undefined_ci},
            "y": arr(row.y), "score": arr(row.score), "rating": arr(row.rating)}


def _row_from_json(data: dict):
    from reviewer.eval.evaluation import ScoredRow
    from reviewer.eval.metrics import MetricSet

    m = data["metrics"]
    metrics = MetricSet(n=int(m["n"]), values={k: _num(v) for k, v in m["values"].items()},
                        ci={k: (_num(v[0]), _num(v[1])) for k, v in m["ci"].items()},
                        undefined_ci=dict(m.get("undefined_ci") or {}))

    def arr(a, dtype):
        return None if a is None else np.asarray([_num(v) for v in a], dtype=dtype)

    return ScoredRow(data["name"], data["label"], data["kind"], metrics, y=arr(data["y"], int),
                     score=arr(data["score"], float), rating=arr(data["rating"], float), notes=list(data["notes"]),
                     ci_refit=data["ci_refit"], ci_method=data["ci_method"])


def _num(value) -> float:  # noqa: ANN001
    return float("nan") if value is None else float(value)


def json_safe(value):  # noqa: ANN001
    """NaN as null: the cache file is strict JSON."""
    if isinstance(value, float):
        return None if not np.isfinite(value) else value
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return json_safe(value.item())
    return value


class TextRowsCache:
    def __init__(self, directory: Path | None = None) -> None:
        from reviewer.llm.client import cache_disabled_by_env

        self.directory = Path(directory) if directory else default_dir()
        self.enabled = not cache_disabled_by_env()

    def _path(self, key: str) -> Path:
        return self.directory / f"text_rows_{key}.json"

    def get(self, key: str) -> tuple[dict | None, list] | None:
        if not self.enabled:
            return None
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("key") != key:
                raise ValueError("not an entry of this key")
            rows = [_row_from_json(r) for r in data["rows"]]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.warning("text-rows cache: ignoring unreadable entry %s (%s); recomputing", path, err)
            return None
        log.info("audit and text baseline read from the cache (%s)", path)
        return data["audit"], rows

    def put(self, key: str, audit: dict | None, rows: Sequence) -> None:
        if not self.enabled:
            return
        from reviewer.atomic_file import write_text_atomic

        entry = {"format": FORMAT, "key": key, "audit": audit, "rows": [_row_to_json(r) for r in rows]}
        try:
            write_text_atomic(self._path(key), json.dumps(json_safe(entry), allow_nan=False))
        except OSError as err:  # a cache that cannot be written costs time later, never the result
            log.warning("text-rows cache: could not store %s (%s)", self._path(key), err)
