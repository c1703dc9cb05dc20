"""Incidents: attempts to cross a limit, detected from evidence.

Three sources of evidence, recorded on each incident:
- harness: what the harness did or saw directly (time-out, disk budget, the command itself);
- kernel: exit signals and cgroup counters (OOM kills, refused forks);
- output: inferred from errors the program printed (EROFS, ENETUNREACH, a missing API key...).
  The sandbox blocks these attempts whether or not they are printed, but an attempt whose error the
  program swallows silently is not recorded: these incidents are a lower bound.
"""
from __future__ import annotations

import re
from itertools import islice
import signal as _signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scientist.sandbox.result import Incident, IncidentKind
from scientist.sandbox.secret_paths import is_secret_path

MAX_DETAILS_PER_KIND = 5
# Every pattern below runs on every line the program prints, so each must take time linear in the line:
# no nested or adjacent unbounded repetitions, every repetition bounded (a path by PATH_MAX), and each
# match start anchored on a literal. tests/scientist/sandbox/test_sandbox_round3.py times hostile lines.
PATH_MAX = 4096
_PATH_ERR = re.compile(
    r"(?P<msg>Read-only file system|Permission denied|Operation not permitted|"
    r"Device or resource busy|No such file or directory)(?::[ \t]{0,4}'(?P<path>[^'\n]{1,%d})')?" % PATH_MAX
)
# Shell tools: "sh: 1: cannot create x: Read-only file system", "rm: cannot remove 'x': Device or resource busy"
_SHELL_PATH = re.compile(
    r"(?:cannot (?:create|touch|remove|move|open|overwrite)(?: regular file| directory)?|can't create) "
    r"'?(?P<path>[^\s':]{1,%d})'?(?: to '[^']{0,%d}')?: (?P<msg>Read-only file system|Permission denied|"
    r"Device or resource busy)" % (PATH_MAX, PATH_MAX)
)
KERNEL_KNOBS = (Path("/proc/sys"), Path("/proc/sysrq-trigger"))
# A looked-up name (bounded: an environment variable name), then a plain test for a secret's word in it: the
# old one-regex form `'[A-Za-z0-9_]*(?:KEY|...)[A-Za-z0-9_]*'` backtracked cubically on "KeyError: 'KEYKEY...".
_KEY_LOOKUP = re.compile(r"KeyError: '(?P<name>[A-Za-z0-9_]{1,256})'")
_SECRET_WORD = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL", re.IGNORECASE)
# Kernel keyrings are denied by the sandbox's seccomp filter (EPERM); tools and ctypes callers say so.
_KEYRING_WORDS = ("keyctl", "add_key", "request_key", "keyring")
_DENIED_WORDS = ("operation not permitted", "[errno 1]", "eperm", "permission denied")
MAX_MATCHES_PER_LINE = 32  # a line repeating one error thousands of times is one piece of evidence, not thousands

# (kind, literal texts, detail). Checked on every line of stdout and stderr by plain substring search
# (linear, no backtracking); only lines holding one of `_TRIGGERS` go on to the three bounded regexes.
_SIMPLE: list[tuple[IncidentKind, tuple[str, ...], str]] = [
    ("network_attempt", ("Network is unreachable", "[Errno 101]"), "network unreachable: no route out of the sandbox"),
    ("network_attempt", ("Temporary failure in name resolution", "Name or service not known", "[Errno -2]",
                         "[Errno -3]", "[Errno -5]", "Could not resolve host", "getaddrinfo failed"),
     "DNS lookup failed: no resolver in the sandbox"),
    ("network_attempt", ("Connection refused", "[Errno 111]"),
     "connection refused: host services, 127.0.0.1 included, are not reachable from the sandbox"),
    ("network_attempt", ("Failed to establish a new connection",), "HTTP connection failed"),
    ("package_install", ("Could not find a version that satisfies the requirement", "No matching distribution found"),
     "pip could not reach a package index"),
    ("package_install", ("Retrying (Retry(total=",), "pip retried a package index it cannot reach"),
    ("package_install", ("Could not install packages due to an OSError", "Defaulting to user installation",
                         "Can not perform a '--user' install"), "pip could not write to the Python environment"),
    ("package_install", ("Could not open lock file", "are you root?"), "system package manager refused"),
    ("memory", ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "can't allocate memory",
                "Unable to allocate"), "allocation refused"),
    ("process_limit", ("BlockingIOError: [Errno 11]", "BlockingIOError:[Errno 11]", "BlockingIOError(11",
                       "BlockingIOError: 11", "BlockingIOError( 11", "fork: retry", "fork: Resource temporarily "
                       "unavailable", "Cannot fork", "can't start new thread", "pthread_create failed"),
     "process creation refused"),
    ("disk_limit", ("File too large", "[Errno 27]"), "file size limit reached (EFBIG)"),
    ("disk_limit", ("No space left on device", "[Errno 28]", "Disk quota exceeded"), "no space left (ENOSPC)"),
    ("open_files", ("Too many open files", "[Errno 24]"), "open file limit reached (EMFILE)"),
    ("cpu_time", ("CPU time limit exceeded",), "CPU time limit reached"),
    ("harness_tamper", ("not allowed to raise maximum limit",), "tried to raise its own rlimits"),
    ("secret_access", ("api_key client option must be set", "OPENAI_API_KEY environment variable"),
     "an API client found no key"),
]
_PATH_MESSAGES = ("Read-only file system", "Permission denied", "Operation not permitted", "Device or resource busy",
                  "No such file or directory")
