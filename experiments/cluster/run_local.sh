#!/usr/bin/env bash
# The shard loop of submit.sh without SLURM: every array task in turn on this machine, then the merge.
#   bash experiments/cluster/run_local.sh N SYSTEM RECIPE PREFIX
set -euo pipefail
n=$1; system=$2; recipe=$3; prefix=$4
here=$(dirname "$0")
for ((i = 0; i < n; i++)); do
  SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=$n bash "$here/simulate_shard.sbatch" "$system" "$recipe" "$prefix"
done
bash "$here/merge.sbatch" "$prefix" "$n"
