"""`run_in_sandbox`: run one command under the limits and return what happened."""
from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from scientist.sandbox import bwrap, cgroups, rlimits
from scientist.sandbox.disk import tree_bytes
from scientist.sandbox.environment import SANDBOX_HOME, python_paths, sandbox_env
from scientist.sandbox.incidents import IncidentLog, OutputScanner, PathContext, command_incidents, exit_incidents
from scientist.sandbox.limits import SandboxLimits
from scientist.sandbox.result import SandboxResult
from scientist.sandbox.streams import StreamTail

MB = 1024 * 1024
POLL_S = 0.05
# Joins the run's cgroups before exec'ing prlimit -> bwrap, so no process of the run starts outside them.
_JOIN_CGROUPS = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || '
    '{ echo "bench-sandbox: cannot join cgroup $1" >&2; exit 125; }; shift; n=$((n-1)); done; exec "$@"'
)
_LAUNCH_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin"}  # bwrap's own environment: nothing to leak via /proc


def _protected_paths() -> list[Path]:
    """The harness's own code: the project tree when run from a checkout, else the installed packages."""
    here = Path(__file__).resolve()
    root = here.parents[2]
    if (root / "pyproject.toml").exists():
        return [root]
    return [here.parents[1]]


def run_in_sandbox(
    cmd: Sequence[str],
    workdir: Path,
    *,
    limits: SandboxLimits = SandboxLimits(),
    readonly_binds: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    unsafe_no_sandbox: bool = False,
    tail_bytes: int = 8000,
) -> SandboxResult:
    """Run `cmd` with `workdir` as its writable current directory, under `limits`.

    Raises SandboxUnavailable (before running anything) when bubblewrap cannot isolate the run and
    `unsafe_no_sandbox` was not asked for.
    """
    command = [str(c) for c in cmd]
    if not command:
        raise ValueError("empty command")
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    ro_binds = [Path(p).resolve(strict=True) for p in readonly_binds]
    log = IncidentLog()
    warnings: list[str] = []
    enforcement: dict[str, str] = {}
    exe = None
    if unsafe_no_sandbox:
        log.add("unsafe_no_sandbox", "run without isolation, as explicitly requested", "harness")
        warnings.append("UNSAFE: no sandbox; the program can read host files and secrets, write anywhere the "
                        "user can, and use the network. Only the rlimits, cgroups and time-out apply.")
    else:
        exe = bwrap.find_bwrap()
        bwrap.probe(exe)
    command_incidents(command, log)

    scratch = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    (scratch / "home").mkdir()
    cg = cgroups.create_run_cgroup(limits.memory_mb, limits.pids)
    try:
        argv, launch_env = _argv(exe, command, workdir, scratch, ro_binds, env, limits, cg, warnings, enforcement)
        context = PathContext(workdir, ro_binds, _protected_paths(), python_paths())
        return _execute(argv, launch_env, command, workdir, scratch, limits, cg, log, context,
                        warnings, enforcement, tail_bytes, sandboxed=exe is not None)
    finally:
        cg.kill_all()
        cg.remove()
        shutil.rmtree(scratch, ignore_errors=True)


def _argv(exe, command, workdir, scratch, ro_binds, env, limits, cg, warnings, enforcement):
    warnings += cg.warnings
    memory_cg, pids_cg = "memory" in cg.dirs, "pids" in cg.dirs
    pids_rl = not pids_cg and rlimits.nproc_works()
    enforcement["wall_time"] = "harness: SIGKILL to the process group, the cgroup and the sandbox"
    enforcement["cpu_time"] = "RLIMIT_CPU per process" if limits.cpu_time_s else "no limit requested"
    enforcement["memory"] = cg.describe("memory") if memory_cg else "RLIMIT_AS per process (virtual memory)"
    enforcement["pids"] = cg.describe("pids") if pids_cg else ("RLIMIT_NPROC" if pids_rl else "not enforced")
    enforcement["disk"] = "RLIMIT_FSIZE per file; harness polls run directory + /tmp growth"
    enforcement["open_files"] = "RLIMIT_NOFILE per process"
    if not memory_cg:
        warnings.append("memory limit NOT enforced for the run as a whole: only RLIMIT_AS per process, which "
                        "counts virtual memory (big reservations, e.g. torch threads, may fail early)")
    if not pids_cg:
        warnings.append("process limit NOT enforced: no pids cgroup and RLIMIT_NPROC does not apply to root"
                        if not pids_rl else
                        "process limit enforced only by RLIMIT_NPROC, which counts every process of this user")
    prlimit = rlimits.prlimit_argv(limits, memory_by_rlimit=not memory_cg, pids_by_rlimit=pids_rl)
    join = ["/bin/sh", "-c", _JOIN_CGROUPS, "bench-sandbox", str(len(cg.procs_files)),
            *map(str, cg.procs_files)]
    if exe is None:
        inner_env, env_warnings = sandbox_env(env, home=str(scratch / "home"), tmp=str(scratch))
        warnings += env_warnings
        enforcement["network"] = enforcement["filesystem"] = "not enforced (unsafe_no_sandbox)"
        return [*join, *prlimit, *command], inner_env
    inner_env, env_warnings = sandbox_env(env, home=SANDBOX_HOME)
    warnings += env_warnings
    enforcement["network"] = "host network (limits.network=True)" if limits.network else "empty network namespace"
    enforcement["filesystem"] = "bubblewrap: read-only system and Python, writable run directory and /tmp only"
    if limits.network:
        warnings.append("network access allowed by limits.network=True")
    argv = bwrap.build_bwrap_argv(exe, command, workdir=workdir, scratch=scratch, env=inner_env, limits=limits,
                                  readonly_binds=ro_binds)
    return [*join, *prlimit, *argv], _LAUNCH_ENV


