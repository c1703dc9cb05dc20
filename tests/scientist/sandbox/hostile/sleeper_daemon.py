"""Sleeps past the time-out after daemonizing a child that would outlive the run."""
import os
import sys
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:  # double fork: reparented away from the experiment
        with open(sys.argv[1], "a") as f:
            for _ in range(600):
                f.write(f"{time.time()}\n")
                f.flush()
                time.sleep(0.1)
    os._exit(0)
print("daemon started; now sleeping", flush=True)
time.sleep(600)
