"""What this machine lets the sandbox enforce, asked once before a benchmark or pipeline starts.

    from scientist.sandbox import enforcement_report
    rep = enforcement_report()
    rep.protections   # protection -> mechanism, or a line starting "NOT ENFORCED"/"DEGRADED"
    rep.degraded      # one sentence per protection that cannot be had here (empty: all hold)

Nothing is run but the probes (an empty bwrap sandbox, a 1 MB tmpfs mount, a child cgroup).
"""
from __future__ import annotations

from pydantic import BaseModel, Field

from scientist.sandbox import bwrap, cgroups, keyring, gpu
from scientist.sandbox.identity import sandbox_identity
from scientist.sandbox.runfs import mount_unavailable


class EnforcementReport(BaseModel):
    protections: dict[str, str] = Field(default_factory=dict)
    degraded: list[str] = Field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.degraded

    def lines(self) -> list[str]:
        return [f"sandbox {name}: {how}" for name, how in self.protections.items()]


def enforcement_report() -> EnforcementReport:
    rep = EnforcementReport()
    try:
        bwrap.probe(bwrap.find_bwrap())
        rep.protections["isolation"] = "bubblewrap: namespaces, read-only system, no network, clean environment"
    except bwrap.SandboxUnavailable as err:
        rep.protections["isolation"] = f"NOT AVAILABLE: {err}"
        rep.degraded.append(f"no sandbox can be started: {err}")
    ident = sandbox_identity()
    rep.protections["privileges"] = ident.how
    rep.degraded += list(ident.warnings) if ident.root_on_host else []
    why = mount_unavailable()
    if why is None:
        rep.protections["disk"] = "per-run tmpfs with size and inode caps (kernel-enforced; /tmp, /dev/shm included)"
        rep.protections["harness_files"] = "overlay: the harness commits the run's files through safe_io"
    else:
        rep.protections["disk"] = f"DEGRADED: polled by the harness ({why})"
        rep.protections["harness_files"] = "DEGRADED: the run writes the host folder; safe_io scans it after the run"
        rep.degraded.append(f"disk budget only polled, and the run writes the host folder directly: {why}")
    cg = cgroups.create_run_cgroup(64, 16)
    try:
        for ctl in cgroups.CONTROLLERS:
            rep.protections[ctl] = cg.describe(ctl) if ctl in cg.dirs else "DEGRADED: rlimits per process"
        rep.degraded += cg.warnings
    finally:
        cg.remove()
    rep.protections["gpu"] = gpu.enforcement_line()
    rep.protections["proc"] = ("/proc/sys, /proc/sysrq-trigger read-only" if not ident.root_on_host
                               else "read-only, but the sandbox is host root") + "; " + PROC_VISIBILITY
    if "DEGRADED" in rep.protections.get("memory", "") and "TCP" in rep.protections["memory"]:
        rep.degraded.append("TCP socket buffers are not charged to the run's memory limit on this kernel")
    if keyring.keyring_filter() is None:
        rep.protections["keyring"] = "DEGRADED: a fresh empty session keyring per run; no seccomp filter for this CPU"
        rep.degraded.append("keyring calls are not denied on this architecture (the run gets its own empty keyring)")
    else:
        rep.protections["keyring"] = ("seccomp filter: add_key, request_key, keyctl fail with EPERM (an incident when "
                                      "printed); a fresh empty session keyring per run")
    return rep


# What /proc still shows the run (bubblewrap cannot hide a mount's own path or the kernel's identity).
PROC_VISIBILITY = ("/proc/cmdline empty; /proc/self/mountinfo names the overlay's layers by descriptor (no harness "
                   "scratch folder or pid). Still visible: the run directory's host path (it is the working "
                   "directory, bound at the same path), the Python prefix (bound at its own path: a virtualenv "
                   "needs it), the root device and filesystem types and options, the kernel version (/proc/version, "
                   "uname) and the CPU and memory totals (/proc/cpuinfo, /proc/meminfo)")
