"""The OpenReview fetcher against recorded API payloads replayed by a fake client."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewer.eval.dataset import load_dataset
from reviewer.eval.openreview import (
    RateLimiter, fetch_iclr, parse_rating, parse_submission, submission_invitation,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "openreview"


def _pdf_bytes(title: str) -> bytes:
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    body = f"{title}\n\nAbstract. " + "We study a problem carefully and report results. " * 12
    page.insert_textbox(pymupdf.Rect(50, 50, 550, 800), body, fontsize=10)
    return doc.tobytes()


class FakeClient:
    """Replays one recorded get_all_notes payload as the real client's Note objects."""

    def __init__(self, fixture: str, *, fail_pdf_for: set[str] = frozenset(), crash_after_pdfs: int | None = None):
        import openreview

        recorded = json.loads((FIXTURES / fixture).read_text())
        self.expected_kwargs = recorded["request"]["kwargs"]
        note_cls = openreview.api.Note if "v2" in fixture else openreview.Note
        self.notes = [note_cls.from_json(n) for n in recorded["response"]]
        self.fail_pdf_for = set(fail_pdf_for)
        self.crash_after_pdfs = crash_after_pdfs
        self.calls: list[tuple[str, object]] = []

    def get_all_notes(self, **kwargs):
        self.calls.append(("get_all_notes", kwargs))
        assert kwargs == self.expected_kwargs, f"unexpected request {kwargs}"
        return self.notes

    def get_pdf(self, id: str, is_reference: bool = False) -> bytes:
        self.calls.append(("get_pdf", id))
        if self.crash_after_pdfs is not None and sum(c[0] == "get_pdf" for c in self.calls) > self.crash_after_pdfs:
            raise KeyboardInterrupt  # the user pressed Ctrl-C mid-download
        if id in self.fail_pdf_for:
            raise ConnectionError("503 Service Unavailable")
        return _pdf_bytes(f"Paper {id}")


def test_parse_rating_forms():
    assert parse_rating("6: marginally above the acceptance threshold") == 6.0
    assert parse_rating(8) == 8.0
    assert parse_rating("10: strong accept") == 10.0
    assert parse_rating("n/a") is None and parse_rating(None) is None


def test_invitations_per_api_version():
    assert submission_invitation(2022) == "ICLR.cc/2022/Conference/-/Blind_Submission"
    assert submission_invitation(2023) == "ICLR.cc/2023/Conference/-/Blind_Submission"
    assert submission_invitation(2024) == "ICLR.cc/2024/Conference/-/Submission"


def test_v1_payload_ratings_and_decisions():
    client = FakeClient("iclr2022_v1_blind_submissions.json")
    subs = {s.paper_id: s for s in map(parse_submission, client.notes)}
    assert subs["fXHl76nO2AZ"].ratings == [8.0, 6.0, 6.0]  # the author comment's "rating: 10" is not a review
    assert subs["fXHl76nO2AZ"].decision == "Accept (Poster)"
    assert subs["CNY9h3uyfiO"].ratings == [5.0, 6.0, 3.0, 3.0]  # the meta-review "Reject" is no rating
    assert subs["CNY9h3uyfiO"].decision == "Reject"
    assert subs["wdrw123abcd"].decision == ""


def test_v2_payload_wrapped_values():
    client = FakeClient("iclr2024_v2_submissions.json")
    subs = {s.paper_id: s for s in map(parse_submission, client.notes)}
    assert subs["Zz24v2PaperA"].ratings == [8.0, 10.0]  # the comment replying to a review is skipped
    assert subs["Zz24v2PaperA"].decision == "Accept (spotlight)"
    assert subs["Zz24v2PaperA"].title == "Diffusion Models Are Secretly Linear"
    assert subs["Yy24v2PaperB"].ratings == [3.0, 5.0]


