"""A normal experiment: a small training loop (torch, or numpy alone with --numpy-only) that writes its results."""
import json
import os
import sys

import numpy as np

args = [a for a in sys.argv[1:] if not a.startswith("--")]
out_dir = args[0] if args else "run_0"
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8))
y = x @ np.arange(8.0) + 0.01 * rng.normal(size=256)
losses = []
if "--numpy-only" in sys.argv:
    w = np.zeros(8)
    for _ in range(200):
        err = x @ w - y
        losses.append(round(float(np.mean(err**2)), 6))
        w -= 0.05 * 2 * x.T @ err / len(y)
    np.save(os.path.join(out_dir, "weights.npy"), w)
else:
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(xt).squeeze(-1), yt)
        loss.backward()
        opt.step()
        losses.append(round(loss.item(), 6))
    torch.save(model.state_dict(), os.path.join(out_dir, "model.pt"))
np.save(os.path.join(out_dir, "losses.npy"), np.array(losses))
with open(os.path.join(out_dir, "final_info.json"), "w") as f:
    json.dump({"final_loss": losses[-1], "first_loss": losses[0], "steps": len(losses)}, f)
print("final loss", losses[-1])
