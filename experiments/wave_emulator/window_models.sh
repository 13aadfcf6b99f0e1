#!/usr/bin/env bash
# The paper's Linear, Dense and Conv window emulators trained with the GRU's recipe (gru.yaml)
# at STEPS optimiser steps each (default 100,000; the paper: 5.29 M), one after the other, one
# thread each, training seed and split seed SEED (default 0). Run directories runs/wave_<model>
# (seed 0) and runs/wave_<model>_seed<SEED>; an interrupted model continues with:
# graphqd train --resume runs/wave_<model>[_seed<SEED>]
#   bash experiments/wave_emulator/window_models.sh [STEPS] [SEED]
set -euo pipefail
STEPS=${1:-100000}
SEED=${2:-0}
GRAPHQD=${GRAPHQD:-.venv/bin/graphqd}
for model in linear dense conv; do
  run="runs/wave_$model"
  [ "$SEED" = 0 ] || run="${run}_seed$SEED"
  if [ -f "$run/checkpoints/step_$(printf %08d "$STEPS").pt" ]; then
    continue
  elif [ -d "$run/checkpoints" ]; then
    "$GRAPHQD" --threads 1 train --resume "$run"
  else
    "$GRAPHQD" --threads 1 train --config experiments/wave_emulator/gru.yaml --set model.name="wave_$model" \
      --set train.steps="$STEPS" --set schedule.warmup_steps=$((STEPS / 100)) \
      --set train.seed="$SEED" --set data.split_seed="$SEED" \
      --set log.run_dir="$run" --set log.checkpoint_every=10000
  fi
done
