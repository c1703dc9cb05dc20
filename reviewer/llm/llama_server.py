"""Runs llama-cpp-python's server, and exits when the process that started it is gone.

`atexit` in the parent does not run when the parent is killed; without this watch, every killed
evaluation would leave a server holding a CPU core and a gigabyte of memory.
Usage: python -m reviewer.llm.llama_server --parent-pid PID <llama_cpp.server arguments>
"""
from __future__ import annotations

import os
import runpy
import sys
import threading
import time


def _watch(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(1.0)


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] != "--parent-pid":
        sys.exit("usage: python -m reviewer.llm.llama_server --parent-pid PID [server args]")
    parent_pid = int(sys.argv[2])
    threading.Thread(target=_watch, args=(parent_pid,), daemon=True).start()
    sys.argv = ["llama_cpp.server", *sys.argv[3:]]
    runpy.run_module("llama_cpp.server", run_name="__main__")


if __name__ == "__main__":
    main()
