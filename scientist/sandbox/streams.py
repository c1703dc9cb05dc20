"""Bounded capture of a program's output: a tail for the record, every line to the incident scanner."""
from __future__ import annotations

from collections.abc import Callable

MAX_LINE = 16_384


class StreamTail:
    """Keeps the last `tail_bytes` of a stream and hands each complete line to `on_line`."""

    def __init__(self, tail_bytes: int, on_line: Callable[[str], None]) -> None:
        self.tail_bytes = tail_bytes
        self.on_line = on_line
        self._tail = bytearray()
        self._partial = bytearray()
        self.total_bytes = 0

    def feed(self, chunk: bytes) -> None:
        self.total_bytes += len(chunk)
        self._tail += chunk
        if len(self._tail) > 2 * self.tail_bytes:
            del self._tail[: len(self._tail) - self.tail_bytes]
        self._partial += chunk
        *lines, rest = self._partial.split(b"\n")
        for line in lines:
            self.on_line(line[:MAX_LINE].decode("utf-8", "replace"))
        if len(rest) > MAX_LINE:  # a flood without newlines: scan what we have and move on
            self.on_line(rest[:MAX_LINE].decode("utf-8", "replace"))
            rest = b""
        self._partial = bytearray(rest)

    def close(self) -> None:
        if self._partial:
            self.on_line(self._partial[:MAX_LINE].decode("utf-8", "replace"))
            self._partial = bytearray()

    def text(self) -> str:
        data = bytes(self._tail[-self.tail_bytes :])
        return data.decode("utf-8", "replace")
