"""The limits a sandboxed run may not cross. They live in the harness, never in code the model edits."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SandboxLimits(BaseModel):
    """Resource limits for one sandboxed command; every field has a default sane for one experiment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_time_s: float = Field(600, gt=0, description="wall-clock limit; the harness kills the whole sandbox")
    cpu_time_s: float | None = Field(None, gt=0, description="CPU seconds per process (RLIMIT_CPU); None: no limit")
    memory_mb: int = Field(4096, gt=0, description="memory of the whole run (cgroup), else address space per process")
    pids: int = Field(128, gt=0, description="processes and threads of the whole run (pids cgroup)")
    disk_mb: int = Field(2048, gt=0, description="MB the run may store (run directory writes, /tmp, /dev/shm, unlinked open files), "
                         "and the size of any one file")
    inodes: int | None = Field(None, gt=0, description="files and directories the run may create; None: "
                               "max(4096, 64 per MB of disk_mb)")
    open_files: int = Field(512, gt=0, description="open file descriptors per process (RLIMIT_NOFILE)")
    network: bool = Field(False, description="True keeps the host network; default: loopback-only network namespace")
    gpus: tuple[int, ...] = Field((), description="NVIDIA GPUs (nvidia-smi indexes) the run sees, and no other; "
                                  "empty: none (scientist.sandbox.gpu)")

    @property
    def max_inodes(self) -> int:
        return self.inodes if self.inodes is not None else max(4096, 64 * self.disk_mb)
