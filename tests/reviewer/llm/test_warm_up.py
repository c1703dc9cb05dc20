"""The model library's import (3-10 s of CPU) never stalls the event loop: other papers' calls keep
being served while it runs, and request building never imports it again afterwards."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PROBE = """
import asyncio, json, sys, time
assert "litellm" not in sys.modules
from reviewer.llm import ModelClient

async def main():
    client = ModelClient("gpt-4o", cache=False)
    gaps, stop = [], False
    async def ticker():
        last = time.perf_counter()
        while not stop:
            await asyncio.sleep(0.01)
            now = time.perf_counter(); gaps.append(now - last); last = now
    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await client.awarm_up()
    took = time.perf_counter() - started
    stop = True
    await task
    lookup = time.perf_counter()
    tokens = client.context_tokens, client._supports_schema()
    print(json.dumps({"import_s": took, "max_gap_s": max(gaps), "loaded": "litellm" in sys.modules,
                      "lookup_s": time.perf_counter() - lookup, "tokens": tokens[0]}))
asyncio.run(main())
"""


def test_import_runs_off_the_event_loop_and_lookups_are_kept():
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                               "HOME": str(Path.home())})
    assert proc.returncode == 0, proc.stderr[-2000:]
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    assert probe["loaded"] and probe["tokens"] >= 100_000  # gpt-4o's window, from litellm's model map
    # on the loop, the longest pause would be the whole import; off it, the loop keeps ticking
    assert probe["max_gap_s"] < 0.5 * probe["import_s"], probe
    assert probe["lookup_s"] < 0.05, probe  # looked up once, kept for the process
