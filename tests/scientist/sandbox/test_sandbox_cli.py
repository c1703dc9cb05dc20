"""`bench sandbox run`: options become limits, the result is written as JSON, exit status says ok or not."""
from __future__ import annotations

import json

import click
from click.testing import CliRunner

from scientist.sandbox import cli as cli_sandbox
from scientist.sandbox import SandboxResult, bwrap


def _bench() -> click.Group:
    group = click.Group("bench")
    cli_sandbox.register(group)
    return group


def test_run_writes_the_result_as_json(tmp_path, bwrap_ready):
    report = tmp_path / "out" / "result.json"
    res = CliRunner().invoke(_bench(), [
        "sandbox", "run", "--workdir", str(tmp_path / "run"), "--time-limit", "20", "--memory-mb", "300",
        "--disk-mb", "10", "--pids", "20", "--env", "SEED=7", "--report", str(report),
        "--", "sh", "-c", 'echo "seed $SEED" > out.txt; cat out.txt'])
    assert res.exit_code == 0, res.output
    result = SandboxResult.model_validate_json(report.read_text())
    assert result.ok and result.sandboxed and result.stdout_tail == "seed 7\n"
    assert (result.limits.wall_time_s, result.limits.memory_mb, result.limits.disk_mb, result.limits.pids) == (
        20, 300, 10, 20)
    assert (tmp_path / "run" / "out.txt").read_text() == "seed 7\n"


def test_a_failed_run_exits_1_and_lists_its_incidents(tmp_path, bwrap_ready):
    res = CliRunner().invoke(_bench(), ["sandbox", "run", "--workdir", str(tmp_path), "--time-limit", "1",
                                        "--", "sleep", "30"])
    assert res.exit_code == 1
    assert "incident timeout" in res.stderr
    assert json.loads(res.stdout)["timed_out"] is True


def test_refusal_exits_3_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(bwrap, "find_bwrap", lambda: (_ for _ in ()).throw(bwrap.SandboxUnavailable("no bwrap")))
    res = CliRunner().invoke(_bench(), ["sandbox", "run", "--workdir", str(tmp_path), "--", "true"])
    assert res.exit_code == 3 and "no bwrap" in res.stderr  # infrastructure missing


def test_a_missing_command_is_reported_as_such(tmp_path, bwrap_ready):
    res = CliRunner().invoke(_bench(), ["sandbox", "run", "--workdir", str(tmp_path), "--", "no-such-tool-xyz"])
    assert res.exit_code == 1
    assert "warning: command not found in the sandbox" in res.stderr and "no-such-tool-xyz" in res.stderr
