"""Who the sandboxed program is on the host: never root.

bwrap maps the sandbox's uid to the uid that started bwrap. Started by root, uid 65534 inside is
uid 0 outside: a setuid file made inside is setuid-root on the host, /proc/sys accepts writes. So a
root harness starts bwrap through `setpriv` as an unprivileged host user: the dedicated system user
`bench-sandbox` (created by .ci/install) or, failing that, `nobody`. A non-root harness needs no
change: the sandbox maps to its own (non-root) uid.
"""
from __future__ import annotations

import functools
import os
import pwd
import shutil
from dataclasses import dataclass, field

SANDBOX_USER = "bench-sandbox"
NOBODY_UID = 65534


@dataclass(frozen=True)
class SandboxIdentity:
    uid: int
    gid: int
    how: str
    root_on_host: bool = False  # the sandbox's uid IS host root: nothing could drop it
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def prefix(self) -> list[str]:
        """argv that drops to this identity before bwrap (empty when the harness is not root)."""
        if os.geteuid() != 0 or self.root_on_host:
            return []
        return [shutil.which("setpriv") or "setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
                "--no-new-privs", "--"]


@functools.lru_cache(maxsize=1)
def sandbox_identity() -> SandboxIdentity:
    if os.geteuid() != 0:
        return SandboxIdentity(os.geteuid(), os.getegid(), f"host uid {os.geteuid()} (the harness's own, not root)")
    if shutil.which("setpriv") is None:
        return SandboxIdentity(0, 0, "NOT ENFORCED: host root (setpriv from util-linux missing)", root_on_host=True,
                               warnings=("the sandbox runs as host root: install util-linux (setpriv) so that "
                                         "setuid files and /proc writes made inside are not root's",))
    try:
        user = pwd.getpwnam(SANDBOX_USER)
        return SandboxIdentity(user.pw_uid, user.pw_gid, f"host user {SANDBOX_USER} (uid {user.pw_uid}) via setpriv")
    except KeyError:
        return SandboxIdentity(NOBODY_UID, NOBODY_UID, f"host uid {NOBODY_UID} (nobody) via setpriv",
                               warnings=(f"no dedicated sandbox user {SANDBOX_USER!r} (.ci/install creates it): the "
                                         "sandbox runs as host 'nobody', which other services may share",))
