"""The sandbox, round three (issue 18): each row of the issue's table as an attack through the real
`bench sandbox run` with real bubblewrap. Every test here failed on the code before the issue."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from scientist.sandbox import SandboxResult, keyring, safe_io
from scientist.sandbox.incidents import IncidentLog, OutputScanner, PathContext
from scientist.sandbox.secret_paths import is_secret_path
from scientist.sandbox.streams import StreamTail
from scientist.sandbox.trees import MAX_DEPTH

MB = 1024 * 1024
BENCH = [sys.executable, "-m", "benchmark.cli"]


def bench_run(workdir: Path, script: str, *options: str, timeout: float = 120) -> tuple[SandboxResult, str]:
    """`bench sandbox run` of a Python program, as a separate process: (its report, its stderr)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "prog.py").write_text(textwrap.dedent(script))
    report = workdir.parent / f"{workdir.name}-report.json"
    out = subprocess.run([*BENCH, "sandbox", "run", "--workdir", str(workdir), "--report", str(report), *options,
                          "--", "python", "prog.py"], capture_output=True, text=True, timeout=timeout)
    assert report.exists(), f"no report (exit {out.returncode}): {out.stderr[-2000:]}"
    return SandboxResult.model_validate_json(report.read_text()), out.stderr


def kinds(result: SandboxResult) -> set[str]:
    return {i.kind for i in result.incidents}


# ---- row 1: the harness's session keyring ---------------------------------------------------------
KEYRING_CALLS = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_ADD_KEY, SYS_REQUEST_KEY, SYS_KEYCTL = 248, 249, 250  # x86_64
SESSION = -3

def call(name, nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *args)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{name}: {os.strerror(e)}")
    return r

def add_key(desc, payload, ring=SESSION):
    return call("add_key", SYS_ADD_KEY, b"user", desc, payload, ctypes.c_size_t(len(payload)), ctypes.c_long(ring))

def read_key(kid):
    buf = ctypes.create_string_buffer(4096)
    n = call("keyctl_read", SYS_KEYCTL, ctypes.c_long(11), ctypes.c_long(kid), buf, ctypes.c_long(4096))
    return buf.raw[:n]

def search(desc):
    return call("keyctl_search", SYS_KEYCTL, ctypes.c_long(10), ctypes.c_long(SESSION), b"user", desc, ctypes.c_long(0))
"""

HARNESS_WITH_KEYRING = KEYRING_CALLS + """
import json, subprocess, sys
call("keyctl_join", SYS_KEYCTL, ctypes.c_long(1), None)   # a session keyring of our own, as a service has
kid = add_key(b"bench-canary", b"sk-CANARY-KEYRING-9911")
assert read_key(kid) == b"sk-CANARY-KEYRING-9911"
out = subprocess.run(sys.argv[1:], capture_output=True, text=True)
try:
    planted = search(b"planted-by-run")
except OSError:
    planted = None
print(json.dumps({"canary": read_key(kid).decode(), "planted": planted, "bench_exit": out.returncode,
                  "stderr": out.stderr[-2000:]}))
"""

INSIDE = KEYRING_CALLS + """
for what, attempt in (("search", lambda: search(b"bench-canary")), ("read", lambda: read_key(search(b"bench-canary"))),
                      ("request", lambda: call("request_key", SYS_REQUEST_KEY, b"user", b"bench-canary", None,
                                               ctypes.c_long(0))),
                      ("add", lambda: add_key(b"planted-by-run", b"evil"))):
    try:
        print(what, "->", attempt())
    except OSError as err:
        print(what, "refused:", err)
try:
    print("proc/keys:", open("/proc/keys").read().replace("\\n", " | "))
except OSError as err:
    print("proc/keys refused:", err)
