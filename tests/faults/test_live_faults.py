"""The real commands under faults, as subprocesses, against a local OpenAI-compatible stub on
127.0.0.1 (benchmark/perf/openai_stub.py) or recorded replies. The same scenarios print the
figures of `python -m benchmark.perf.faults`; here they run small and assert the targets.

Each `bench` start imports litellm (5-25 s on a loaded two-core machine), so all but the
disk-full check carry the slow marker."""
from __future__ import annotations

import shutil

import pytest

from benchmark.perf import faults

slow = pytest.mark.slow


def test_disk_full_in_the_output_folder_is_a_clear_error_and_nothing_half_written(tmp_path):
    if not faults.can_mount_tmpfs():
        pytest.skip("needs root and tmpfs mounts")
    fig = faults.disk_full(tmp_path, n_papers=12, size="32k")
    assert fig["exit_code"] == 3, fig  # infrastructure: the disk
    assert fig["error_line"].startswith("error: disk full") and not fig["traceback_shown"], fig
    assert fig["records_half_written"] == 0 and fig["temp_files_left"] == 0, fig


@slow
def test_kill_9_during_live_eval_loses_nothing_and_redoes_nothing(tmp_path):
    fig = faults.kill_eval(tmp_path, k=3, n_papers=12, latency_s=0.2)
    assert fig["final_exit_code"] == 0, fig
    assert fig["reviews_lost"] == 0 and fig["reviews_done_twice"] == 0, fig
    assert fig["finished_reviews_lost_by_a_kill"] == 0 and fig["corrupt_records_seen"] == 0, fig
    assert fig["temp_files_left"] == 0, fig  # a rerun clears what killed writers left


@slow
@pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("bwrap") is None,
                    reason="needs pdflatex and bubblewrap")
def test_kill_9_during_bench_run_loses_no_idea_and_redoes_no_stage(tmp_path):
    fig = faults.kill_bench_run(tmp_path, k=3, n_ideas=3)
    assert fig["ideas_lost"] == 0 and fig["ideas_recorded"] == 3, fig
    assert fig["ideas_done_twice"] == 0 and fig["stages_done_twice"] == 0, fig
    assert fig["finished_stages_lost_by_a_kill"] == 0, fig


@slow
def test_a_429_5xx_storm_and_time_outs_every_paper_finishes_with_attempts_on_record(tmp_path):
    fig = faults.storm(tmp_path, n_papers=20, error_rate=0.3, timeout_rate=0.1)
    assert fig["exit_code"] == 0 and fig["papers_finished"] == 20, fig
    assert fig["injected_errors"] > 0 and fig["injected_hangs"] > 0, fig
    # every attempt the server saw is on record, none twice; and the calls carry a cost
    assert fig["attempts_recorded"] == fig["requests_seen_by_server"], fig
    assert fig["cost_usd_recorded"] > 0 and fig["max_attempts_one_call"] > 1, fig


@slow
def test_malformed_replies_fail_counted_are_never_cached_and_are_repaired_by_reasking(tmp_path):
    fig = faults.bad_replies(tmp_path, n_papers=10)
    for kind in ("truncated", "not_json", "schema"):
        f = fig[kind]
        assert f["broken_exit_code"] == 1 and f["broken_last_line"].startswith("10 of 10 paper(s) failed"), fig
        assert f["broken_papers_done"] == 0 and f["cache_entries_after_broken"] == 0, fig
        # same endpoint, healed: every paper is asked again (nothing bad was cached) and done
        assert f["rerun_exit_code"] == 0 and f["rerun_papers_asked_again"] == 10 and f["rerun_papers_done"] == 10, fig
        assert f["repaired_exit_code"] == 0 and f["repaired_papers"] == 10, fig
        assert f["requests_per_repaired_paper"] == 2.0, fig  # one bad reply, one re-ask


@slow
def test_a_corrupt_response_cache_is_skipped_with_a_warning(tmp_path):
    fig = faults.corrupt_cache(tmp_path, n_papers=10)
    assert fig["first_exit_code"] == 0 and fig["entries_corrupted"] == 10, fig
    assert fig["second_exit_code"] == 0 and fig["second_papers_done"] == 10, fig
    assert fig["papers_asked_again"] == 10 and fig["entries_moved_aside"] == 10, fig
    assert fig["warnings_on_terminal"] > 0 and fig["warnings_in_bench_log"] == 10, fig
    assert fig["third_exit_code"] == 0 and fig["third_run_requests"] == 0, fig  # the cache works again
    # the truncated text-rows entry (audit and text baseline) is recomputed, never a crash
    assert fig["text_rows_entries_corrupted"] == 1 and fig["text_rows_recomputed"] == 1, fig