_SHELL_TRIGGERS = ("cannot ", "can't create")

_COMMAND_INSTALL = re.compile(r"\b(pip3?|uv pip|conda|mamba|apt(-get)?|python3?(\.\d+)? -m pip)\s+install\b")


@dataclass
class PathContext:
    """What a path in an error message means: the harness, the Python environment, or the run directory."""

    workdir: Path
    readonly_binds: Sequence[Path] = ()
    protected: Sequence[Path] = ()  # host paths outside the sandbox whose access means tampering (the project)
    python: Sequence[Path] = ()

    def classify_denied(self, raw: str, msg: str = "Read-only file system") -> tuple[IncidentKind, str] | None:
        """EROFS means a write was refused; EACCES/EPERM may be a read as well, and is never called a write."""
        path = self._abs(raw)
        write = msg in ("Read-only file system", "Device or resource busy")  # busy: a bound file renamed/removed
        if any(path == p or path.is_relative_to(p) for p in KERNEL_KNOBS):
            return "sysctl_write", f"write to kernel setting {path} refused"
        if any(path.is_relative_to(p) for p in (*self.readonly_binds, *self.protected)):
            return "harness_tamper", (f"write to read-only harness path {path}" if write
                                      else f"access to harness path {path} denied")
        if any(path.is_relative_to(p) for p in self.python):
            return "package_install", f"write into the Python environment at {path}"  # reading it is never denied
        if is_secret_path(str(path)):
            return "secret_access", f"access to {path}"
        if path.is_relative_to(self.workdir):
            return None
        if write:
            return "write_outside_workdir", f"write outside the run directory: {path}"
        return "access_denied", f"access (read or write) to {path} denied"

    def classify_missing(self, raw: str) -> tuple[IncidentKind, str] | None:
        """A path absent inside the sandbox: only host secrets and the harness count as evidence."""
        path = self._abs(raw)
        if any(path == p or path.is_relative_to(p) for p in KERNEL_KNOBS):
            return "sysctl_write", f"access to kernel setting {path} refused (absent in the sandbox)"
        if path.is_relative_to(self.workdir) or any(path.is_relative_to(p) for p in self.python):
            return None
        if any(path.is_relative_to(p) for p in (*self.readonly_binds, *self.protected)):
            return "harness_tamper", f"access to harness path {path}, hidden in the sandbox"
        if is_secret_path(str(path)):
            return "secret_access", f"access to {path}, hidden in the sandbox"
        return None

    def _abs(self, raw: str) -> Path:
        p = Path(raw)
        return Path(*(self.workdir / p).parts) if not p.is_absolute() else p