def _execute(argv, launch_env, command, workdir, scratch, limits, cg, log, context, warnings, enforcement,
             tail_bytes, *, sandboxed) -> SandboxResult:
    scanner = OutputScanner(log, context)
    tails = [StreamTail(tail_bytes, scanner.feed_line), StreamTail(tail_bytes, scanner.feed_line)]
    baseline = tree_bytes(workdir)

    def written() -> int:
        return max(0, tree_bytes(workdir) - baseline) + tree_bytes(scratch)

    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, env=launch_env, cwd=workdir)
    fds = {proc.stdout.fileno(): tails[0], proc.stderr.fileno(): tails[1]}  # type: ignore[union-attr]
    for fd in fds:
        os.set_blocking(fd, False)
    killed_by_harness = timed_out = False
    next_disk, status, rusage = start, None, None

    def kill() -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        cg.kill_all()

    while status is None:
        _pump(fds, POLL_S)
        pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status, rusage = st, ru
            break
        now = time.monotonic()
        if not killed_by_harness and now - start > limits.wall_time_s:
            kill()
            killed_by_harness = timed_out = True
            log.add("timeout", f"wall time limit of {limits.wall_time_s:g} s reached; the whole run was killed",
                    "harness", fatal=True)
        elif not killed_by_harness and now >= next_disk:
            t0 = time.monotonic()
            used = written()
            next_disk = time.monotonic() + max(0.1, 20 * (time.monotonic() - t0))
            if used > limits.disk_mb * MB:
                kill()
                killed_by_harness = True
                log.add("disk_limit", f"wrote {used / MB:.0f} MB, over the {limits.disk_mb} MB disk limit; "
                        "the whole run was killed", "harness", fatal=True)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    kill()  # nothing the run started outlives it, in unsafe mode neither
    deadline = time.monotonic() + 2
    while fds and time.monotonic() < deadline:
        _pump(fds, 0.05)
    for t in tails:
        t.close()
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]

    exit_code, sig = _decode(status, sandboxed)
    if killed_by_harness:
        exit_code, sig = None, signal.SIGKILL
    stats = cg.stats()
    exit_incidents(sig, log, oom_kills=stats.oom_kills, pids_hits=stats.pids_limit_hits,
                   cpu_limited=limits.cpu_time_s is not None, cgroup_memory="memory" in cg.dirs)
    stderr = tails[1].text()
    if sandboxed and exit_code == 1 and stderr.startswith("bwrap: "):
        warnings.append(f"bubblewrap failed to set up the sandbox: {stderr.strip().splitlines()[0]}")
    if exit_code == 125 and "bench-sandbox: cannot join cgroup" in stderr:
        warnings.append("the run could not join its cgroup and was not started")
    peak = stats.peak_memory_bytes if stats.peak_memory_bytes is not None else rusage.ru_maxrss * 1024
    return SandboxResult(
        command=command, workdir=str(workdir), exit_code=exit_code, signal=sig, timed_out=timed_out,
        wall_time_s=round(wall, 3), cpu_time_s=round(rusage.ru_utime + rusage.ru_stime, 3),
        peak_memory_mb=round(peak / MB, 1), disk_written_mb=round(written() / MB, 2),
        stdout_tail=tails[0].text(), stderr_tail=stderr, incidents=log.as_list(), sandboxed=sandboxed,
        enforcement=enforcement, warnings=warnings, limits=limits,
    )


def _pump(fds: dict, timeout: float) -> None:
    if not fds:
        time.sleep(timeout)
        return
    ready, _, _ = select.select(list(fds), [], [], timeout)
    for fd in ready:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            continue
        if chunk:
            fds[fd].feed(chunk)
        else:
            del fds[fd]


def _decode(status: int, sandboxed: bool) -> tuple[int, int | None]:
    """(exit code, signal). bwrap reports a child killed by signal N as exit 128+N, so that is inferred."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return 128 + sig, sig
    code = os.WEXITSTATUS(status)
    if sandboxed and 128 < code <= 128 + 64:
        return code, code - 128
    return code, None
