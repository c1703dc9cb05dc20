"""Saves a 'checkpoint' every step, forever; with --single, keeps growing one checkpoint file."""
import os
import sys

chunk = os.urandom(1 << 20)
os.makedirs("checkpoints", exist_ok=True)
if "--single" in sys.argv:
    with open("checkpoints/model.ckpt", "wb") as f:
        while True:
            f.write(chunk)
step = 0
while True:
    with open(f"checkpoints/step_{step:06d}.ckpt", "wb") as f:
        for _ in range(4):
            f.write(chunk)
    step += 1
