#!/usr/bin/env bash
# Generate a dataset on a SLURM cluster: N array tasks, then the merge.
#   bash experiments/cluster/submit.sh N SYSTEM RECIPE PREFIX     e.g. 16 holstein datasets/holstein_deep.yaml data/deep
# Extra sbatch options (partition, account) go in SBATCH_OPTS.
set -euo pipefail
n=$1; system=$2; recipe=$3; prefix=$4
here=$(dirname "$0")
# shellcheck disable=SC2086
array=$(sbatch --parsable ${SBATCH_OPTS:-} --array=0-$((n - 1)) "$here/simulate_shard.sbatch" "$system" "$recipe" "$prefix")
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_OPTS:-} --dependency=afterok:${array%%;*} "$here/merge.sbatch" "$prefix" "$n")
echo "submitted array job $array and merge job $merge"
