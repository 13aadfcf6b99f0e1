#!/usr/bin/env bash
# The CPU benchmark tables quoted in the README and the issues' closing notes.
# Usage: bash experiments/benchmarks/run_all.sh [graphqd] (from the repository root)
set -euo pipefail
G=${1:-.venv/bin/graphqd}
R=experiments/benchmarks/results
mkdir -p $R
$G bench holstein --out $R/bench_holstein_cpu.json | tee $R/bench_holstein_cpu.txt
$G bench wave --out $R/bench_wave_cpu.json | tee $R/bench_wave_cpu.txt
$G --threads 1 bench surrogate --out $R/bench_surrogate_cpu.json | tee $R/bench_surrogate_cpu.txt
$G --threads 1 bench negf --sizes 10x8 20x10 40x30 --out $R/bench_negf_cpu.json | tee $R/bench_negf_cpu.txt
# the trained graph PARC of the shallow quench against the exact solver on chains of L = 64 ... 4096
$G --threads 1 bench surrogate --checkpoint experiments/holstein_parc/pretrained/shallow_graph.pt \
  --sizes 64,128,192,256,512,1024,2048,4096 --out $R/bench_surrogate_parc_graph_cpu.json \
  | tee $R/bench_surrogate_parc_graph_cpu.txt
