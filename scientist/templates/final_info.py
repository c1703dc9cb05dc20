"""A run's `final_info.json`, in either layout, read as one flat table of metrics.

- ours: `{metric: {"means": v, "stderrs": v, "final_info_dict": [one value per seed]}}`;
- the AI Scientist's: `{dataset: {"means": {"<m>_mean": v}, "stderrs": {"<m>_stderr": v},
  "final_info_dict": {"<m>": [per-seed values]}}}`, whose metric `<m>` becomes `<dataset>/<m>`.

Templates vary: `stderrs` or `final_info_dict` may be missing, non-numbers (logs, curves, names)
may sit beside the metrics, and a plain `{metric: number}` appears too. Those are tolerated:
what is not a finite number is left out of the table and listed in `ignored`.
"""
from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, Field


class Metric(BaseModel):
    mean: float
    stderr: float | None = None
    per_seed: list[float] = Field(default_factory=list)


class MetricTable(BaseModel):
    layout: str  # "flat" (ours), "nested" (the AI Scientist's) or "plain" ({metric: number})
    metrics: dict[str, Metric] = Field(default_factory=dict)
    ignored: list[str] = Field(default_factory=list)  # keys that held no number

    def means(self) -> dict[str, float]:
        return {name: m.mean for name, m in self.metrics.items()}


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def _numbers(v: Any) -> list[float] | None:
    if not isinstance(v, list) or not v:
        return None
    out = [_number(x) for x in v]
    return None if any(x is None for x in out) else out  # type: ignore[misc]


def _is_flat_entry(v: Any) -> bool:
    return isinstance(v, dict) and "means" in v and not isinstance(v["means"], dict)


def _is_nested_entry(v: Any) -> bool:
    return isinstance(v, dict) and isinstance(v.get("means"), dict)


def _strip(key: str, suffix: str) -> str:
    return key[: -len(suffix)] if key.endswith(suffix) and len(key) > len(suffix) else key


def _nested(dataset: str, entry: dict[str, Any], table: MetricTable) -> None:
    stderrs = entry.get("stderrs") if isinstance(entry.get("stderrs"), dict) else {}
    per_seed = entry.get("final_info_dict") if isinstance(entry.get("final_info_dict"), dict) else {}
    for key, value in entry["means"].items():
        metric = _strip(str(key), "_mean")
        mean = _number(value)
        if mean is None:
            table.ignored.append(f"{dataset}/means/{key}")
            continue
        stderr = _number(stderrs.get(f"{metric}_stderr", stderrs.get(key)))
        seeds = _numbers(per_seed.get(metric, per_seed.get(key))) or []
        table.metrics[f"{dataset}/{metric}"] = Metric(mean=mean, stderr=stderr, per_seed=seeds)


def read_metrics(info: Any) -> MetricTable:
    """The metrics of a parsed final_info.json (any layout). Raises ValueError when it is not
    a JSON object or holds no number at all."""
    if not isinstance(info, dict) or not info:
        raise ValueError("final_info.json must be a non-empty JSON object")
    values = list(info.values())
    if any(_is_nested_entry(v) for v in values):
        table = MetricTable(layout="nested")
        for dataset, entry in info.items():
            if _is_nested_entry(entry):
                _nested(str(dataset), entry, table)
            else:
                table.ignored.append(str(dataset))
    elif any(_is_flat_entry(v) for v in values):
        table = MetricTable(layout="flat")
        for name, entry in info.items():
            mean = _number(entry.get("means")) if isinstance(entry, dict) else None
            if mean is None:
                table.ignored.append(str(name))
                continue
            table.metrics[str(name)] = Metric(mean=mean, stderr=_number(entry.get("stderrs")),
                                              per_seed=_numbers(entry.get("final_info_dict")) or [])
    else:
        table = MetricTable(layout="plain")
        for name, value in info.items():
            mean = _number(value)
            if mean is None:
                table.ignored.append(str(name))
            else:
                table.metrics[str(name)] = Metric(mean=mean)
    if not table.metrics:
        raise ValueError("final_info.json holds no numeric metric"
                         + (f" (keys without numbers: {', '.join(table.ignored[:5])})" if table.ignored else ""))
    return table


def metric_means(info: Any) -> dict[str, float] | None:
    """`{metric: mean}` with `<dataset>/<metric>` names for nested results; None if unreadable."""
    try:
        return read_metrics(info).means()
    except ValueError:
        return None