def test_fetch_builds_loadable_folder(tmp_path):
    client = FakeClient("iclr2022_v1_blind_submissions.json")
    summary = fetch_iclr(client, 2022, tmp_path, delay_s=0.0, sleep=lambda s: None, progress=False)
    assert summary["submissions"] == 3 and summary["rated_with_decision"] == 2
    assert summary["pdfs_downloaded"] == 2 and summary["texts_written"] == 2 and not summary["errors"]
    dataset = load_dataset(tmp_path, with_text=True)
    assert sorted(dataset.ids) == ["CNY9h3uyfiO", "fXHl76nO2AZ"]  # withdrawn paper: no decision, left out
    paper = dataset["fXHl76nO2AZ"]
    assert paper.ratings == (8.0, 6.0, 6.0) and paper.accept and abs(paper.mean_rating - 20 / 3) < 1e-9
    assert not dataset["CNY9h3uyfiO"].accept
    assert "Paper fXHl76nO2AZ" in paper.text
    assert (tmp_path / "pdfs" / "fXHl76nO2AZ.pdf").read_bytes().startswith(b"%PDF")


def test_fetch_v2_with_limit(tmp_path):
    client = FakeClient("iclr2024_v2_submissions.json")
    summary = fetch_iclr(client, 2024, tmp_path, limit=1, pdfs=False, delay_s=0.0, sleep=lambda s: None,
                         progress=False)
    dataset = load_dataset(tmp_path)
    assert summary["api"] == "v2" and summary["submissions"] == 1
    assert dataset.ids == ["Yy24v2PaperB"]  # lowest submission number first
    assert not any(c[0] == "get_pdf" for c in client.calls)


def _cheap_text(pdf: Path) -> str:
    return f"text of {pdf.stem}"


def test_fetch_resumes_after_interruption(tmp_path):
    first = FakeClient("iclr2022_v1_blind_submissions.json", crash_after_pdfs=1)
    with pytest.raises(KeyboardInterrupt):
        fetch_iclr(first, 2022, tmp_path, delay_s=0.0, sleep=lambda s: None, progress=False,
                   extract_text=_cheap_text)
    assert len(list((tmp_path / "pdfs").glob("*.pdf"))) == 1
    assert not list((tmp_path / "pdfs").glob(".*part"))  # nothing half-written

    second = FakeClient("iclr2022_v1_blind_submissions.json")
    summary = fetch_iclr(second, 2022, tmp_path, delay_s=0.0, sleep=lambda s: None, progress=False,
                         extract_text=_cheap_text)
    assert [c[0] for c in second.calls] == ["get_pdf"]  # no second listing, one PDF left to fetch
    assert summary["pdfs_present"] == 1 and summary["pdfs_downloaded"] == 1
    assert len(load_dataset(tmp_path, with_text=True)) == 2


def test_failed_pdf_is_recorded_and_retried_next_run(tmp_path):
    client = FakeClient("iclr2022_v1_blind_submissions.json", fail_pdf_for={"CNY9h3uyfiO"})
    summary = fetch_iclr(client, 2022, tmp_path, delay_s=0.0, sleep=lambda s: None, progress=False,
                         extract_text=_cheap_text)
    assert len(summary["errors"]) == 1 and summary["errors"][0].startswith("CNY9h3uyfiO")
    assert sum(c == ("get_pdf", "CNY9h3uyfiO") for c in client.calls) == 4  # 1 try + 3 retries
    retry = FakeClient("iclr2022_v1_blind_submissions.json")
    assert fetch_iclr(retry, 2022, tmp_path, delay_s=0.0, sleep=lambda s: None, progress=False,
                      extract_text=_cheap_text)["errors"] == []
    assert retry.calls == [("get_pdf", "CNY9h3uyfiO")]


def test_rate_limiter_spaces_calls():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(2.0, sleep=sleep, clock=lambda: now[0])
    for _ in range(3):
        limiter.call(lambda: None)
    assert slept == [2.0, 2.0]


def test_real_client_classes_per_year():
    import openreview

    from reviewer.eval.openreview import make_client

    v1, v2 = make_client(2022), make_client(2024)  # guest clients: constructing them sends nothing
    assert isinstance(v1, openreview.Client) and v1.baseurl == "https://api.openreview.net"
    assert isinstance(v2, openreview.api.OpenReviewClient) and v2.baseurl == "https://api2.openreview.net"
    for client in (v1, v2):  # the two calls the fetcher's protocol relies on exist with these names
        assert callable(client.get_all_notes) and callable(client.get_pdf)
