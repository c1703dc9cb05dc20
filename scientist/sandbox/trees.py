"""Walking a tree the sandbox wrote: after-run scan, overlay commit, removal.

The tree is hostile: thousands of levels deep (a recursive walk dies of RecursionError, and the
record with it), millions of entries, names that are not UTF-8. So every walk here is iterative
(an explicit stack of directory descriptors, no Python recursion), stops at a depth and an entry
cap, and names what it refused in a `Finding` whose text is always valid UTF-8 (`printable`).
Nothing is followed: each level is opened with O_NOFOLLOW relative to its parent's descriptor.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from scientist.sandbox.safe_io import (
    CHUNK,
    DIR_FLAGS,
    OPAQUE_XATTRS,
    SPECIAL_BITS,
    Finding,
    _write_at,
    kind_of,
    open_dir,
    printable,
)

MAX_DEPTH = 64  # directory levels kept below a run folder; deeper ones are refused (recorded)
MAX_ENTRIES = 500_000  # entries looked at in one walk; the rest is refused (recorded)


@dataclass
class _Level:
    """One open directory on the walk's stack (and its counterpart on the host, for a commit)."""

    fd: int
    prefix: str
    depth: int
    names: list[str]
    dest_fd: int = -1

    def close(self) -> None:
        for fd in (self.fd, self.dest_fd):
            if fd >= 0:
                os.close(fd)


def _listing(fd: int) -> list[str]:
    return sorted(os.listdir(fd), reverse=True)  # popped from the end: visited in name order


def _lstat_at(dfd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _too_deep(rel: str, max_depth: int) -> Finding:
    shown = printable(rel) if len(rel) <= 200 else f"{printable(rel[:100])}...{printable(rel[-60:])}"
    return Finding("tree_limit", f"{shown}/: deeper than {max_depth} directory levels: refused, not kept")


def _too_many(max_entries: int) -> Finding:
    return Finding("tree_limit", f"more than {max_entries} entries: the rest of the tree was refused, not kept")


def _special(kind: str, rel: str, dfd: int, name: str) -> Finding:
    if kind == "symlink":
        try:
            target = os.readlink(name, dir_fd=dfd)
        except OSError:
            target = "?"
        return Finding("symlink", f"{printable(rel)} -> {printable(target[:200])}: symlink refused")
    what = {"fifo": "FIFO", "socket": "socket", "device": "device node"}[kind]
    return Finding(kind, f"{printable(rel)}: {what} refused")


def remove_at(dfd: int, name: str) -> None:
    """Remove a name (file, link, special file or directory tree) relative to dfd, following nothing.

    Iterative: one open descriptor per level, so a tree of any depth the descriptor limit allows."""
    st = _lstat_at(dfd, name)
    if st is None:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=dfd)
        return
    top = os.open(name, DIR_FLAGS, dir_fd=dfd)
    stack: list[tuple[int, str, int, list[str]]] = [(dfd, name, top, os.listdir(top))]  # parent, name, fd, left
    try:
        while stack:
            parent, own, fd, left = stack[-1]
            if not left:
                stack.pop()
                os.close(fd)
                os.rmdir(own, dir_fd=parent)
                continue
            child = left.pop()
            st = _lstat_at(fd, child)
            if st is None:
                continue
            if stat.S_ISDIR(st.st_mode):
                sub = os.open(child, DIR_FLAGS, dir_fd=fd)
                stack.append((fd, child, sub, os.listdir(sub)))
            else:
                os.unlink(child, dir_fd=fd)
    finally:
        for _, _, fd, _ in stack:
            os.close(fd)


_Entry = tuple[_Level, str, str, os.stat_result, str]  # level, name, relative path, lstat, kind


