"""A child cgroup per run for the memory and pids limits, on cgroup v1 or v2.

The run joins the cgroup before bubblewrap starts (see `runner`), so every process it creates is
counted. v1 (these machines) has one hierarchy per controller; v2 one unified hierarchy whose
controllers must be delegated to the child through the parent's `cgroup.subtree_control`.
"""
from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

CONTROLLERS = ("memory", "pids")
ACCOUNTING = "cpuacct"  # v1 only, for CPU time of the whole run; v2 has cpu.stat in every cgroup


@dataclass(frozen=True)
class Mount:
    root: str  # part of the hierarchy that is mounted
    mountpoint: Path
    version: int  # 1 or 2
    controllers: frozenset[str]


def parse_mountinfo(text: str) -> list[Mount]:
    """Cgroup mounts from /proc/self/mountinfo text."""
    mounts = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3 or rfields[0] not in ("cgroup", "cgroup2"):
            continue
        if rfields[0] == "cgroup":
            opts = set(rfields[2].split(","))
            mounts.append(Mount(fields[3], Path(fields[4]), 1, frozenset(opts & {*CONTROLLERS, ACCOUNTING})))
        else:  # which v2 controllers a process may use depends on its own cgroup: see own_cgroup_dirs
            mounts.append(Mount(fields[3], Path(fields[4]), 2, frozenset()))
    return mounts


def parse_proc_cgroup(text: str) -> tuple[dict[str, str], str | None]:
    """(v1 controller -> path, v2 path) from /proc/self/cgroup text."""
    v1: dict[str, str] = {}
    v2 = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            v2 = parts[2]
        for ctl in parts[1].split(","):
            if ctl:
                v1[ctl] = parts[2]
    return v1, v2


def _under(mount: Mount, path: str) -> Path:
    rel = os.path.relpath(path, mount.root) if mount.root != "/" else path.lstrip("/")
    return mount.mountpoint / ("" if rel == "." else rel)


def own_cgroup_dirs(mountinfo: str, proc_cgroup: str) -> dict[str, tuple[Path, int]]:
    """controller -> (this process's cgroup directory, version), v1 preferred where mounted.

    On v2 a controller counts only if this process's own cgroup lists it in cgroup.controllers.
    """
    v1_paths, v2_path = parse_proc_cgroup(proc_cgroup)
    found: dict[str, tuple[Path, int]] = {}
    mounts = parse_mountinfo(mountinfo)
    for ctl in (*CONTROLLERS, ACCOUNTING):
        for m in mounts:
            if m.version == 1 and ctl in m.controllers and ctl in v1_paths:
                found[ctl] = (_under(m, v1_paths[ctl]), 1)
                break
        else:
            for m in mounts:
                if m.version == 2 and v2_path is not None and ctl in _v2_available(_under(m, v2_path)):
                    found[ctl] = (_under(m, v2_path), 2)
                    break
    return found


