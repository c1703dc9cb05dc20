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
    """Replays recorded-shape payloads (get_all_notes, and the revisions of each paper) as the real
    client's Note and Edit objects; get_pdf returns a real PDF whose text names the revision id."""

    def __init__(self, fixture: str, *, fail_pdf_for: set[str] = frozenset(), crash_after_pdfs: int | None = None):
        import openreview

        recorded = json.loads((FIXTURES / fixture).read_text())
        self.expected_kwargs = recorded["request"]["kwargs"]
        v2 = "v2" in fixture
        note_cls = openreview.api.Note if v2 else openreview.Note
        self.notes = [note_cls.from_json(n) for n in recorded["response"]]
        revisions = json.loads((FIXTURES / ("iclr2024_v2_note_edits.json" if v2 else "iclr2022_v1_references.json"))
                               .read_text())["responses"]
        make = openreview.api.Edit.from_json if v2 else openreview.Note.from_json
        self.revisions = {forum: [make(r) for r in items] for forum, items in revisions.items()}
        self.fail_pdf_for = set(fail_pdf_for)
        self.crash_after_pdfs = crash_after_pdfs
        self.calls: list[tuple[str, object]] = []

    def get_all_notes(self, **kwargs):
        self.calls.append(("get_all_notes", kwargs))
        assert kwargs == self.expected_kwargs, f"unexpected request {kwargs}"
        return self.notes

    def get_all_references(self, referent=None, original=False, **kwargs):
        self.calls.append(("get_all_references", referent))
        assert original is True and not kwargs  # the blind note's and the original note's revisions
        return self.revisions.get(referent, [])

    def get_note_edits(self, note_id=None, **kwargs):
        self.calls.append(("get_note_edits", note_id))
        return self.revisions.get(note_id, [])

    def get_pdf(self, id: str, is_reference: bool = False) -> bytes:
        self.calls.append(("get_pdf", id))
        assert is_reference, "a past revision is fetched by its reference/edit id"
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
    # the submission-time revision: the last PDF before the first review, not the rebuttal or
    # camera-ready revision, and not the metadata-only or deleted ones
    assert "Paper Rf2lastSub" in paper.text and "Paper Rc1subm" in dataset["CNY9h3uyfiO"].text
    assert (tmp_path / "pdfs" / "fXHl76nO2AZ.pdf").read_bytes().startswith(b"%PDF")
    versions = {json.loads(line)["paper_id"]: json.loads(line) for line in (tmp_path / "versions.jsonl").open()}
    assert versions["fXHl76nO2AZ"]["version_id"] == "Rf2lastSub" and versions["fXHl76nO2AZ"]["source"] == "reference"
    assert versions["fXHl76nO2AZ"]["version_date"].startswith("2021-10-05") and versions["fXHl76nO2AZ"]["cutoff_from"] == "first review"
    assert summary["versions_recorded"] == 2 and summary["audit"]["verdict"] == "not audited"  # 1 + 1 papers


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
    # no second listing; the finished paper is not asked for again, the other one is
    assert [c[0] for c in second.calls] == ["get_all_references", "get_pdf"]
    assert summary["pdfs_present"] == 1 and summary["pdfs_downloaded"] == 1
    assert len(load_dataset(tmp_path, with_text=True)) == 2


