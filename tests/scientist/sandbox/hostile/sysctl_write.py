"""Writes kernel settings: a lease time, the core-dump pattern (a pipe there runs a program as real root)
and the sysrq trigger. It writes back the value it reads, so that a sandbox that fails to stop it still
leaves the host as it was: "wrote PATH" in the output is the breach."""
import sys

for path in ("/proc/sys/fs/lease-break-time", "/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger"):
    try:
        try:
            value = open(path).read()
        except OSError:
            value = "h"  # sysrq: 'h' only prints the help to the kernel log
        with open(path, "w") as f:
            f.write(value)
        print("wrote", path, flush=True)
    except OSError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr, flush=True)
