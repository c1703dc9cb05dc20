"""`run_in_sandbox`: run one command under the limits, watch it, and return what happened."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from scientist.sandbox import bwrap, cgroups, keyring
from scientist.sandbox.environment import python_paths
from scientist.sandbox.identity import sandbox_identity
from scientist.sandbox.incidents import IncidentLog, OutputScanner, PathContext, command_incidents, exit_incidents
from scientist.sandbox.limits import SandboxLimits
from scientist.sandbox.plan import LaunchPlan, plan_launch
from scientist.sandbox.result import SandboxResult
from scientist.sandbox.runfs import RunFilesystem, create_run_fs
from scientist.sandbox.streams import StreamTail

MB = 1024 * 1024
DEFAULT_LIMITS = SandboxLimits()
POLL_S = 0.02  # also the disk budget's polling interval while the run directory is small


def _protected_paths() -> list[Path]:
    """The harness's own code (the project tree from a checkout, else the installed package) and the cgroups."""
    here = Path(__file__).resolve()
    root = here.parents[2]
    return [root if (root / "pyproject.toml").exists() else here.parents[1], Path("/sys/fs/cgroup")]


def run_in_sandbox(
    cmd: Sequence[str],
    workdir: Path,
    *,
    limits: SandboxLimits = DEFAULT_LIMITS,
    readonly_binds: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    unsafe_no_sandbox: bool = False,
    tail_bytes: int = 8000,
) -> SandboxResult:
    """Run `cmd` with `workdir` as its writable current directory, under `limits`.

    Raises SandboxUnavailable, before running anything, when bubblewrap cannot isolate the run and
    `unsafe_no_sandbox` was not asked for.
    """
    command = [str(c) for c in cmd]
    if not command:
        raise ValueError("empty command")
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    # a read-only bind is bound as named: a symlink is refused (runfs), never resolved into a bind of its target
    ro_binds = [Path(os.path.abspath(p)) for p in readonly_binds]
    for p in ro_binds:
        if not os.path.lexists(p):
            raise FileNotFoundError(f"read-only bind {p} does not exist")
    log = IncidentLog()
    warnings: list[str] = []
    exe = None
    if unsafe_no_sandbox:
        log.add("unsafe_no_sandbox", "run without isolation, as explicitly requested", "harness")
        warnings.append("UNSAFE: no sandbox; the program can read host files and secrets, write anywhere the "
                        "user can, and use the network. Only the rlimits, cgroups and time-out apply.")
    else:
        exe = bwrap.find_bwrap()
        bwrap.probe(exe)
    command_incidents(command, log)

    identity = sandbox_identity()
    fs = create_run_fs(workdir, limits, identity, readonly_binds=ro_binds, python=python_paths(),
                       sandboxed=exe is not None)
    cg = cgroups.create_run_cgroup(limits.memory_mb, limits.pids)
    seccomp_fd = keyring.filter_fd() if exe is not None else None
    try:
        plan = plan_launch(exe, command, workdir=workdir, fs=fs, identity=identity, env=env, limits=limits, cg=cg)
        plan.warnings[:0] = warnings
        _deny_keyrings(plan, exe, seccomp_fd)
        scanner = OutputScanner(log, PathContext(workdir, ro_binds, _protected_paths(), python_paths()))
        watch = _Watch(plan, command, workdir, fs, limits, cg, log, scanner, tail_bytes)
        watch.pass_fds = () if seccomp_fd is None else (seccomp_fd,)
        # started (and watched: --die-with-parent follows the starting thread) from a thread holding a new,
        # empty session keyring, never the harness's
        return keyring.in_fresh_session_keyring(lambda: watch.run(exe is not None))
    finally:
        if seccomp_fd is not None:
            os.close(seccomp_fd)
        cg.kill_all()
        cg.remove()
        fs.close()


def _deny_keyrings(plan: LaunchPlan, exe: str | None, seccomp_fd: int | None) -> None:
    """bwrap loads the keyring filter (`--seccomp FD`) for everything the run starts."""
    if exe is None:
        plan.enforcement["keyring"] = "not enforced (unsafe_no_sandbox); a fresh empty session keyring only"
        return
    if seccomp_fd is None:
        plan.enforcement["keyring"] = "DEGRADED: fresh empty session keyring per run; no seccomp filter for this CPU"
        plan.warnings.append("no seccomp filter for this architecture: keyring calls are not denied (the run "
                             "gets its own empty session keyring)")
        return
    at = plan.argv.index(exe) + 1
    plan.argv[at:at] = ["--seccomp", str(seccomp_fd)]
    plan.enforcement["keyring"] = ("seccomp: add_key, request_key, keyctl fail with EPERM; fresh empty session "
                                   "keyring per run")


