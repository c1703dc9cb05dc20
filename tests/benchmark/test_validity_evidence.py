"""Evidence is every number the harness recorded: all datasets and seeds, nested dicts flattened,
no cap that drops a run; hostile records are bounded."""
from __future__ import annotations

import json

from benchmark.validity.evidence import Evidence, RunLog, read_idea_folder
from benchmark.validity.support import trace_results


def test_nested_dicts_and_per_seed_files_are_evidence(tmp_path):
    run = tmp_path / "run_1"
    run.mkdir()
    info = {"enwik8": {"means": {"best_val_loss_mean": 0.9488, "style_consistency_scores": {"mean_consistency": 0.9667}},
                       "stderrs": {"best_val_loss_stderr": 0.0},
                       "final_info_dict": {"best_val_loss": [0.9488],
                                           "style_consistency_scores": [{"mean_consistency": 0.9667}]}}}
    (run / "final_info.json").write_text(json.dumps(info))
    (run / "final_info_enwik8_0.json").write_text(json.dumps({"best_val_loss": 0.9488, "train_time": 991.57}))
    (tmp_path / "run_1.py").write_text("parser.add_argument('--style_weight', type=float, default=0.1)\n")
    ev = Evidence(read_idea_folder(tmp_path))
    names = {(v.name, v.role) for v in ev.results()}
    assert ("enwik8/style_consistency_scores/mean_consistency", "mean") in names  # the old reader dropped it
    assert ("enwik8/train_time", "seed") in names and ("enwik8/best_val_loss", "stderr") in names
    assert any(p.name == "style_weight" and p.value == 0.1 for p in ev.parameters())


def test_a_run_with_many_metrics_keeps_its_evidence_for_named_metrics():
    # 4 datasets x 40 metrics: past the old 64-value cap, which dropped every value of the run
    info = {f"d{k}": {"means": {f"m{i}_mean": i + k / 10 for i in range(40)} | {"step_val_acc_99_mean": 2363.3}}
            for k in range(4)}
    ev = Evidence([RunLog("run_0", info)])
    t = trace_results("\\section{Results}\nThe baseline needs 2363 steps to reach 99\\% validation accuracy.", ev)
    assert {x.text: x.supported for x in t if x.counts} == {"2363": True}


def test_a_hostile_record_is_bounded():
    deep: dict = {"v": 1.0}
    for _ in range(500):
        deep = {"x": deep}
    wide = {"m": {"means": {f"k{i}": float(i) for i in range(300_000)}}}
    ev = Evidence([RunLog("run_0", deep), RunLog("run_1", wide)])
    assert len(ev) <= 200_000 and not any(v.run == "run_0" for v in ev.results())
