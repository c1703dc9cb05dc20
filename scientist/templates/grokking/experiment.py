"""Grokking on modular arithmetic: a small transformer learns `a OP b (mod p)` from half of all
pairs; validation accuracy jumps long after training accuracy saturates (Power et al., 2022).

Usage: python experiment.py --out_dir run_0 [--seeds 3] [--device auto] [--large] [--smoke]

Writes <out_dir>/final_info.json ({metric: {"means", "stderrs", "final_info_dict"}}) and
<out_dir>/all_results.json (config plus per-seed training curves, read by plot.py).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    operation: str = "x_plus_y"  # x_plus_y | x_minus_y | x_div_y | x_times_y
    p: int = 59  # prime modulus
    train_frac: float = 0.5
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    dropout: float = 0.0
    batch_size: int = 128
    num_steps: int = 1500
    lr: float = 3e-3
    weight_decay: float = 1.0
    warmup_steps: int = 50
    eval_every: int = 50


# Presets override only the fields they name: a changed Config default applies to all of them.
PRESETS = {
    "default": Config(),  # CPU baseline: about a minute of one core for 2 seeds
    "large": Config(p=97, d_model=128, n_layers=2, batch_size=512, lr=1e-3, num_steps=7500, eval_every=50),
    "smoke": Config(p=23, d_model=32, n_layers=1, num_steps=40, eval_every=10),
}


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def make_dataset(cfg: Config, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """All (a, b) pairs as token sequences [a, op, b, =] and their answers, split by `train_frac`."""
    p = cfg.p
    pairs = []
    for a in range(p):
        for b in range(p):
            if cfg.operation == "x_plus_y":
                c = (a + b) % p
            elif cfg.operation == "x_minus_y":
                c = (a - b) % p
            elif cfg.operation == "x_times_y":
                c = (a * b) % p
            elif cfg.operation == "x_div_y":
                if b == 0:
                    continue
                c = (a * pow(b, p - 2, p)) % p
            else:
                raise ValueError(f"unknown operation {cfg.operation!r}")
            pairs.append((a, b, c))
    data = torch.tensor(pairs, dtype=torch.long)
    op_token, eq_token = p, p + 1
    x = torch.stack(
        [data[:, 0], torch.full_like(data[:, 0], op_token), data[:, 1], torch.full_like(data[:, 0], eq_token)], dim=1
    )
    y = data[:, 2]
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_train = int(cfg.train_frac * len(x))
    tr, va = perm[:n_train], perm[n_train:]
    return x[tr], y[tr], x[va], y[va]


class Transformer(nn.Module):
    def __init__(self, cfg: Config, vocab_size: int, seq_len: int = 4):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, cfg.d_model)
        self.pos = nn.Embedding(seq_len, cfg.d_model)
        layer = nn.TransformerEncoderLayer(
            cfg.d_model, cfg.n_heads, 4 * cfg.d_model, cfg.dropout, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.p)
        mask = torch.triu(torch.full((seq_len, seq_len), float("-inf")), diagonal=1)
        self.register_buffer("causal_mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(x.shape[1], device=x.device)
        h = self.tok(x) + self.pos(pos)
        h = self.blocks(h, mask=self.causal_mask)
        return self.head(self.norm(h[:, -1]))  # predict the answer from the "=" position


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 4096) -> tuple[float, float]:
    model.eval()
    loss_sum, correct = 0.0, 0
    for i in range(0, len(x), batch):
        logits = model(x[i : i + batch])
        loss_sum += F.cross_entropy(logits, y[i : i + batch], reduction="sum").item()
        correct += (logits.argmax(-1) == y[i : i + batch]).sum().item()
    model.train()
    return loss_sum / len(x), correct / len(x)


def run(cfg: Config, seed: int, device: torch.device) -> dict:
    set_seed(seed)
    xtr, ytr, xva, yva = (t.to(device) for t in make_dataset(cfg, seed))
    model = Transformer(cfg, vocab_size=cfg.p + 2).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / cfg.warmup_steps))
    gen = torch.Generator(device="cpu").manual_seed(seed + 1)

    curves = {"step": [], "train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    step_val_acc_99 = cfg.num_steps  # not reached: report the budget
    t0 = time.time()
    for step in range(1, cfg.num_steps + 1):
        idx = torch.randint(len(xtr), (min(cfg.batch_size, len(xtr)),), generator=gen).to(device)
        loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % cfg.eval_every == 0 or step == cfg.num_steps:
            tr_loss, tr_acc = evaluate(model, xtr, ytr)
            va_loss, va_acc = evaluate(model, xva, yva)
            for k, v in zip(curves, (step, tr_loss, tr_acc, va_loss, va_acc)):
                curves[k].append(v)
            if va_acc >= 0.99 and step_val_acc_99 == cfg.num_steps:
                step_val_acc_99 = step
    train_time = time.time() - t0
    metrics = {
        "final_train_loss": curves["train_loss"][-1],
        "final_val_loss": curves["val_loss"][-1],
        "final_train_acc": curves["train_acc"][-1],
        "final_val_acc": curves["val_acc"][-1],
        "step_val_acc_99": step_val_acc_99,
        "train_time_s": train_time,
    }
    return {"metrics": metrics, "curves": curves}


def summarize(per_seed: list[dict]) -> dict:
    """{metric: {"means", "stderrs", "final_info_dict"}} over seeds (stderr = sample std / sqrt(n))."""
    out = {}
    for name in per_seed[0]:
        vals = [float(m[name]) for m in per_seed]
        stderr = float(np.std(vals, ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else 0.0
        out[name] = {"means": float(np.mean(vals)), "stderrs": stderr, "final_info_dict": vals}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out_dir", required=True)
    parser.add_argument("--seeds", type=int, default=2, help="number of seeds (0, 1, ..., n-1)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--large", action="store_true", help="GPU configuration: larger p, model and budget")
    parser.add_argument("--smoke", action="store_true", help="tiny configuration to check the code runs")
    parser.add_argument("--num_steps", type=int, default=None, help="override the number of training steps")
    parser.add_argument(
        "--num_threads", type=int, default=1,
        help="CPU threads (0: torch's default); tiny models run fastest on one, above all on a busy machine",
    )
    args = parser.parse_args()

    preset = "smoke" if args.smoke else "large" if args.large else "default"
    cfg = dataclasses.replace(PRESETS[preset])
    if args.num_steps is not None:
        cfg.num_steps = args.num_steps
    device_name = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    device = torch.device(device_name)
    if device.type == "cpu" and args.num_threads > 0:
        torch.set_num_threads(args.num_threads)

    runs = []
    for seed in range(args.seeds):
        runs.append(run(cfg, seed, device))
        m = runs[-1]["metrics"]
        print(f"seed {seed}: final_val_acc {m['final_val_acc']:.4f}, step_val_acc_99 {m['step_val_acc_99']}, "
              f"{m['train_time_s']:.1f} s", flush=True)
    os.makedirs(args.out_dir, exist_ok=True)
    final_info = summarize([r["metrics"] for r in runs])
    with open(os.path.join(args.out_dir, "final_info.json"), "w") as f:
        json.dump(final_info, f, indent=2)
    all_results = {
        "config": dataclasses.asdict(cfg),
        "preset": preset,
        "device": device_name,
        "seeds": {str(s): r for s, r in enumerate(runs)},
    }
    with open(os.path.join(args.out_dir, "all_results.json"), "w") as f:
        json.dump(all_results, f)
    for name, v in final_info.items():
        print(f"{name}: {v['means']:.4f} +- {v['stderrs']:.4f}")


if __name__ == "__main__":
    main()
