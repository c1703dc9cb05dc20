"""What counts as evidence for a paper's numbers: only what the harness recorded of each run.

For each executed run, when it ends, the harness copies the run's final_info.json, the stdout it
captured and the experiment.py that ran into `OUT/<idea>/results/run_<i>.json`, outside the
sandbox's reach (`scientist.stages.experiments.record_results`). Nothing else the experiment
wrote (other files under run_*/, `*.log`, a `run_9/` no run produced) is evidence.

Every number of every record is kept, whatever the layout: all metrics of all datasets and
seeds, nested dicts flattened (`shakespeare_char/style_consistency_scores/mean_consistency`),
the per-seed `final_info_<dataset>_<seed>.json` files of an AI-Scientist idea folder, no cap on
how many a run logs. Each value knows its run, its metric, its dataset and its role (mean,
stderr, one seed's value). The code that ran gives the run's settings (argparse defaults,
constants, keyword arguments) and its command line gives the overrides.
"""
from __future__ import annotations

import ast
import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal

from scientist.records import RunResults

RESULTS_DIR = "results"  # OUT/<idea>/results/run_<i>.json
MAX_RECORD_BYTES = 8 * 1024 * 1024  # a results file or final_info written in a folder: read at most this
# Parts of metric names that say nothing about which metric it is.
_GENERIC = {"mean", "means", "stderr", "stderrs", "std", "final", "info", "dict", "value", "values", "avg",
            "metric", "metrics", "result", "results", "seed", "seeds", "run", "runs", "the", "and", "of"}
# Where a value sits in a final_info, by the key that holds it.
_ROLE_KEYS = {"means": "mean", "mean": "mean", "stderrs": "stderr", "stderr": "stderr", "final_info_dict": "seed",
              "std": "std", "stds": "std"}
_ROLE_SUFFIX = re.compile(r"_(mean|stderr|std)$")
_SEED_FILE = re.compile(r"final_info_(?P<dataset>.+?)_(?P<seed>\d+)\.json$")

Role = Literal["mean", "stderr", "std", "seed", "parameter"]


def name_words(name: str) -> frozenset[str]:
    """Lower-case word parts of a metric, run or variable name (`final_val_acc` -> {val, acc})."""
    parts = re.findall(r"[a-z]+|\d+", re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower())
    return frozenset(p for p in parts if p not in _GENERIC and not p.isdigit())


@dataclass(frozen=True)
class Logged:
    value: float
    words: frozenset[str]  # metric (or variable) name words, dataset left out
    run: str
    kind: Literal["summary", "parameter"]
    name: str  # the metric's key: "<dataset>/<metric>" where the log has datasets
    role: Role = "mean"
    dataset: str = ""
    seed: int | None = None

    @property
    def metric(self) -> str:
        """The metric without its dataset: what "another metric of the same run" differs in."""
        return self.name[len(self.dataset) + 1:] if self.dataset and self.name.startswith(self.dataset + "/") \
            else self.name


@dataclass
class RunLog:
    """One run as the evidence sees it: its recorded final_info (and per-seed files), its code,
    its command line and the name the run notes give it."""
    run: str
    final_info: Any = None
    seed_files: dict[str, Any] = field(default_factory=dict)  # file name -> parsed JSON
    code: str = ""
    stdout: str = ""
    command: list[str] = field(default_factory=list)


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


MAX_DEPTH = 12  # final_info nesting we read (ours: 1-4); a record nested deeper was not written by a template
MAX_VALUES = 200_000  # numbers read per record: bounds the work a hostile record can cause


def _flatten(node: Any, path: list[str], out: list[tuple[list[str], float, int | None]],
             seed: int | None = None) -> None:
    """(path, value, seed index) for every number under `node`. Lists are per-seed values only
    under a per-seed key (final_info_dict): elsewhere a list is a curve, not a result."""
    if len(path) > MAX_DEPTH or len(out) >= MAX_VALUES:
        return
    value = _number(node)
    if value is not None:
        out.append((path, value, seed))
    elif isinstance(node, dict):
        for k, v in node.items():
            _flatten(v, path + [str(k)], out, seed)
    elif isinstance(node, list) and "final_info_dict" in path and seed is None:
        for i, v in enumerate(node):
            _flatten(v, path, out, i)


