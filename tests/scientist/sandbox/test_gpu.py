"""GPUs in the sandbox, without a GPU: stand-in device nodes (real character devices made with
mknod in a temporary folder that plays /dev) and the real bubblewrap sandbox."""
from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

import pytest

from scientist.failures import infra_kind
from scientist.sandbox import SandboxLimits, SandboxUnavailable, gpu, run_in_sandbox

NVIDIA_MAJOR = 195


@pytest.fixture
def dev_root(monkeypatch):
    """/dev stand-in: nvidia0-2, the shared nodes, nvidia-modeset (never given) and nvidia-caps/ (MIG).
    World-traversable: the sandbox starts as the unprivileged bench-sandbox user, who must reach it."""
    if os.geteuid() != 0:
        pytest.skip("mknod of character devices needs root")
    root = Path(tempfile.mkdtemp(prefix="fake-dev-", dir="/tmp"))
    root.chmod(0o755)
    for minor, name in [(0, "nvidia0"), (1, "nvidia1"), (2, "nvidia2"), (255, "nvidiactl"), (254, "nvidia-modeset")]:
        os.mknod(root / name, stat.S_IFCHR | 0o666, os.makedev(NVIDIA_MAJOR, minor))
    for minor, name in [(0, "nvidia-uvm"), (1, "nvidia-uvm-tools")]:
        os.mknod(root / name, stat.S_IFCHR | 0o666, os.makedev(510, minor))
    (root / "nvidia-caps").mkdir(mode=0o755)
    os.mknod(root / "nvidia-caps" / "nvidia-cap1", stat.S_IFCHR | 0o400, os.makedev(511, 1))
    monkeypatch.setattr(gpu, "DEVICE_ROOT", root)
    monkeypatch.setattr(gpu, "PROC_GPUS", root / "no-driver-info")  # the nodes' minors are the indexes
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_stand_in_nodes_are_found_and_specs_resolve(dev_root):
    assert [(d.index, d.node) for d in gpu.discover()] == [(0, "nvidia0"), (1, "nvidia1"), (2, "nvidia2")]
    assert gpu.resolve("auto") == (0, 1, 2) and gpu.resolve("none") == () and gpu.resolve("2,0,2") == (2, 0)
    assert gpu.runs_gpus("auto") == (0,)
    with pytest.raises(gpu.GpuSpecError, match=r"no GPU 5 .*GPUs found: 0 \(/dev/nvidia0\), 1"):
        gpu.resolve("0,5")
    for bad in ("", "gpu0", "-1", "1.5"):
        with pytest.raises(gpu.GpuSpecError):
            gpu.parse_spec(bad)
    (dev_root / "nvidia7").write_text("a regular file, not a device")
    assert 7 not in gpu.resolve("auto")


