"""The one review path: load the paper, defuse hidden instructions, anonymize, review, calibrate.

Every caller that reviews a paper (`bench review`, live `bench reviewer eval`, the pipeline's review
stage, the Goodhart judges) goes through `areview_file` (a file) or `areview_text` (text already
read), so they all see the paper in the same form:

    load -> scan for instructions aimed at the reviewer -> strip them -> anonymize -> review

Anonymization (`reviewer.anonymize`) is on by default: `anonymize=False` reviews the text as given.
The record lists the injection findings (`prompt_injection`) and what anonymization removed
(`anonymization`). Many papers at once (live `bench reviewer eval`): `PaperPreparer` prepares them as
review slots need them, in worker processes where that pays, then `areview_prepared` reviews each.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.anonymize import AnonymizedText, anonymize_text
from reviewer.llm import ModelClient
from reviewer.paper_text import load_paper_text
from reviewer.reviewer import ReviewerConfig, ReviewRecord, areview_paper

if TYPE_CHECKING:
    from reviewer.eval.calibration import Calibrator
    from reviewer.injection.text import Finding

log = logging.getLogger(__name__)


@dataclass
class PreparedPaper:
    """The text a reviewer is shown, and what was done to the original to get it."""

    text: str
    findings: list[Finding] = field(default_factory=list)
    anonymization: AnonymizedText | None = None

    def anonymization_record(self) -> dict[str, Any] | None:
        if self.anonymization is None:
            return None
        a = self.anonymization
        return {"original_chars": a.original_chars, "chars": len(a.text), "body_words": a.body_words,
                "truncated": a.truncated, "removed": a.summary(),
                "removals": [r.model_dump(mode="json") for r in a.removals]}


def prepare_text(text: str, *, anonymize: bool = True, findings: list[Finding] | None = None) -> PreparedPaper:
    """Scan `text` (unless the caller scanned the file already and passes `findings`), strip the
    findings, anonymize."""
    from reviewer.injection.scan import sanitize_text, scan_text

    findings = scan_text(text) if findings is None else findings
    if findings:  # the reviewer never sees the hidden instructions, and the record says so
        text = sanitize_text(text, findings)
    anonymized = anonymize_text(text) if anonymize else None
    return PreparedPaper(anonymized.text if anonymized else text, findings, anonymized)


def prepare_file(path: str | Path, *, anonymize: bool = True) -> PreparedPaper:
    """Read a .pdf/.txt/.md paper and prepare it; PDFs get the rendering checks (hidden text)."""
    from reviewer.injection.scan import scan_paper

    path = Path(path)
    text = load_paper_text(path)
    return prepare_text(text, anonymize=anonymize, findings=scan_paper(path))


# Below this many papers a process pool costs more than it saves: its start-up (an interpreter that
# imports the reviewer, about 1 s of CPU) against about 75 ms of CPU per text paper.
PROCESS_MIN_PAPERS = 16
MAX_PREPARE_WORKERS = 8


def _ready() -> int:
    return os.getpid()


def _watch_parent(parent: int) -> None:
    """Run in each worker: exit as soon as the reviewing process is gone (killed with SIGKILL, say),
    instead of waiting forever on a task queue that no one will write to again."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class PaperPreparer:
    """Prepares papers (injection scan, stripping, anonymization: about 75 ms of CPU per text paper,
    seconds per PDF) off the event loop, one paper at a time as the caller asks for it.

    With enough papers and more than one core, in worker processes: the preparation then no longer
    competes for the reviewing process's interpreter lock with the calls in flight. Otherwise in
    one thread: CPU-bound work gains nothing from more threads, and one thread finishes the first
    paper soonest. A worker that dies (killed, out of memory) costs no paper: the pool is dropped
    and the remaining papers are prepared in the thread."""

    def __init__(self, n_papers: int, *, workers: int | None = None) -> None:
        cores = os.cpu_count() or 1
        if workers is None:
            workers = min(cores, MAX_PREPARE_WORKERS) if cores > 1 and n_papers >= PROCESS_MIN_PAPERS else 0
        self.workers = max(0, workers)
        self._pool: Executor | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="prepare")

    async def start(self) -> None:
        """Start the worker processes (part of start-up, before the first paper is asked for)."""
        if not self.workers or self._pool is not None:
            return
        import multiprocessing

        # spawn: fresh interpreters, never a fork of this process (its threads, its event loop), and
        # direct children, so each can watch that its parent is still there
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_watch_parent, initargs=(os.getpid(),))
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._pool, _ready) for _ in range(self.workers)))

    async def prepare(self, path: str | Path, *, anonymize: bool = True) -> PreparedPaper:
        loop = asyncio.get_running_loop()
        if self._pool is not None:
            try:
                return await loop.run_in_executor(self._pool, _prepare_path, str(path), anonymize)
            except BrokenProcessPool:
                if self._pool is not None:
                    log.warning("a paper-preparation worker died; preparing the remaining papers in this process")
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = None
        return await loop.run_in_executor(self._thread, _prepare_path, str(path), anonymize)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._thread.shutdown(wait=False, cancel_futures=True)


