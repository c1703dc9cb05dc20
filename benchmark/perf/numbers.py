"""How often `numbers_match` accepts invented numbers, and how often honest ones, on each
template's default baseline logs.

    bench template baseline grokking --out runs/baselines/grokking      # once per template
    python -m benchmark.perf.numbers [--baselines runs/baselines] [--n 2000] [--json OUT]

Evidence is what the harness records for run_0 (final_info.json, captured stdout, experiment.py).
Invented: random numbers in four formats (2 decimals in [0, 3], 3 decimals in [0, 1], 1-decimal
percentages, 4 decimals in [0, 1]), quoted in a sentence that names one of the template's metrics
(the way a paper states a result) and, separately, in a sentence that names none. Honest: every
summary value of final_info (mean, stderr, per-seed final of every metric) at 2, 3 and 4 decimals
(scientific notation below 0.01) and, for values in [0, 1], as a 1-decimal percentage, in a
sentence naming its metric, and as a table cell under a header naming it; each mean (with its
stderr after a ±) also in a sentence naming no metric. Targets: invented
<= 5%, honest >= 98%.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from benchmark.validity.evidence import Evidence, name_words
from benchmark.validity.numbers import quoted_claims, supported
from scientist.records import RunResults
from scientist.templates.final_info import read_metrics

FORMATS = {  # name -> (low, high, decimals, percent)
    "2 decimals in [0, 3]": (0.0, 3.0, 2, False),
    "3 decimals in [0, 1]": (0.0, 1.0, 3, False),
    "1-decimal percentages": (0.0, 100.0, 1, True),
    "4 decimals in [0, 1]": (0.0, 1.0, 4, False),
}


def baseline_record(folder: Path) -> RunResults:
    info = json.loads((folder / "run_0" / "final_info.json").read_text())
    stdout = ""
    record = folder / "baseline.json"
    if record.is_file():
        stdout = (json.loads(record.read_text()).get("experiment") or {}).get("stdout_tail", "")
    code = (folder / "experiment.py").read_text() if (folder / "experiment.py").is_file() else ""
    return RunResults(run="run_0", final_info=info, stdout=stdout, code=code)


def metric_phrase(name: str) -> str:
    return " ".join(sorted(name_words(name), key=name.lower().find)) or name


def accepted(sentence: str, evidence: Evidence) -> bool:
    quoted = quoted_claims(sentence, min_integer=-1)
    return bool(quoted) and all(supported(q, evidence) for q in quoted)


def invented_rates(evidence: Evidence, metrics: list[str], n: int, rng: random.Random) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for fmt, (low, high, decimals, percent) in FORMATS.items():
        named = unnamed = 0
        for _ in range(n):
            text = f"{rng.uniform(low, high):.{decimals}f}" + ("\\%" if percent else "")
            named += accepted(f"The {metric_phrase(rng.choice(metrics))} is {text}.", evidence)
            unnamed += accepted(f"Our method obtains {text} in this setting.", evidence)
        out[fmt] = {"named": named / n, "unnamed": unnamed / n}
    return out


def honest_claims(info: dict) -> list[str]:
    claims = []
    for name, metric in read_metrics(info).metrics.items():
        phrase = metric_phrase(name)
        values = [metric.mean, *([metric.stderr] if metric.stderr is not None else []), *metric.per_seed]
        for v in values:
            written = [f"{v:.{d}f}" if abs(v) >= 0.01 or v == 0 else f"{v:.{d - 2}e}".replace("e", "\\times 10^{") + "}"
                       for d in (2, 3, 4)]
            written = [w if "times" not in w else "$" + w.replace("{-0", "{-").replace("{+0", "{") + "$"
                       for w in written]
            if 0 <= v <= 1:
                written.append(f"{100 * v:.1f}\\%")
            for w in written:
                claims.append(f"The {phrase} is {w}.")
                if v == metric.mean:  # a headline number, the metric left to the reader's context
                    err = f" $\\pm$ {metric.stderr:.{max(2, len(w.split('.')[-1]))}f}" if metric.stderr is not None \
                        and "times" not in w and "%" not in w else ""
                    claims.append(f"Our method obtains {w}{err} in this setting.")
                claims.append(f"\\begin{{tabular}}{{lc}} Run & {phrase} \\\\ baseline & {w} \\\\ \\end{{tabular}}")
    return claims


def measure(folder: Path, n: int, seed: int = 0) -> dict:
    record = baseline_record(folder)
    evidence = Evidence([record])
    metrics = list(read_metrics(record.final_info).metrics)
    claims = honest_claims(record.final_info)
    honest = sum(accepted(c, evidence) for c in claims) / len(claims)
    rejected = [c for c in claims if not accepted(c, evidence)][:5]
    return {"template": folder.name, "metrics": len(metrics), "summary_values": len(evidence),
            "invented": invented_rates(evidence, metrics, n, random.Random(seed)),
            "honest": honest, "honest_claims": len(claims), "honest_rejected_examples": rejected}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baselines", type=Path, default=Path("runs/baselines"),
                        help="folder holding one `bench template baseline` output per template")
    parser.add_argument("--n", type=int, default=2000, help="invented numbers per format")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    folders = sorted(p for p in args.baselines.iterdir() if (p / "run_0" / "final_info.json").is_file()) \
        if args.baselines.is_dir() else []
    if not folders:
        raise SystemExit(f"no baseline under {args.baselines}: run `bench template baseline NAME --out "
                         f"{args.baselines}/NAME` for each template first")
    results = [measure(f, args.n) for f in folders]
    worst_invented = 0.0
    for r in results:
        print(f"\n{r['template']}: {r['metrics']} metrics, {r['summary_values']} summary values in final_info")
        print(f"  {'invented number format':<24} {'metric named':>13} {'no metric named':>16}")
        for fmt, rate in r["invented"].items():
            print(f"  {fmt:<24} {rate['named']:>12.1%} {rate['unnamed']:>16.1%}")
            worst_invented = max(worst_invented, rate["named"], rate["unnamed"])
        print(f"  honest numbers accepted: {r['honest']:.1%} of {r['honest_claims']}")
        for example in r["honest_rejected_examples"]:
            print(f"    rejected: {example}")
    worst_honest = min(r["honest"] for r in results)
    print(f"\ninvented acceptance, worst format, phrasing and template: {worst_invented:.1%} (target <= 5%)")
    print(f"honest acceptance, worst template: {worst_honest:.1%} (target >= 98%)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if worst_invented <= 0.05 and worst_honest >= 0.98 else 1


if __name__ == "__main__":
    raise SystemExit(main())