def test_the_plan_binds_exactly_the_assigned_nodes_sets_the_variables_and_drops_rlimit_as(dev_root, monkeypatch):
    from scientist.sandbox import bwrap, cgroups, plan
    from scientist.sandbox.identity import sandbox_identity
    from scientist.sandbox.runfs import create_run_fs

    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    work = Path(tempfile.mkdtemp(prefix="gpu-plan-", dir="/tmp"))
    no_memory_cg = cgroups.RunCgroup(dirs={}, warnings=[])  # where RLIMIT_AS would otherwise stand in
    try:
        def launch(gpus):
            limits = SandboxLimits(gpus=gpus, memory_mb=512)
            fs = create_run_fs(work, limits, sandbox_identity(), readonly_binds=[], python=[], sandboxed=True)
            try:
                return plan.plan_launch(bwrap.find_bwrap(), ["true"], workdir=work, fs=fs,
                                        identity=sandbox_identity(), env=None, limits=limits, cg=no_memory_cg)
            finally:
                fs.close()

        given = launch((1,))
        pairs = [tuple(given.argv[i:i + 3]) for i, a in enumerate(given.argv) if a in ("--dev-bind", "--dev-bind-try")]
        assert pairs == [
            ("--dev-bind", str(dev_root / "nvidia1"), "/dev/nvidia1"),
            ("--dev-bind-try", str(dev_root / "nvidiactl"), "/dev/nvidiactl"),
            ("--dev-bind-try", str(dev_root / "nvidia-uvm"), "/dev/nvidia-uvm"),
            ("--dev-bind-try", str(dev_root / "nvidia-uvm-tools"), "/dev/nvidia-uvm-tools"),
            ("--dev-bind", str(dev_root / "nvidia-caps"), "/dev/nvidia-caps"),
        ]
        assert given.argv.index("--dev-bind") > given.argv.index("--dev")  # over the sandbox's own /dev
        sys_at = given.argv.index("/sys")
        assert given.argv[sys_at - 1:sys_at + 2] == ["--ro-bind-try", "/sys", "/sys"]  # cuInit needs sysfs
        setenv = {given.argv[i + 1]: given.argv[i + 2] for i, a in enumerate(given.argv) if a == "--setenv"}
        assert setenv["CUDA_VISIBLE_DEVICES"] == "0" and setenv["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
        assert not any(a.startswith("--as=") for a in given.argv)  # RLIMIT_AS breaks CUDA
        assert "nvidia1" in given.enforcement["gpu"] and given.enforcement["memory"].startswith("NOT ENFORCED")
        assert any("no RLIMIT_AS" in w for w in given.warnings)

        none = launch(())
        assert not any("nvidia" in a for a in none.argv) and "/sys" not in none.argv
        assert any(a.startswith("--as=") for a in none.argv)  # a CPU run keeps its address-space limit
        assert none.enforcement["gpu"].startswith("none")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _inside(workdir: Path, script: str, gpus: tuple[int, ...]):
    return run_in_sandbox(["/bin/sh", "-c", script], workdir, limits=SandboxLimits(wall_time_s=30, gpus=gpus))


LIST = ("for f in /dev/nvidia* /dev/nvidia-caps/*; do [ -c \"$f\" ] && echo \"chr $f\"; done; "
        "echo \"cvd=$CUDA_VISIBLE_DEVICES\"; grep 'Max address space' /proc/self/limits")


def test_a_run_given_gpu_1_sees_only_its_node_and_the_shared_ones(dev_root, bwrap_ready, tmp_path):
    res = _inside(tmp_path / "w", LIST, (1,))
    assert res.ok, res.stderr_tail
    seen = {line.split()[1] for line in res.stdout_tail.splitlines() if line.startswith("chr ")}
    assert seen == {"/dev/nvidia1", "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools",
                    "/dev/nvidia-caps/nvidia-cap1"}
    assert "cvd=0" in res.stdout_tail
    assert "unlimited" in [line for line in res.stdout_tail.splitlines() if "address space" in line][0]


def test_a_run_without_gpus_finds_no_nvidia_node(dev_root, bwrap_ready, tmp_path):
    res = _inside(tmp_path / "w", "ls -a /dev; echo cvd=${CUDA_VISIBLE_DEVICES-unset}", ())
    assert res.ok, res.stderr_tail
    assert "nvidia" not in res.stdout_tail and "cvd=unset" in res.stdout_tail


def test_hostile_run_cannot_reach_a_gpu_it_was_not_given(dev_root, bwrap_ready, tmp_path):
    """Opening another GPU's node, creating one with mknod, or reaching the host's /dev: all refused."""
    code = (
        "import os, errno\n"
        "for path in ('/dev/nvidia0', '/dev/nvidia2', '/dev/nvidia-modeset', %r):\n"
        "    try:\n        os.close(os.open(path, os.O_RDWR)); print('OPENED', path)\n"
        "    except OSError as e:\n        print('refused', path, errno.errorcode[e.errno])\n"
        "try:\n    os.mknod('/tmp/nvidia0', 0o20666, os.makedev(195, 0)); print('MKNOD ok')\n"
        "except OSError as e:\n    print('mknod refused', errno.errorcode[e.errno])\n"
    ) % str(dev_root / "nvidia0")
    res = run_in_sandbox([sys.executable, "-c", code], tmp_path / "w", limits=SandboxLimits(wall_time_s=30, gpus=(1,)))
    assert "OPENED" not in res.stdout_tail and "MKNOD ok" not in res.stdout_tail, res.stdout_tail
    assert res.stdout_tail.count("refused") == 5


def test_an_assigned_gpu_without_a_node_is_an_infrastructure_error(dev_root, bwrap_ready, tmp_path):
    with pytest.raises(SandboxUnavailable, match="GPU 4 assigned") as info:
        _inside(tmp_path / "w", "true", (4,))
    assert infra_kind(f"SandboxUnavailable: {info.value}") == "sandbox"  # never charged to the model


def test_cuda_probe_says_why_cuda_does_not_work(dev_root, bwrap_ready):
    probe = gpu.probe_cuda((0,))
    assert not probe.works and probe.gpus == (0,)
    assert "NO_DRIVER" in probe.detail or "cuInit" in probe.detail  # no libcuda here: said, not guessed
    assert "does NOT work" in probe.line()


def test_templates_that_ask_for_cuda_are_recognised(tmp_path):
    (tmp_path / "experiment.py").write_text("import torch\nx = 1\n")
    assert not gpu.expects_cuda(tmp_path)
    (tmp_path / "experiment.py").write_text("device = 'cuda' if torch.cuda.is_available() else 'cpu'\n")
    assert gpu.expects_cuda(tmp_path)
    upstream = Path(os.environ.get("BENCH_SHARED_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
    nano = upstream / "ai_scientist_templates" / "nanoGPT"
    if nano.is_dir():
        assert gpu.expects_cuda(nano)


def test_enforcement_line_names_the_gpus(dev_root):
    line = gpu.enforcement_line()
    assert "0 (/dev/nvidia0), 1 (/dev/nvidia1), 2 (/dev/nvidia2)" in line
    assert "no NVIDIA GPU" in gpu.enforcement_line(dev_root / "empty-nothing-here")


def test_sandbox_cli_refuses_a_gpu_this_machine_lacks(dev_root, tmp_path):
    from click.testing import CliRunner

    from scientist.sandbox.cli import sandbox_group

    result = CliRunner().invoke(sandbox_group, ["run", "--workdir", str(tmp_path / "w"), "--gpus", "9", "--", "true"])
    assert result.exit_code == 2 and "no GPU 9" in result.output


GPU_CHECK = Path(__file__).resolve().parents[3] / "benchmark" / "perf" / "gpu_check.sh"


def test_gpu_check_script_is_shellcheck_clean_and_says_when_it_cannot_run(tmp_path):
    import subprocess

    if shutil.which("shellcheck"):
        lint = subprocess.run(["shellcheck", str(GPU_CHECK)], capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has an NVIDIA driver: run the check itself")
    res = subprocess.run(["bash", str(GPU_CHECK), str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert res.returncode == 3 and "CANNOT RUN: nvidia-smi not found" in res.stdout
    assert (tmp_path / "out" / "summary.txt").read_text().startswith("CANNOT RUN")


SIMULATED_MACHINE = r"""
set -e
D=$1/dev; B=$1/bin
mkdir -p "$D" "$B"; chmod 755 "$1" "$D" "$B"
for n in null zero full random urandom tty; do cp -a /dev/$n "$D/"; done
mknod -m 666 "$D/nvidia0" c 195 0; mknod -m 666 "$D/nvidia1" c 195 1; mknod -m 666 "$D/nvidiactl" c 195 255
mknod -m 666 "$D/nvidia-modeset" c 195 254; mknod -m 666 "$D/nvidia-uvm" c 510 0
cp -a /usr/local/bin/. "$B/"
printf '%s\n' '#!/bin/sh' 'for f in /dev/nvidia[0-9]*; do [ -c "$f" ] && echo "GPU ${f#/dev/nvidia}: Stand-in (UUID: GPU-standin-${f#/dev/nvidia})"; done' > "$B/nvidia-smi"
chmod 755 "$B/nvidia-smi"
mount --rbind "$D" /dev
mount --bind "$B" /usr/local/bin
exec bash "$2" "$1/out"
"""


@pytest.mark.slow  # about 2 minutes: two template baselines in and out of the sandbox
def test_gpu_check_on_a_simulated_two_gpu_machine(tmp_path):
    """The script's logic without a GPU: a private mount namespace whose /dev holds stand-in nodes
    for two GPUs and whose nvidia-smi lists the nodes it can see. Isolation checks must pass; the
    CUDA checks must fail (no driver here), which shows the script does not pass what it cannot see."""
    import subprocess

    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("bwrap") is None:
        pytest.skip("needs root, unshare and bubblewrap")
    sim = Path(tempfile.mkdtemp(prefix="gpu-sim-", dir="/tmp"))
    try:
        script = sim / "machine.sh"
        script.write_text(SIMULATED_MACHINE)
        res = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", str(script), str(sim), str(GPU_CHECK)],
                             capture_output=True, text=True, timeout=600)
        verdicts = {line.split(":")[0].split(None, 1)[1]: line.split()[0]
                    for line in res.stdout.splitlines() if line.split(" ", 1)[0] in ("PASS", "FAIL", "WARN")}
        assert verdicts["cuda-inside nvidia-smi"] == "PASS" and verdicts["pinned-one-gpu"] == "PASS", res.stdout
        assert verdicts["no-gpu-run"] == "PASS" and verdicts["hostile-nodes"] == "PASS", res.stdout
        assert verdicts["cuda-inside matmul"] == "FAIL" and verdicts["pinned-torch"] == "FAIL"  # no CUDA here
        assert verdicts["baseline-ratio"] == "FAIL" and "trained on cpu" in res.stdout
        assert res.returncode == 1 and "GPU 1: Stand-in (UUID: GPU-standin-1)" in res.stdout
        report = json.loads((sim / "out" / "gpu_check.json").read_text())
        assert {c["check"] for c in report["checks"]} >= {"hostile-nodes", "pinned-one-gpu", "baseline-ratio"}
    finally:
        shutil.rmtree(sim, ignore_errors=True)


def test_without_the_sandbox_only_the_variable_pins_a_run(dev_root, tmp_path):
    """--unsafe-no-sandbox: no namespaces, so the host's nodes stay; CUDA_VISIBLE_DEVICES still pins
    (host index, PCI order), and a run given no GPU gets an empty one, which hides them all from CUDA."""
    script = "echo cvd=[${CUDA_VISIBLE_DEVICES-unset}] order=${CUDA_DEVICE_ORDER-unset}"
    pinned = run_in_sandbox(["/bin/sh", "-c", script], tmp_path / "a", unsafe_no_sandbox=True,
                            limits=SandboxLimits(wall_time_s=20, gpus=(2,)))
    assert "cvd=[2] order=PCI_BUS_ID" in pinned.stdout_tail
    none = run_in_sandbox(["/bin/sh", "-c", script], tmp_path / "b", unsafe_no_sandbox=True,
                          limits=SandboxLimits(wall_time_s=20))
    assert "cvd=[] order=PCI_BUS_ID" in none.stdout_tail


def test_scientist_run_refuses_a_gpu_this_machine_lacks(tmp_path):
    from click.testing import CliRunner

    from benchmark.cli import main

    res = CliRunner().invoke(main, ["scientist", "run", "--model", "m", "--template", "grokking",
                                    "--out", str(tmp_path / "o"), "--gpus", "6"])
    assert res.exit_code == 2 and "no GPU 6" in res.output and not (tmp_path / "o").exists()
