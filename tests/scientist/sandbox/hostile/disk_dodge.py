"""Dodges a disk budget that only counts visible files: files unlinked while open, an inode flood, /dev/shm.
Swallows every error and exits 0, as a program that 'handles' failures would.

    python disk_dodge.py unlinked|inodes|shm
"""
import os
import sys
import time

mode = sys.argv[1]
held, made, errors = [], 0, 0
chunk = b"x" * (1 << 20)
try:
    if mode == "unlinked":
        for i in range(8):
            f = open(f"hidden_{i}.bin", "wb")
            os.unlink(f.name)
            held.append(f)
            for _ in range(4):
                f.write(chunk)
                f.flush()
    elif mode == "inodes":
        for d in range(3000):
            os.mkdir(f"d{d}")
            made += 1
        for i in range(30000):
            open(f"d{i % 3000}/f{i}", "w").close()
            made += 1
    elif mode == "shm":
        for i in range(20):  # 1 MB each: no single file is over the per-file limit
            with open(f"/dev/shm/blob{i}", "wb") as f:
                f.write(chunk)
except OSError as err:
    errors += 1
    print(f"swallowed: {err}", flush=True)
time.sleep(0.3)  # keep the unlinked files open a while
print(f"done made={made} errors={errors}", flush=True)