def _prepare_path(path: str, anonymize: bool) -> PreparedPaper:
    return prepare_file(path, anonymize=anonymize)


def apply_calibrator(record: ReviewRecord, calibrator: Path | Calibrator) -> ReviewRecord:
    from reviewer.eval.calibration import load_calibrator

    if isinstance(calibrator, (str, Path)):
        calibrator = load_calibrator(Path(calibrator))
    p = float(calibrator.p_accept(record.scores))
    record.p_accept = round(p, 4)
    record.calibrated_decision = "Accept" if calibrator.decide(p) else "Reject"
    return record


async def _judged(prepared: PreparedPaper, config: ReviewerConfig) -> tuple[PreparedPaper, Any]:
    """The injection judge on the text the reviewer would see; what it flags is removed too."""
    from reviewer.injection.judge import ajudge_text, judge_client
    from reviewer.injection.scan import sanitize_text

    client = judge_client(str(config.injection_judge), config.injection_judge_api_base)
    findings, verdict = await ajudge_text(prepared.text, client)
    text = sanitize_text(prepared.text, findings) if findings else prepared.text
    return PreparedPaper(text, prepared.findings + findings, prepared.anonymization), verdict


async def areview_prepared(
    prepared: PreparedPaper, config: ReviewerConfig | None = None, *, client: ModelClient | None = None,
    calibrator: Path | Calibrator | None = None, paper_id: str = "paper",
) -> ReviewRecord:
    verdict = None
    if config is not None and config.injection_judge:
        prepared, verdict = await _judged(prepared, config)
    record = await areview_paper(prepared.text, config, client=client, paper_id=paper_id)
    if verdict is not None:
        record.injection_judge = verdict.model_dump(mode="json")
        record.usage = [*verdict.usage, *record.usage]
        record.cost_usd = round(record.cost_usd + sum(c.cost_usd for c in verdict.usage), 6)
    record.prompt_injection = [f.model_dump(mode="json") for f in prepared.findings]
    record.anonymization = prepared.anonymization_record()
    if calibrator is not None:
        apply_calibrator(record, calibrator)
    return record


async def areview_text(
    text: str, config: ReviewerConfig | None = None, *, client: ModelClient | None = None,
    calibrator: Path | Calibrator | None = None, paper_id: str = "paper", anonymize: bool = True,
) -> ReviewRecord:
    """Review text already read (a pipeline's paper, a Goodhart variant) on the one path."""
    prepared = await asyncio.to_thread(prepare_text, text, anonymize=anonymize)
    return await areview_prepared(prepared, config, client=client, calibrator=calibrator, paper_id=paper_id)


async def areview_file(
    path: Path, config: ReviewerConfig | None = None, *, client: ModelClient | None = None,
    calibrator: Path | Calibrator | None = None, paper_id: str | None = None, anonymize: bool = True,
) -> ReviewRecord:
    path = Path(path)
    prepared = await asyncio.to_thread(prepare_file, path, anonymize=anonymize)
    return await areview_prepared(prepared, config, client=client, calibrator=calibrator,
                                  paper_id=paper_id or path.stem)


def review_text(
    text: str, config: ReviewerConfig | None = None, *, client: ModelClient | None = None,
    calibrator: Path | Calibrator | None = None, paper_id: str = "paper", anonymize: bool = True,
) -> ReviewRecord:
    return asyncio.run(areview_text(text, config, client=client, calibrator=calibrator, paper_id=paper_id,
                                    anonymize=anonymize))


def review_file(
    path: Path, config: ReviewerConfig | None = None, *, client: ModelClient | None = None,
    calibrator: Path | Calibrator | None = None, paper_id: str | None = None, anonymize: bool = True,
) -> ReviewRecord:
    return asyncio.run(areview_file(path, config, client=client, calibrator=calibrator, paper_id=paper_id,
                                    anonymize=anonymize))
