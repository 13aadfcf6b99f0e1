#!/usr/bin/env bash
# Issue 6, experiment 8 (scaling) at REDUCED CPU SCALE: the width-32 shallow-quench models of experiment 1
# (trained at L = 8, run_shallow.sh) on chains of L = 8 ... 1024, against the exact Ehrenfest solver.
# Run from the repository root:  bash experiments/holstein_parc/run_scaling.sh [time|rollout|errors|report|all|deep]
# Every command uses ONE CPU thread. Rollouts go to runs/holstein_parc/scaling/ (ignored by git); the committed
# results are experiments/holstein_parc/results/scaling.{csv,json,png}.
# Needs runs/holstein_parc/shallow_small_{graph,cnn} and data/shallow_test.h5 (bash run_shallow.sh data train).
set -euo pipefail
GQD=${GQD:-.venv/bin/graphqd}
PY=${PY:-.venv/bin/python}
HERE=experiments/holstein_parc
RES=$HERE/results
OUT=runs/holstein_parc/scaling
DATA=data/shallow_test.h5          # recipe + seeds (777) of the initial states: g = 0.5 CDW ground state, q_noise 0.03
RUNS=${RUNS:-4}                    # rollouts per (model, L); graph at L = 256 uses RUNS_256
RUNS_256=${RUNS_256:-2}
STEPS=400
stage=${1:-all}
mkdir -p "$OUT" "$RES"
t_start=$(date +%s)

if [[ $stage == time || $stage == all ]]; then
  # (a) wall time per model step and per exact snapshot (dt 0.08, 8 RK4 substeps) at each L
  $PY $HERE/scaling.py time --model graph=runs/holstein_parc/shallow_small_graph \
    --model cnn=runs/holstein_parc/shallow_small_cnn --data $DATA --lattices 8 32 64 256 1024 --out $OUT/timing.json
  # an extra point between 256 and 1024, where graph PARC overtakes the exact solver
  $PY $HERE/scaling.py time --model graph=runs/holstein_parc/shallow_small_graph \
    --model cnn=runs/holstein_parc/shallow_small_cnn --data $DATA --lattices 512 --out $OUT/timing_512.json
fi

if [[ $stage == rollout || $stage == all ]]; then
  # (b) rollouts on fresh L-site initial states with the data's recipe/seeds; the exact trajectory goes to *_exact.h5
  for L in 32 64; do
    for m in graph cnn; do
      rm -f $OUT/${m}_L$L.h5 $OUT/${m}_L${L}_exact.h5
      $GQD --threads 1 rollout --checkpoint runs/holstein_parc/shallow_small_$m --data $DATA --steps $STEPS \
        --lattice $L --runs $RUNS --out $OUT/${m}_L$L.h5
    done
  done
  rm -f $OUT/graph_L256.h5 $OUT/graph_L256_exact.h5
  $GQD --threads 1 rollout --checkpoint runs/holstein_parc/shallow_small_graph --data $DATA --steps $STEPS \
    --lattice 256 --runs $RUNS_256 --out $OUT/graph_L256.h5
fi

if [[ $stage == errors || $stage == all ]]; then
  args=()
  for f in $OUT/{graph,cnn}_L{32,64,256}.h5; do
    [[ -f $f ]] || continue
    b=$(basename $f .h5); args+=(--rollout "${b%_L*}:${b#*_L}=$f")
  done
  # L = 8 reference: experiment 1's rollouts of the same test recipe (8 runs, seed 777) against the stored truth
  for m in graph cnn; do
    f=runs/holstein_parc/shallow_small_$m/rollout_test.h5
    [[ -f $f ]] && args+=(--rollout "$m:8=$f,$DATA")
  done
  $PY $HERE/scaling.py errors "${args[@]}" --steps 100 400 --out $OUT/errors.json
fi

if [[ $stage == report || $stage == all ]]; then
  $PY $HERE/scaling.py report --timing $OUT/timing.json $OUT/timing_512.json --errors $OUT/errors.json --out-dir $RES \
    ${WALL_TIME:+--wall-time $WALL_TIME}
fi
if [[ $stage == deep ]]; then
  # (d) the deep quench: the deep models (run_deep.sh; strang_graph_long2 is trained into the domain phase,
  # strang_graph_L16 is strang_graph fine-tuned on L = 16 quenches) on fresh deep quenches of L = 32, 64, 256
  # sites (recipe and seeds of data/deep_test.h5), 1000 steps (t = 80: nucleation and domain growth), bare and
  # with --conserve energy, against the exact trajectory at the same L; statistics in results/deep_scaling.*
  if [[ ! -f data/deep_L16.h5 ]]; then
    $GQD --threads 1 simulate holstein --config datasets/holstein_deep.yaml --out data/deep_L16.h5 \
      --set lattice.L=16 --set trajectories=128 --set seed=16 --set integrator.t_final=80
  fi
  [[ -d runs/holstein_parc/deep_strang_graph_L16 ]] || $GQD train --config $HERE/deep_strang_graph_L16.yaml
  args=()
  for L in 32 64 256; do
    runs=$([[ $L == 256 ]] && echo 2 || echo 4)
    for m in strang_graph strang_graph_long2 strang_graph_L16 small_cnn; do
      [[ $m == small_cnn && $L == 256 ]] && continue          # O(L^2) per step and diverges already at L = 8
      for c in "" energy; do
        f=$OUT/deep_${m}${c:+_$c}_L$L.h5
        $GQD --threads 1 rollout --checkpoint runs/holstein_parc/deep_$m --data data/deep_test.h5 --steps 1000 \
          --lattice $L --runs $runs ${c:+--conserve $c} --out $f
        args+=(--rollout "$m${c:+, $c}:$L=$f")
      done
    done
  done
  $PY $HERE/deep_scaling.py "${args[@]}" --out-dir $RES
fi
echo "run_scaling.sh $stage: $(( $(date +%s) - t_start )) s"
