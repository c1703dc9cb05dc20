"""The bubblewrap command line. The only place in the project that builds one."""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from scientist.sandbox.environment import ETC_FILES, SYSTEM_DIRS
from scientist.sandbox.limits import SandboxLimits

NOBODY = "65534"
NETWORK_ETC_FILES = ("/etc/resolv.conf", "/etc/hosts", "/etc/ssl", "/etc/ca-certificates", "/etc/gai.conf")
INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)"


class SandboxUnavailable(RuntimeError):
    """bubblewrap or the kernel namespaces it needs are missing; nothing was run."""


def find_bwrap() -> str:
    exe = shutil.which("bwrap")
    if exe is None:
        raise SandboxUnavailable(
            f"bubblewrap (bwrap) is not on PATH, so experiments cannot be isolated: {INSTALL_HINT}. "
            "To run without isolation anyway, ask for it explicitly with --unsafe-no-sandbox "
            "(unsafe_no_sandbox=True); the run is then recorded as unsandboxed."
        )
    return exe


@functools.lru_cache(maxsize=4)
def _help_text(exe: str) -> str:
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=10)
    return out.stdout + out.stderr


def supports(exe: str, flag: str) -> bool:
    return flag in _help_text(exe)


@functools.lru_cache(maxsize=4)
def probe(exe: str) -> None:
    """Start an empty sandbox once; raise SandboxUnavailable with bwrap's own words if it cannot."""
    from scientist.sandbox.identity import sandbox_identity

    argv = [*sandbox_identity().prefix(), exe, "--unshare-all", "--unshare-user", "--uid", NOBODY, "--gid", NOBODY,
            "--cap-drop", "ALL",
            *system_binds(), "--proc", "/proc", "--dev", "/dev", "--", "/bin/true"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SandboxUnavailable(f"bubblewrap could not start: {err}") from err
    if out.returncode != 0:
        raise SandboxUnavailable(
            "bubblewrap is installed but cannot create the namespaces it needs "
            f"({out.stderr.strip() or 'exit ' + str(out.returncode)}). Unprivileged user namespaces may be "
            "disabled (sysctl kernel.unprivileged_userns_clone=1, or an AppArmor restriction on Ubuntu). "
            "Use --unsafe-no-sandbox only if you accept running model-written code without isolation."
        )


def system_binds() -> list[str]:
    """Read-only /usr and its top-level companions (symlinks on merged-/usr systems)."""
    args: list[str] = []
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    return args


# Kernel knobs and triggers: read-only even though no capability is held inside (defence in depth:
# writes there are checked against the host uid, and the sandbox must never be root there).
PROC_READONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs")


def build_bwrap_argv(
    exe: str,
    command: Sequence[str],
    *,
    workdir: Path,
    env: Mapping[str, str],
    limits: SandboxLimits,
    mounts: Sequence[str],
) -> list[str]:
    """bwrap argv: new namespaces, nobody without capabilities, read-only system, the run's mounts.

    `mounts` (from `runfs`) are the /tmp, Python, /dev/shm, run-directory and read-only binds, in
    that order: /tmp first so that binds below it (a virtualenv under /tmp, the run directory) stay
    visible, the run directory before read-only binds inside it. The root is remounted read-only last.
    """
    args = [exe, "--unshare-all", "--unshare-user", "--uid", NOBODY, "--gid", NOBODY]
    if limits.network:
        args.append("--share-net")
    if supports(exe, "--disable-userns"):  # no nested user namespace to regain capabilities in
        args.append("--disable-userns")
    args += ["--cap-drop", "ALL", "--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv"]
    for name, value in env.items():
        args += ["--setenv", name, value]
    args += system_binds()
    for path in ETC_FILES + (NETWORK_ETC_FILES if limits.network else ()):
        args += ["--ro-bind-try", path, path]
    args += ["--proc", "/proc"]
    for path in PROC_READONLY:
        args += ["--ro-bind-try", path, path]
    args += ["--dev", "/dev", *mounts]
    args += ["--chdir", str(workdir), "--remount-ro", "/", "--", *command]
    return args