class _Watch:
    """Starts the plan and watches it: output, exit, wall time, disk budget."""

    def __init__(self, plan: LaunchPlan, command: list[str], workdir: Path, fs: RunFilesystem, limits: SandboxLimits,
                 cg: cgroups.RunCgroup, log: IncidentLog, scanner: OutputScanner, tail_bytes: int) -> None:
        self.plan, self.command, self.workdir, self.fs = plan, command, workdir, fs
        self.limits, self.cg, self.log = limits, cg, log
        self.tails = (StreamTail(tail_bytes, scanner.feed_line), StreamTail(tail_bytes, scanner.feed_line))
        self.pass_fds: tuple[int, ...] = ()

    def over_budget(self) -> list[tuple[str, str]]:
        self.fs.poll(sorted(self.cg.pids()) if not self.fs.overlay else ())
        return self.fs.over()

    def run(self, sandboxed: bool) -> SandboxResult:
        start = time.monotonic()
        proc = subprocess.Popen(self.plan.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, env=self.plan.env, cwd=self.workdir,
                                pass_fds=self.pass_fds)
        assert proc.stdout is not None and proc.stderr is not None
        fds = {proc.stdout.fileno(): self.tails[0], proc.stderr.fileno(): self.tails[1]}
        for fd in fds:
            os.set_blocking(fd, False)
        killed = timed_out = False
        next_disk = start

        def kill() -> None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.cg.kill_all()

        while True:
            _pump(fds, POLL_S)
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = time.monotonic()
            if killed:
                continue
            if now - start > self.limits.wall_time_s:
                kill()
                killed = timed_out = True
                self.log.add("timeout", f"wall time limit of {self.limits.wall_time_s:g} s reached; the whole run "
                             "was killed", "harness", fatal=True)
            elif now >= next_disk:
                over = self.over_budget()
                next_disk = time.monotonic() + max(POLL_S, 20 * (time.monotonic() - now))  # cheap for big trees too
                if over and not self.fs.overlay:  # with the per-run tmpfs the kernel refuses the writes itself
                    kill()
                    killed = True
                    for kind, detail in over:
                        self.log.add(kind, f"{detail}; the whole run was killed", "harness", fatal=True)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        kill()  # nothing the run started outlives it, in unsafe mode neither
        deadline = time.monotonic() + 2
        while fds and time.monotonic() < deadline:
            _pump(fds, 0.05)
        for tail in self.tails:
            tail.close()
        proc.stdout.close()
        proc.stderr.close()
        return self._result(status, rusage, wall, killed, timed_out, sandboxed)

    def _result(self, status: int, rusage, wall: float, killed: bool, timed_out: bool,
                sandboxed: bool) -> SandboxResult:
        exit_code, sig = _decode(status, sandboxed)
        if killed:
            exit_code, sig = None, signal.SIGKILL
        stats = self.cg.stats()
        for kind, detail in self.over_budget():  # overlay: the kernel refused writes past the tmpfs's size or inodes
            self.log.add(kind, detail, "kernel" if self.fs.overlay else "harness", fatal=True)
        deadline = time.monotonic() + 2
        while self.cg.pids() and time.monotonic() < deadline:  # nothing of the run writes while it is committed
            self.cg.kill_all()
            time.sleep(0.01)
        try:
            findings = self.fs.finish()
        except OSError as err:
            findings = []
            self.plan.warnings.append(f"the run's files could not be committed to {self.workdir}: {err}")
        for f in findings:
            self.log.add(f.kind, f.detail, "harness", fatal=f.kind in ("disk_limit", "tree_limit"))  # files not all kept
        warnings = self.plan.warnings + [w for w in self.fs.warnings if w not in self.plan.warnings]
        exit_incidents(sig, self.log, oom_kills=stats.oom_kills, pids_hits=stats.pids_limit_hits,
                       cpu_limited=self.limits.cpu_time_s is not None, cgroup_memory="memory" in self.cg.dirs,
                       tcp_limit_reached=stats.tcp_limit_reached)
        stderr = self.tails[1].text()
        if sandboxed and exit_code == 1 and stderr.startswith("bwrap: "):
            first = stderr.strip().splitlines()[0]
            warnings.append(f"command not found in the sandbox: {first}" if "execvp" in first
                            else f"bubblewrap failed to set up the sandbox: {first}")
        if exit_code == 125 and "bench-sandbox: cannot join cgroup" in stderr:
            warnings.append("the run could not join its cgroup and was not started")
        cpu = stats.cpu_seconds if stats.cpu_seconds is not None else rusage.ru_utime + rusage.ru_stime
        peak = stats.peak_memory_bytes if stats.peak_memory_bytes is not None else rusage.ru_maxrss * 1024
        return SandboxResult(
            command=self.command, workdir=str(self.workdir), exit_code=exit_code, signal=sig, timed_out=timed_out,
            wall_time_s=round(wall, 3), cpu_time_s=round(cpu, 3), peak_memory_mb=round(peak / MB, 1),
            disk_written_mb=round(self.fs.peak_bytes / MB, 2), stdout_tail=self.tails[0].text(), stderr_tail=stderr,
            incidents=self.log.as_list(), sandboxed=sandboxed, enforcement=self.plan.enforcement,
            warnings=warnings, limits=self.limits,
        )


def _pump(fds: dict[int, StreamTail], timeout: float) -> None:
    """Read what is ready on the output pipes; drop a pipe at end of file."""
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
    """(exit code, signal). bwrap reports a child killed by signal N as exit 128+N, so that signal is inferred."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return 128 + sig, sig
    code = os.WEXITSTATUS(status)
    if sandboxed and 128 < code <= 128 + 64:
        return code, code - 128
    return code, None