def _entry(run: str, path: list[str], value: float, seed: int | None, dataset_hint: str = "") -> Logged:
    role: Role = "seed" if seed is not None else "mean"
    parts = []
    for p in path:
        if p in _ROLE_KEYS:
            role = "seed" if seed is not None else _ROLE_KEYS[p]  # type: ignore[assignment]
            continue
        m = _ROLE_SUFFIX.search(p)
        if m and len(p) > len(m.group(0)):
            role = m.group(1) if seed is None else "seed"  # type: ignore[assignment]
            p = p[:m.start()]
        parts.append(p)
    # nested layout: {dataset: {"means": {...}}}: the first key is the dataset
    dataset = dataset_hint or (parts[0] if len(path) > 1 and path[1] in _ROLE_KEYS and len(parts) > 1 else "")
    if dataset_hint:
        parts = [dataset_hint] + parts
    name = "/".join(parts)
    metric_parts = parts[1:] if dataset else parts
    words = frozenset().union(*(name_words(p) for p in metric_parts)) if metric_parts else frozenset()
    return Logged(value, words, run, "summary", name, role, dataset, seed)


def summary_values(log: RunLog) -> list[Logged]:
    """Every number the run's recorded results hold, flattened, with its role."""
    found: list[tuple[list[str], float, int | None]] = []
    if isinstance(log.final_info, (dict, list)):
        _flatten(log.final_info, [], found)
    out = [_entry(log.run, path, value, seed) for path, value, seed in found if path]
    for name, info in sorted(log.seed_files.items()):
        m = _SEED_FILE.search(name)
        if not m or not isinstance(info, dict):
            continue
        flat: list[tuple[list[str], float, int | None]] = []
        _flatten(info, [], flat)
        for path, value, _ in flat:
            e = _entry(log.run, path, value, None, dataset_hint=m.group("dataset"))
            out.append(Logged(value, e.words, log.run, "summary", e.name, "seed", e.dataset, int(m.group("seed"))))
    return out


# ---- settings: the code that ran and its command line --------------------------------------
def _numeric(node: ast.AST) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _numeric(node.operand)
        return -inner if inner is not None else None
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Pow, ast.Div)):
        a, b = _numeric(node.left), _numeric(node.right)
        if a is not None and b is not None:
            try:
                return a * b if isinstance(node.op, ast.Mult) else a ** b if isinstance(node.op, ast.Pow) else a / b
            except (OverflowError, ZeroDivisionError):
                return None
    return None


def code_parameters(code: str) -> list[tuple[str, float]]:
    """(name, value) for numeric constants bound to a name in the code: assignments, annotated
    fields, keyword arguments, dict entries, argparse defaults, function defaults, and the
    numbers in lists bound to a name (`for p in [0.15, 0.3]`)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    found: list[tuple[str, float]] = []

    def bind(name: str | None, node: ast.AST | None) -> None:
        if not name or node is None:
            return
        value = _numeric(node)
        if value is not None:
            found.append((name, value))
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            found.extend((name, v) for v in map(_numeric, node.elts) if v is not None)

    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                bind(t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else None, node.value)
        elif isinstance(node, ast.Call):
            flag = next((a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                         and a.value.startswith("--")), None)
            for kw in node.keywords:
                bind(flag.lstrip("-") if flag and kw.arg == "default" else kw.arg, kw.value)
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    bind(k.value, v)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.args[len(node.args.args) - len(node.args.defaults):]
            for a, d in zip(args, node.args.defaults):
                bind(a.arg, d)
            for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults):
                bind(a.arg, d)
        elif isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            bind(node.target.id, node.iter)
        elif isinstance(node, ast.Compare):  # `if val_acc >= 0.99`: a threshold of the method
            left = node.left
            name = left.id if isinstance(left, ast.Name) else left.attr if isinstance(left, ast.Attribute) else None
            for c in node.comparators:
                bind(name, c)
    return found


def command_parameters(command: list[str]) -> list[tuple[str, float]]:
    """(flag, value) of `--flag value` / `--flag=value` on the run's command line."""
    out = []
    for i, arg in enumerate(command):
        if not arg.startswith("--"):
            continue
        name, _, value = arg[2:].partition("=")
        if not value and i + 1 < len(command):
            value = command[i + 1]
        try:
            out.append((name, float(value)))
        except ValueError:
            continue
    return out


