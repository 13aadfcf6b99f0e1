#!/usr/bin/env bash
# Issue 6, experiment 1 at REDUCED CPU SCALE: shallow quench g 0.5 -> 0.8, L = 8.
# Run from the repository root:  bash experiments/holstein_parc/run_shallow.sh [data|train|seed|eval|plot|all|conserve|conserve-rho] [models...]
# A model NAME is trained by shallow_NAME.yaml into runs/holstein_parc/shallow_NAME; the *_ft models fine-tune
# (train.init_from) the model named before them, so keep that order.
# Every command uses one CPU thread. Data go to data/ and runs to runs/ (both ignored by git);
# the committed results are written to experiments/holstein_parc/results/.
set -euo pipefail
GQD=${GQD:-.venv/bin/graphqd}
PY=${PY:-.venv/bin/python}
HERE=experiments/holstein_parc
RES=$HERE/results
stage=${1:-all}; shift || true
models=${*:-"small_graph small_cnn small_recurrent_cnn strang_graph strang_graph_noproj strang_cnn small_cnn_ft strang_graph_ft strang_cnn_ft strang_graph_diag strang_graph_cnnlike strang_graph_onsite strang_graph_onsite_ft"}
mkdir -p data "$RES"

if [[ $stage == data || $stage == all ]]; then
  # training set: 48 quenches from the g = 0.5 CDW ground state with Q_i += N(0, 0.03^2) (seed 0)
  $GQD --threads 1 simulate holstein --config datasets/holstein_shallow.yaml --out data/shallow_train.h5 \
    --set trajectories=48 --set quench.q_noise=0.03 --set seed=0
  # held-out test set: 8 noisy quenches with another seed (777)
  $GQD --threads 1 simulate holstein --config datasets/holstein_shallow.yaml --out data/shallow_test.h5 \
    --set trajectories=8 --set quench.q_noise=0.03 --set seed=777
  # the experiment itself: the clean quench from the exact CDW ground state (never seen in training)
  $GQD --threads 1 simulate holstein --config datasets/holstein_shallow.yaml --out data/shallow_clean.h5 \
    --set trajectories=1 --set quench.q_noise=0.0
fi

if [[ $stage == train || $stage == all ]]; then
  for m in $models; do
    $GQD train --config $HERE/shallow_$m.yaml      # train.threads = 1 in the config
  done
fi

if [[ $stage == seed ]]; then
  # another training seed (SEED, default 1) of a model and its fine-tune: NAME is trained by shallow_NAME.yaml
  # into shallow_NAME_sSEED, then shallow_NAME_ft.yaml continues it into shallow_NAME_ft_sSEED.
  # bash run_shallow.sh seed strang_graph strang_cnn; then eval/plot/conserve with strang_graph_ft_s1 ...
  SEED=${SEED:-1}
  for m in $models; do
    $GQD train --config $HERE/shallow_$m.yaml --set train.seed=$SEED \
      --set log.run_dir=runs/holstein_parc/shallow_${m}_s$SEED
    $GQD train --config $HERE/shallow_${m}_ft.yaml --set train.seed=$SEED \
      --set train.init_from=runs/holstein_parc/shallow_${m}_s$SEED --set log.run_dir=runs/holstein_parc/shallow_${m}_ft_s$SEED
  done
fi

if [[ $stage == eval || $stage == all ]]; then
  for m in $models; do
    run=runs/holstein_parc/shallow_$m
    $GQD --threads 1 evaluate --checkpoint $run --data data/shallow_test.h5 --steps 400 --out $run/metrics_test.json
    $GQD --threads 1 evaluate --checkpoint $run --data data/shallow_clean.h5 --steps 2500 --out $run/metrics_clean.json
    rm -f $run/rollout_clean.h5 $run/rollout_test.h5
    $GQD --threads 1 rollout --checkpoint $run --data data/shallow_clean.h5 --steps 2500 --out $run/rollout_clean.h5
    $GQD --threads 1 rollout --checkpoint $run --data data/shallow_test.h5 --steps 400 --out $run/rollout_test.h5
  done
fi

if [[ $stage == plot || $stage == all ]]; then
  args=()
  for m in $models; do args+=(--model "$m=runs/holstein_parc/shallow_$m"); done
  $PY $HERE/shallow_quench.py --truth data/shallow_clean.h5 --test-truth data/shallow_test.h5 "${args[@]}" \
    --steps 400 --out-dir $RES
fi

if [[ $stage == conserve || $stage == conserve-rho ]]; then
  # the same rollouts projected onto the invariants of the exact dynamics (graphqd rollout --conserve), the
  # energy kept through (Q, P) (conserve) or through a unitary rotation of rho (conserve-rho)
  energy=energy suffix=_conserve
  [[ $stage == conserve-rho ]] && energy=energy-rho suffix=_erho
  args=()
  for m in $models; do
    run=runs/holstein_parc/shallow_$m
    rm -f $run/rollout_clean$suffix.h5 $run/rollout_test$suffix.h5
    $GQD --threads 1 rollout --checkpoint $run --data data/shallow_clean.h5 --steps 2500 \
      --conserve spectrum --conserve $energy --out $run/rollout_clean$suffix.h5
    $GQD --threads 1 rollout --checkpoint $run --data data/shallow_test.h5 --steps 400 \
      --conserve spectrum --conserve $energy --out $run/rollout_test$suffix.h5
    args+=(--model "$m=$run")
  done
  $PY $HERE/shallow_quench.py --truth data/shallow_clean.h5 --test-truth data/shallow_test.h5 "${args[@]}" \
    --steps 400 --suffix $suffix --out-dir $RES
fi