def _walk(top: _Level, findings: list[Finding], descend: Callable[[_Level, str, str, os.stat_result], _Level], *,
          max_entries: int, max_depth: int, skip: set[str] = frozenset(), prune: bool = False) -> Iterator[_Entry]:
    """Every entry below `top` that is not a directory, depth first in name order (`skip`: relative
    paths passed over). A directory is entered through `descend`, which returns its open level; one
    deeper than `max_depth` is recorded and not entered (`prune`: and removed); past `max_entries`
    the walk is recorded and stops. Every level still open is closed when the walk ends or is closed."""
    stack = [top]
    seen = 0
    try:
        while stack:
            level = stack[-1]
            if not level.names:
                stack.pop().close()
                continue
            name = level.names.pop()
            rel = level.prefix + name
            if rel in skip:
                continue
            seen += 1
            if seen > max_entries:
                findings.append(_too_many(max_entries))
                return
            st = _lstat_at(level.fd, name)
            if st is None:
                continue
            kind = kind_of(st)
            if kind != "dir":
                yield level, name, rel, st, kind
            elif level.depth + 1 > max_depth:
                findings.append(_too_deep(rel, max_depth))
                if prune:
                    remove_at(level.fd, name)
            else:
                stack.append(descend(level, name, rel, st))
    finally:
        for level in stack:
            level.close()


def _scan_dir(level: _Level, name: str, rel: str, st: os.stat_result) -> _Level:
    if st.st_mode & SPECIAL_BITS & ~stat.S_ISGID:
        os.chmod(name, stat.S_IMODE(st.st_mode) & ~SPECIAL_BITS, dir_fd=level.fd, follow_symlinks=False)
    sub = os.open(name, DIR_FLAGS, dir_fd=level.fd)
    try:
        return _Level(sub, rel + "/", level.depth + 1, _listing(sub))
    except BaseException:
        os.close(sub)
        raise


def scan_tree(root: Path, *, max_entries: int = MAX_ENTRIES, max_depth: int = MAX_DEPTH) -> list[Finding]:
    """Post-run scan in place: remove symlinks, FIFOs, sockets and devices, strip setuid/setgid bits,
    and remove what lies deeper than `max_depth` or past `max_entries` (each recorded)."""
    findings: list[Finding] = []
    with open_dir(root) as root_fd:
        top = _Level(os.dup(root_fd), "", 0, _listing(root_fd))
        with closing(_walk(top, findings, _scan_dir, max_entries=max_entries, max_depth=max_depth,
                           prune=True)) as entries:
            for level, name, rel, st, kind in entries:
                dfd = level.fd
                if kind == "file":
                    if st.st_mode & SPECIAL_BITS:
                        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd)
                        try:
                            os.fchmod(fd, stat.S_IMODE(st.st_mode) & ~SPECIAL_BITS)
                        finally:
                            os.close(fd)
                        findings.append(Finding("setuid", f"{printable(rel)}: setuid/setgid bits stripped "
                                                          f"(mode {stat.S_IMODE(st.st_mode):o})"))
                else:
                    findings.append(_special(kind, rel, dfd, name))
                    os.unlink(name, dir_fd=dfd)
    return findings


def _is_opaque(dfd: int) -> bool:
    for attr in OPAQUE_XATTRS:
        try:
            if os.getxattr(dfd, attr) == b"y":
                return True
        except OSError:
            continue
    return False


def _file_chunks(fd: int, size: int) -> Iterator[bytes | int]:
    """The content of fd in chunks; an all-zero chunk becomes a seek (holes stay holes)."""
    left = size
    while left > 0:
        chunk = os.read(fd, min(CHUNK, left))
        if not chunk:
            return
        left -= len(chunk)
        yield len(chunk) if chunk.count(0) == len(chunk) else chunk


