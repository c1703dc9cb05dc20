"""What a sandboxed run produced: exit status, resources used, output tails and incidents."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field, field_validator

from scientist.sandbox.limits import SandboxLimits
from scientist.sandbox.safe_io import printable

IncidentKind = Literal[
    "timeout",
    "memory",
    "process_limit",
    "disk_limit",
    "network_attempt",
    "write_outside_workdir",
    "secret_access",
    "package_install",
    "harness_tamper",
    "cpu_time",
    "open_files",
    "unsafe_no_sandbox",
    "inode_limit",  # the run's filesystem ran out of inodes (file floods)
    "symlink",  # a symlink the run left: refused, never followed, never bound
    "setuid",  # setuid/setgid bits on a file the run left: stripped
    "fifo",  # a FIFO the run left: refused (it would block a reader)
    "device",  # a device node the run left: refused
    "socket",  # a socket the run left: refused
    "sysctl_write",  # a write to /proc/sys or /proc/sysrq-trigger: refused
    "access_denied",  # EACCES/EPERM outside the run directory (a read or a write)
    "tree_limit",  # a tree deeper than the depth cap, or with more entries than the entry cap: refused
    "keyring",  # a kernel keyring call (keyctl, add_key, request_key): denied by the seccomp filter
    "harness_error",  # the harness failed after the run (the run's record is kept; the run counts as failed)
]

# Where the evidence for an incident came from. "output" means inferred from what the program
# printed (an error it saw, such as EROFS or ENETUNREACH): an attempt it did not report is missed.
IncidentSource = Literal["harness", "kernel", "output"]


class Incident(BaseModel):
    """One attempt to cross a limit, with the evidence it was detected from."""

    kind: IncidentKind
    detail: str
    source: IncidentSource = "harness"
    fatal: bool = Field(False, description="the limit stopped the run (killed it or made it fail)")
    count: int = Field(1, ge=1, description="how many times the same evidence was seen")

    @field_validator("detail")
    @classmethod
    def _utf8(cls, detail: str) -> str:  # names the run chose (not UTF-8) must not make the record unwritable
        return printable(detail)


class SandboxResult(BaseModel):
    """The self-describing record of one sandboxed command."""

    command: list[str]
    workdir: str
    exit_code: int | None = Field(description="None when the harness killed the run (time-out, disk limit)")
    signal: int | None = Field(None, description="signal that ended the command, when one did")
    timed_out: bool = False
    wall_time_s: float
    cpu_time_s: float | None = None
    peak_memory_mb: float | None = None
    disk_written_mb: float | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""
    incidents: list[Incident] = Field(default_factory=list)
    sandboxed: bool
    enforcement: dict[str, str] = Field(
        default_factory=dict, description="limit name -> mechanism that enforced it, or 'not enforced'"
    )
    warnings: list[str] = Field(default_factory=list)
    limits: SandboxLimits

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """Exited 0 and no incident stopped it."""
        return self.exit_code == 0 and not self.timed_out and not any(i.fatal for i in self.incidents)

    @property
    def incident_kinds(self) -> set[str]:
        return {i.kind for i in self.incidents}
