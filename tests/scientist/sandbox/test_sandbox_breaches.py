"""The breaches found by attacking the sandbox (issue 10), each kept as an attack with real bubblewrap.

Every test here failed on the sandbox before: root on the host, writable /proc/sys, a disk budget
that unlinked files and inode floods dodged, links and FIFOs the harness followed, a venv under
/tmp that could not run at all.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from scientist.sandbox import SandboxLimits, run_in_sandbox, runfs
from scientist.sandbox.identity import sandbox_identity

HOSTILE = Path(__file__).parent / "hostile"
MB = 1024 * 1024


def _kinds(result, source=None):
    return {i.kind for i in result.incidents if source is None or i.source == source}


def _host_uids(pids):
    uids = set()
    for pid in pids:
        try:
            line = next(ln for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ln.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        uids |= {int(x) for x in line.split()[1:]}
    return uids


def test_the_sandboxed_program_is_never_root_on_the_host(run_hostile, tmp_path, processes_in):
    workdir = tmp_path / "run"
    workdir.mkdir()
    seen: list[set[int]] = []

    def watch() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not seen:
            sleeping = [p for p in processes_in(workdir) if Path(f"/proc/{p}/comm").read_text().strip() == "sleep"]
            uids = _host_uids(sleeping)
            if uids:
                seen.append(uids)
            time.sleep(0.05)

    t = threading.Thread(target=watch)
    t.start()
    result = run_in_sandbox(["sleep", "2"], workdir, limits=SandboxLimits(wall_time_s=20))
    t.join()
    assert result.ok and seen, "the sleeping program was not seen from the host"
    assert 0 not in seen[0]  # real, effective, saved and filesystem uid: none is root
    assert seen[0] == {sandbox_identity().uid}


def test_a_setuid_copy_made_inside_is_not_setuid_on_the_host(run_hostile):
    result, workdir = run_hostile("setuid_copy", wall_time_s=20)
    assert result.exit_code == 0
    for name in ("id_suid", "id_sgid"):
        st = (workdir / name).lstat()
        assert not st.st_mode & (stat.S_ISUID | stat.S_ISGID), oct(st.st_mode)
        assert st.st_uid != 0  # not root's even without the bit
    setuid = [i for i in result.incidents if i.kind == "setuid"]
    assert {d.detail.split(":")[0] for d in setuid} == {"id_suid", "id_sgid"} and setuid[0].source == "harness"


def test_kernel_settings_are_read_only(run_hostile):
    before = {p: Path(p).read_text() for p in ("/proc/sys/fs/lease-break-time", "/proc/sys/kernel/core_pattern")}
    result, _ = run_hostile("sysctl_write", wall_time_s=20)
    assert {p: Path(p).read_text() for p in before} == before
    assert "wrote" not in result.stdout_tail
    details = " ".join(i.detail for i in result.incidents if i.kind == "sysctl_write")
    assert "/proc/sys/fs/lease-break-time" in details and "/proc/sys/kernel/core_pattern" in details
    assert "/proc/sysrq-trigger" in details


@pytest.mark.parametrize("mode", ["unlinked", "inodes", "shm"])
def test_the_disk_budget_counts_unlinked_files_inodes_and_shared_memory(run_hostile, mode):
    result, workdir = run_hostile("disk_dodge", mode, wall_time_s=60, disk_mb=5)
    assert not result.ok  # it exits 0, yet it went over the budget
    kind = "inode_limit" if mode == "inodes" else "disk_limit"
    hit = [i for i in result.incidents if i.kind == kind and i.fatal]
    assert hit, result.incidents
    if mode != "inodes":
        assert result.disk_written_mb >= 4  # counted, not 0.0
    if result.enforcement["disk"].startswith("per-run tmpfs"):  # refused by the kernel, nothing kept past it
        assert "swallowed" in result.stdout_tail and "No space left on device" in result.stdout_tail
        assert sum(1 for _ in workdir.rglob("*")) <= SandboxLimits(disk_mb=5).max_inodes


@pytest.mark.parametrize("mode", ["unlinked", "inodes"])
def test_without_mount_rights_the_polled_budget_still_counts_them(run_hostile, monkeypatch, mode):
    from scientist.sandbox import runner
    from scientist.sandbox.identity import SandboxIdentity

    monkeypatch.setattr(runfs, "mount_unavailable", lambda: "not allowed to mount (test)")
    # root without mount rights cannot stage the Python installation below /root for another uid: the
    # polled budget is exercised as a non-root harness would run it, with the sandbox as the harness's uid
    monkeypatch.setattr(runner, "sandbox_identity", lambda: SandboxIdentity(os.geteuid(), os.getegid(), "test",
                                                                            root_on_host=os.geteuid() == 0))
    result, _ = run_hostile("disk_dodge", mode, wall_time_s=60, disk_mb=5, inodes=5000)
    assert result.enforcement["disk"].startswith("DEGRADED")
    assert any("disk budget only polled" in w for w in result.warnings)
    kind = "inode_limit" if mode == "inodes" else "disk_limit"
    assert [i for i in result.incidents if i.kind == kind and i.fatal and i.source == "harness"], result.incidents
    assert not result.ok


def test_links_fifos_and_sockets_left_by_a_run_are_refused(run_hostile, tmp_path):
    target = tmp_path / "host_file.txt"
    target.write_text("host content\n")
    result, workdir = run_hostile("plant_links", str(target), wall_time_s=20)
    assert result.exit_code == 0 and "planted" in result.stdout_tail
    left = {p.relative_to(workdir).as_posix(): p.lstat().st_mode for p in workdir.rglob("*")}
    assert all(stat.S_ISREG(m) or stat.S_ISDIR(m) for m in left.values()), left
    assert target.read_text() == "host content\n"
    kinds = _kinds(result, "harness")
    assert {"symlink", "fifo", "socket"} <= kinds
    links = " ".join(i.detail for i in result.incidents if i.kind == "symlink")
    assert "etc_link -> /etc" in links and f"run_1/experiment.py -> {target}" in links


def test_the_report_inside_the_run_directory_is_not_written_through_a_link(tmp_path, bwrap_ready):
    from scientist.sandbox import cli as cli_sandbox
    import click

    target = tmp_path / "victim.txt"
    target.write_text("keep me\n")
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "report.json").symlink_to(target)  # left by an earlier, unscanned run
    group = click.Group("bench")
    cli_sandbox.register(group)
    res = CliRunner().invoke(group, ["sandbox", "run", "--workdir", str(workdir), "--report",
                                     str(workdir / "report.json"), "--", "sh", "-c",
                                     f"rm -f report.json; ln -s {target} report.json; echo hi"])
    assert res.exit_code == 0, res.output
    assert target.read_text() == "keep me\n"
    report = workdir / "report.json"
    assert not report.is_symlink() and json.loads(report.read_text())["stdout_tail"] == "hi\n"


def test_a_denied_read_is_not_recorded_as_a_write(tmp_path, bwrap_ready):
    harness = tmp_path / "harness"
    harness.mkdir()
    private = harness / "private.txt"
    private.write_text("root only")
    private.chmod(0o600)
    workdir = tmp_path / "run"
    workdir.mkdir()
    res = run_in_sandbox(["python", "-c", f"open({str(private)!r}).read()"], workdir,
                         limits=SandboxLimits(wall_time_s=20), readonly_binds=[harness])
    assert "Permission denied" in res.stderr_tail
    details = [(i.kind, i.detail) for i in res.incidents]
    assert details == [("harness_tamper", f"access to harness path {private} denied")]
    assert not any("write" in d for _, d in details)


def test_a_read_only_bind_given_as_a_symlink_is_not_bound(tmp_path, bwrap_ready):
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "etc_link").symlink_to("/etc")
    res = run_in_sandbox(["sh", "-c", "cat etc_link/hostname etc_link/shadow; ls etc_link"], workdir,
                         limits=SandboxLimits(wall_time_s=20), readonly_binds=[workdir / "etc_link"])
    assert "root:" not in res.stdout_tail and "etc_link/shadow: No such file" in res.stderr_tail
    assert "symlink" in _kinds(res)


def test_a_virtualenv_under_tmp_runs_sandboxed_code(tmp_path, bwrap_ready):
    venv = Path("/tmp") / f"bench-venv-test-{os.getpid()}"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True,
                   timeout=120)
    try:
        workdir = tmp_path / "run"
        probe = ("from scientist.sandbox import SandboxLimits, run_in_sandbox; import sys; "
                 f"r = run_in_sandbox(['python', '-c', 'import sys; print(sys.prefix)'], {str(workdir)!r}, "
                 "limits=SandboxLimits(wall_time_s=30)); print(r.model_dump_json())")
        out = subprocess.run([str(venv / "bin" / "python"), "-c", probe], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["ok"], result["stderr_tail"]
        assert result["stdout_tail"].strip() == str(venv)
    finally:
        subprocess.run(["rm", "-rf", str(venv)], check=False)


def test_enforcement_report_names_every_protection():
    from scientist.sandbox import enforcement_report

    rep = enforcement_report()
    assert {"isolation", "privileges", "disk", "harness_files", "memory", "pids", "proc"} <= set(rep.protections)
    if os.geteuid() == 0 and runfs.mount_unavailable() is None:
        assert rep.protections["disk"].startswith("per-run tmpfs") and "via setpriv" in rep.protections["privileges"]


def test_enforcement_report_says_what_degrades(monkeypatch):
    from scientist.sandbox import enforcement

    monkeypatch.setattr(enforcement, "mount_unavailable", lambda: "not root (test)")
    rep = enforcement.enforcement_report()
    assert rep.protections["disk"].startswith("DEGRADED") and not rep.complete
    assert any("not root (test)" in d for d in rep.degraded)


def test_deletions_and_replaced_directories_reach_the_host_folder(tmp_path, bwrap_ready):
    workdir = tmp_path / "run"
    (workdir / "olddir").mkdir(parents=True)
    (workdir / "olddir" / "a.txt").write_text("a")
    (workdir / "old.txt").write_text("old")
    (workdir / "log.txt").write_text("line 1\n")
    res = run_in_sandbox(["sh", "-c", "rm old.txt && rm -r olddir && mkdir olddir && echo b > olddir/b.txt "
                                      "&& echo 'line 2' >> log.txt"], workdir, limits=SandboxLimits(wall_time_s=20))
    assert res.ok, res.stderr_tail
    assert not (workdir / "old.txt").exists()
    assert sorted(p.name for p in (workdir / "olddir").iterdir()) == ["b.txt"]  # opaque: replaced, not merged
    assert (workdir / "log.txt").read_text() == "line 1\nline 2\n"
