"""A normal experiment: a small numpy + torch training loop that writes its results."""
import json
import os
import sys

import numpy as np
import torch

out_dir = sys.argv[1] if len(sys.argv) > 1 else "run_0"
os.makedirs(out_dir, exist_ok=True)
torch.manual_seed(0)
torch.set_num_threads(1)
rng = np.random.default_rng(0)
x = torch.tensor(rng.normal(size=(256, 8)), dtype=torch.float32)
w_true = torch.arange(8, dtype=torch.float32)
y = x @ w_true + 0.01 * torch.tensor(rng.normal(size=256), dtype=torch.float32)
model = torch.nn.Linear(8, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.05)
losses = []
for step in range(200):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x).squeeze(-1), y)
    loss.backward()
    opt.step()
    losses.append(round(loss.item(), 6))
torch.save(model.state_dict(), os.path.join(out_dir, "model.pt"))
np.save(os.path.join(out_dir, "losses.npy"), np.array(losses))
with open(os.path.join(out_dir, "final_info.json"), "w") as f:
    json.dump({"final_loss": losses[-1], "first_loss": losses[0], "steps": len(losses)}, f)
print("final loss", losses[-1])