def commit_tree(upper: Path, dest: Path, *, owner: tuple[int, int] | None = None,
                max_total_bytes: int | None = None, skip: set[str] = frozenset(),
                whiteouts: bool = True, max_depth: int = MAX_DEPTH, max_entries: int = MAX_ENTRIES) -> list[Finding]:
    """Apply an overlayfs upper layer (what the sandbox changed) to the host folder `dest`.

    Directories and regular files are recreated by the harness (setuid/setgid stripped, owned by
    `owner`); whiteouts delete; opaque directories replace; symlinks, FIFOs, sockets and devices are
    refused. The apparent size committed is capped at `max_total_bytes` (sparse files cannot multiply
    the disk budget on the host). `skip`: relative paths never touched (read-only binds). Directories
    deeper than `max_depth`, and entries past `max_entries`, are refused and recorded.
    """
    findings: list[Finding] = []
    total = 0

    def descend(level: _Level, name: str, rel: str, st: os.stat_result) -> _Level:
        return _commit_dir(level.fd, level.dest_fd, name, rel, st, level.depth + 1, owner, whiteouts)

    with open_dir(upper) as ufd, open_dir(dest) as dfd:
        top = _Level(os.dup(ufd), "", 0, _listing(ufd), dest_fd=os.dup(dfd))
        with closing(_walk(top, findings, descend, max_entries=max_entries, max_depth=max_depth,
                           skip=skip)) as entries:
            for level, name, rel, st, kind in entries:
                ufd_, dfd_ = level.fd, level.dest_fd
                if whiteouts and kind == "device" and stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:  # deleted
                    remove_at(dfd_, name)
                elif kind == "file":
                    if max_total_bytes is not None and total + st.st_size > max_total_bytes:
                        findings.append(Finding("disk_limit", f"{printable(rel)}: not kept, the run's files add up "
                                                              f"to more than the {max_total_bytes // (1024 * 1024)} MB "
                                                              "disk budget"))
                        continue
                    total += st.st_size
                    if st.st_mode & SPECIAL_BITS:
                        findings.append(Finding("setuid", f"{printable(rel)}: setuid/setgid bits stripped "
                                                          f"(mode {stat.S_IMODE(st.st_mode):o})"))
                    _commit_file(ufd_, dfd_, name, st, owner)
                else:
                    findings.append(_special(kind, rel, ufd_, name))
    return findings


def _commit_dir(ufd: int, dfd: int, name: str, rel: str, st: os.stat_result, depth: int,
                owner: tuple[int, int] | None, whiteouts: bool) -> _Level:
    sub_u = os.open(name, DIR_FLAGS, dir_fd=ufd)
    try:
        existing = _lstat_at(dfd, name)
        if existing is not None and (not stat.S_ISDIR(existing.st_mode) or whiteouts and _is_opaque(sub_u)):
            remove_at(dfd, name)
        if _lstat_at(dfd, name) is None:
            os.mkdir(name, 0o700, dir_fd=dfd)
        sub_d = os.open(name, DIR_FLAGS, dir_fd=dfd)
    except BaseException:
        os.close(sub_u)
        raise
    level = _Level(sub_u, rel + "/", depth, [], dest_fd=sub_d)
    try:
        if owner is not None:
            os.fchown(sub_d, *owner)
        os.fchmod(sub_d, stat.S_IMODE(st.st_mode) & 0o777 | 0o700)
        level.names = _listing(sub_u)
    except BaseException:
        level.close()
        raise
    return level


def _commit_file(ufd: int, dfd: int, name: str, st: os.stat_result, owner: tuple[int, int] | None) -> None:
    src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=ufd)
    try:
        existing = _lstat_at(dfd, name)
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            remove_at(dfd, name)
        _write_at(dfd, name, _file_chunks(src, st.st_size), stat.S_IMODE(st.st_mode), owner)
    finally:
        os.close(src)


def copy_tree(src: Path, dst: Path, *, max_total_bytes: int = 1 << 34) -> list[Finding]:
    """Copy the regular files and directories of a sandbox-written tree to a new folder `dst`;
    symlinks, FIFOs, sockets and devices are left behind and reported."""
    dst.mkdir(parents=True, exist_ok=False)
    return commit_tree(src, dst, max_total_bytes=max_total_bytes, whiteouts=False)
