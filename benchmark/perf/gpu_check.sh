#!/usr/bin/env bash
# The GPU check (issue 20), for a machine with an NVIDIA GPU, in under 8 minutes:
#   1. CUDA inside the sandbox: `nvidia-smi -L` and a torch matmul on cuda, run by `bench sandbox run --gpus 0`;
#   2. a run pinned to one GPU sees no other (its /dev, nvidia-smi, torch.cuda.device_count), and a run
#      given none finds no /dev/nvidia* and no CUDA;
#   3. a template's smoke baseline (char_lm) in and out of the sandbox on the GPU: time ratio (want <= 1.05);
#   4. a hostile run given GPU 0 opens the /dev/nvidia* nodes it was not given, and makes its own with mknod.
#
# Usage: bash benchmark/perf/gpu_check.sh [OUT_DIR]      (run as root from anywhere; PYTHON=... to pick python)
# Writes OUT_DIR/summary.txt (one PASS/FAIL/WARN/SKIP line per check), OUT_DIR/gpu_check.json and the
# sandbox reports. Exit 0: no check failed; 1: a check failed; 3: this machine cannot run the check
# (no NVIDIA GPU, no bubblewrap, or the project's Python packages missing).
#
# On a machine that cannot fetch packages, stage them beside the repo first (on a machine that can):
#   .gpucheck/deb/*.deb  (apt-get download bubblewrap)  and
#   .gpucheck/whl/*.whl  (pip download the project's dependencies that the machine lacks, e.g. pydantic)
# The script unpacks them before it starts.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO" || exit 3
OUT=${1:-${OUT:-$(mktemp -d /var/tmp/gpu-check.XXXXXX)}}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
FAILED=0
STARTED=$(date +%s)

say() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }
pass() { say "PASS  $1: $2"; }
fail() { say "FAIL  $1: $2"; FAILED=1; }
warn() { say "WARN  $1: $2"; }
give_up() { say "CANNOT RUN: $1"; exit 3; }

# ---- 0. what this machine has -------------------------------------------------------------------
if [ -d .gpucheck/deb ]; then
  for f in .gpucheck/deb/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
