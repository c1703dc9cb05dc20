"""Literature search and the novelty check: recorded payloads, cache, back-off, offline."""
from __future__ import annotations

import json
import time

import pytest
from scientist_helpers import FIXTURES, offline_fetch, recorded_fetch

from scientist.stages.literature import (
    LiteratureClient,
    LiteratureUnavailable,
    bibtex_key,
    make_bibtex,
    parse_openalex,
    parse_semantic_scholar,
)
from scientist.stages.novelty import check_novelty
from scientist.records import Idea, PaperHit

IDEA = Idea(name="wd_grokking", title="Weight decay schedules and grokking", experiment="Sweep weight decay.",
            interestingness=6, feasibility=8, novelty=5)


def test_parse_semantic_scholar_payload():
    hits = parse_semantic_scholar(json.loads((FIXTURES / "s2_search_grokking.json").read_text()))
    assert [h.title for h in hits] == [
        "Grokking: Generalization Beyond Overfitting on Small Algorithmic Datasets",
        "Progress measures for grokking via mechanistic interpretability"]  # the untitled entry is dropped
    assert hits[0].authors == ["Alethea Power", "Yuri Burda", "Harri Edwards"]
    assert hits[0].year == 2022 and hits[0].citation_count == 412 and hits[0].doi == "10.48550/arXiv.2201.02177"
    assert hits[0].bibtex.startswith("@Article{Power2022Grokking")
    assert hits[1].abstract == "" and hits[1].bibtex is None


def test_parse_openalex_rebuilds_abstract():
    (hit,) = parse_openalex(json.loads((FIXTURES / "openalex_search_grokking.json").read_text()))
    assert hit.abstract == "In we study grokking"
    assert hit.doi == "10.48550/arxiv.2201.02177" and hit.venue == "arXiv (Cornell University)"


def test_bibtex_keeps_service_entry_under_our_key_and_builds_one_otherwise():
    hits = parse_semantic_scholar(json.loads((FIXTURES / "s2_search_grokking.json").read_text()))
    key = bibtex_key(hits[0])
    assert key == "power2022grokking"
    entry = make_bibtex(hits[0], key)
    assert entry.startswith("@Article{power2022grokking,") and "volume = {abs/2201.02177}" in entry
    built = make_bibtex(PaperHit(title="A_b & c", authors=["Ann Lee"], year=2020, venue="NeurIPS"), "lee2020")
    assert built.startswith("@article{lee2020,") and r"title = {{A\_b \& c}}" in built and "year = {2020}" in built
    assert bibtex_key(hits[0], {"power2022grokking"}) == "power2022grokkinga"


def test_search_uses_cache_after_first_fetch(tmp_path):
    log: list[str] = []
    lit = LiteratureClient(cache_dir=tmp_path, fetch=recorded_fetch({"semanticscholar": FIXTURES / "s2_search_grokking.json"}, log))
    first = lit.search("grokking")
    second = LiteratureClient(cache_dir=tmp_path, fetch=offline_fetch).search("grokking")  # offline, cached
    assert [h.title for h in first] == [h.title for h in second] and len(first) == 2
    assert len(log) == 1 and "api.semanticscholar.org" in log[0] and "query=grokking" in log[0]


def test_rate_limit_backs_off_then_succeeds(tmp_path):
    answers = [(429, {"Retry-After": "3"}, b""), (429, {}, b""),
               (200, {}, (FIXTURES / "s2_search_grokking.json").read_bytes())]
    sleeps: list[float] = []
    lit = LiteratureClient(cache_dir=tmp_path, fetch=lambda u, h, t: answers.pop(0), sleep=sleeps.append,
                           backoff_s=1.0)
    assert len(lit.search("grokking")) == 2
    assert sleeps == [3.0, 2.0]  # Retry-After honoured, then exponential back-off


def test_semantic_scholar_exhausted_falls_back_to_openalex(tmp_path):
    def fetch(url, headers, timeout):
        if "semanticscholar" in url:
            return 429, {}, b""
        return 200, {}, (FIXTURES / "openalex_search_grokking.json").read_bytes()

    lit = LiteratureClient(cache_dir=tmp_path, fetch=fetch, sleep=lambda s: None, max_retries=2)
    (hit,) = lit.search("grokking")
    assert hit.source == "openalex" and lit.last_source == "openalex"


def test_offline_raises_once_then_fails_fast(tmp_path):
    calls = []

    def fetch(url, headers, timeout):
        calls.append(url)
        return offline_fetch(url, headers, timeout)

    lit = LiteratureClient(cache_dir=tmp_path, fetch=fetch)
    for _ in range(3):
        with pytest.raises(LiteratureUnavailable, match="offline"):
            lit.search("grokking")
    assert len(calls) == 1 and lit.offline_reason


def test_real_network_absent_is_reported_quickly(tmp_path):
    lit = LiteratureClient(cache_dir=tmp_path, timeout_s=3.0)
    started = time.monotonic()
    try:
        lit.search("grokking generalization beyond overfitting")
    except LiteratureUnavailable:
        assert lit.offline_reason  # the client remembers, so later searches fail without waiting
    assert time.monotonic() - started < 15  # connected or not, never a long hang


def test_novelty_offline_is_unchecked_without_model_calls(offline_literature, scripted_client):
    client, script = scripted_client({})
    result = check_novelty(IDEA, client, offline_literature)
    assert result.status == "unchecked" and result.novel is None
    assert "offline" in result.reason and script.requests == []


def test_novelty_decision_from_recorded_search(recorded_literature, scripted_client):
    client, script = scripted_client({"novelty": [
        json.dumps({"thought": "close but different", "decision": "search", "query": "weight decay grokking"}),
        json.dumps({"thought": "Power et al. already sweep weight decay", "decision": "not_novel", "query": ""}),
    ]})
    result = check_novelty(IDEA, client, recorded_literature, rounds=3)
    assert result.status == "not_novel" and result.novel is False
    assert [s.query for s in result.searches] == [IDEA.title, "weight decay grokking"]
    assert result.searches[0].n_results == 2 and result.source == "semantic_scholar"
    assert "Grokking: Generalization Beyond Overfitting" in script.prompts("novelty")[0]
    assert len(client.usage.calls) == 2


def test_novelty_without_decision_is_unchecked(recorded_literature, scripted_client):
    step = json.dumps({"thought": "unsure", "decision": "search", "query": "more"})
    client, _ = scripted_client({"novelty": [step, step]})
    result = check_novelty(IDEA, client, recorded_literature, rounds=2)
    assert result.status == "unchecked" and "no decision after 2 rounds" in result.reason
