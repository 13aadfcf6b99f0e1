#!/usr/bin/env bash
# One command on a machine with a CUDA GPU (at most about 10 minutes on one GPU):
#   bash experiments/gpu/run.sh                      # --device cuda, results to experiments/benchmarks/results/
#   bash experiments/gpu/run.sh --device cpu --quick --out-dir DIR   # the smoke version the test suite runs
# 1. the CUDA-parametrised tests (they skip without CUDA);
# 2a. the pretrained Holstein, NEGF and wave models (`bench surrogate --checkpoint`), not with --quick;
# 2b. every `graphqd bench` on the device: bench_<name>_<device>.{json,txt} (the JSON names the device);
# 3. a short training of each system's main model at paper width, with AMP (and torch.compile on CUDA):
#    Holstein graph PARC at width 128, the wave Strang kernel, and the NEGF force-field MLP of the paper
#    (113 -> 4096 -> ... -> 1, 11.66 M parameters), on small stores simulated first; wall times in
#    train_<device>.json.
# Run from the repository root. GQD / PY choose the graphqd command and Python (default: .venv).
set -euo pipefail
GQD=${GQD:-.venv/bin/graphqd}
PY=${PY:-.venv/bin/python}
DEVICE=cuda; QUICK=""; OUT=experiments/benchmarks/results
while [[ $# -gt 0 ]]; do
  case $1 in
    --device) DEVICE=$2; shift 2 ;;
    --quick) QUICK=--quick; shift ;;
    --out-dir) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--device cuda|cpu] [--quick] [--out-dir DIR]" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
began=$(date +%s)

echo "== 1. CUDA-parametrised tests"
tests=(tests/physics tests/graphs tests/models)
[[ -n $QUICK ]] && tests=(tests/graphs/test_site_graph.py)
failed=0  # a failing test or benchmark is reported, the rest still runs, and the script exits non-zero
bench() {  # NAME, then the options of `graphqd bench`: bench_NAME_DEVICE.{json,txt}
  local name=$1; shift
  $GQD bench "$@" --device "$DEVICE" --out "$OUT/bench_${name}_${DEVICE}.json" | tee "$OUT/bench_${name}_${DEVICE}.txt" \
    || { failed=1; echo "bench $name FAILED"; }
}
$PY -m pytest -q -p no:cacheprovider -rf -k cuda "${tests[@]}" > "$OUT/tests_${DEVICE}.txt" 2>&1 || failed=1
tail -n 12 "$OUT/tests_${DEVICE}.txt"

if [[ -z $QUICK ]]; then
  echo "== 2a. the pretrained models on $DEVICE (bench_<model>_<device>.{json,txt})"
  exact_sites=1200; exact_L=1024; [[ $DEVICE == cuda ]] && exact_sites=4800 && exact_L=4096
  declare -A trained=(
    [shallow_chains16_graph]="experiments/holstein_parc/pretrained/shallow_chains16_graph.pt --sizes 64,256,1024,4096,16384 --exact-max $exact_L"
    [forcefield_graph]="experiments/negf_forcefield/pretrained/forcefield_graph.pt --exact-max-sites $exact_sites"
    [wave_gru]="experiments/wave_emulator/pretrained/gru.pt")
  for name in shallow_chains16_graph forcefield_graph wave_gru; do
    # shellcheck disable=SC2086
    bench "$name" surrogate --checkpoint ${trained[$name]}
  done
fi

echo "== 2b. benchmarks of the ground truths and reference models on $DEVICE"
declare -A extra=([negf]="--sizes 10x8 20x10 40x30" [wave-emulator]="" [surrogate]="" [wave]="" [holstein]="")
[[ -n $QUICK ]] && extra=([negf]="--sizes 6x4 8x6" [wave-emulator]="--models wave_kernel --frames 3" [surrogate]=""
                         [wave]="" [holstein]="")
for name in surrogate wave-emulator negf holstein wave; do
  # shellcheck disable=SC2086
  bench "$name" "$name" $QUICK ${extra[$name]}
done

echo "== 3. short training at paper width, AMP$([[ $DEVICE == cuda ]] && echo ', torch.compile')"
steps=200; [[ -n $QUICK ]] && steps=2
compile=false; [[ $DEVICE == cuda ]] && compile=true
$GQD simulate holstein --config datasets/holstein_shallow.yaml --out "$WORK/holstein.h5" \
  --set trajectories=4 --set integrator.t_final=8.0 --set quench.q_noise=0.03
$GQD simulate wave --config datasets/wave_demo.yaml --out "$WORK/wave.h5" --set runs.count=4 \
  --set integrator.t_final=8.0
$GQD simulate negf --config datasets/negf_demo.yaml --out "$WORK/negf.h5" --set trajectories=4 \
  --set lattice.Lx=14 --set lattice.Ly=14 --set dynamics.t_final=4.0 --set dynamics.record_every=4
common=(--set "train.steps=$steps" --set train.amp=true --set "train.compile=$compile" --set "train.device=$DEVICE"
        --set "train.init_from=''" --set log.val_every=1000000 --set "log.checkpoint_every=$steps" --set log.figures=false
        --set log.progress=false --set data.split=[0.75,0.25,0.0])
rows=()
train() {  # SYSTEM MODEL CONFIG, then more --set options
  local system=$1 model=$2 config=$3; shift 3
  local t0=$EPOCHREALTIME
  $GQD train --config "$config" "${common[@]}" --set "data.path=$WORK/$system.h5" \
    --set "log.run_dir=$WORK/run_$system" "$@"
  rows+=("{\"system\": \"$system\", \"model\": \"$model\", \"steps\": $steps, \"amp\": true, \"compile\": $compile, \
\"wall_s\": $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}')}")
}
train holstein parc_graph experiments/holstein_parc/shallow_chains_graph.yaml --set model.width=128 \
  --set data.extra_paths=[] --set data.batch_size=8 --set train.rollout_lengths=[1] --set train.curriculum=[0]
train wave wave_kernel experiments/wave_emulator/kernel_strang.yaml --set data.batch_size=2 \
  --set train.rollout_lengths=[4] --set train.curriculum=[0]
train negf forcefield_mlp experiments/negf_forcefield/mlp.yaml --set 'model.widths=[4096,2048,1024,512,256,128,64,64]' \
  --set data.batch_size=4
$PY - "$OUT/train_${DEVICE}.json" "$DEVICE" "${rows[@]}" <<'EOF'
import json, sys
import torch
out, device, rows = sys.argv[1], sys.argv[2], [json.loads(r) for r in sys.argv[3:]]
name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
with open(out, "w") as fh:
    json.dump({"device": device, "device_name": name, "torch": torch.__version__, "runs": rows}, fh, indent=1)
print(f"wrote {out}")
EOF
echo "== done in $(( $(date +%s) - began )) s on $DEVICE"
exit $failed
