"""The sandbox's parts, without starting a sandbox: limits, command line, environment, cgroups, evidence."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pydantic
import pytest

from scientist.sandbox import Incident, SandboxLimits, SandboxResult, SandboxUnavailable, bwrap, cgroups, run_in_sandbox
from scientist.sandbox.environment import python_paths, sandbox_env
from scientist.sandbox.identity import sandbox_identity
from scientist.sandbox.incidents import IncidentLog, OutputScanner, PathContext, command_incidents, exit_incidents
from scientist.sandbox.runfs import create_run_fs
from scientist.sandbox.streams import StreamTail


def test_limits_defaults_and_immutability():
    lim = SandboxLimits()
    assert (lim.wall_time_s, lim.cpu_time_s, lim.memory_mb, lim.pids, lim.disk_mb, lim.open_files, lim.network) == (
        600, None, 4096, 128, 2048, 512, False)
    with pytest.raises(pydantic.ValidationError):
        SandboxLimits(memory_mb=0)
    with pytest.raises(pydantic.ValidationError):
        SandboxLimits(wall_time=5)  # a typo is an error, not a silently ignored limit
    with pytest.raises(pydantic.ValidationError):
        lim.wall_time_s = 10_000  # type: ignore[misc]


def _result(**kw) -> SandboxResult:
    base = dict(command=["x"], workdir="/w", exit_code=0, wall_time_s=1.0, sandboxed=True, limits=SandboxLimits())
    return SandboxResult(**{**base, **kw})


def test_result_ok_means_exit_zero_and_nothing_fatal():
    assert _result().ok
    assert _result(incidents=[Incident(kind="network_attempt", detail="caught by the program")]).ok
    assert not _result(exit_code=1).ok
    assert not _result(exit_code=None, timed_out=True).ok
    assert not _result(incidents=[Incident(kind="memory", detail="oom", fatal=True)]).ok
    with pytest.raises(pydantic.ValidationError):
        Incident(kind="made_up", detail="")


@pytest.fixture
def argv_of(tmp_path):
    """argv_of(**limits) -> (bwrap argv, run dir, its RunFilesystem, a read-only file in it)."""
    made = []

    def build(**limits):
        work, ro = tmp_path / "run", tmp_path / "run" / "harness.json"
        work.mkdir(exist_ok=True)
        ro.write_text("{}")
        lim = SandboxLimits(**limits)
        fs = create_run_fs(work, lim, sandbox_identity(), readonly_binds=[ro], python=python_paths())
        made.append(fs)
        env, _ = sandbox_env({"SEED": "1"})
        argv = bwrap.build_bwrap_argv("/usr/bin/bwrap", ["python", "experiment.py"], workdir=work, env=env,
                                      limits=lim, mounts=fs.args)
        return argv, work, fs, ro

    yield build
    for fs in made:
        fs.close()


def _pairs(argv, flag):
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_command_line_isolates_and_binds_only_what_is_needed(argv_of):
    argv, work, fs, ro = argv_of()
    for flag in ("--unshare-all", "--unshare-user", "--clearenv", "--die-with-parent", "--new-session"):
        assert flag in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert argv[argv.index("--uid") + 1] == "65534" and "--share-net" not in argv
    binds, ro_binds = _pairs(argv, "--bind"), _pairs(argv, "--ro-bind") + _pairs(argv, "--ro-bind-try")
    assert ("/", "/") not in ro_binds + binds  # the whole host would be readable
    if fs.overlay:  # nothing of the host is writable: /tmp, /dev/shm and the run dir's overlay live on the run's tmpfs
        assert binds == [(str(fs.scratch / "tmp"), "/tmp"), (str(fs.scratch / "shm"), "/dev/shm"),
                         (str(fs.scratch / "merged"), str(work))]
    else:
        assert binds == [(str(fs.scratch), "/tmp"), (str(work), str(work))]
    targets = [Path(d) for _, d in ro_binds]
    home = Path.home()
    assert all(t != home and home.is_relative_to(t) is False for t in targets)  # no home directory, no /
    assert Path(sys.prefix) in targets and not any(t == Path(__file__).resolve().parents[3] for t in targets)
    assert ("/proc/sys", "/proc/sys") in ro_binds and ("/proc/sysrq-trigger", "/proc/sysrq-trigger") in ro_binds
    # Order: /tmp before anything under it (a venv, the run directory), the run directory before the file in it.
    assert argv.index("/tmp") < argv.index(str(sys.prefix)) and argv.index("/tmp") < argv.index(str(work))
    assert argv.index(str(work)) < argv.index(str(ro))
    assert argv.index("/proc") < argv.index("/proc/sys")
    assert argv[argv.index("--chdir") + 1] == str(work)
    assert argv[-3:] == ["--", "python", "experiment.py"]


def test_network_is_kept_only_when_asked_for(argv_of):
    argv = argv_of(network=True)[0]
    assert "--share-net" in argv and ("/etc/resolv.conf", "/etc/resolv.conf") in _pairs(argv, "--ro-bind-try")
    assert "/etc/resolv.conf" not in argv_of(network=False)[0]


def test_environment_is_rebuilt_not_inherited(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "host")
    env, warnings = sandbox_env({"HF_TOKEN": "x", "SEED": "3"})
    assert "OPENAI_API_KEY" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["SEED"] == "3" and env["HOME"] == "/tmp/home" and env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PATH"].split(":")[0] == str(Path(sys.prefix) / "bin")
    assert warnings == ["env passes HF_TOKEN, which looks like a secret, into the sandbox"]


def test_refuses_clearly_without_bubblewrap(tmp_path, monkeypatch):
    monkeypatch.setattr(bwrap.shutil, "which", lambda name: None)
    with pytest.raises(SandboxUnavailable, match=r"apt-get install bubblewrap.*--unsafe-no-sandbox"):
        run_in_sandbox(["touch", "ran"], tmp_path)
    assert not (tmp_path / "ran").exists()


def test_unsafe_no_sandbox_must_be_asked_for_and_is_recorded(tmp_path, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(bwrap.shutil, "which", lambda name: None if name == "bwrap" else real_which(name))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host")
    res = run_in_sandbox(["sh", "-c", 'touch ran; echo "key=$OPENAI_API_KEY"'], tmp_path, unsafe_no_sandbox=True,
                         limits=SandboxLimits(wall_time_s=20))
    assert (tmp_path / "ran").exists() and res.exit_code == 0
    assert not res.sandboxed and res.incident_kinds == {"unsafe_no_sandbox"}
    assert res.stdout_tail.strip() == "key="  # the environment is still rebuilt
    assert any(w.startswith("UNSAFE") for w in res.warnings)
    assert res.enforcement["network"].startswith("not enforced")


MOUNTINFO_V1 = """\
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
PROC_V1 = "8:pids:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/x\n0::/\n"


