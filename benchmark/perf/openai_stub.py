"""A local OpenAI-compatible chat server for fault injection (127.0.0.1 only): it answers every
chat completion with a valid NeurIPS review (JSON), after a configurable latency, and injects
rate limits, server errors, hangs (client time-outs) and malformed replies.

Each request is logged as one JSON line (paper marker, outcome), so a test can count calls per
paper. Run: python -m benchmark.perf.openai_stub --port-file F --log L [--latency 0.2] ...
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MARKER = re.compile(r"ZQX-([A-Za-z0-9_]+)-ZQX")
REVIEW = {
    "Summary": "The paper studies gradient step sizes on a quadratic and reports the final loss.",
    "Strengths": ["The experimental protocol is described clearly enough to reproduce every run."],
    "Weaknesses": ["Only one seed per setting, so the differences may be noise."],
    "Originality": 2, "Quality": 2, "Clarity": 3, "Significance": 2, "Questions": ["more seeds?"],
    "Limitations": ["toy setting"], "Ethical Concerns": False, "Soundness": 2, "Presentation": 3,
    "Contribution": 2, "Overall": 4, "Confidence": 3, "Decision": "Reject",
}
BAD = {
    "truncated": json.dumps(REVIEW)[: len(json.dumps(REVIEW)) // 2],
    "not_json": "I am sorry, I cannot produce a review in that format.",
    "schema": json.dumps({**REVIEW, "Overall": 42, "Decision": "Maybe"}),  # valid JSON, invalid review
}


class State:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        self.per_paper: dict[str, int] = {}
        self.log = open(args.log, "a", buffering=1, encoding="utf-8") if args.log else None

    def decide(self, paper: str) -> tuple[str, int]:
        with self.lock:
            n = self.per_paper[paper] = self.per_paper.get(paper, 0) + 1
            roll = self.rng.random()
        a = self.args
        if n <= a.bad_first:
            return f"bad:{a.bad_kind}", n
        if roll < a.error_rate:
            return self.rng.choice(["429", "500", "503"]), n
        if roll < a.error_rate + a.timeout_rate:
            return "hang", n
        if roll < a.error_rate + a.timeout_rate + a.bad_rate:
            return f"bad:{a.bad_kind}", n
        return "ok", n

    def record(self, **fields: object) -> None:
        if self.log is not None:
            with self.lock:
                self.log.write(json.dumps({"t": round(time.time(), 3), **fields}) + "\n")


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": "gpt-4o", "object": "model"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._send(400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
                return
            if self.path.rstrip("/").endswith("/control"):  # change the faults, same port (same cache keys)
                with state.lock:
                    for key, value in request.items():
                        if hasattr(state.args, key):
                            setattr(state.args, key, type(getattr(state.args, key))(value))
                    state.per_paper.clear()
                self._send(200, {"ok": True})
                return
            prompt = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
            match = MARKER.search(prompt)
            paper = match.group(1) if match else "?"
            outcome, n = state.decide(paper)
            state.record(paper=paper, n=n, outcome=outcome, turns=len(request.get("messages", [])))
            time.sleep(state.args.latency)
            if outcome in ("429", "500", "503"):
                headers = {"Retry-After": "0"} if outcome == "429" else {}
                self._send(int(outcome), {"error": {"message": f"injected {outcome}", "type": "server_error",
                                                    "code": outcome}}, headers)
                return
            if outcome == "hang":
                time.sleep(state.args.hang_s)
            text = BAD[outcome[4:]] if outcome.startswith("bad:") else json.dumps(REVIEW)
            prompt_tokens = max(1, len(prompt) // 4)
            self._send(200, {
                "id": f"chatcmpl-{paper}-{n}", "object": "chat.completion", "created": int(time.time()),
                "model": "gpt-4o-2024-08-06",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text) // 4,
                          "total_tokens": prompt_tokens + len(text) // 4},
            })

    return Handler


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", default=None)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--error-rate", type=float, default=0.0, help="share of calls answered 429/500/503")
    ap.add_argument("--timeout-rate", type=float, default=0.0, help="share of calls that hang for --hang-s")
    ap.add_argument("--hang-s", type=float, default=30.0)
    ap.add_argument("--bad-rate", type=float, default=0.0, help="share of calls answered with a malformed reply")
    ap.add_argument("--bad-first", type=int, default=0, help="the first N calls per paper get a malformed reply")
    ap.add_argument("--bad-kind", choices=sorted(BAD), default="truncated")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(State(args)))
    server.daemon_threads = True
    tmp = Path(args.port_file).with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    tmp.replace(args.port_file)  # the port appears whole, never half-written
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
