"""Sandboxed execution of model-written experiment code: the only place that builds sandbox command lines.

    from scientist.sandbox import SandboxLimits, run_in_sandbox
    res = run_in_sandbox(["python", "experiment.py"], run_dir, limits=SandboxLimits(wall_time_s=60))
    res.ok, res.incidents

Backend: bubblewrap (namespaces, read-only binds), a child cgroup (memory, pids; v1 or v2) and
rlimits via prlimit (CPU, file size, open files). Time-out and disk budget are enforced by the
harness. See `incidents` for how each incident is detected and which are inferred.
"""
from scientist.sandbox.bwrap import SandboxUnavailable
from scientist.sandbox.limits import SandboxLimits
from scientist.sandbox.result import Incident, IncidentKind, SandboxResult
from scientist.sandbox.runner import run_in_sandbox

__all__ = ["Incident", "IncidentKind", "SandboxLimits", "SandboxResult", "SandboxUnavailable", "run_in_sandbox"]
