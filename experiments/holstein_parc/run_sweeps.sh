#!/usr/bin/env bash
# Issue 6, experiments 3-6 at REDUCED CPU SCALE (width-16 graph PARC, 1200 steps per point; sweep_base.yaml).
# Run from the repository root:  bash experiments/holstein_parc/run_sweeps.sh [data|window|dt|trajectories|width|all]
# Every command uses one CPU thread; data go to data/, runs to runs/holstein_parc/sweeps/ (both ignored by git),
# results (CSV, JSON with device and wall times, PNG) to experiments/holstein_parc/results/.
# Experiment 3 also needs the models and test stores of run_shallow.sh and run_deep.sh.
set -euo pipefail
GQD=${GQD:-.venv/bin/graphqd}
PY=${PY:-.venv/bin/python}
HERE=experiments/holstein_parc
stage=${1:-all}
mkdir -p data
export OMP_NUM_THREADS=1

if [[ $stage == data || $stage == all ]]; then
  # 2056 deep quenches (t = 0 ... 80, seed 1): experiments 5 and 6, and deep_strang_graph.yaml
  $GQD --threads 1 simulate holstein --config datasets/holstein_deep.yaml --out data/deep_many.h5 \
    --set trajectories=2056 --set seed=1 --set integrator.t_final=80
  # shallow quenches sampled every 0.02 (experiment 4): 48 for training, 8 held out
  for part in "train 48 0" "test 8 777"; do
    set -- $part
    $GQD --threads 1 simulate holstein --config datasets/holstein_shallow.yaml --out data/shallow_fine_$1.h5 \
      --set trajectories=$2 --set seed=$3 --set quench.q_noise=0.03 \
      --set integrator.dt=0.02 --set integrator.substeps=2 --set integrator.t_final=40
  done
fi
if [[ $stage == window || $stage == all ]]; then
  R=runs/holstein_parc
  $PY $HERE/prediction_window.py \
    --model shallow/graph_strang=$R/shallow_strang_graph --model shallow/graph=$R/shallow_small_graph \
    --model shallow/cnn=$R/shallow_small_cnn_ft \
    --model deep/graph_strang=$R/deep_strang_graph --model deep/graph=$R/deep_small_graph --model deep/cnn=$R/deep_small_cnn
fi
if [[ $stage == dt || $stage == all ]]; then
  $PY $HERE/dt_sweep.py --data data/shallow_fine_train.h5 --test data/shallow_fine_test.h5
fi
if [[ $stage == trajectories || $stage == all ]]; then
  $PY $HERE/data_sweep.py --data data/deep_many.h5 --test data/deep_test.h5
fi
if [[ $stage == width || $stage == all ]]; then
  $PY $HERE/width_sweep.py --data data/deep_many.h5 --test data/deep_test.h5
fi
