"""The run's own filesystem: the disk budget the program cannot dodge, and the only writable place.

Where the harness may mount (root with CAP_SYS_ADMIN, the usual CI / GPU box), each run gets a
tmpfs of `disk_mb` with an inode cap, mounted nosuid,nodev, holding the sandbox's /tmp, /dev/shm and
the upper layer of an overlay whose lower layer is the host run directory. The program writes into
the overlay; the host folder is never writable from inside. Unlinked-but-open files, inode floods
and /dev/shm all use the tmpfs, so the kernel refuses what is over the budget (ENOSPC), and its
pages are charged to the run's memory cgroup. After the run `commit` applies the upper layer to the
host folder through `safe_io` (regular files and directories only, setuid bits stripped).

Where it may not ("direct" mode, degraded and said so): the host folder is bound writable, the
harness polls its size, inode count and the unlinked files the run holds open, and scans the tree in
place after the run.

Every bind source is staged under the run's tmpfs (a host bind mount made by root), so that the
unprivileged sandbox user can reach a Python installation or a run directory below a 0700 folder
(/root/.pyenv, pytest's /tmp/pytest-of-root).
"""
from __future__ import annotations

import ctypes
import functools
import os
import shutil
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scientist.sandbox import safe_io
from scientist.sandbox.identity import NOBODY_UID, SandboxIdentity
from scientist.sandbox.limits import SandboxLimits

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 32, 4096, 16384
MNT_DETACH = 2
PREFIX = "bench-sandbox-"
MB = 1024 * 1024
FULL_SLACK_BYTES = 256 * 1024  # free space below this at the peak: the run hit its disk budget
OWN_INODES = 64  # the tmpfs's own directories and mountpoints

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: str, target: Path, fstype: str | None, flags: int, data: str | None = None) -> None:
    if _libc.mount(source.encode(), str(target).encode(), fstype.encode() if fstype else None, flags,
                   data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype or 'bind'} {source} on {target}: {os.strerror(err)}")


def _umount(target: Path) -> bool:
    return _libc.umount2(str(target).encode(), MNT_DETACH) == 0


