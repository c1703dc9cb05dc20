"""What the sandboxed program sees: the read-only system and Python paths, and a clean environment."""
from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path

# Top-level system paths. On merged-/usr systems these are symlinks into /usr and are recreated as such.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

# /etc entries a Python program needs (dynamic loader, user names, time zone, fonts); nothing else
# of /etc is visible, so host configuration (pip.conf with index credentials, ...) stays hidden.
ETC_FILES = (
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd",
    "/etc/group", "/etc/nsswitch.conf", "/etc/alternatives", "/etc/fonts", "/etc/mime.types",
)

SANDBOX_HOME = "/tmp/home"
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.IGNORECASE)


def python_paths() -> list[Path]:
    """Directories holding the Python installation and its packages (bound read-only)."""
    paths: list[Path] = []
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        for q in (Path(p), Path(p).resolve()):
            if q not in paths:
                paths.append(q)
    # Packages outside the prefixes (user site, --target dirs) but never the project's own tree.
    for entry in sys.path:
        if entry and ("site-packages" in entry or "dist-packages" in entry) and Path(entry).is_dir():
            q = Path(entry).resolve()
            if not any(q.is_relative_to(p) for p in paths):
                paths.append(q)
    return [p for p in paths if not p.is_relative_to("/usr")]


def extra_package_dirs(paths: list[Path]) -> list[Path]:
    """Package directories outside the prefixes: they go on PYTHONPATH inside."""
    prefixes = [Path(p).resolve() for p in (sys.prefix, sys.base_prefix)]
    return [p for p in paths if not any(p.is_relative_to(q) for q in prefixes)]


def sandbox_env(extra: Mapping[str, str] | None = None, *, home: str = SANDBOX_HOME,
                tmp: str = "/tmp") -> tuple[dict[str, str], list[str]]:
    """The whole environment of the sandboxed program, and warnings about what the caller passed in."""
    bins = [str(Path(sys.prefix) / "bin"), str(Path(sys.base_prefix) / "bin")]
    env = {
        "PATH": ":".join(dict.fromkeys([*bins, "/usr/local/bin", "/usr/bin", "/bin"])),
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "USER": "nobody",
        "LOGNAME": "nobody",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONUNBUFFERED": "1",  # a killed run still leaves its last lines in the tails
        "MPLBACKEND": "Agg",
        # No index is reachable: pip fails at once instead of retrying for a minute (the program may unset these,
        # but the network namespace and the read-only environment still stop an install).
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    if sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix
    extra_dirs = extra_package_dirs(python_paths())
    if extra_dirs:
        env["PYTHONPATH"] = ":".join(str(p) for p in extra_dirs)
    warnings = []
    for name, value in (extra or {}).items():
        if SECRET_NAME.search(name):
            warnings.append(f"env passes {name}, which looks like a secret, into the sandbox")
        env[name] = value
    return env, warnings