def test_failed_pdf_is_recorded_and_retried_next_run(tmp_path):
    client = FakeClient("iclr2022_v1_blind_submissions.json", fail_pdf_for={"Rc1subm"})
    summary = fetch_iclr(client, 2022, tmp_path, delay_s=0.0, sleep=lambda s: None, progress=False,
                         extract_text=_cheap_text)
    assert len(summary["errors"]) == 1 and summary["errors"][0].startswith("CNY9h3uyfiO")
    assert sum(c == ("get_pdf", "Rc1subm") for c in client.calls) == 4  # 1 try + 3 retries
    # never the later (rebuttal) revision instead: a wrong version is worse than a missing one
    assert ("get_pdf", "Rc3rebuttal") not in client.calls and not (tmp_path / "pdfs" / "CNY9h3uyfiO.pdf").exists()
    retry = FakeClient("iclr2022_v1_blind_submissions.json")
    assert fetch_iclr(retry, 2022, tmp_path, delay_s=0.0, sleep=lambda s: None, progress=False,
                      extract_text=_cheap_text)["errors"] == []
    assert retry.calls == [("get_all_references", "CNY9h3uyfiO"), ("get_pdf", "Rc1subm")]


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
    for client in (v1, v2):  # the calls the fetcher's protocol relies on exist with these names
        assert callable(client.get_all_notes) and callable(client.get_pdf)
    import inspect

    assert {"referent", "original"} <= set(inspect.signature(v1.get_all_references).parameters)
    assert "note_id" in inspect.signature(v2.get_note_edits).parameters
    assert "is_reference" in inspect.signature(v1.get_pdf).parameters
    assert "is_reference" in inspect.signature(v2.get_pdf).parameters
    fields = {"id", "tcdate", "ddate", "content", "referent", "original"}
    assert fields <= set(vars(openreview.Note.from_json({"id": "x"})))
    edit = openreview.api.Edit.from_json({"id": "e", "tcdate": 1, "note": {"id": "n", "content": {}}})
    assert edit.tcdate == 1 and edit.note.content == {}


def test_v2_edits_pick_the_submission_not_the_camera_ready(tmp_path):
    client = FakeClient("iclr2024_v2_submissions.json")
    summary = fetch_iclr(client, 2024, tmp_path, delay_s=0.0, sleep=lambda s: None, progress=False,
                         extract_text=_cheap_text)
    assert not summary["errors"], summary["errors"]
    versions = {json.loads(line)["paper_id"]: json.loads(line) for line in (tmp_path / "versions.jsonl").open()}
    assert versions["Zz24v2PaperA"]["version_id"] == "Ea1sub" and versions["Zz24v2PaperA"]["source"] == "edit"
    assert ("get_pdf", "Ea4camera") not in client.calls and ("get_pdf", "Ea3rev") not in client.calls


def test_deadline_before_the_last_revision_wins_and_bad_deadline_is_an_error(tmp_path):
    from reviewer.eval.openreview import FetchError, parse_deadline

    client = FakeClient("iclr2022_v1_blind_submissions.json")
    # the deadline (Oct 2, 2021) comes before the Oct 5 revision: the Sep 29 submission is the version
    fetch_iclr(client, 2022, tmp_path, delay_s=0.0, sleep=lambda s: None, progress=False,
               extract_text=_cheap_text, deadline="2021-10-02T23:59:59-12:00")
    versions = {json.loads(line)["paper_id"]: json.loads(line) for line in (tmp_path / "versions.jsonl").open()}
    assert versions["fXHl76nO2AZ"]["version_id"] == "Rf1subm" and versions["fXHl76nO2AZ"]["cutoff_from"] == "deadline"
    with pytest.raises(FetchError, match="--deadline"):
        parse_deadline("next tuesday")


def test_an_older_fetch_of_the_latest_version_is_replaced(tmp_path):
    """A folder fetched before versions were recorded holds camera-ready PDFs: they are fetched again."""
    (tmp_path / "pdfs").mkdir(parents=True)
    (tmp_path / "papers").mkdir()
    (tmp_path / "pdfs" / "fXHl76nO2AZ.pdf").write_bytes(_pdf_bytes("camera ready"))
    (tmp_path / "papers" / "fXHl76nO2AZ.txt").write_text("camera ready text")
    client = FakeClient("iclr2022_v1_blind_submissions.json")
    fetch_iclr(client, 2022, tmp_path, delay_s=0.0, sleep=lambda s: None, progress=False, extract_text=_cheap_text)
    assert (tmp_path / "papers" / "fXHl76nO2AZ.txt").read_text() == "text of fXHl76nO2AZ"
    assert ("get_pdf", "Rf2lastSub") in client.calls


def test_cli_fetch_rejects_a_bad_deadline_before_any_request(tmp_path):
    from click.testing import CliRunner

    from benchmark.cli import main

    result = CliRunner().invoke(main, ["data", "fetch", "iclr", "--year", "2022", "--out", str(tmp_path / "o"),
                                       "--deadline", "soon"])
    assert result.exit_code == 2 and "--deadline" in result.output and "Traceback" not in result.output
