"""A small denoising diffusion model (DDPM, Ho et al. 2020) on synthetic 2D point clouds: an MLP
with sinusoidal embeddings predicts the noise added to a point at each of T timesteps.

Usage: python experiment.py --out_dir run_0 [--seeds 2] [--device auto] [--large] [--smoke]

Writes <out_dir>/final_info.json ({metric: {"means", "stderrs", "final_info_dict"}}) and
<out_dir>/all_results.json (config, per-seed loss curves, generated samples of the first seed).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    datasets: list[str] = field(default_factory=lambda: ["circle", "moons", "spiral", "eight_gaussians"])
    n_train: int = 8000  # points per dataset
    n_eval: int = 2000  # held-out points (eval loss) and generated points (KL)
    num_timesteps: int = 100
    beta_start: float = 1e-3
    beta_end: float = 0.2  # linear schedule; alpha_bar at T is about 5e-5, i.e. pure noise
    embedding_dim: int = 64  # sinusoidal embedding of x, y and t each
    hidden_size: int = 128
    hidden_layers: int = 3
    batch_size: int = 256
    num_steps: int = 1000
    lr: float = 1e-3
    log_every: int = 50
    knn_k: int = 5  # k of the k-nearest-neighbour KL estimator


# Presets override only the fields they name: a changed Config default applies to all of them.
PRESETS = {
    "default": Config(),  # CPU baseline: about 45 s of one core for 2 seeds
    "large": Config(n_train=50000, n_eval=10000, embedding_dim=128, hidden_size=256, num_steps=20000),
    "smoke": Config(n_train=512, n_eval=256, num_timesteps=20, hidden_size=32, num_steps=30, log_every=10),
}


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def sample_dataset(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points of a named 2D distribution, roughly within [-2, 2]^2."""
    if name == "circle":
        theta = rng.uniform(0, 2 * np.pi, n)
        r = 1.0 + 0.05 * rng.standard_normal(n)
        x = np.stack([r * np.cos(theta), r * np.sin(theta)], 1)
    elif name == "moons":
        upper = rng.random(n) < 0.5
        theta = rng.uniform(0, np.pi, n)
        x = np.where(
            upper[:, None],
            np.stack([np.cos(theta), np.sin(theta)], 1),
            np.stack([1 - np.cos(theta), 0.5 - np.sin(theta)], 1),
        )
        x = (x - np.array([0.5, 0.25])) * 1.2 + 0.06 * rng.standard_normal((n, 2))
    elif name == "spiral":
        t = np.sqrt(rng.random(n)) * 3 * np.pi + 0.5 * np.pi
        x = np.stack([t * np.cos(t), t * np.sin(t)], 1) / (3.5 * np.pi) * 2.0
        x = x + 0.04 * rng.standard_normal((n, 2))
    elif name == "eight_gaussians":
        centers = np.array([(np.cos(a), np.sin(a)) for a in np.arange(8) * np.pi / 4]) * 1.5
        x = centers[rng.integers(0, 8, n)] + 0.1 * rng.standard_normal((n, 2))
    else:
        raise ValueError(f"unknown dataset {name!r}")
    return x.astype(np.float32)


class SinusoidalEmbedding(nn.Module):
    def __init__(self, dim: int, scale: float = 1.0):
        super().__init__()
        half = dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half) / (half - 1))
        self.register_buffer("freqs", freqs)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        arg = (x.float() * self.scale)[:, None] * self.freqs[None]
        return torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1)


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + F.gelu(self.fc(x))


