"""Kernel keyrings: the sandboxed run may neither read nor add to the harness's.

bwrap and setpriv keep the caller's session keyring, and whoever possesses a keyring may use it
whatever its uid: with a real session keyring (a systemd service, a PAM login, a Kerberos KEYRING
cache) a run could read an API key from it and plant keys that outlive it. Two layers, as container
runtimes do:

- a seccomp filter (classic BPF, handed to bwrap's `--seccomp FD`) makes `add_key`, `request_key`
  and `keyctl` fail with EPERM for every process of the run (the native and the 32-bit ABIs);
- the run is started from a thread that first joins a new anonymous session keyring, so even
  where no filter can be built (another architecture) the run's session keyring is an empty one of
  its own, never the harness's. The thread lives as long as the run (bwrap's --die-with-parent
  watches the thread that started it).

A refused call is an incident (`keyring`) when the program prints the error (see `incidents`).
"""
from __future__ import annotations

import ctypes
import os
import platform
import struct
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h)
_LD_W_ABS, _JEQ_K, _RET_K, _AND_K = 0x20, 0x15, 0x06, 0x54
_RET_ALLOW, _RET_ERRNO = 0x7FFF0000, 0x00050000
_EPERM = 1
_X32_BIT = 0x40000000
# audit architecture -> (add_key, request_key, keyctl) numbers
_ARCHES = {
    "x86_64": ((0xC000003E, (248, 249, 250)), (0x40000003, (286, 287, 288))),  # + the i386 ABI (int 0x80)
    "aarch64": ((0xC00000B7, (217, 218, 219)), (0x40000028, (309, 310, 311))),  # + the arm 32-bit ABI
}
_KEYCTL_JOIN_SESSION_KEYRING = 1
_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def keyring_filter(machine: str | None = None) -> bytes | None:
    """The BPF program denying the keyring calls, or None on an architecture not known here."""
    arches = _ARCHES.get(machine or platform.machine())
    if arches is None:
        return None
    prog = []
    for arch, numbers in arches:
        # if seccomp_data.arch == arch: check the three numbers, else go to the next arch block
        block = [_insn(_LD_W_ABS, 0, 0, 0)]  # seccomp_data.nr
        if arch == 0xC000003E:
            block.append(_insn(_AND_K, 0, 0, ~_X32_BIT & 0xFFFFFFFF))  # x32 calls carry this bit
        for i, nr in enumerate(numbers):
            block.append(_insn(_JEQ_K, len(numbers) - i, 0, nr))  # -> the ERRNO return below
        block.append(_insn(_RET_K, 0, 0, _RET_ALLOW))
        block.append(_insn(_RET_K, 0, 0, _RET_ERRNO | _EPERM))
        prog.append(_insn(_LD_W_ABS, 0, 0, 4))  # seccomp_data.arch
        prog.append(_insn(_JEQ_K, 0, len(block), arch))
        prog += block
    prog.append(_insn(_RET_K, 0, 0, _RET_ALLOW))  # an ABI not listed cannot reach these calls
    return b"".join(prog)


def filter_fd() -> int | None:
    """A descriptor holding the filter for bwrap's --seccomp (the caller passes it to the child and
    closes it after the start), or None where no filter is known for this machine."""
    prog = keyring_filter()
    if prog is None:
        return None
    fd = os.memfd_create("bench-sandbox-seccomp", 0)  # close-on-exec off: bwrap reads it after exec
    os.write(fd, prog)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _join_new_session_keyring() -> bool:
    nr = _SYS_KEYCTL.get(platform.machine())
    if nr is None:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    # a NULL name: a new anonymous session keyring for this thread only (credentials are per thread)
    return libc.syscall(ctypes.c_long(nr), ctypes.c_long(_KEYCTL_JOIN_SESSION_KEYRING), None) >= 0


def in_fresh_session_keyring(body: Callable[[], T]) -> T:
    """body() in a thread that has joined a new, empty session keyring: what it starts inherits that
    keyring, not the harness's. Exceptions are re-raised here; the calling thread keeps its keyring."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            _join_new_session_keyring()  # refused (a container's own seccomp): the filter still holds
            box["value"] = body()
        except BaseException as err:  # noqa: BLE001 - handed to the caller
            box["error"] = err

    thread = threading.Thread(target=run, name="bench-sandbox-run", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