class Evidence:
    """The logged values of an idea's runs, and the settings of the code that produced them."""

    def __init__(self, records: Iterable[RunResults | RunLog]) -> None:
        self.logs = [r if isinstance(r, RunLog) else from_record(r) for r in records]
        self.values: list[Logged] = []
        for log in self.logs:
            self.values += summary_values(log)
            params = code_parameters(log.code) + command_parameters(log.command)
            self.values += [Logged(v, name_words(n), log.run, "parameter", n, "parameter")
                            for n, v in params if math.isfinite(v)]
        self.vocabulary = frozenset(w for item in self.values for w in item.words)
        self.runs = frozenset(r.run for r in self.logs)
        self.datasets = frozenset(v.dataset for v in self.values if v.dataset)

    def __len__(self) -> int:
        return sum(item.kind == "summary" for item in self.values)

    def results(self) -> list[Logged]:
        return [v for v in self.values if v.kind == "summary"]

    def parameters(self) -> list[Logged]:
        return [v for v in self.values if v.kind == "parameter"]

    @classmethod
    def from_results_dir(cls, results_dir: Path) -> "Evidence":
        return cls(read_results_dir(results_dir))


def from_record(record: RunResults, command: list[str] | None = None) -> RunLog:
    return RunLog(run=record.run, final_info=record.final_info, code=record.code, stdout=record.stdout,
                  command=list(command or []))


def _read_capped(path: Path) -> str | None:
    """A plain file's text, at most MAX_RECORD_BYTES; None for a link, a special file or an error."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_RECORD_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def read_results_dir(results_dir: Path) -> list[RunLog]:
    """The harness's records of an idea's runs, with the command line experiments.json names."""
    results_dir = Path(results_dir)
    command: list[str] = []
    experiments = _read_capped(results_dir.parent / "experiments.json")
    if experiments:
        try:
            raw = json.loads(experiments).get("command") or []
            command = [str(a) for a in raw] if isinstance(raw, list) else shlex.split(str(raw))
        except (ValueError, AttributeError):
            command = []
    records = []
    for path in sorted(results_dir.glob("run_*.json")):
        text = _read_capped(path)  # the harness writes plain files; anything else was planted
        if text is None:
            continue
        try:
            records.append(from_record(RunResults.model_validate_json(text), command))
        except ValueError:
            continue
    return records


def read_idea_folder(code_dir: Path) -> list[RunLog]:
    """Runs of an idea folder in the AI Scientist's layout: `run_*/final_info.json` with its
    per-seed `final_info_<dataset>_<seed>.json`, and `run_N.py` (else `experiment.py`) beside
    them. For checking papers of other systems, whose harness left no record of ours."""
    code_dir = Path(code_dir)
    code = _read_capped(code_dir / "experiment.py") or ""
    records = []
    for run in sorted(p for p in code_dir.glob("run_*") if p.is_dir() and not p.is_symlink()):
        main, seeds = None, {}
        for info_path in sorted(run.glob("final_info*.json")):
            text = _read_capped(info_path)
            try:
                info = json.loads(text) if text else None
            except ValueError:
                continue
            if info_path.name == "final_info.json":
                main = info
            elif isinstance(info, dict):
                seeds[info_path.name] = info
        if main is None and not seeds:
            continue
        snapshot = _read_capped(code_dir / f"{run.name}.py")
        records.append(RunLog(run=run.name, final_info=main, seed_files=seeds,
                              code=snapshot if snapshot is not None else code))
    return records