@dataclass
class IncidentLog:
    """Deduplicated incidents: one per (kind, detail), counted, at most a few details per kind."""

    items: dict[tuple[str, str], Incident] = field(default_factory=dict)

    def add(self, kind: IncidentKind, detail: str, source: str = "output", fatal: bool = False) -> None:
        key = (kind, detail)
        if key in self.items:
            inc = self.items[key]
            inc.count += 1
            inc.fatal = inc.fatal or fatal
            return
        if sum(1 for k, _ in self.items if k == kind) >= MAX_DETAILS_PER_KIND:
            return
        self.items[key] = Incident(kind=kind, detail=detail, source=source, fatal=fatal)  # type: ignore[arg-type]

    def kinds(self) -> set[str]:
        return {k for k, _ in self.items}

    def as_list(self) -> list[Incident]:
        return list(self.items.values())


class OutputScanner:
    """Reads the program's output line by line and records the errors that reveal an attempt."""

    def __init__(self, log: IncidentLog, context: PathContext) -> None:
        self.log, self.context = log, context

    def feed_line(self, line: str) -> None:
        """Time linear in the line: substring searches, then bounded regexes anchored on literals."""
        for kind, texts, detail in _SIMPLE:
            if any(t in line for t in texts):
                self.log.add(kind, detail)
        if "KeyError: '" in line:
            for m in islice(_KEY_LOOKUP.finditer(line), MAX_MATCHES_PER_LINE):
                if _SECRET_WORD.search(m["name"]):
                    self.log.add("secret_access",
                                 f"looked up {m['name']} in the environment (not passed to the sandbox)")
                    break
        lowered = line.lower()
        if any(w in lowered for w in _KEYRING_WORDS) and any(w in lowered for w in _DENIED_WORDS):
            self.log.add("keyring", "a kernel keyring call (keyctl/add_key/request_key) was refused")
        if not any(t in line for t in _PATH_MESSAGES):
            return
        shell = (list(islice(_SHELL_PATH.finditer(line), MAX_MATCHES_PER_LINE))
                 if any(t in line for t in _SHELL_TRIGGERS) else [])
        for m in islice(_PATH_ERR.finditer(line), MAX_MATCHES_PER_LINE):
            if not m["path"]:
                if m["msg"] == "Read-only file system" and not shell:  # no path given
                    self.log.add("write_outside_workdir", "write to a read-only file system")
                continue
            found = (self.context.classify_missing(m["path"]) if m["msg"] == "No such file or directory"
                     else self.context.classify_denied(m["path"], m["msg"]))
            if found:
                self.log.add(*found)
        for m in shell:
            if found := self.context.classify_denied(m["path"], m["msg"]):
                self.log.add(*found)


def command_incidents(command: Sequence[str], log: IncidentLog) -> None:
    text = " ".join(command)
    if _COMMAND_INSTALL.search(text):
        log.add("package_install", "the command installs packages", source="harness")


def exit_incidents(sig: int | None, log: IncidentLog, *, oom_kills: int, pids_hits: int,
                   cpu_limited: bool, cgroup_memory: bool, tcp_limit_reached: bool = False) -> None:
    """Incidents read from how the run ended and from the cgroup counters."""
    if tcp_limit_reached:
        log.add("memory", "TCP socket buffers reached the run's memory limit: the memory cgroup refused more "
                "(sends held back)", "kernel")
    if oom_kills:
        log.add("memory", f"memory limit reached: the kernel OOM-killed {oom_kills} process(es)", "kernel",
                fatal=True)
    elif sig == _signal.SIGKILL and cgroup_memory is False and "memory" in log.kinds():
        log.add("memory", "killed after an allocation was refused", "kernel", fatal=True)
    if pids_hits:
        log.add("process_limit", f"process limit reached: {pids_hits} fork(s) refused by the pids cgroup", "kernel")
    if sig == _signal.SIGXCPU or (sig == _signal.SIGKILL and cpu_limited and "cpu_time" in log.kinds()):
        log.add("cpu_time", "CPU time limit reached (SIGXCPU)", "kernel", fatal=True)
    if sig == _signal.SIGXFSZ:
        log.add("disk_limit", "file size limit reached (SIGXFSZ)", "kernel", fatal=True)


def signal_name(sig: int | None) -> str:
    if sig is None:
        return ""
    try:
        return _signal.Signals(sig).name
    except ValueError:
        return str(sig)


def kinds(incidents: Iterable[Incident]) -> set[str]:
    return {i.kind for i in incidents}