class Denoiser(nn.Module):
    """Predicts the noise eps from (x_t, t)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.emb_x = SinusoidalEmbedding(cfg.embedding_dim, scale=25.0)  # fine spatial detail
        self.emb_y = SinusoidalEmbedding(cfg.embedding_dim, scale=25.0)
        self.emb_t = SinusoidalEmbedding(cfg.embedding_dim)
        layers = [nn.Linear(3 * cfg.embedding_dim, cfg.hidden_size), nn.GELU()]
        layers += [ResidualBlock(cfg.hidden_size) for _ in range(cfg.hidden_layers)]
        layers += [nn.Linear(cfg.hidden_size, 2)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = torch.cat([self.emb_x(x[:, 0]), self.emb_y(x[:, 1]), self.emb_t(t)], dim=-1)
        return self.net(h)


class NoiseSchedule:
    def __init__(self, cfg: Config, device: torch.device):
        self.T = cfg.num_timesteps
        self.betas = torch.linspace(cfg.beta_start, cfg.beta_end, self.T, device=device)
        self.alphas = 1.0 - self.betas
        self.alpha_bars = torch.cumprod(self.alphas, 0)

    def add_noise(self, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = self.alpha_bars[t][:, None]
        return ab.sqrt() * x0 + (1 - ab).sqrt() * eps

    @torch.no_grad()
    def sample(self, model: nn.Module, n: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
        """Ancestral DDPM sampling with sigma_t^2 = beta_t."""
        x = torch.randn(n, 2, generator=gen).to(device)
        for t in reversed(range(self.T)):
            tt = torch.full((n,), t, device=device, dtype=torch.long)
            eps = model(x, tt)
            a, ab, b = self.alphas[t], self.alpha_bars[t], self.betas[t]
            x = (x - b / (1 - ab).sqrt() * eps) / a.sqrt()
            if t > 0:
                x = x + b.sqrt() * torch.randn(n, 2, generator=gen).to(device)
        return x


def knn_kl_divergence(p: np.ndarray, q: np.ndarray, k: int) -> float:
    """k-nearest-neighbour estimate of KL(P || Q) from samples (Wang, Kulkarni & Verdu, 2009)."""
    p_t, q_t = torch.from_numpy(p).double(), torch.from_numpy(q).double()
    n, m, d = len(p), len(q), p.shape[1]
    d_pp = torch.cdist(p_t, p_t)
    d_pp.fill_diagonal_(float("inf"))
    rho = d_pp.kthvalue(k, dim=1).values
    nu = torch.cdist(p_t, q_t).kthvalue(k, dim=1).values
    eps = 1e-12
    return float(d * torch.log((nu + eps) / (rho + eps)).mean() + math.log(m / (n - 1)))


def run_dataset(cfg: Config, name: str, seed: int, device: torch.device) -> tuple[dict, dict, np.ndarray]:
    set_seed(seed)
    rng = np.random.default_rng(seed)
    train = torch.from_numpy(sample_dataset(name, cfg.n_train, rng)).to(device)
    held_out = sample_dataset(name, cfg.n_eval, rng)
    model = Denoiser(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    sched = NoiseSchedule(cfg, device)
    gen = torch.Generator(device="cpu").manual_seed(seed + 1)

    curves = {"step": [], "train_loss": []}
    running, t0 = 0.0, time.time()
    for step in range(1, cfg.num_steps + 1):
        idx = torch.randint(len(train), (cfg.batch_size,), generator=gen).to(device)
        x0 = train[idx]
        eps = torch.randn(x0.shape, generator=gen).to(device)
        t = torch.randint(0, sched.T, (len(x0),), generator=gen).to(device)
        loss = F.mse_loss(model(sched.add_noise(x0, eps, t), t), eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running += loss.item()
        if step % cfg.log_every == 0:
            curves["step"].append(step)
            curves["train_loss"].append(running / cfg.log_every)
            running = 0.0
    train_time = time.time() - t0

    # Evaluation: denoising loss on held-out points with fixed noise, then sample quality.
    model.eval()
    eval_gen = torch.Generator(device="cpu").manual_seed(10_000 + seed)
    with torch.no_grad():
        x0 = torch.from_numpy(held_out).to(device)
        eps = torch.randn(x0.shape, generator=eval_gen).to(device)
        t = torch.randint(0, sched.T, (len(x0),), generator=eval_gen).to(device)
        eval_loss = F.mse_loss(model(sched.add_noise(x0, eps, t), t), eps).item()
    t1 = time.time()
    samples = sched.sample(model, cfg.n_eval, eval_gen, device).cpu().numpy()
    sample_time = time.time() - t1
    kl = knn_kl_divergence(held_out, samples, cfg.knn_k) if np.isfinite(samples).all() else float("inf")
    metrics = {"eval_loss": eval_loss, "kl_divergence": kl, "train_time_s": train_time, "sample_time_s": sample_time}
    return metrics, curves, samples


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
    parser.add_argument("--large", action="store_true", help="GPU configuration: more data, wider model, more steps")
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

    per_seed_metrics, seeds_out = [], {}
    for seed in range(args.seeds):
        flat, seed_out = {}, {}
        for name in cfg.datasets:
            metrics, curves, samples = run_dataset(cfg, name, seed, device)
            print(f"seed {seed}, {name}: kl_divergence {metrics['kl_divergence']:.4f}, "
                  f"{metrics['train_time_s']:.1f} s", flush=True)
            flat.update({f"{name}_{k}": v for k, v in metrics.items()})
            seed_out[name] = {"metrics": metrics, "curves": curves}
            if seed == 0:  # generated points for plot.py
                seed_out[name]["samples"] = np.round(samples, 4).tolist()
        flat["mean_kl_divergence"] = float(np.mean([flat[f"{n}_kl_divergence"] for n in cfg.datasets]))
        flat["mean_eval_loss"] = float(np.mean([flat[f"{n}_eval_loss"] for n in cfg.datasets]))
        per_seed_metrics.append(flat)
        seeds_out[str(seed)] = seed_out

    os.makedirs(args.out_dir, exist_ok=True)
    final_info = summarize(per_seed_metrics)
    with open(os.path.join(args.out_dir, "final_info.json"), "w") as f:
        json.dump(final_info, f, indent=2)
    all_results = {"config": dataclasses.asdict(cfg), "preset": preset, "device": device_name, "seeds": seeds_out}
    with open(os.path.join(args.out_dir, "all_results.json"), "w") as f:
        json.dump(all_results, f)
    for name, v in final_info.items():
        print(f"{name}: {v['means']:.4f} +- {v['stderrs']:.4f}")


if __name__ == "__main__":
    main()