@functools.lru_cache(maxsize=1)
def mount_unavailable() -> str | None:
    """None where this process can mount a sized tmpfs (and so an overlay); else the reason."""
    if os.geteuid() != 0:
        return "the harness is not root, so it cannot mount a per-run filesystem"
    probe = Path(tempfile.mkdtemp(prefix=f"{PREFIX}probe-"))
    try:
        _mount("tmpfs", probe, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=16,mode=0700")
        _umount(probe)
        return None
    except OSError as err:
        return f"mounting a tmpfs failed ({os.strerror(err.errno)}): no CAP_SYS_ADMIN here"
    finally:
        try:
            probe.rmdir()
        except OSError:
            pass


def remove_stale(tmp: Path | None = None) -> None:
    """Unmount and remove the run filesystems of harnesses that died before cleaning up."""
    base = Path(tmp or tempfile.gettempdir())
    for d in base.glob(f"{PREFIX}*-*"):
        pid = d.name[len(PREFIX):].split("-")[0]
        if not pid.isdigit() or Path("/proc", pid).exists():
            continue
        if os.path.ismount(d):
            _umount(d)  # detaches the staged binds below it too
        if os.path.ismount(d):
            continue
        try:
            d.rmdir()
        except OSError:
            if not any(os.path.ismount(p) for p in d.rglob("*") if p.is_dir() and not p.is_symlink()):
                shutil.rmtree(d, ignore_errors=True)


@dataclass
class RunFilesystem:
    workdir: Path
    scratch: Path
    overlay: bool
    identity: SandboxIdentity
    capacity_bytes: int
    capacity_inodes: int
    args: list[str] = field(default_factory=list)  # bwrap mount arguments, in order
    mounts: list[Path] = field(default_factory=list)  # host mounts to undo, in order made
    readonly_rel: set[str] = field(default_factory=set)  # read-only binds inside the run directory
    warnings: list[str] = field(default_factory=list)
    findings: list[safe_io.Finding] = field(default_factory=list)
    peak_bytes: int = 0
    peak_inodes: int = 0
    base_inodes: int = 0
    base_bytes: int = 0
    sandboxed: bool = True

    @property
    def home(self) -> Path:
        return (self.scratch / "tmp" / "home") if self.overlay else (self.scratch / "home")

    # ---- accounting --------------------------------------------------------------------------------
    def poll(self, pids: Sequence[int] = ()) -> None:
        if self.overlay:
            st = os.statvfs(self.scratch)
            used = (st.f_blocks - st.f_bfree) * st.f_frsize
            inodes = max(0, st.f_files - st.f_ffree - self.base_inodes)
        else:
            used, inodes = _tree_usage(self.workdir, self.scratch)
            used += _open_deleted_bytes(pids)
            used = max(0, used - self.base_bytes)
            inodes = max(0, inodes - self.base_inodes)
        self.peak_bytes = max(self.peak_bytes, used)
        self.peak_inodes = max(self.peak_inodes, inodes)

    def over(self) -> list[tuple[str, str]]:
        """(kind, detail) for each budget the run reached."""
        found = []
        if self.peak_bytes >= self.capacity_bytes - FULL_SLACK_BYTES:
            found.append(("disk_limit", f"the run's files reached the {self.capacity_bytes // MB} MB disk budget "
                                        "(run directory, /tmp, /dev/shm and unlinked open files count)"))
        if self.peak_inodes >= self.capacity_inodes:
            found.append(("inode_limit", f"the run created {self.peak_inodes} files and directories, the budget "
                                         f"is {self.capacity_inodes}"))
        return found

    # ---- after the run -----------------------------------------------------------------------------
    def finish(self) -> list[safe_io.Finding]:
        """Apply what the run wrote to the host folder (overlay) or scan it in place (direct)."""
        owner = (self.identity.uid, self.identity.gid) if os.geteuid() == 0 else None
        if self.overlay:
            self.poll()
            return self.findings + safe_io.commit_tree(self.scratch / "upper", self.workdir, owner=owner,
                                                       max_total_bytes=self.capacity_bytes, skip=self.readonly_rel)
        return self.findings + safe_io.scan_tree(self.workdir)

    def close(self) -> None:
        for m in reversed(self.mounts):
            _umount(m)
        if self.overlay:
            if os.path.ismount(self.scratch):
                self.warnings.append(f"could not unmount the run filesystem {self.scratch}")
                return
            try:
                self.scratch.rmdir()
            except OSError:
                pass
        else:
            shutil.rmtree(self.scratch, ignore_errors=True)


def _tree_usage(*roots: Path) -> tuple[int, int]:
    total = count = 0
    stack = [str(r) for r in roots]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    count += 1
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(entry.path)
                    else:
                        total += max(st.st_blocks * 512, 0)
        except OSError:
            continue
    return total, count


def _open_deleted_bytes(pids: Sequence[int]) -> int:
    """Blocks held by files the run unlinked but keeps open (invisible to a tree walk)."""
    total, seen = 0, set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if not os.readlink(f"/proc/{pid}/fd/{fd}").endswith(" (deleted)"):
                    continue
                st = os.stat(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def _refuse_symlink(path: Path, fs: RunFilesystem) -> bool:
    if os.path.islink(path):
        fs.findings.append(safe_io.Finding("symlink", f"{path} -> {os.readlink(path)[:200]}: a symlink is never "
                                                      "turned into a bind; not bound"))
        return True
    return False


def create_run_fs(workdir: Path, limits: SandboxLimits, identity: SandboxIdentity, *,
                  readonly_binds: Sequence[Path], python: Sequence[Path], sandboxed: bool = True) -> RunFilesystem:
    """Set up the run's filesystem; `args` are the bwrap mount arguments (after the system binds)."""
    remove_stale()
    scratch = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    inodes = limits.max_inodes
    why_not = mount_unavailable() if sandboxed else "no sandbox (unsafe_no_sandbox)"
    fs = RunFilesystem(workdir, scratch, why_not is None, identity, limits.disk_mb * MB, inodes, sandboxed=sandboxed)
    if fs.overlay:
        try:
            _setup_overlay(fs, readonly_binds, python)
            return fs
        except OSError as err:
            fs.close()
            scratch.mkdir(exist_ok=True)
            fs = RunFilesystem(workdir, scratch, False, identity, limits.disk_mb * MB, inodes, sandboxed=sandboxed)
            why_not = f"the per-run overlay could not be set up ({err})"
    fs.warnings.append(f"disk budget only polled, not enforced by the kernel: {why_not}; the harness counts the "
                       "run directory, /tmp, inodes and unlinked open files every poll and kills the run above the "
                       "budget, and scans the run directory after the run")
    _setup_direct(fs, readonly_binds, python)
    return fs


def _mkdir(path: Path, identity: SandboxIdentity | None, mode: int) -> Path:
    path.mkdir(mode=mode)
    if identity is not None and os.geteuid() == 0:
        os.chown(path, identity.uid, identity.gid)
    os.chmod(path, mode)
    return path


def _stage(fs: RunFilesystem, src: Path, name: str) -> Path:
    """A host bind of src under the run's tmpfs, reachable by the sandbox user."""
    target = fs.scratch / "stage" / name
    if src.is_dir():
        target.mkdir(mode=0o711)
    else:
        target.touch(mode=0o600)
    _mount(str(src), target, None, MS_BIND | MS_REC)
    fs.mounts.append(target)
    # read-only on the host side too: a tmp cleaner or rmtree that descends into /tmp/bench-sandbox-* while
    # the run is live cannot delete the Python installation or harness files through the staged bind
    _mount("none", target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    return target


def _hand_over(workdir: Path, ident: SandboxIdentity, keep: set[str]) -> None:
    """Give the run directory's existing entries (the read-only binds excepted) to the sandbox user, so the
    program may change them through the overlay as it could before. The host copy is never writable from
    inside (only the overlay is), and no process of that user runs outside a sandbox; with the shared
    `nobody` fallback nothing is handed over (other services may run as nobody)."""
    if os.geteuid() != 0 or ident.root_on_host or ident.uid == NOBODY_UID:
        return
    for top, dirs, files in os.walk(workdir):
        rel_top = os.path.relpath(top, workdir)
        for name in [*dirs, *files]:
            rel = name if rel_top == "." else f"{rel_top}/{name}"
            if rel in keep:
                if name in dirs:
                    dirs.remove(name)
                continue
            path = os.path.join(top, name)
            st = os.lstat(path)
            if st.st_uid != ident.uid and not stat.S_ISLNK(st.st_mode):
                os.lchown(path, ident.uid, ident.gid)


# Host facts the run has no need of, read as an empty file: the host kernel's boot line names the machine and
# its set-up. (A bind of /dev/null would not do: bwrap binds with nodev, so opening it fails.)
PROC_MASKED = ("/proc/cmdline",)


def _mask_proc(fs: RunFilesystem, where: Path) -> None:
    empty = where / ".proc-mask"
    empty.touch(mode=0o444)
    os.chmod(empty, 0o444)
    for path in PROC_MASKED:
        fs.args += ["--ro-bind", str(empty), path]


def _setup_overlay(fs: RunFilesystem, readonly_binds: Sequence[Path], python: Sequence[Path]) -> None:
    s, ident = fs.scratch, fs.identity
    _mount("tmpfs", s, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={fs.capacity_bytes},nr_inodes={fs.capacity_inodes + OWN_INODES},mode=0711")
    fs.mounts.append(s)
    upper = _mkdir(s / "upper", ident, stat.S_IMODE(os.stat(fs.workdir).st_mode) | 0o700)
    _mkdir(s / "ovwork", None, 0o700)
    merged = _mkdir(s / "merged", None, 0o755)
    _mkdir(s / "tmp", ident, 0o700)
    _mkdir(s / "tmp" / "home", ident, 0o700)
    _mkdir(s / "shm", ident, 0o700)
    _mkdir(s / "stage", None, 0o711)
    _hand_over(fs.workdir, ident, {str(p.relative_to(fs.workdir)) for p in readonly_binds
                                   if p.is_relative_to(fs.workdir)})
    # named by descriptor: the mount options the run reads in /proc/self/mountinfo then show /proc/self/fd/N,
    # not the harness's scratch folder (with its pid) or the host run folder
    fds = [os.open(p, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) for p in (fs.workdir, upper, s / "ovwork")]
    try:
        _mount("overlay", merged, "overlay", MS_NOSUID | MS_NODEV,
               "lowerdir=/proc/self/fd/{},upperdir=/proc/self/fd/{},workdir=/proc/self/fd/{}".format(*fds))
    finally:
        for fd in fds:
            os.close(fd)
    fs.mounts.append(merged)
    fs.args += ["--bind", str(s / "tmp"), "/tmp"]  # first: binds below /tmp (a venv, the run dir) go on top
    for i, p in enumerate(python):
        if p.exists():
            fs.args += ["--ro-bind", str(_stage(fs, p, f"py{i}")), str(p)]
    fs.args += ["--bind", str(s / "shm"), "/dev/shm", "--bind", str(merged), str(fs.workdir)]
    for i, p in enumerate(readonly_binds):
        if _refuse_symlink(p, fs):
            continue
        fs.args += ["--ro-bind", str(_stage(fs, p, f"ro{i}")), str(p)]
        if p.is_relative_to(fs.workdir):
            fs.readonly_rel.add(str(p.relative_to(fs.workdir)))
    _mask_proc(fs, s / "stage")
    st = os.statvfs(s)
    fs.base_inodes = st.f_files - st.f_ffree
    # now that the harness's own entries are made, cap the inodes at exactly what the run may create
    _mount("tmpfs", s, "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV,
           f"size={fs.capacity_bytes},nr_inodes={fs.base_inodes + fs.capacity_inodes}")


def _setup_direct(fs: RunFilesystem, readonly_binds: Sequence[Path], python: Sequence[Path]) -> None:
    ident = fs.identity
    os.chmod(fs.scratch, 0o700)
    _mkdir(fs.home, ident, 0o700)
    if fs.sandboxed and os.geteuid() == 0 and not ident.root_on_host:
        os.chown(fs.scratch, ident.uid, ident.gid)
        os.chown(fs.workdir, ident.uid, ident.gid)  # its top level only: the program may create files there
    fs.args += ["--bind", str(fs.scratch), "/tmp"]
    for p in python:
        fs.args += ["--ro-bind-try", str(p), str(p)]
    fs.args += ["--size", str(fs.capacity_bytes), "--tmpfs", "/dev/shm", "--bind", str(fs.workdir), str(fs.workdir)]
    for p in readonly_binds:
        if not _refuse_symlink(p, fs):
            fs.args += ["--ro-bind", str(p), str(p)]
    _mask_proc(fs, fs.scratch)
    fs.base_bytes, fs.base_inodes = _tree_usage(fs.workdir, fs.scratch)