def test_cgroup_v1_paths_are_read_per_controller():
    dirs = cgroups.own_cgroup_dirs(MOUNTINFO_V1, PROC_V1)
    assert dirs["memory"] == (Path("/sys/fs/cgroup/memory/process_api/abc"), 1)
    assert dirs["pids"] == (Path("/sys/fs/cgroup/pids"), 1)
    assert dirs["cpuacct"] == (Path("/sys/fs/cgroup/cpu,cpuacct/x"), 1)


def _fake_v2(tmp_path: Path, name: str) -> tuple[str, str, Path]:
    """A cgroup2 tree in a plain directory: own cgroup /user.slice/app, its child pre-made with controllers."""
    root = tmp_path / "cg2"
    own = root / "user.slice" / "app"
    own.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (own / "cgroup.controllers").write_text("memory pids\n")
    child = own / name
    child.mkdir()
    (child / "cgroup.controllers").write_text("memory pids\n")
    (child / "memory.swap.max").write_text("max\n")
    (child / "memory.peak").write_text(f"{300 * 2**20}\n")
    (child / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n")
    (child / "pids.events").write_text("max 4\n")
    (child / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    mountinfo = f"30 23 0:26 / {root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
    return mountinfo, "0::/user.slice/app\n", child


def test_cgroup_v2_limits_and_counters(tmp_path, monkeypatch):
    monkeypatch.setattr(cgroups.uuid, "uuid4", lambda: type("U", (), {"hex": "deadbeef" * 4})())
    name = f"bench-sandbox-{os.getpid()}-deadbeef"
    mountinfo, proc, child = _fake_v2(tmp_path, name)
    run = cgroups.create_run_cgroup(512, 40, mountinfo=mountinfo, proc_cgroup=proc)
    assert run.warnings == [] and set(run.dirs) == {"memory", "pids"}
    assert (child / "memory.max").read_text() == str(512 * 2**20)
    assert (child / "memory.swap.max").read_text() == "0" and (child / "pids.max").read_text() == "40"
    assert run.procs_files == [child / "cgroup.procs"] and run.describe("memory").startswith("cgroup v2")
    st = run.stats()
    assert (st.peak_memory_bytes, st.oom_kills, st.pids_limit_hits, st.cpu_seconds) == (300 * 2**20, 1, 4, 2.5)


def test_cgroup_v2_without_delegation_degrades_with_a_warning(tmp_path):
    root = tmp_path / "cg2"
    (root / "app").mkdir(parents=True)
    (root / "app" / "cgroup.controllers").write_text("memory pids\n")
    run = cgroups.create_run_cgroup(512, 40, mountinfo=f"30 23 0:26 / {root} rw - cgroup2 cgroup2 rw\n",
                                    proc_cgroup="0::/app\n")
    assert run.dirs == {}
    assert any("memory" in w and "leaf cgroup" in w and "rlimits" in w for w in run.warnings)
    assert any("pids" in w and "rlimits" in w for w in run.warnings)


def test_cgroup_v2_controller_missing_from_own_cgroup_is_named(tmp_path):
    root = tmp_path / "cg2"
    (root / "job").mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu memory pids\n")
    (root / "job" / "cgroup.controllers").write_text("memory\n")  # as on a real v2 host measured: no pids
    dirs = cgroups.own_cgroup_dirs(f"30 23 0:26 / {root} rw - cgroup2 cgroup2 rw\n", "0::/job\n")
    assert dirs == {"memory": (root / "job", 2)}


def _scan(lines, **ctx) -> dict[str, list[str]]:
    log = IncidentLog()
    scanner = OutputScanner(log, PathContext(**{"workdir": Path("/runs/r1"), **ctx}))
    for line in lines:
        scanner.feed_line(line)
    out: dict[str, list[str]] = {}
    for inc in log.as_list():
        assert inc.source == "output"
        out.setdefault(inc.kind, []).append(inc.detail)
    return out


def test_evidence_in_output_is_classified_by_path():
    py = Path(sys.prefix)
    found = _scan([
        "OSError: [Errno 30] Read-only file system: '/runs/r1/timeout.json'",
        "OSError: [Errno 30] Read-only file system: '/usr/lib/x.so'",
        f"PermissionError: [Errno 13] Permission denied: '{py}/lib/site-packages/evil.pth'",
        "touch: cannot touch '/opt/x': Read-only file system",
        "FileNotFoundError: [Errno 2] No such file or directory: '/home/alice/.aws/credentials'",
        "FileNotFoundError: [Errno 2] No such file or directory: 'data/train.csv'",  # its own missing file
        "KeyError: 'ANTHROPIC_API_KEY'",
        "OSError: [Errno 101] Network is unreachable",
        "OSError: [Errno 24] Too many open files: 'x'",
        "epoch 3 loss 0.25 permission to continue: granted",
    ], readonly_binds=[Path("/runs/r1/timeout.json")], python=[py])
    assert found["harness_tamper"] == ["write to read-only harness path /runs/r1/timeout.json"]
    assert found["write_outside_workdir"] == ["write outside the run directory: /usr/lib/x.so",
                                              "write outside the run directory: /opt/x"]
    assert found["package_install"] == [f"write into the Python environment at {py}/lib/site-packages/evil.pth"]
    assert found["secret_access"] == ["access to /home/alice/.aws/credentials, hidden in the sandbox",
                                      "looked up ANTHROPIC_API_KEY in the environment (not passed to the sandbox)"]
    assert set(found) == {"harness_tamper", "write_outside_workdir", "package_install", "secret_access",
                          "network_attempt", "open_files"}


def test_repeated_evidence_is_counted_not_repeated():
    log = IncidentLog()
    scanner = OutputScanner(log, PathContext(workdir=Path("/w")))
    for i in range(1000):
        scanner.feed_line("BlockingIOError: [Errno 11] Resource temporarily unavailable")
        scanner.feed_line(f"OSError: [Errno 30] Read-only file system: '/x/{i}'")
    incidents = log.as_list()
    assert [i.count for i in incidents if i.kind == "process_limit"] == [1000]
    assert len([i for i in incidents if i.kind == "write_outside_workdir"]) == 5  # capped per kind


def test_kernel_and_command_evidence():
    log = IncidentLog()
    command_incidents(["sh", "-c", "python -m pip install torch-nightly && python run.py"], log)
    exit_incidents(24, log, oom_kills=2, pids_hits=3, cpu_limited=True, cgroup_memory=True)  # 24: SIGXCPU
    by_kind = {i.kind: i for i in log.as_list()}
    assert by_kind["package_install"].source == "harness"
    assert by_kind["memory"].fatal and "2 process" in by_kind["memory"].detail
    assert by_kind["cpu_time"].fatal and "3 fork" in by_kind["process_limit"].detail


def test_stream_tail_keeps_the_end_and_scans_every_line():
    lines: list[str] = []
    tail = StreamTail(10, lines.append)
    for chunk in (b"first li", b"ne\nsecond\nthird line ", b"is long\n", b"no newline"):
        tail.feed(chunk)
    tail.close()
    assert lines == ["first line", "second", "third line is long", "no newline"]
    assert tail.text() == "no newline" and tail.total_bytes == 47


def test_shell_errors_on_a_read_only_bound_file_count_as_harness_tampering():
    found = _scan([
        "rm: cannot remove 'timeout.json': Device or resource busy",  # it is a mount point: cannot be replaced
        "mv: cannot move 'timeout.json' to 'old.json': Device or resource busy",
        "sh: 1: cannot create timeout.json: Read-only file system",
        "cp: cannot create regular file '/etc/hosts': Read-only file system",
    ], readonly_binds=[Path("/runs/r1/timeout.json")])
    assert found == {"harness_tamper": ["write to read-only harness path /runs/r1/timeout.json"],
                     "write_outside_workdir": ["write outside the run directory: /etc/hosts"]}
