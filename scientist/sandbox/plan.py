"""The launch plan of one run: argv (cgroup join, prlimit, bwrap), environment, and what enforces each limit."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scientist.sandbox import bwrap, gpu, rlimits
from scientist.sandbox.cgroups import RunCgroup
from scientist.sandbox.environment import SANDBOX_HOME, sandbox_env
from scientist.sandbox.identity import SandboxIdentity
from scientist.sandbox.limits import SandboxLimits
from scientist.sandbox.runfs import RunFilesystem

# Joins the run's cgroups before exec'ing prlimit -> bwrap, so no process of the run starts outside them.
JOIN_CGROUPS = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || '
    '{ echo "bench-sandbox: cannot join cgroup $1" >&2; exit 125; }; shift; n=$((n-1)); done; exec "$@"'
)
LAUNCH_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin"}  # bwrap's own environment: nothing to leak via /proc/1/environ


@dataclass
class LaunchPlan:
    argv: list[str]
    env: dict[str, str]
    enforcement: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def plan_launch(bwrap_exe: str | None, command: Sequence[str], *, workdir: Path, fs: RunFilesystem,
                identity: SandboxIdentity, env: Mapping[str, str] | None, limits: SandboxLimits,
                cg: RunCgroup) -> LaunchPlan:
    """bwrap_exe None means unsafe_no_sandbox: the same limits, without namespaces."""
    memory_cg, pids_cg = "memory" in cg.dirs, "pids" in cg.dirs
    pids_rl = not pids_cg and rlimits.nproc_works()
    warnings = list(cg.warnings) + list(fs.warnings)
    enforcement = {
        "wall_time": "harness: SIGKILL to the process group, the cgroup and the sandbox",
        "cpu_time": "RLIMIT_CPU per process" if limits.cpu_time_s else "no limit requested",
        "memory": cg.describe("memory") if memory_cg else (
            "NOT ENFORCED: no memory cgroup, and GPU runs get no RLIMIT_AS (it breaks CUDA)" if limits.gpus
            else "RLIMIT_AS per process (virtual memory)"),
        "pids": cg.describe("pids") if pids_cg else ("RLIMIT_NPROC" if pids_rl else "not enforced"),
        "disk": (f"per-run tmpfs of {limits.disk_mb} MB and {limits.max_inodes} inodes holding the run directory's "
                 "overlay, /tmp and /dev/shm (kernel: ENOSPC); RLIMIT_FSIZE per file" if fs.overlay else
                 "DEGRADED: harness polls run directory + /tmp bytes, inodes and unlinked open files; "
                 "RLIMIT_FSIZE per file"),
        "harness_files": ("the run writes an overlay; the harness commits it to the host folder through safe_io "
                          "(regular files and directories only, setuid bits stripped)" if fs.overlay else
                          "DEGRADED: the run writes the host folder; safe_io scans it after the run"),
        "open_files": "RLIMIT_NOFILE per process",
    }
    gpu_mounts = gpu.launch_mounts(limits.gpus)
    enforcement["gpu"] = gpu_mounts.describe() if gpu_mounts else "none: no /dev/nvidia* node in the sandbox"
    if not memory_cg and limits.gpus:
        warnings.append("memory limit NOT enforced: no memory cgroup, and a GPU run gets no RLIMIT_AS")
    elif not memory_cg:
        warnings.append("memory limit NOT enforced for the run as a whole: only RLIMIT_AS per process, which "
                        "counts virtual memory (big reservations, e.g. torch threads, may fail early)")
    if not pids_cg:
        warnings.append("process limit enforced only by RLIMIT_NPROC, which counts every process of this user"
                        if pids_rl else
                        "process limit NOT enforced: no pids cgroup and RLIMIT_NPROC does not apply to root")
    prefix = ["/bin/sh", "-c", JOIN_CGROUPS, "bench-sandbox", str(len(cg.procs_files)), *map(str, cg.procs_files),
              *rlimits.prlimit_argv(limits, memory_by_rlimit=not memory_cg and not limits.gpus, pids_by_rlimit=pids_rl)]
    if bwrap_exe is None:
        inner_env, env_warnings = sandbox_env(env, home=str(fs.home), tmp=str(fs.scratch))
        inner_env.update(gpu.host_env(limits.gpus))  # only the variable pins an unsandboxed run; none: no GPU
        enforcement["network"] = enforcement["filesystem"] = "not enforced (unsafe_no_sandbox)"
        enforcement["privileges"] = enforcement["proc"] = "not enforced (unsafe_no_sandbox)"
        return LaunchPlan([*prefix, *command], inner_env, enforcement, warnings + env_warnings)
    inner_env, env_warnings = sandbox_env(env, home=SANDBOX_HOME)
    inner_env.update(gpu_mounts.env if gpu_mounts else {})
    enforcement["network"] = "host network (limits.network=True)" if limits.network else "empty network namespace"
    enforcement["filesystem"] = "bubblewrap: read-only system and Python, writable run directory and /tmp only"
    enforcement["privileges"] = identity.how
    enforcement["proc"] = "/proc/sys, /proc/sysrq-trigger read-only; /proc/cmdline empty" + (
        "" if not identity.root_on_host else "; NOT ENFORCED: writes there are checked as host root")
    warnings += identity.warnings
    if limits.network:
        warnings.append("network access allowed by limits.network=True")
    argv = bwrap.build_bwrap_argv(bwrap_exe, command, workdir=workdir, env=inner_env, limits=limits, mounts=[*fs.args, *(gpu_mounts.args if gpu_mounts else [])])
    return LaunchPlan([*prefix, *identity.prefix(), *argv], dict(LAUNCH_ENV), enforcement, warnings + env_warnings)
