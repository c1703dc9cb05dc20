"""Literature search under faults: a corrupt cache entry, a time-out, a kill mid-write."""
from __future__ import annotations

import json
import socket
import urllib.error
from pathlib import Path

import pytest

from reviewer.atomic_file import TEMP_SUFFIX
from scientist.stages.literature import LiteratureClient, LiteratureUnavailable

FIXTURE = Path(__file__).resolve().parents[1] / "scientist" / "fixtures" / "s2_search_grokking.json"


def answer(url, headers, timeout):  # noqa: ANN001
    return 200, {}, FIXTURE.read_bytes()


@pytest.mark.parametrize("garbage", ["", "[{\"title\": ", "{\"not\": \"a list\"}", "[{\"no_title\": 1}]", "\x00\xff"])
def test_a_corrupt_cache_entry_is_skipped_with_a_warning_and_replaced(tmp_path, caplog, garbage):
    lit = LiteratureClient(cache_dir=tmp_path, fetch=answer)
    path = lit._cache_path("semantic_scholar", "grokking", 10)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(garbage, errors="surrogateescape")
    with caplog.at_level("WARNING"):
        hits = lit.search("grokking")
    assert len(hits) == 2 and "skipping unreadable entry" in caplog.text
    assert len(json.loads(path.read_text())) == 2  # a good entry in its place
    assert LiteratureClient(cache_dir=tmp_path, fetch=answer).search("grokking")  # and later searches work


def test_one_time_out_does_not_take_search_offline_for_the_process(tmp_path):
    calls = []

    def slow_then_fine(url, headers, timeout):  # noqa: ANN001
        calls.append(url)
        if len(calls) <= 2:  # the first query times out on both attempts of its first service
            raise urllib.error.URLError(socket.timeout("timed out"))
        return answer(url, headers, timeout)

    lit = LiteratureClient(cache_dir=tmp_path, fetch=slow_then_fine, max_retries=1, sleep=lambda s: None,
                           backends=("semantic_scholar",))
    with pytest.raises(LiteratureUnavailable, match="timed out after 2 attempt"):
        lit.search("first query")
    assert lit.offline_reason is None
    assert len(lit.search("second query")) == 2  # not "offline" for the rest of the process


def test_time_outs_that_persist_do_mark_search_offline(tmp_path):
    def always_slow(url, headers, timeout):  # noqa: ANN001
        raise TimeoutError("timed out")

    lit = LiteratureClient(cache_dir=tmp_path, fetch=always_slow, max_retries=0, sleep=lambda s: None)
    for i in range(2):
        with pytest.raises(LiteratureUnavailable):
            lit.search(f"query {i}")
    assert lit.offline_reason and "timed out" in lit.offline_reason
    with pytest.raises(LiteratureUnavailable, match="offline"):
        lit.search("query 3")  # now fails fast


def test_the_cache_is_written_atomically(tmp_path, monkeypatch):
    import reviewer.atomic_file as atomic

    def dies_mid_write(fd, data):  # noqa: ANN001
        raise KeyboardInterrupt  # a kill between writing and renaming

    lit = LiteratureClient(cache_dir=tmp_path, fetch=answer)
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: dies_mid_write(fd, None))
    with pytest.raises(KeyboardInterrupt):
        lit.search("grokking")
    assert list(tmp_path.rglob("*.json")) == [] and list(tmp_path.rglob(f"*{TEMP_SUFFIX}")) == []
