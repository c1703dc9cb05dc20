"""What counts as evidence for a paper's numbers: only what the harness recorded.

For each executed run, when the run ends, the harness copies the run's final_info.json, the
stdout it captured and the experiment.py that ran into `OUT/<idea>/results/run_<i>.json`,
outside the sandbox's reach (`scientist.stages.experiments.record_results`). Nothing else the
experiment wrote (other files under run_*/, `*.log`, a `run_9/` no run produced) is evidence.

Values are the runs' summary values: every metric's mean, stderr and per-seed finals (read by the
one final_info reader, `scientist.templates.final_info`), each tagged with the words of its
metric and run names, so that a number can be matched against the metric the paper names.
Hyper-parameters are the numeric constants of the code that ran, tagged with their names; they
support a number only where the paper names them.
"""
from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

from scientist.records import RunResults

RESULTS_DIR = "results"  # OUT/<idea>/results/run_<i>.json
# Parts of metric names that say nothing about which metric it is.
_GENERIC = {"mean", "means", "stderr", "stderrs", "std", "final", "info", "dict", "value", "values", "avg",
            "metric", "metrics", "result", "results", "seed", "seeds", "run", "runs", "the", "and", "of"}


def name_words(name: str) -> frozenset[str]:
    """Lower-case word parts of a metric, run or variable name (`final_val_acc` -> {val, acc})."""
    parts = re.findall(r"[a-z]+|\d+", re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower())
    return frozenset(p for p in parts if p not in _GENERIC and not p.isdigit())


@dataclass(frozen=True)
class Logged:
    value: float
    words: frozenset[str]  # metric (or variable) name words
    run: str
    kind: Literal["summary", "parameter"]
    name: str
    role: Literal["mean", "stderr", "seed", "parameter"] = "mean"


def _summary_values(record: RunResults) -> list[Logged]:
    from scientist.templates.final_info import read_metrics

    if not record.final_info:
        return []
    try:
        table = read_metrics(record.final_info)
    except ValueError:
        return []
    out = []
    for name, metric in table.metrics.items():
        words = name_words(name)
        values = [(metric.mean, "mean"), *([(metric.stderr, "stderr")] if metric.stderr is not None else []),
                  *((v, "seed") for v in metric.per_seed)]
        out += [Logged(v, words, record.run, "summary", name, role) for v, role in values if math.isfinite(v)]
    return out


def _numeric(node: ast.AST) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _numeric(node.operand)
        return -inner if inner is not None else None
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    return None


def code_parameters(code: str) -> list[tuple[str, float]]:
    """(name, value) for numeric constants bound to a name in the code: assignments, annotated
    fields, keyword arguments, dict entries and argparse defaults."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    found: list[tuple[str, float]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = _numeric(node.value)
            for t in targets:
                name = t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else None
                if name and value is not None:
                    found.append((name, value))
        elif isinstance(node, ast.Call):
            flag = next((a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                         and a.value.startswith("--")), None)
            for kw in node.keywords:
                value = _numeric(kw.value)
                if kw.arg and value is not None:
                    found.append((flag.lstrip("-") if flag and kw.arg == "default" else kw.arg, value))
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                value = _numeric(v)
                if isinstance(k, ast.Constant) and isinstance(k.value, str) and value is not None:
                    found.append((k.value, value))
    return found


class Evidence:
    """The logged values of an idea's runs, for `benchmark.validity.numbers.supported`."""

    def __init__(self, records: Iterable[RunResults]) -> None:
        self.records = list(records)
        self.values: list[Logged] = []
        for record in self.records:
            self.values += _summary_values(record)
            self.values += [Logged(v, name_words(n), record.run, "parameter", n, "parameter")
                            for n, v in code_parameters(record.code) if math.isfinite(v)]
        self.vocabulary = frozenset(w for item in self.values for w in item.words)
        self.runs = frozenset(r.run for r in self.records)

    def __len__(self) -> int:
        return sum(item.kind == "summary" for item in self.values)

    @classmethod
    def from_results_dir(cls, results_dir: Path) -> "Evidence":
        return cls(read_results_dir(results_dir))


def read_results_dir(results_dir: Path) -> list[RunResults]:
    records = []
    for path in sorted(Path(results_dir).glob("run_*.json")):
        if path.is_symlink() or not path.is_file():
            continue  # the harness writes plain files; anything else was planted
        try:
            records.append(RunResults.model_validate_json(path.read_text(encoding="utf-8", errors="replace")))
        except ValueError:
            continue
    return records


def read_idea_folder(code_dir: Path) -> list[RunResults]:
    """Runs of an idea folder in the AI Scientist's layout: `run_*/final_info*.json`, with
    `experiment.py` beside them (hyper-parameters). For checking papers of other systems, whose
    harness left no record of ours."""
    code_dir = Path(code_dir)
    experiment = code_dir / "experiment.py"
    code = experiment.read_text(errors="replace") if experiment.is_file() else ""
    records = []
    for run in sorted(p for p in code_dir.glob("run_*") if p.is_dir()):
        for info_path in sorted(run.glob("final_info*.json")):
            try:
                info = json.loads(info_path.read_text(errors="replace"))
            except (OSError, ValueError):
                continue
            if isinstance(info, dict):
                snapshot = code_dir / f"{run.name}.py"
                records.append(RunResults(run=run.name, final_info=info, source="folder",
                                          code=snapshot.read_text(errors="replace") if snapshot.is_file() else code))
    return records
