#!/usr/bin/env bash
# Issue 6, experiments 2 and 7 at REDUCED CPU SCALE: deep quench g 0 -> 2.0, L = 8, and its statistical climate.
# Run from the repository root:  bash experiments/holstein_parc/run_deep.sh [data|train|eval|plot|all|climate] [models...]
# Every command uses one CPU thread. Data go to data/ and runs to runs/ (both ignored by git);
# the committed results are written to experiments/holstein_parc/results/.
set -euo pipefail
GQD=${GQD:-.venv/bin/graphqd}
PY=${PY:-.venv/bin/python}
HERE=experiments/holstein_parc
RES=$HERE/results
CLIMATE_STEPS=${CLIMATE_STEPS:-10000}   # free-running climate rollout from t = 0 (test truth simulated as long)
MID=${MID:-1000}                        # snapshot (t = 80) of the mid-trajectory rollouts
stage=${1:-all}; shift || true
# deep_NAME.yaml trains runs/holstein_parc/deep_NAME; a fine-tune follows the run it starts from
models=${*:-"small_graph small_cnn strang_graph strang_graph_ft strang_cnn strang_cnn_ft strang_graph_long strang_cnn_long strang_graph_long2 strang_cnn_long2"}
mkdir -p data "$RES"

if [[ $stage == data || $stage == all ]]; then
  # training set: 56 deep quenches (free Fermi sea, Q_i ~ N(0, (1e-4)^2), g -> 2.0), t = 0 ... 200, seed 0
  $GQD --threads 1 simulate holstein --config datasets/holstein_deep.yaml --out data/deep_train.h5 \
    --set trajectories=56 --set seed=0
  # held-out test set: 8 deep quenches with another seed (777), long enough for the climate rollout
  $GQD --threads 1 simulate holstein --config datasets/holstein_deep.yaml --out data/deep_test.h5 \
    --set trajectories=8 --set seed=777 --set integrator.t_final=$(echo "$CLIMATE_STEPS * 0.08" | bc)
  # "arbitrary nonequilibrium" states (random Q, P and a disordered Slater determinant, g = 2.0), seed 1000
  $GQD --threads 1 simulate holstein --config datasets/holstein_random.yaml --out data/deep_random.h5 \
    --set trajectories=8
fi

if [[ $stage == train || $stage == all ]]; then
  [[ -f data/deep_many.h5 ]] || bash $HERE/run_sweeps.sh data   # deep_strang_graph trains on data/deep_many.h5
  # the *_long fine-tunes train on 128 quenches (seed 5) that reach t = 800, the domain phase of experiment 7
  [[ -f data/deep_long.h5 ]] || $GQD --threads 1 simulate holstein --config datasets/holstein_deep.yaml \
    --out data/deep_long.h5 --set trajectories=128 --set seed=5 --set integrator.t_final=800
  for m in $models; do
    $GQD train --config $HERE/deep_$m.yaml      # train.threads = 1 in the config
  done
fi

if [[ $stage == eval || $stage == all ]]; then
  for m in $models; do
    run=runs/holstein_parc/deep_$m
    $GQD --threads 1 evaluate --checkpoint $run --data data/deep_test.h5 --steps 2500 --out $run/metrics_test.json
    $GQD --threads 1 evaluate --checkpoint $run --data data/deep_random.h5 --steps 2500 --out $run/metrics_random.json
    rm -f $run/rollout_test.h5 $run/rollout_mid.h5 $run/rollout_random.h5
    $GQD --threads 1 rollout --checkpoint $run --data data/deep_test.h5 --steps $CLIMATE_STEPS --out $run/rollout_test.h5
    $GQD --threads 1 rollout --checkpoint $run --data data/deep_test.h5 --start $MID --steps 1000 --out $run/rollout_mid.h5
    $GQD --threads 1 rollout --checkpoint $run --data data/deep_random.h5 --steps 2500 --out $run/rollout_random.h5
  done
fi

if [[ $stage == plot || $stage == all ]]; then
  args=()
  for m in $models; do args+=(--model "$m=runs/holstein_parc/deep_$m"); done
  # also integrates the ground-truth Lyapunov pairs (4 held-out states, float64, about a minute)
  $PY $HERE/deep_quench.py --test-truth data/deep_test.h5 --random-truth data/deep_random.h5 "${args[@]}" \
    --burn-in 1000 --mid-start $MID --max-lag 250 --lyap-steps 1500 --out-dir $RES
fi

if [[ $stage == climate ]]; then
  # experiment 7 with invariant projections (graphqd rollout --conserve): 32 held-out quenches, seed 4242,
  # t = 0 ... 800; each model free-running from t = 0, projected (--conserve spectrum --conserve energy), and also
  # bare for the models in BARE.
  # Rollout files resume when rerun.  Results: bash run_deep.sh climate strang_graph strang_graph_ft strang_graph_long \
  #   strang_graph_long2 strang_cnn strang_cnn_long strang_cnn_long2 small_graph small_cnn
  BARE=${BARE:-"strang_graph strang_graph_ft strang_graph_long strang_graph_long2 strang_cnn strang_cnn_long strang_cnn_long2"}
  # and projected with the energy kept through rho (--conserve energy-rho) for the models in RHO
  RHO=${RHO:-"strang_graph strang_graph_long strang_graph_long2 strang_cnn strang_cnn_long strang_cnn_long2"}
  # deep_climate_b.h5 (seed 4343) is an independent exact ensemble: what a statistically perfect surrogate scores
  for store_seed in "deep_climate 4242" "deep_climate_b 4343"; do
    set -- $store_seed
    [[ -f data/$1.h5 ]] || $GQD --threads 1 simulate holstein --config datasets/holstein_deep.yaml \
      --out data/$1.h5 --set trajectories=32 --set seed=$2 --set integrator.t_final=$(echo "$CLIMATE_STEPS * 0.08" | bc)
  done
  args=()
  for m in $models; do
    run=runs/holstein_parc/deep_$m
    if [[ " $BARE " == *" $m "* ]]; then
      $GQD --threads 1 rollout --checkpoint $run --data data/deep_climate.h5 --steps $CLIMATE_STEPS \
        --out $run/rollout_climate.h5
      args+=(--rollout "$m=$run/rollout_climate.h5")
    fi
    $GQD --threads 1 rollout --checkpoint $run --data data/deep_climate.h5 --steps $CLIMATE_STEPS \
      --conserve spectrum --conserve energy --out $run/rollout_climate_conserve.h5
    args+=(--rollout "$m, projected=$run/rollout_climate_conserve.h5")
    if [[ " $RHO " == *" $m "* ]]; then
      $GQD --threads 1 rollout --checkpoint $run --data data/deep_climate.h5 --steps $CLIMATE_STEPS \
        --conserve spectrum --conserve energy-rho --out $run/rollout_climate_erho.h5
      args+=(--rollout "$m, energy through rho=$run/rollout_climate_erho.h5")
    fi
  done
  # the figure draws a handful of these (PLOT, ";"-separated rollout names); the CSV and JSON have them all
  IFS=';' read -ra drawn <<< "${PLOT:-strang_graph_long2;strang_graph_long2, projected;strang_graph_long2, energy through rho;strang_graph, energy through rho}"
  $PY $HERE/climate_projection.py --truth data/deep_climate.h5 --reference data/deep_climate_b.h5 "${args[@]}" \
    --out-dir $RES --plot "${drawn[@]}"
fi
