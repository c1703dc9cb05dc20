"""The one way the host-side harness reads and writes folders a sandboxed program could write.

Whatever the sandbox left there is hostile: a name may be a symlink to a host file, a FIFO that
blocks a reader forever, a device, a sparse file of gigabytes, a setuid binary. So:

- every path is walked from a trusted `root` one component at a time with O_NOFOLLOW (a planted
  directory symlink is refused, not followed);
- reads accept regular files only (S_ISREG on the open descriptor, O_NONBLOCK so a FIFO cannot
  block) and stop at a size cap;
- writes go to a new temporary file (O_EXCL) renamed over the name: a symlink or hard link planted
  at the name is replaced, never written through;
- `scan_tree` (post-run, in place) and `commit_tree` (overlay upper -> host) strip setuid/setgid
  bits and refuse symlinks, FIFOs, sockets and devices, returning one `Finding` per breach.
"""
from __future__ import annotations

import errno
import json
import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
CHUNK = 1 << 20
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
SPECIAL_BITS = stat.S_ISUID | stat.S_ISGID
OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")


class UnsafePath(OSError):
    """A name in a sandbox-writable folder is not what the harness may touch (symlink, FIFO, too big...)."""


@dataclass(frozen=True)
class Finding:
    """One breach seen in a sandbox-written tree: an incident kind and what was done about it."""

    kind: str  # symlink, setuid, fifo, device, socket, disk_limit, tree_limit
    detail: str

    def __post_init__(self) -> None:  # a name the run chose may not be UTF-8: the record must still serialize
        object.__setattr__(self, "detail", printable(self.detail))


