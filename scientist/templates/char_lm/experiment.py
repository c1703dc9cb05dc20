"""A character-level transformer language model (a small GPT) trained on the Python standard
library's own source code, which exists wherever Python is installed: no download.

Usage: python experiment.py --out_dir run_0 [--seeds 2] [--device auto] [--large] [--smoke]

The corpus is deterministic for a given Python installation: the stdlib's .py files (tests,
site-packages, codec tables and pydoc data excluded), ordered by the SHA-256 of their relative
path, each cut at `max_file_chars`, concatenated up to a fixed character budget; every
`val_every`-th file is held out as the validation split.
Writes <out_dir>/final_info.json ({metric: {"means", "stderrs", "final_info_dict"}}) and
<out_dir>/all_results.json (config, corpus description, per-seed curves and a generated sample).
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import random
import sys
import sysconfig
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    char_budget: int = 1_000_000  # characters of corpus (train + val)
    max_file_chars: int = 20_000  # the first characters of each file, so that no file dominates
    val_every: int = 10  # every 10th file is held out for validation
    block_size: int = 64  # context length in characters
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 96
    dropout: float = 0.0
    batch_size: int = 16
    num_steps: int = 600
    lr: float = 2e-3
    min_lr_frac: float = 0.1  # cosine decay to lr * min_lr_frac
    warmup_steps: int = 50
    weight_decay: float = 0.1
    eval_every: int = 100
    eval_batches: int = 20
    sample_chars: int = 300


# Presets override only the fields they name: a changed Config default applies to all of them.
PRESETS = {
    "default": Config(),  # CPU baseline
    "large": Config(
        char_budget=10_000_000, max_file_chars=200_000, block_size=256, n_layer=6, n_head=6, n_embd=384, dropout=0.2,
        batch_size=64, num_steps=5000, lr=1e-3, eval_every=250, eval_batches=50,
    ),
    "smoke": Config(
        char_budget=50_000, max_file_chars=5_000, block_size=32, n_layer=1, n_embd=32,
        num_steps=20, eval_every=10, eval_batches=2, sample_chars=50,
    ),
}

# Fixed vocabulary, independent of the corpus: newline, printable ASCII, and one unknown symbol.
VOCAB = ["\n"] + [chr(c) for c in range(32, 127)] + ["\ufffd"]
STOI = {ch: i for i, ch in enumerate(VOCAB)}
UNK = len(VOCAB) - 1
# Not source code worth modelling: tests, third-party packages, generated codec tables, pydoc's
# 750k-character string of documentation.
EXCLUDED_DIRS = {
    "site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__", "encodings", "pydoc_data",
}


def stdlib_corpus(char_budget: int, max_file_chars: int, val_every: int) -> tuple[str, str, dict]:
    """(train, val, description): the stdlib's .py files in a fixed order, each cut at `max_file_chars`,
    until `char_budget` characters; every `val_every`-th file goes to the validation split."""
    root = sysconfig.get_paths()["stdlib"]
    rel_paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in EXCLUDED_DIRS]
        for fn in filenames:
            if fn.endswith(".py"):
                rel_paths.append(os.path.relpath(os.path.join(dirpath, fn), root).replace(os.sep, "/"))
    rel_paths.sort(key=lambda p: hashlib.sha256(p.encode()).hexdigest())
    train_parts, val_parts, total, n_used = [], [], 0, 0
    for rel in rel_paths:
        try:
            with open(os.path.join(root, rel), encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        text = text.replace("\t", "    ")
        if not text.strip():
            continue
        text = text[: min(max_file_chars, char_budget - total)] + "\n\n"
        (val_parts if n_used % val_every == val_every - 1 else train_parts).append(text)
        total += len(text)
        n_used += 1
        if total >= char_budget:
            break
    train, val = "".join(train_parts), "".join(val_parts)
    info = {
        "stdlib": root,
        "python": sys.version.split()[0],
        "files_used": n_used,
        "files_available": len(rel_paths),
        "train_chars": len(train),
        "val_chars": len(val),
        "sha256": hashlib.sha256((train + "\0" + val).encode()).hexdigest(),
    }
    return train, val, info


def encode(text: str) -> torch.Tensor:
    return torch.tensor([STOI.get(ch, UNK) for ch in text], dtype=torch.long)


def decode(ids: list[int]) -> str:
    return "".join(VOCAB[i] for i in ids)


class Block(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.n_embd, 4 * cfg.n_embd),
            nn.GELU(),
            nn.Linear(4 * cfg.n_embd, cfg.n_embd),
            nn.Dropout(cfg.dropout),
        )
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.resid_drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (z.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for z in (q, k, v))
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0)
        x = x + self.resid_drop(self.proj(att.transpose(1, 2).reshape(B, T, C)))
        return x + self.mlp(self.ln2(x))


class CharGPT(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.block_size = cfg.block_size
        self.tok = nn.Embedding(len(VOCAB), cfg.n_embd)
        self.pos = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.Sequential(*[Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, len(VOCAB), bias=False)
        self.head.weight = self.tok.weight  # weight tying
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        # Small initial weights (GPT-2): with tied embeddings, PyTorch's N(0, 1) default would make
        # the initial logits huge and slow early training.
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(idx.shape[1], device=idx.device)
        h = self.blocks(self.drop(self.tok(idx) + self.pos(pos)))
        return self.head(self.ln_f(h))

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, n: int, temperature: float, gen: torch.Generator) -> torch.Tensor:
        for _ in range(n):
            logits = self(idx[:, -self.block_size :])[:, -1] / temperature
            probs = F.softmax(logits, dim=-1).cpu()
            nxt = torch.multinomial(probs, 1, generator=gen).to(idx.device)
            idx = torch.cat([idx, nxt], dim=1)
        return idx


def get_batch(data: torch.Tensor, cfg: Config, gen: torch.Generator, device: torch.device):
    ix = torch.randint(len(data) - cfg.block_size - 1, (cfg.batch_size,), generator=gen)
    x = torch.stack([data[i : i + cfg.block_size] for i in ix])
    y = torch.stack([data[i + 1 : i + 1 + cfg.block_size] for i in ix])
    return x.to(device), y.to(device)


@torch.no_grad()
def estimate_loss(model: nn.Module, data: torch.Tensor, cfg: Config, device: torch.device) -> float:
    """Mean loss over `eval_batches` batches at fixed positions, so every evaluation is comparable."""
    model.eval()
    gen = torch.Generator().manual_seed(1234)
    losses = []
    for _ in range(cfg.eval_batches):
        x, y = get_batch(data, cfg, gen, device)
        losses.append(F.cross_entropy(model(x).flatten(0, 1), y.flatten()).item())
    model.train()
    return float(np.mean(losses))


def lr_at(step: int, cfg: Config) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.num_steps - cfg.warmup_steps)
    return cfg.lr * (cfg.min_lr_frac + (1 - cfg.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * progress)))


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def run(cfg: Config, train: torch.Tensor, val: torch.Tensor, seed: int, device: torch.device) -> dict:
    set_seed(seed)
    model = CharGPT(cfg).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, betas=(0.9, 0.99),
    )
    gen = torch.Generator().manual_seed(seed + 1)
    curves = {"step": [], "train_loss": [], "val_loss": []}
    t0 = time.time()
    for step in range(1, cfg.num_steps + 1):
        for group in opt.param_groups:
            group["lr"] = lr_at(step - 1, cfg)
        x, y = get_batch(train, cfg, gen, device)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % cfg.eval_every == 0 or step == cfg.num_steps:
            curves["step"].append(step)
            curves["train_loss"].append(estimate_loss(model, train, cfg, device))
            curves["val_loss"].append(estimate_loss(model, val, cfg, device))
    train_time = time.time() - t0

    model.eval()
    prompt = encode("def ").view(1, -1).to(device)
    t1 = time.time()
    out = model.generate(prompt, cfg.sample_chars, temperature=0.8, gen=torch.Generator().manual_seed(seed))
    gen_time = time.time() - t1
    metrics = {
        "final_train_loss": curves["train_loss"][-1],
        "final_val_loss": curves["val_loss"][-1],
        "best_val_loss": min(curves["val_loss"]),
        "final_val_bpc": curves["val_loss"][-1] / math.log(2),  # bits per character
        "train_time_s": train_time,
        "sample_chars_per_s": cfg.sample_chars / gen_time,
    }
    return {"metrics": metrics, "curves": curves, "sample": decode(out[0].tolist())}


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
    parser.add_argument("--large", action="store_true", help="GPU configuration: 10M characters, 6-layer model")
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
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 matmuls: several times faster, same curves

    train_text, val_text, corpus_info = stdlib_corpus(cfg.char_budget, cfg.max_file_chars, cfg.val_every)
    train, val = encode(train_text), encode(val_text)
    print(f"corpus: {corpus_info['train_chars']} + {corpus_info['val_chars']} (validation) characters "
          f"from {corpus_info['files_used']} stdlib files", flush=True)

    runs = []
    for seed in range(args.seeds):
        runs.append(run(cfg, train, val, seed, device))
        m = runs[-1]["metrics"]
        print(f"seed {seed}: final_val_loss {m['final_val_loss']:.4f}, {m['train_time_s']:.1f} s", flush=True)
    os.makedirs(args.out_dir, exist_ok=True)
    final_info = summarize([r["metrics"] for r in runs])
    with open(os.path.join(args.out_dir, "final_info.json"), "w") as f:
        json.dump(final_info, f, indent=2)
    all_results = {
        "config": dataclasses.asdict(cfg),
        "preset": preset,
        "device": device_name,
        "corpus": corpus_info,
        "seeds": {str(s): r for s, r in enumerate(runs)},
    }
    with open(os.path.join(args.out_dir, "all_results.json"), "w") as f:
        json.dump(all_results, f)
    for name, v in final_info.items():
        print(f"{name}: {v['means']:.4f} +- {v['stderrs']:.4f}")


if __name__ == "__main__":
    main()
