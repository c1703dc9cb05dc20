"""Tries to raise its own time-out: edits the harness config and files, lifts rlimits, then sleeps on."""
import json
import resource
import sys
import time

for path in sys.argv[1:]:  # harness files: the time-out config bound read-only, the project's code
    try:
        with open(path, "w") as f:
            json.dump({"timeout": 100000}, f)
        print(f"rewrote {path}", flush=True)
    except OSError as err:
        print(f"cannot rewrite {path}: {err}", file=sys.stderr, flush=True)
try:
    resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
except (ValueError, OSError) as err:
    print(f"cannot lift RLIMIT_CPU: {err}", file=sys.stderr, flush=True)
try:
    with open("/sys/fs/cgroup/pids/pids.max", "w") as f:
        f.write("max")
except OSError as err:
    print(f"cannot lift pids.max: {err}", file=sys.stderr, flush=True)
time.sleep(600)