def _v2_available(own: Path) -> set[str]:
    try:
        return set((own / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


@dataclass
class CgroupStats:
    peak_memory_bytes: int | None = None
    oom_kills: int = 0
    pids_limit_hits: int = 0
    cpu_seconds: float | None = None
    tcp_peak_bytes: int | None = None  # v1: socket buffers, counted apart from memory.max_usage_in_bytes
    tcp_limit_reached: bool = False  # v1: socket buffers reached the run's limit (the kernel held sends back)


@dataclass
class RunCgroup:
    """The cgroup directories one run lives in (one per controller on v1, one shared on v2)."""

    dirs: dict[str, tuple[Path, int]]  # controller -> (dir, version)
    warnings: list[str] = field(default_factory=list)
    accounting: dict[str, tuple[Path, int]] = field(default_factory=dict)  # cpuacct on v1

    @property
    def procs_files(self) -> list[Path]:
        return sorted({d / "cgroup.procs" for d, _ in [*self.dirs.values(), *self.accounting.values()]})

    def describe(self, ctl: str) -> str:
        if ctl not in self.dirs:
            return "not enforced"
        d, version = self.dirs[ctl]
        if ctl != "memory":
            return f"cgroup v{version}"
        if version == 2:
            return "cgroup v2 (TCP socket buffers included)"
        return ("cgroup v1 (TCP socket buffers included: memory.kmem.tcp.limit_in_bytes)"
                if (d / "memory.kmem.tcp.limit_in_bytes").exists()
                else "cgroup v1; DEGRADED: TCP socket buffers not charged (no memory.kmem.tcp on this kernel)")

    def pids(self) -> set[int]:
        found: set[int] = set()
        for f in self.procs_files:
            try:
                found |= {int(x) for x in f.read_text().split()}
            except OSError:
                pass
        return found

    def kill_all(self) -> None:
        """SIGKILL every process still in the cgroup (a daemon that left the process group too)."""
        for d, version in set(self.dirs.values()):
            if version == 2 and (d / "cgroup.kill").exists():
                try:
                    _write(d / "cgroup.kill", "1")
                except OSError:
                    pass
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stats(self) -> CgroupStats:
        st = CgroupStats()
        if "memory" in self.dirs:
            d, version = self.dirs["memory"]
            peak = _read_int(d / ("memory.max_usage_in_bytes" if version == 1 else "memory.peak"))
            if version == 1:  # v1 keeps TCP buffers out of the memory counter: add them (v2 charges them in)
                st.tcp_peak_bytes = _read_int(d / "memory.kmem.tcp.max_usage_in_bytes")
                tcp_limit = _read_int(d / "memory.kmem.tcp.limit_in_bytes")
                # failcnt stays 0 on recent kernels: the peak at the limit is the evidence
                st.tcp_limit_reached = bool(_read_int(d / "memory.kmem.tcp.failcnt")) or (
                    tcp_limit is not None and st.tcp_peak_bytes is not None and st.tcp_peak_bytes >= tcp_limit)
                if peak is not None and st.tcp_peak_bytes:
                    peak += st.tcp_peak_bytes
            st.peak_memory_bytes = peak
            events = _read_kv(d / ("memory.oom_control" if version == 1 else "memory.events"))
            st.oom_kills = events.get("oom_kill", 0)
        if "pids" in self.dirs:
            d, _ = self.dirs["pids"]
            st.pids_limit_hits = _read_kv(d / "pids.events").get("max", 0)
        if ACCOUNTING in self.accounting:
            ns = _read_int(self.accounting[ACCOUNTING][0] / "cpuacct.usage")
            st.cpu_seconds = ns / 1e9 if ns is not None else None
        else:
            for d, version in self.dirs.values():
                if version == 2 and "usage_usec" in (kv := _read_kv(d / "cpu.stat")):
                    st.cpu_seconds = kv["usage_usec"] / 1e6
        return st

    def remove(self) -> None:
        deadline = time.monotonic() + 3
        for d in {d for d, _ in [*self.dirs.values(), *self.accounting.values()]}:
            while True:
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        self.warnings.append(f"could not remove cgroup {d}")
                        break
                    self.kill_all()
                    time.sleep(0.005)


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _read_kv(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in path.read_text().splitlines():
            k, _, v = line.partition(" ")
            if v.strip().lstrip("-").isdigit():
                out[k] = int(v)
    except OSError:
        pass
    return out


def _apply_v1(ctl: str, d: Path, memory_bytes: int, pids: int) -> None:
    if ctl == "memory":
        _write(d / "memory.limit_in_bytes", str(memory_bytes))
        if (d / "memory.memsw.limit_in_bytes").exists():  # no swapping around the limit
            _write(d / "memory.memsw.limit_in_bytes", str(memory_bytes))
        # v1 charges TCP socket buffers to the run only once this limit is set (loopback connections the run
        # never reads would otherwise hold host memory outside its budget); v2 charges them to memory.max
        if (d / "memory.kmem.tcp.limit_in_bytes").exists():
            _write(d / "memory.kmem.tcp.limit_in_bytes", str(memory_bytes))
    else:
        _write(d / "pids.max", str(pids))


def _apply_v2(ctl: str, d: Path, memory_bytes: int, pids: int) -> None:
    if ctl == "memory":
        _write(d / "memory.max", str(memory_bytes))
        for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
            if (d / name).exists():
                _write(d / name, value)
    else:
        _write(d / "pids.max", str(pids))


def _delegate_v2(parent: Path, child: Path, ctl: str) -> bool:
    if ctl in _v2_available(child):
        return True
    try:  # fails with EBUSY when the parent holds processes ("no internal processes" rule)
        _write(parent / "cgroup.subtree_control", f"+{ctl}")
    except OSError:
        return False
    return ctl in _v2_available(child)


def _remove_stale(parent: Path) -> None:
    """Empty run cgroups left by a harness that was killed before it could clean up."""
    for d in parent.glob("bench-sandbox-*"):
        pid = d.name.split("-")[2]
        if pid.isdigit() and not Path("/proc", pid).exists() and not (d / "cgroup.procs").read_text().strip():
            try:
                d.rmdir()
            except OSError:
                pass


def create_run_cgroup(memory_mb: int, pids: int, *, mountinfo: str | None = None,
                      proc_cgroup: str | None = None) -> RunCgroup:
    """Create a child cgroup holding the limits; controllers that cannot be set are left out with a warning."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    if proc_cgroup is None:
        proc_cgroup = Path("/proc/self/cgroup").read_text()
    name = f"bench-sandbox-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    run = RunCgroup(dirs={})
    memory_bytes = memory_mb * 1024 * 1024
    found = own_cgroup_dirs(mountinfo, proc_cgroup)
    for parent, _ in found.values():
        try:
            _remove_stale(parent)
        except OSError:
            pass
    if ACCOUNTING in found:
        parent, version = found.pop(ACCOUNTING)
        try:
            (parent / name).mkdir(exist_ok=True)
            run.accounting[ACCOUNTING] = (parent / name, version)
        except OSError:
            pass  # CPU time then comes from getrusage
    for ctl, (parent, version) in found.items():
        child = parent / name
        try:
            child.mkdir(exist_ok=True)
            if version == 2 and not _delegate_v2(parent, child, ctl):
                raise OSError(
                    f"cgroup v2 cannot delegate {ctl} to a child of {parent}, which holds processes; run the harness "
                    f"in a leaf cgroup whose parent enables {ctl} in cgroup.subtree_control (systemd-run --scope "
                    "-p Delegate=yes, or in a container move its processes into a child cgroup first)")
            (_apply_v1 if version == 1 else _apply_v2)(ctl, child, memory_bytes, pids)
        except OSError as err:
            run.warnings.append(f"{ctl} cgroup unavailable ({err}); {ctl} limit falls back to rlimits")
            if child.exists() and not any(child == d for d, _ in run.dirs.values()):
                try:
                    child.rmdir()
                except OSError:
                    pass
            continue
        run.dirs[ctl] = (child, version)
    for ctl in CONTROLLERS:
        if ctl not in run.dirs and not any(ctl in w for w in run.warnings):
            run.warnings.append(f"no {ctl} cgroup controller available to this process (v1 mount or v2 "
                                f"cgroup.controllers); {ctl} limit falls back to rlimits")
    return run