def printable(text: str) -> str:
    """`text` as valid UTF-8: bytes of a non-UTF-8 file name (surrogate escapes) become \\xNN."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _parts(root: Path, path: Path) -> list[str]:
    path = Path(path)
    rel = path.relative_to(root) if path.is_absolute() else path
    parts = [p for p in rel.parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafePath(errno.EINVAL, "'..' in a sandbox path", str(path))
    return parts


@contextmanager
def open_dir(root: Path, rel: Path | str = "", *, create: bool = False) -> Iterator[int]:
    """A descriptor on root/rel, walking every component below `root` without following symlinks."""
    fd = os.open(root, DIR_FLAGS & ~os.O_NOFOLLOW)  # root itself was made by the harness
    try:
        for part in _parts(root, Path(rel)):
            if create:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
            try:
                nxt = os.open(part, DIR_FLAGS, dir_fd=fd)
            except OSError as err:
                if err.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafePath(err.errno, "not a plain directory (symlink or file)",
                                     str(Path(root, rel))) from err
                raise
            os.close(fd)
            fd = nxt
        yield fd
    finally:
        os.close(fd)


def _split(path: Path, root: Path | None) -> tuple[Path, Path, str]:
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    parts = _parts(root, path)
    if not parts:
        raise UnsafePath(errno.EISDIR, "the path names the root folder itself", str(path))
    return root, Path(*parts[:-1]) if len(parts) > 1 else Path(""), parts[-1]


def kind_of(st: os.stat_result) -> str:
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def lstat(path: Path, *, root: Path | None = None) -> os.stat_result | None:
    """lstat of root/…/name with no symlink followed on the way; None when absent."""
    root, parent, name = _split(path, root)
    try:
        with open_dir(root, parent) as dfd:
            return os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def is_file(path: Path, *, root: Path | None = None) -> bool:
    try:
        st = lstat(path, root=root)
    except (UnsafePath, OSError):
        return False
    return st is not None and stat.S_ISREG(st.st_mode)


def is_dir(path: Path, *, root: Path | None = None) -> bool:
    try:
        st = lstat(path, root=root)
    except (UnsafePath, OSError):
        return False
    return st is not None and stat.S_ISDIR(st.st_mode)


def read_bytes(path: Path, *, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The content of a regular file; UnsafePath for anything else or above `max_bytes`."""
    root, parent, name = _split(path, root)
    with open_dir(root, parent) as dfd:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise UnsafePath(err.errno, "symlink refused", str(path)) from err
            raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePath(errno.EINVAL, f"not a regular file ({kind_of(st)})", str(path))
        if st.st_size > max_bytes:
            raise UnsafePath(errno.EFBIG, f"{st.st_size} bytes, over the {max_bytes}-byte cap", str(path))
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:  # grew while being read
            raise UnsafePath(errno.EFBIG, f"over the {max_bytes}-byte cap", str(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: Path, *, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
              errors: str = "replace") -> str:
    return read_bytes(path, root=root, max_bytes=max_bytes).decode("utf-8", errors)


def read_text_or(path: Path, default: str = "", *, root: Path | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """read_text, or `default` when the file is absent or unsafe."""
    try:
        return read_text(path, root=root, max_bytes=max_bytes)
    except OSError:
        return default


def read_json(path: Path, *, root: Path | None = None, max_bytes: int = 4 * 1024 * 1024) -> Any | None:
    """Parsed JSON of a regular file, or None when absent, unsafe, too big or not JSON."""
    try:
        return json.loads(read_bytes(path, root=root, max_bytes=max_bytes))
    except (OSError, ValueError):
        return None


def write_bytes(path: Path, data: bytes, *, root: Path | None = None, mode: int = 0o644) -> None:
    """A new file renamed over root/…/name: whatever the sandbox planted at the name is replaced, not followed."""
    root, parent, name = _split(path, root)
    with open_dir(root, parent, create=True) as dfd:
        _write_at(dfd, name, [data], mode)


def write_text(path: Path, text: str, *, root: Path | None = None) -> None:
    write_bytes(path, text.encode("utf-8"), root=root)


def copy_file(src: Path, dst: Path, *, src_root: Path | None = None, dst_root: Path | None = None,
              max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Copy a regular file (read as `read_bytes` does) to a new file at dst (written as `write_bytes` does)."""
    write_bytes(dst, read_bytes(src, root=src_root, max_bytes=max_bytes), root=dst_root)


def _write_at(dfd: int, name: str, chunks, mode: int, owner: tuple[int, int] | None = None) -> None:
    tmp = f".{name[:80]}.{uuid.uuid4().hex[:10]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dfd)
    try:
        for chunk in chunks:
            if isinstance(chunk, int):  # a hole: keep the file sparse
                os.lseek(fd, chunk, os.SEEK_CUR)
                continue
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
        os.ftruncate(fd, os.lseek(fd, 0, os.SEEK_CUR))
        if owner is not None:
            os.fchown(fd, *owner)
        os.fchmod(fd, mode & 0o777)
        os.close(fd)
        fd = -1
        os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp, dir_fd=dfd)
        except OSError:
            pass
        raise


def remove_path(path: Path, *, root: Path | None = None) -> None:
    """Remove root/…/name whatever the sandbox made of it (a link is removed, never followed)."""
    root, parent, name = _split(path, root)
    try:
        with open_dir(root, parent) as dfd:
            remove_at(dfd, name)
    except FileNotFoundError:
        pass


def safe_entries(directory: Path) -> list[tuple[str, str]]:
    """(name, kind) of each entry of a harness-made directory, by lstat: 'file', 'dir', 'symlink', ..."""
    out = []
    with open_dir(directory) as dfd:
        for name in sorted(os.listdir(dfd)):
            try:
                out.append((name, kind_of(os.stat(name, dir_fd=dfd, follow_symlinks=False))))
            except FileNotFoundError:
                continue
    return out


# The walks over whole trees (iterative, depth- and entry-capped) live in `trees`; kept here by name.
from scientist.sandbox.trees import commit_tree, copy_tree, remove_at, scan_tree  # noqa: E402

__all__ = ["CHUNK", "DEFAULT_MAX_BYTES", "Finding", "UnsafePath", "commit_tree", "copy_file", "copy_tree",
           "is_dir", "is_file", "kind_of", "lstat", "open_dir", "printable", "read_bytes", "read_json", "read_text",
           "read_text_or", "remove_at", "remove_path", "safe_entries", "scan_tree", "write_bytes", "write_text"]
