"""Sandboxed execution of model-written experiment code: the only place that builds sandbox command lines.

    from scientist.sandbox import SandboxLimits, run_in_sandbox
    res = run_in_sandbox(["python", "experiment.py"], run_dir, limits=SandboxLimits(wall_time_s=60))
    res.ok, res.incidents

Backend: bubblewrap (namespaces, read-only binds) started as an unprivileged host user, a per-run
tmpfs + overlay (disk and inode budget; see `runfs`), a child cgroup (memory, pids; v1 or v2) and
rlimits via prlimit (CPU, file size, open files). The harness owns the time-out. Whatever the
harness reads or writes in a folder the sandbox could write goes through `safe_io`.
`enforcement_report()` says what this machine enforces before anything runs.
"""
from scientist.sandbox.bwrap import SandboxUnavailable
from scientist.sandbox.enforcement import EnforcementReport, enforcement_report
from scientist.sandbox.limits import SandboxLimits
from scientist.sandbox.result import Incident, IncidentKind, SandboxResult
from scientist.sandbox.runner import run_in_sandbox

__all__ = ["EnforcementReport", "Incident", "IncidentKind", "SandboxLimits", "SandboxResult", "SandboxUnavailable",
           "enforcement_report", "run_in_sandbox"]
