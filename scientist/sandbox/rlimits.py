"""Per-process rlimits, applied by `prlimit` around bubblewrap (no preexec_fn: it is not thread-safe)."""
from __future__ import annotations

import math
import os
import shutil

from scientist.sandbox.limits import SandboxLimits


def prlimit_argv(limits: SandboxLimits, *, memory_by_rlimit: bool, pids_by_rlimit: bool) -> list[str]:
    """`prlimit --LIMIT=soft:hard ... --` for the limits rlimits enforce."""
    exe = shutil.which("prlimit")
    if exe is None:
        raise FileNotFoundError("prlimit not found (Debian/Ubuntu package util-linux)")
    disk = limits.disk_mb * 1024 * 1024
    args = [exe, f"--nofile={limits.open_files}:{limits.open_files}", f"--fsize={disk}:{disk}", "--core=0"]
    if limits.cpu_time_s is not None:
        soft = max(1, math.ceil(limits.cpu_time_s))
        args.append(f"--cpu={soft}:{soft + 1}")  # soft first: SIGXCPU names the cause, SIGKILL a second later
    if memory_by_rlimit:
        mem = limits.memory_mb * 1024 * 1024
        args.append(f"--as={mem}:{mem}")
    if pids_by_rlimit:
        args.append(f"--nproc={limits.pids}:{limits.pids}")
    return [*args, "--"]


def nproc_works() -> bool:
    """RLIMIT_NPROC is ignored for root, so it only stands in for the pids cgroup for other users."""
    return os.geteuid() != 0
