"""The embedded llama.cpp server: started on a free port, and never outliving its parent."""
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (bash .ci/install)")

PARENT = """
import sys
from reviewer.llm.embedded import ensure_server, _servers
base = ensure_server("local/smollm2")
print(base, _servers["smollm2"].process.pid, flush=True)
import time; time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie waiting for its reaper is gone too
        return handle.read().split()[2] != "Z"


@pytest.mark.timeout(300)
def test_server_serves_and_dies_with_a_killed_parent():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        base, server_pid = parent.stdout.readline().split()
        assert base.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{base}/models", timeout=10) as resp:
            assert b"smollm2" in resp.read()
        parent.send_signal(signal.SIGKILL)  # atexit cannot run: the watch must stop the server
        parent.wait()
        deadline = time.monotonic() + 30
        while _alive(int(server_pid)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _alive(int(server_pid))
    finally:
        parent.kill()
