"""Opens a log file per step and never closes it, until the descriptors run out."""
import os

handles = []
os.makedirs("logs", exist_ok=True)
for step in range(100_000):
    handles.append(open(f"logs/step_{step}.log", "w"))