"""


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the test's ctypes calls use x86_64 syscall numbers")
def test_the_run_can_neither_read_nor_add_to_the_harness_session_keyring(tmp_path, bwrap_ready):
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "prog.py").write_text(INSIDE)
    report = tmp_path / "report.json"
    harness = tmp_path / "harness.py"
    harness.write_text(HARNESS_WITH_KEYRING)
    out = subprocess.run([sys.executable, str(harness), *BENCH, "sandbox", "run", "--workdir", str(workdir),
                          "--time-limit", "30", "--report", str(report), "--", "python", "prog.py"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["canary"] == "sk-CANARY-KEYRING-9911" and seen["planted"] is None  # nothing planted, canary intact
    result = SandboxResult.model_validate_json(report.read_text())
    printed = result.stdout_tail
    assert "sk-CANARY" not in printed and "bench-canary" not in printed  # neither the key nor its name leaked
    for what in ("search", "read", "request", "add"):
        assert f"{what} refused:" in printed, printed
    assert "Operation not permitted" in printed
    assert "keyring" in kinds(result) and result.enforcement["keyring"].startswith("seccomp")


def test_the_keyring_filter_denies_exactly_the_three_keyring_calls():
    prog = keyring.keyring_filter("x86_64")
    assert prog is not None and len(prog) % 8 == 0
    assert keyring.keyring_filter("sparc") is None  # unknown CPU: no filter (the fresh keyring still holds)


# ---- row 3: loopback TCP buffers ------------------------------------------------------------------
TCP_FLOOD = """
import socket
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(512)
total, conns = 0, []
for i in range(600):
    c = socket.create_connection(srv.getsockname()); s, _ = srv.accept()
    for sk in (c, s):
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 << 20)
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    c.setblocking(False)
    conns.append((c, s))
    while True:
        try:
            total += c.send(b"x" * (1 << 20))
        except BlockingIOError:
            break
