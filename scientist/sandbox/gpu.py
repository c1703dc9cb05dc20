"""NVIDIA GPUs in the sandbox: which devices a run gets, and what bubblewrap must add for CUDA to work.

A run given GPUs sees exactly those: its `/dev/nvidiaN` nodes plus the driver's shared nodes
(`nvidiactl`, `nvidia-uvm`, `nvidia-uvm-tools`, and `nvidia-caps/` for MIG), `/sys` read-only
(`cuInit` fails with CUDA_ERROR_OPERATING_SYSTEM without it), the driver's user-space libraries
read-only, and `CUDA_VISIBLE_DEVICES` naming them. Nothing else of the host's `/dev` is there.

GPU numbers are nvidia-smi indexes (PCI bus order). The node of GPU i is `/dev/nvidia<minor>`, whose
minor number the driver gives in /proc/driver/nvidia/gpus/<bus>/information; the two usually agree.
Inside, CUDA enumerates only the devices it can open, so device 0 in there is the run's first GPU.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEVICE_ROOT = Path("/dev")  # read at call time, so tests can point it at stand-in nodes
PROC_GPUS = Path("/proc/driver/nvidia/gpus")
SHARED_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools")
MIG_CAPS = "nvidia-caps"
DRIVER_LIBS = ("libcuda.so.1", "libnvidia-ml.so.1", "libnvidia-ptxjitcompiler.so.1", "libnvidia-nvvm.so.4")
_NODE = re.compile(r"nvidia(\d+)$")

# Asks the driver itself (no torch: 2 s of import for a yes/no): cuInit, then the device count.
CUDA_PROBE = (
    "import ctypes,sys\n"
    "try:\n lib=ctypes.CDLL('libcuda.so.1')\n"
    "except OSError as e:\n print('NO_DRIVER', e); sys.exit(3)\n"
    "r=lib.cuInit(0); n=ctypes.c_int(0)\n"
    "if r==0: r=lib.cuDeviceGetCount(ctypes.byref(n))\n"
    "print(f'cuInit {r}, {n.value} device(s)'); sys.exit(0 if r==0 and n.value>0 else 4)\n"
)


class GpuSpecError(ValueError):
    """A --gpus value that names no GPU of this machine, or cannot be read."""


@dataclass(frozen=True)
class GpuDevice:
    index: int  # nvidia-smi index
    minor: int  # /dev/nvidia<minor>
    uuid: str | None = None
    bus_id: str | None = None

    @property
    def node(self) -> str:
        return f"nvidia{self.minor}"


def _is_char_device(path: Path) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def _driver_info(proc_gpus: Path) -> list[dict[str, str]]:
    """One dict per GPU the driver knows, in PCI bus order (nvidia-smi's order)."""
    found = []
    try:
        buses = sorted(p for p in proc_gpus.iterdir() if (p / "information").is_file())
    except OSError:
        return []
    for bus in buses:
        try:
            text = (bus / "information").read_text(errors="replace")
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        found.append({"bus": bus.name, **{k.strip(): v.strip() for k, v in fields.items()}})
    return found


def discover(dev_root: Path | None = None, proc_gpus: Path = PROC_GPUS) -> list[GpuDevice]:
    """The GPUs a run could be given: those whose device node exists under `dev_root`."""
    root = Path(dev_root or DEVICE_ROOT)
    try:
        minors = sorted(int(m.group(1)) for p in root.iterdir()
                        if (m := _NODE.match(p.name)) and _is_char_device(p))
    except OSError:
        return []
    info = _driver_info(proc_gpus)
    devices = []
    if info:
        for index, gpu in enumerate(info):
            minor = gpu.get("Device Minor", "")
            if minor.isdigit() and int(minor) in minors:
                devices.append(GpuDevice(index, int(minor), gpu.get("GPU UUID") or None, gpu["bus"]))
        return devices
    return [GpuDevice(minor, minor) for minor in minors]  # no driver information: nodes in minor order


def parse_spec(spec: str) -> str | tuple[int, ...]:
    """`auto`, `none`, or GPU indexes `0,2` (repeats dropped, order kept). Raises GpuSpecError."""
    text = spec.strip().lower()
    if text in ("auto", "none"):
        return text
    try:
        ids = tuple(dict.fromkeys(int(part) for part in text.split(",") if part.strip()))
    except ValueError:
        raise GpuSpecError(f"--gpus {spec!r}: expected auto, none or GPU numbers like 0,2") from None
    if not ids or any(i < 0 for i in ids):
        raise GpuSpecError(f"--gpus {spec!r}: expected auto, none or GPU numbers like 0,2")
    return ids


def resolve(spec: str | Sequence[int], dev_root: Path | None = None) -> tuple[int, ...]:
    """The GPU indexes `spec` names on this machine: auto = all found, none = (). Raises GpuSpecError."""
    parsed = parse_spec(spec) if isinstance(spec, str) else tuple(spec)
    if parsed == "none":
        return ()
    found = {d.index: d for d in discover(dev_root)}
    if parsed == "auto":
        return tuple(sorted(found))
    missing = [i for i in parsed if i not in found]  # type: ignore[union-attr]
    if missing:
        have = ", ".join(f"{i} (/dev/{d.node})" for i, d in sorted(found.items())) or "none"
        raise GpuSpecError(f"--gpus: no GPU {', '.join(map(str, missing))} on this machine (GPUs found: {have})")
    return tuple(parsed)  # type: ignore[arg-type]


def driver_library_dirs() -> list[Path]:
    """Folders of the NVIDIA user-space libraries (from the loader cache) that the sandbox's read-only
    /usr does not already show (e.g. /usr/local/nvidia/lib64 is under /usr; /run/nvidia/driver is not)."""
    from scientist.sandbox.environment import SYSTEM_DIRS

    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    dirs: list[Path] = []
    for line in out.splitlines():
        name, _, target = line.strip().partition(" => ")
        if name.split(" ")[0] in DRIVER_LIBS and target:
            folder = Path(target).parent
            real = folder.resolve()
            if not any(str(real).startswith(d + "/") for d in SYSTEM_DIRS) and real not in dirs:
                dirs.append(real)
    return dirs


@dataclass
class GpuMounts:
    """What a GPU run adds to the sandbox: bwrap arguments (after `--dev /dev`), environment, words."""
    args: list[str]
    env: dict[str, str]
    devices: list[GpuDevice]

    def describe(self) -> str:
        names = ", ".join(f"GPU {d.index} (/dev/{d.node}{', ' + d.uuid if d.uuid else ''})" for d in self.devices)
        return (f"{names} as cuda:0..{len(self.devices) - 1}; shared nodes {', '.join(SHARED_NODES)}"
                f" (+{MIG_CAPS}/ if present); /sys and driver libraries read-only; no other /dev node")


def sandbox_mounts(indexes: Sequence[int], dev_root: Path | None = None) -> GpuMounts:
    """The device binds and variables that give a sandboxed run exactly GPUs `indexes`.

    Raises GpuSpecError when one of them has no device node here (the assignment is the harness's
    mistake or the machine's, never the model's)."""
    root = Path(dev_root or DEVICE_ROOT)
    found = {d.index: d for d in discover(root)}
    missing = [i for i in indexes if i not in found]
    if missing:
        raise GpuSpecError(f"GPU {', '.join(map(str, missing))} assigned to the run but its device node is not "
                           f"under {root} (GPUs found: {', '.join(map(str, sorted(found))) or 'none'})")
    devices = [found[i] for i in indexes]
    args: list[str] = []
    for d in devices:
        args += ["--dev-bind", str(root / d.node), f"/dev/{d.node}"]
    for name in SHARED_NODES:
        args += ["--dev-bind-try", str(root / name), f"/dev/{name}"]
    if (root / MIG_CAPS).is_dir():
        args += ["--dev-bind", str(root / MIG_CAPS), f"/dev/{MIG_CAPS}"]
    args += ["--ro-bind-try", "/sys", "/sys"]
    for folder in driver_library_dirs():
        args += ["--ro-bind-try", str(folder), str(folder)]
    uuids = [d.uuid for d in devices]
    visible = ",".join(uuids) if all(uuids) else ",".join(str(i) for i in range(len(devices)))  # type: ignore[arg-type]
    return GpuMounts(args, {"CUDA_VISIBLE_DEVICES": visible, "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}, devices)


def host_env(indexes: Sequence[int]) -> dict[str, str]:
    """Without a sandbox (--unsafe-no-sandbox) only the variables pin a run: host indexes, PCI order;
    an empty CUDA_VISIBLE_DEVICES hides every GPU from a run given none."""
    return {"CUDA_VISIBLE_DEVICES": ",".join(map(str, indexes)) if indexes else "", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}


_CUDA_USE = re.compile(r"""["']cuda["']|\.cuda\(|torch\.cuda\b|device\s*=\s*["']cuda""")


def expects_cuda(folder: Path) -> bool:
    """Whether a template's code asks for CUDA (a `cuda` device, `.cuda()`, `torch.cuda`): such a
    template given no GPU trains on the CPU, slowly, until its time limit."""
    for path in sorted(Path(folder).glob("*.py"))[:50]:
        try:
            if _CUDA_USE.search(path.read_text(errors="replace")[:400_000]):
                return True
        except OSError:
            continue
    return False


@dataclass
class CudaProbe:
    gpus: tuple[int, ...]
    works: bool
    detail: str

    def line(self) -> str:
        which = ", ".join(map(str, self.gpus)) or "none"
        return f"GPU(s) {which}: CUDA {'works' if self.works else 'does NOT work'} inside the sandbox ({self.detail})"


def probe_cuda(gpus: Sequence[int], *, unsafe_no_sandbox: bool = False, workdir: Path | None = None) -> CudaProbe:
    """Start a short sandboxed run given `gpus` and ask the driver for its devices (cuInit, count),
    and `nvidia-smi -L` where it exists. A few seconds; nothing of the model's runs."""
    import sys
    import tempfile

    from scientist.sandbox.limits import SandboxLimits
    from scientist.sandbox.runner import run_in_sandbox

    limits = SandboxLimits(wall_time_s=60, gpus=tuple(gpus), disk_mb=64)
    with tempfile.TemporaryDirectory(prefix="gpu-probe-", dir=workdir) as tmp:
        res = run_in_sandbox([sys.executable, "-c", CUDA_PROBE], Path(tmp), limits=limits,
                             unsafe_no_sandbox=unsafe_no_sandbox)
        out = (res.stdout_tail.strip().splitlines() or [""])[-1]
        detail = out or (res.stderr_tail.strip().splitlines() or [f"exit {res.exit_code}"])[-1][:200]
        if res.ok and shutil.which("nvidia-smi"):
            smi = run_in_sandbox(["nvidia-smi", "-L"], Path(tmp), limits=limits, unsafe_no_sandbox=unsafe_no_sandbox)
            listed = [line for line in smi.stdout_tail.splitlines() if line.startswith("GPU ")]
            detail += f"; nvidia-smi -L lists {len(listed)} GPU(s)"
    return CudaProbe(tuple(gpus), bool(res.ok), detail)


def launch_mounts(gpus: Sequence[int]) -> GpuMounts | None:
    """For the launch plan: the run's GPU mounts, or None without GPUs. A node missing at launch is
    the infrastructure's failure (SandboxUnavailable), never charged to the model."""
    if not gpus:
        return None
    from scientist.sandbox.bwrap import SandboxUnavailable

    try:
        return sandbox_mounts(gpus)
    except GpuSpecError as err:
        raise SandboxUnavailable(str(err)) from None


def enforcement_line(dev_root: Path | None = None) -> str:
    """What this machine offers: the GPUs found, and what a run given one sees."""
    found = discover(dev_root)
    if not found:
        return f"no NVIDIA GPU here (no /dev/nvidiaN under {Path(dev_root or DEVICE_ROOT)}): runs see no /dev/nvidia*"
    names = ", ".join(f"{d.index} (/dev/{d.node})" for d in found)
    return (f"GPUs {names}; a run sees only those it is given (--gpus): their nodes, {', '.join(SHARED_NODES)}, "
            "/sys and the driver libraries read-only; no address-space rlimit on GPU runs")


def runs_gpus(spec: str) -> tuple[int, ...]:
    """--gpus of a command that runs one experiment at a time (`bench scientist run`, `bench template
    baseline`, `bench sandbox run`): auto gives the first GPU found, a list gives those. Raises GpuSpecError."""
    parsed = parse_spec(spec)
    ids = resolve(parsed)
    return ids[:1] if parsed == "auto" else ids
