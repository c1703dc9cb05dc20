"""Allocates far past any sensible memory limit, touching every page."""
import numpy as np

blocks = []
for i in range(64):
    blocks.append(np.ones(64 * 1024 * 1024 // 8))  # 64 MB each, 4 GB in all
    print(f"allocated {(i + 1) * 64} MB", flush=True)
print("survived", flush=True)