print(f"queued {total >> 20} MB over {len(conns)} unread connections", flush=True)
"""


def test_loopback_tcp_buffers_are_charged_to_the_run_and_recorded(tmp_path, bwrap_ready):
    if not any(Path("/sys/fs/cgroup/memory").glob("memory.kmem.tcp.limit_in_bytes")) and \
            not Path("/sys/fs/cgroup/cgroup.controllers").exists():
        pytest.skip("cgroup v1 without memory.kmem.tcp on this kernel: TCP buffers cannot be charged")
    result, _ = bench_run(tmp_path / "run", TCP_FLOOD, "--memory-mb", "100", "--open-files", "4000",
                          "--time-limit", "60")
    queued = int(result.stdout_tail.split("queued ")[1].split(" MB")[0])
    assert queued <= 110, result.stdout_tail  # before: 2,000 MB of host memory held under --memory-mb 100
    assert result.peak_memory_mb is not None and result.peak_memory_mb >= 90  # the buffers are in the figure
    memory = [i for i in result.incidents if i.kind == "memory" and i.source == "kernel"]
    assert memory and "TCP" in memory[0].detail
    assert "TCP socket buffers" in result.enforcement["memory"]


# ---- row 4: a name that is not UTF-8, after a secret and the network ------------------------------
def test_a_non_utf8_name_is_recorded_escaped_with_the_other_incidents(tmp_path, bwrap_ready):
    result, stderr = bench_run(tmp_path / "run", """
        import os, socket
        try:
            open("/root/.ssh/id_rsa")
        except OSError as err:
            print(err)
        try:
            socket.create_connection(("1.1.1.1", 80), timeout=2)
        except OSError as err:
            print(err)
        os.symlink("/etc/passwd", b"erase_\\xff")
        open(b"data_\\xfe.txt", "w").write("kept")
    """, "--time-limit", "30")
    assert {"secret_access", "network_attempt", "symlink"} <= kinds(result)
    link = next(i for i in result.incidents if i.kind == "symlink")
    assert link.detail.startswith("erase_\\xff -> /etc/passwd")
    assert "incident symlink: erase_\\xff" in stderr
    assert (tmp_path / "run" / b"data_\xfe.txt".decode("utf-8", "surrogateescape")).read_text() == "kept"
    assert not os.path.lexists(tmp_path / "run" / b"erase_\xff".decode("utf-8", "surrogateescape"))


# ---- row 5: a tree 1,200 directories deep ---------------------------------------------------------
DEEP_TREE = """
import os
fd = os.open(".", os.O_RDONLY)
for _ in range(1200):
    os.mkdir("d", dir_fd=fd)
    sub = os.open("d", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = sub
os.symlink("/etc/shadow", "bottom", dir_fd=fd)
open("shallow.txt", "w").write("kept")
"""


def _depth(root: Path) -> int:
    deepest, stack = 0, [(str(root), 0)]
    while stack:
        path, depth = stack.pop()
        deepest = max(deepest, depth)
        with os.scandir(path) as it:
            stack += [(e.path, depth + 1) for e in it if e.is_dir(follow_symlinks=False)]
    return deepest


def test_a_tree_deeper_than_the_cap_is_refused_and_recorded(tmp_path, bwrap_ready):
    result, _ = bench_run(tmp_path / "run", DEEP_TREE, "--time-limit", "60")
    limit = [i for i in result.incidents if i.kind == "tree_limit"]
    assert limit and limit[0].fatal and f"deeper than {MAX_DEPTH}" in limit[0].detail
    assert not result.ok  # its files were not all kept
    assert (tmp_path / "run" / "shallow.txt").read_text() == "kept"  # the rest of the run is kept
    assert _depth(tmp_path / "run") <= MAX_DEPTH


def test_tree_walks_are_iterative_in_place_too(tmp_path):
    """Direct mode (no overlay) scans the host folder in place: a deep tree is cut at the cap there too."""
    cur = tmp_path / "run"
    cur.mkdir()
    fd = os.open(cur, os.O_RDONLY)
    for _ in range(1500):
        os.mkdir("d", dir_fd=fd)
        sub = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = sub
    os.symlink("/etc/shadow", "bottom", dir_fd=fd)
    os.close(fd)
    findings = safe_io.scan_tree(tmp_path / "run")
    assert [f.kind for f in findings] == ["tree_limit"]
    assert _depth(tmp_path / "run") == MAX_DEPTH
    safe_io.remove_path(tmp_path / "run" / "d", root=tmp_path / "run")  # removal of a deep tree: no recursion
    assert os.listdir(tmp_path / "run") == []


# ---- row 7: output lines that made the secret-key pattern backtrack -------------------------------
HOSTILE_LINES = {
    "unclosed key name": "KeyError: '" + "KEY" * (MB // 3),
    "repeated key lookups": "KeyError: 'KEY_" * (MB // 15),
    "shell error prefixes": "cannot create a to '" * (MB // 20),
    "shell path": "cannot create " + "a" * MB,
    "unclosed error path": "[Errno 13] Permission denied: '" + "a" * MB,
    "repeated error paths": "Permission denied: '/root/x' " * (MB // 28),
    "repeated read-only": "Read-only file system" * (MB // 21),
    "plain": "a" * MB,
    "mixed": "Errno fork refused KeyError: 'TOKEN cannot remove 'x keyctl EPERM " * (MB // 64),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_LINES))
def test_a_1mb_hostile_line_scans_in_linear_time(name):
    line = HOSTILE_LINES[name][:MB]
    log = IncidentLog()
    scanner = OutputScanner(log, PathContext(Path("/work/run")))
    started = time.perf_counter()
    scanner.feed_line(line)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.3, f"{name}: {elapsed:.2f} s for 1 MB"  # before: ~1 s per 16 KB, cubic in the length


def test_the_scanner_still_finds_the_evidence_it_scans_for():
    log = IncidentLog()
    scanner = OutputScanner(log, PathContext(Path("/work/run")))
    scanner.feed_line("KeyError: 'OPENAI_API_KEY'")
    scanner.feed_line("KeyError: 'batch_size'")
    scanner.feed_line("PermissionError: [Errno 13] Permission denied: '/etc/shadow'")
    scanner.feed_line("OSError: [Errno 101] Network is unreachable")
    details = {(i.kind, i.detail) for i in log.as_list()}
    assert ("secret_access", "looked up OPENAI_API_KEY in the environment (not passed to the sandbox)") in details
    assert not any("batch_size" in d for _, d in details)
    assert ("secret_access", "access to /etc/shadow") in details
    assert "network_attempt" in log.kinds()


def test_a_hostile_line_through_the_harness_costs_well_under_a_second(tmp_path, bwrap_ready):
    result, _ = bench_run(tmp_path / "run", """
        import sys
        for _ in range(8):
            sys.stdout.write("KeyError: '" + "KEY" * 350_000 + "\\n")
        sys.stdout.flush()
    """, "--time-limit", "10")
    assert result.ok and not result.timed_out and result.wall_time_s < 5  # before: killed at 17.8 s


def test_a_megabyte_line_fed_in_pieces_as_the_harness_reads_it_scans_fast():
    log = IncidentLog()
    scanner = OutputScanner(log, PathContext(Path("/work/run")))
    lines: list[str] = []
    tail = StreamTail(8000, lambda line: (lines.append(line), scanner.feed_line(line)))
    started = time.perf_counter()
    for _ in range(16):  # 1 MB without a newline, in the pipe's 64 KB reads
        tail.feed(("KeyError: '" + "KEY" * 30_000)[:65536].encode())
    tail.close()
    assert time.perf_counter() - started < 0.5  # before: ~1 s of harness CPU per 16 KB piece
    assert lines and all(len(x) <= 16_384 for x in lines)


# ---- row 8: the usual host secrets ----------------------------------------------------------------
@pytest.mark.parametrize("path", ["/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d/90-cloud",
                                  "/etc/ssh/ssh_host_ed25519_key", "/root/.bash_history", "/home/ann/.netrc",
                                  "/srv/ci/.git-credentials", "/home/ann/.aws/credentials",
                                  "/home/ann/.config/gcloud/application_default_credentials.json",
                                  "/var/run/secrets/kubernetes.io/serviceaccount/token", "/proc/1/environ",
                                  "/home/ann/.kube/config", "/opt/app/.env"])
def test_usual_host_secrets_are_secret_paths(path):
    assert is_secret_path(path)


@pytest.mark.parametrize("path", ["/etc/passwd", "/etc/hosts", "/usr/lib/python3/tokenize.py", "/tmp/x.txt",
                                  "/etc/ssl/certs/ca-certificates.crt"])
def test_ordinary_paths_are_not_secret_paths(path):
    assert not is_secret_path(path)


def test_reading_etc_shadow_and_sudoers_is_recorded_as_secret_access(tmp_path, bwrap_ready):
    result, _ = bench_run(tmp_path / "run", """
        for p in ("/etc/shadow", "/etc/sudoers", "/etc/ssh/ssh_host_rsa_key", "/root/.netrc"):
            try:
                open(p).read()
            except OSError as err:
                print(err)
    """, "--time-limit", "30")
    secret = " ".join(i.detail for i in result.incidents if i.kind == "secret_access")
    for path in ("/etc/shadow", "/etc/sudoers", "/etc/ssh/ssh_host_rsa_key", "/root/.netrc"):
        assert path in secret, secret


# ---- row 9: /proc/cmdline and host paths in /proc/self/mountinfo ---------------------------------
def test_the_kernel_boot_line_and_the_harness_scratch_paths_are_hidden(tmp_path, bwrap_ready):
    result, _ = bench_run(tmp_path / "run", """
        print(open("/proc/self/mountinfo").read())
        print("cmdline=[" + open("/proc/cmdline").read() + "]")
    """, "--time-limit", "30")
    assert "cmdline=[]" in result.stdout_tail
    host_cmdline = Path("/proc/cmdline").read_text().strip()
    assert host_cmdline and host_cmdline not in result.stdout_tail
    assert "bench-sandbox-" not in result.stdout_tail  # the harness's scratch folder (and its pid)
    assert f"lowerdir={tmp_path}" not in result.stdout_tail and "upperdir=/proc/self/fd/" in result.stdout_tail
