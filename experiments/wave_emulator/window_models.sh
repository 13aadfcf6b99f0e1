#!/usr/bin/env bash
# The paper's Linear, Dense and Conv window emulators trained with the GRU's recipe (gru.yaml)
# at STEPS optimiser steps each (default 100,000; the paper: 5.29 M), one after the other, one
# thread each. Run directories runs/wave_linear, runs/wave_dense, runs/wave_conv; an interrupted
# model continues with: graphqd train --resume runs/wave_<model>
#   bash experiments/wave_emulator/window_models.sh [STEPS]
set -euo pipefail
STEPS=${1:-100000}
GRAPHQD=${GRAPHQD:-.venv/bin/graphqd}
for model in linear dense conv; do
  if [ -f "runs/wave_$model/checkpoints/step_$(printf %08d "$STEPS").pt" ]; then
    continue
  elif [ -d "runs/wave_$model/checkpoints" ]; then
    "$GRAPHQD" --threads 1 train --resume "runs/wave_$model"
  else
    "$GRAPHQD" --threads 1 train --config experiments/wave_emulator/gru.yaml --set model.name="wave_$model" \
      --set train.steps="$STEPS" --set schedule.warmup_steps=$((STEPS / 100)) \
      --set log.run_dir="runs/wave_$model" --set log.checkpoint_every=10000
  fi
done