fi
if [ -d .gpucheck/whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /opt/gpucheck-site .gpucheck/whl/*.whl \
    || give_up "the staged wheels in .gpucheck/whl did not install"
  export PYTHONPATH="/opt/gpucheck-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
PY=$(command -v "${PYTHON:-python3}") || give_up "no python3"
PY=$("$PY" -c 'import sys; print(sys.executable)')
BENCH=("$PY" -m benchmark.cli)

command -v nvidia-smi >/dev/null || give_up "nvidia-smi not found: no NVIDIA driver here"
HOST_GPUS=$(nvidia-smi -L 2>&1) || give_up "nvidia-smi -L failed: $HOST_GPUS"
N_GPUS=$(grep -c '^GPU ' <<<"$HOST_GPUS")
[ "$N_GPUS" -ge 1 ] || give_up "nvidia-smi lists no GPU"
say "host: $N_GPUS GPU(s): $(tr '\n' ';' <<<"$HOST_GPUS")"
say "host /dev: $(cd /dev && echo nvidia*)"
command -v bwrap >/dev/null || give_up "bubblewrap (bwrap) is not installed: stage it in .gpucheck/deb (apt-get download bubblewrap)"
if [ "$(id -u)" = 0 ] && ! id bench-sandbox >/dev/null 2>&1; then  # as .ci/install does
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group bench-sandbox \
    || give_up "could not create the sandbox's user bench-sandbox"
fi
"$PY" -c 'import benchmark.cli, scientist.sandbox' 2>"$OUT/import.err" \
  || give_up "the project does not import with $PY: $(tail -1 "$OUT/import.err") (stage wheels in .gpucheck/whl)"
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null \
  && HOST_TORCH=1 || HOST_TORCH=0
say "python: $PY; torch with CUDA outside the sandbox: $([ "$HOST_TORCH" = 1 ] && echo yes || echo no)"

# `bench sandbox run` with a report; prints the command's stdout (from the report) and returns its exit status
sandboxed() {  # NAME GPUS TIMEOUT -- COMMAND...
  local name=$1 gpus=$2 limit=$3
  shift 4
  local rc=0
  timeout $((limit + 30)) "${BENCH[@]}" sandbox run --workdir "$OUT/work_$name" --gpus "$gpus" \
    --time-limit "$limit" --memory-mb 32768 --pids 512 --report "$OUT/$name.json" -- "$@" \
    >/dev/null 2>"$OUT/$name.err" || rc=$?
  if [ -f "$OUT/$name.json" ]; then
    "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["stdout_tail"]); print(r["stderr_tail"], file=sys.stderr)' \
      "$OUT/$name.json" 2>>"$OUT/$name.err"
  fi
  return "$rc"
}

# ---- 1. CUDA inside the sandbox ---------------------------------------------------------------
SMI_IN=$(sandboxed smi_inside 0 60 -- nvidia-smi -L)
if [ "$(grep -c '^GPU ' <<<"$SMI_IN")" = 1 ]; then
  pass "cuda-inside nvidia-smi" "$(grep '^GPU ' <<<"$SMI_IN")"
else
  fail "cuda-inside nvidia-smi" "expected one GPU, got: $(tr '\n' ' ' <<<"$SMI_IN") $(tail -3 "$OUT/smi_inside.err" | tr '\n' ' ')"
fi
MATMUL='import time, torch
assert torch.cuda.is_available(), "torch.cuda.is_available() is False"
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
torch.cuda.synchronize(); t = time.perf_counter()
for _ in range(10): b = a @ a
torch.cuda.synchronize(); dt = time.perf_counter() - t
print(f"MATMUL ok devices={torch.cuda.device_count()} name={torch.cuda.get_device_name(0)} tflops={10*2*8192**3/dt/1e12:.0f}")'
MM_IN=$(sandboxed matmul_inside 0 120 -- "$PY" -c "$MATMUL")
if grep -q '^MATMUL ok' <<<"$MM_IN"; then
  pass "cuda-inside matmul" "$(grep '^MATMUL' <<<"$MM_IN")"
else
  fail "cuda-inside matmul" "$(tail -3 "$OUT/matmul_inside.err" | tr '\n' ' ')"
fi
if [ "$HOST_TORCH" = 1 ]; then
  say "      outside the sandbox: $("$PY" -c "$MATMUL" 2>&1 | tail -1)"
fi

# ---- 2. a run pinned to one GPU sees no other; a run given none sees no GPU at all --------------
PIN=$((N_GPUS - 1))  # the last GPU: with several, not the one CUDA would pick by default
# shellcheck disable=SC2016  # expanded inside the sandbox
LIST='for f in /dev/nvidia*; do echo "DEV $f"; done; nvidia-smi -L; echo "CVD=$CUDA_VISIBLE_DEVICES"'
PINNED=$(sandboxed pinned "$PIN" 60 -- /bin/sh -c "$LIST")
WANT_UUID=$(grep "^GPU $PIN:" <<<"$HOST_GPUS" | sed -n 's/.*UUID: \([^)]*\)).*/\1/p')
DEVS=$(grep '^DEV ' <<<"$PINNED" | awk '{print $2}' | sort | tr '\n' ' ')
INDEXED=$(grep -c '^DEV /dev/nvidia[0-9]' <<<"$PINNED")
SEEN=$(grep '^GPU ' <<<"$PINNED")
if [ "$INDEXED" = 1 ] && [ "$(grep -c '^GPU ' <<<"$PINNED")" = 1 ] && grep -q "$WANT_UUID" <<<"$SEEN"; then
  pass "pinned-one-gpu" "given GPU $PIN: sees $DEVS; nvidia-smi: $SEEN"
else
  fail "pinned-one-gpu" "given GPU $PIN ($WANT_UUID): sees $DEVS; nvidia-smi: $(tr '\n' ' ' <<<"$SEEN")"
fi
grep -q 'nvidia-modeset' <<<"$DEVS" && fail "pinned-one-gpu" "nvidia-modeset is visible, it was not given"
COUNT='import torch; print("DEVICES", torch.cuda.device_count() if torch.cuda.is_available() else 0)'
PIN_COUNT=$(sandboxed pinned_torch "$PIN" 60 -- "$PY" -c "$COUNT" | grep '^DEVICES')
if [ "$PIN_COUNT" = "DEVICES 1" ]; then
  pass "pinned-torch" "torch sees $PIN_COUNT"
else
  fail "pinned-torch" "torch should see 1 device, saw: ${PIN_COUNT:-nothing} ($(tail -2 "$OUT/pinned_torch.err" | tr '\n' ' '))"
fi
# shellcheck disable=SC2016  # expanded inside the sandbox
NONE=$(sandboxed no_gpu none 60 -- /bin/sh -c 'ls -a /dev; echo CVD=${CUDA_VISIBLE_DEVICES-unset}')
NONE_COUNT=$(sandboxed no_gpu_torch none 60 -- "$PY" -c "$COUNT" | grep '^DEVICES')
if ! grep -q nvidia <<<"$NONE" && [ "$NONE_COUNT" = "DEVICES 0" ]; then
  pass "no-gpu-run" "no /dev/nvidia*, torch sees no device"
else
  fail "no-gpu-run" "a run given no GPU saw: $(grep nvidia <<<"$NONE" | tr '\n' ' ') ${NONE_COUNT:-}"
fi

# ---- 3. a template's smoke baseline, in and out of the sandbox, on the GPU ----------------------
baseline() {  # MODE(sandbox|unsafe) TRY
  local extra=()
  [ "$1" = unsafe ] && extra=(--unsafe-no-sandbox)
  timeout 200 "${BENCH[@]}" template baseline char_lm --smoke --gpus 0 --force --out "$OUT/baseline_$1_$2" \
    --time-limit 170 --memory-mb 32768 "${extra[@]}" >"$OUT/baseline_$1_$2.log" 2>&1
  "$PY" - "$OUT/baseline_$1_$2" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
record = json.loads((out / "baseline.json").read_text())
results = json.loads((out / "run_0" / "all_results.json").read_text())
train = sum(s["metrics"]["train_time_s"] for s in results["seeds"].values())
print(f'{record["experiment"]["wall_time_s"]:.3f} {train:.3f} {results["device"]} {record["experiment"]["ok"]}')
EOF
}
declare -A WALL TRAIN DEVICE
for try in 1 2; do  # alternated, best of two: a warm page cache for both
  for mode in sandbox unsafe; do
    measured=$(baseline "$mode" "$try" 2>>"$OUT/baseline_$mode.err")
    if read -r wall train device ok <<<"$measured" && [ "$ok" = True ]; then
      if [ -z "${WALL[$mode]:-}" ] || "$PY" -c "import sys; sys.exit(0 if $wall < ${WALL[$mode]} else 1)"; then
        WALL[$mode]=$wall TRAIN[$mode]=$train DEVICE[$mode]=$device
      fi
    fi
  done
done
if [ -n "${WALL[sandbox]:-}" ] && [ -n "${WALL[unsafe]:-}" ]; then
  RATIO=$("$PY" -c "print(f'{${WALL[sandbox]} / ${WALL[unsafe]}:.3f}')")
  TRATIO=$("$PY" -c "print(f'{${TRAIN[sandbox]} / max(${TRAIN[unsafe]}, 1e-9):.3f}')")
  DETAIL="experiment.py wall ${WALL[sandbox]} s sandboxed / ${WALL[unsafe]} s not = $RATIO; training time ratio $TRATIO; device ${DEVICE[sandbox]} / ${DEVICE[unsafe]}"
  if [ "${DEVICE[sandbox]}" != cuda ]; then
    fail "baseline-ratio" "the sandboxed baseline trained on ${DEVICE[sandbox]}, not cuda: $DETAIL"
  elif "$PY" -c "import sys; sys.exit(0 if $RATIO <= 1.05 else 1)"; then
    pass "baseline-ratio" "$DETAIL"
  else
    warn "baseline-ratio" "over 1.05: $DETAIL (a smoke run lasts seconds: sandbox start-up weighs on it)"
  fi
else
  fail "baseline-ratio" "a baseline did not finish: see $OUT/baseline_*.log"
fi

# ---- 4. hostile: nodes it was not given, and nodes it makes ------------------------------------
HOSTILE='import errno, glob, os
given = {"/dev/nvidia%s" % os.environ.get("GIVEN_MINOR", "0")}
host_nodes = os.environ.get("HOST_NODES", "").split()
tried = [p for p in host_nodes if p not in given and p not in ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools")]
tried += ["/dev/nvidia%d" % m for m in range(0, 8) if "/dev/nvidia%d" % m not in given]
for path in dict.fromkeys(tried):
    try:
        os.close(os.open(path, os.O_RDWR)); print("OPENED", path)
    except OSError as e:
        print("refused", path, errno.errorcode[e.errno])
for minor in range(0, 4):
    target = "/tmp/nv%d" % minor
    try:
        os.mknod(target, 0o20666, os.makedev(195, minor)); print("MKNOD", target)
        os.close(os.open(target, os.O_RDWR)); print("OPENED", target)
    except OSError as e:
        print("refused mknod", target, errno.errorcode[e.errno])
print("VISIBLE", sorted(glob.glob("/dev/nvidia*")))'
GIVEN_MINOR=$(sed -n 's/.*GPU 0 (\/dev\/nvidia\([0-9]*\).*/\1/p' "$OUT/smi_inside.json" 2>/dev/null | head -1)
HOST_NODES=$(echo /dev/nvidia*)
HOST_OUT=$(sandboxed hostile 0 60 -- /usr/bin/env "GIVEN_MINOR=${GIVEN_MINOR:-0}" "HOST_NODES=$HOST_NODES" "$PY" -c "$HOSTILE")
if grep -qE '^(OPENED|MKNOD)' <<<"$HOST_OUT"; then
  fail "hostile-nodes" "$(grep -E '^(OPENED|MKNOD)' <<<"$HOST_OUT" | tr '\n' ' ')"
elif grep -q '^refused' <<<"$HOST_OUT"; then
  pass "hostile-nodes" "$(grep -c '^refused' <<<"$HOST_OUT") attempts refused; $(grep '^VISIBLE' <<<"$HOST_OUT")"
else
  fail "hostile-nodes" "the hostile run did not report: $(tail -3 "$OUT/hostile.err" | tr '\n' ' ')"
fi

ELAPSED=$(($(date +%s) - STARTED))
say "done in ${ELAPSED} s; $([ "$FAILED" = 0 ] && echo 'no check failed' || echo 'a check FAILED'); details in $OUT"
"$PY" - "$SUMMARY" "$OUT/gpu_check.json" "$ELAPSED" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
checks = [{"verdict": l.split()[0], "check": l.split(None, 1)[1].split(":", 1)[0], "detail": l.split(":", 1)[1].strip()}
          for l in lines if l.split(" ", 1)[0] in ("PASS", "FAIL", "WARN")]
json.dump({"seconds": int(sys.argv[3]), "checks": checks, "lines": lines}, open(sys.argv[2], "w"), indent=2)
EOF
exit "$FAILED"
