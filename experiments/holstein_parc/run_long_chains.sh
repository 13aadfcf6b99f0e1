#!/usr/bin/env bash
# Shallow quench g 0.5 -> 0.8 on chains of every length: one model trained on L = 8 ... 64, rolled out at
# L = 8 ... 1024 against the exact solver at the same L (experiment 8, redone); and the deep quench g 0 -> 2 on
# long chains with band-local constraints (stages deepdata, deep).
# Run from the repository root:  bash experiments/holstein_parc/run_long_chains.sh [data|train|eval|all]
#   (band-16 models: data16, train16, train16all, data16long, train16long, train16mixed, train16k8, train16k8L64,
#    train16exact, eval16; K=8 MODEL=... eval16 for the Δt = 0.64 models; deep quench: deepdata, deeptrain (deeptrain8,
#    deeptrain8c, deeptrain8L64, deeptrain8exact, deeptrain8exactlong, deeptrainexact, deeptrainclimate,
#    deeptrainearly), then [L=256|8] [MODEL=...]
#    [CONSERVE=...] deep; the band cut's floor: [RADII=...] deepcut)
# One CPU thread per command. Data go to data/ and runs to runs/ (ignored by git); results to results/long_chains/.
set -euo pipefail
GQD=${GQD:-.venv/bin/graphqd}
PY=${PY:-.venv/bin/python}
HERE=experiments/holstein_parc
RECIPE=datasets/holstein_shallow.yaml
stage=${1:-all}
mkdir -p data

# The deep quench: exact ensembles and rollouts at L, whole or in SHARDS parts of RUNS/SHARDS runs (`--shard`; the runs
# of a recipe are fixed by its seed and their index alone), each reduced to its climate (deep_long_chains.py), kept
# in CLIMATES: a part whose climate is kept is not simulated or rolled out again (delete the climate to redo it).
CLIMATES=$HERE/results/long_chains/climates
part() {  # the suffix of part K of SHARDS (none for a whole ensemble)
  [[ ${SHARDS:-1} == 1 ]] || echo ".s$1of$SHARDS"
}
kept() {  # the kept climate of STORE if there is one, else STORE
  local climate=$CLIMATES/$(basename $1 .h5).npz
  if [[ -f $climate ]]; then echo $climate; else echo $1; fi
}
keep_climate() {  # STORE: reduce it to its climate, kept in CLIMATES
  $PY $HERE/deep_long_chains.py --truth $1 --keep-climates $CLIMATES --burn-in ${BURN_IN:-1000}
}
simulate_deep() {  # OUT SEED T_FINAL K: part K of the deep-quench recipe at L, rho on the band of radius 4 beyond L = 8
  local band=(--set storage.rho_band=4 --set storage.batch=4) shard=()
  [[ $L == 8 ]] && band=()
  [[ ${SHARDS:-1} == 1 ]] || shard=(--shard $4/$SHARDS)
  $GQD --threads 1 simulate holstein --config datasets/holstein_deep.yaml --out $1 "${shard[@]}" --set lattice.L=$L \
    --set trajectories=${RUNS:-32} --set seed=$2 --set integrator.t_final=$3 "${band[@]}"
}
deep_ensembles() {  # ENSEMBLE at L, for the stages deep and deepcut: truth and reference, what the statistics compare
  # against (comma-separated parts, each its kept climate or its store), and starts, the store each part's rollouts
  # start from (the truth's part; while it is missing or still being written, and from then on, the first step of the
  # same seeds and recipe: the same initial states)
  local stem=$1 seeds=(${SEEDS:-4242 4343}) k t r s
  truth= reference= starts=()
  for ((k = 0; k < ${SHARDS:-1}; k++)); do
    t=data/${stem}_L$L$(part $k).h5 r=data/${stem}_b_L$L$(part $k).h5
    [[ $L == 8 && $stem == deep_climate ]] && { t=data/deep_climate.h5; r=data/deep_climate_b.h5; }
    truth+=${truth:+,}$(kept $t) reference+=${reference:+,}$(kept $r)
    s=data/${stem}_start_L$L$(part $k).h5
    if [[ -f $s ]] || ! $PY -c "import h5py, sys; sys.exit(not h5py.File(sys.argv[1], 'r').attrs['complete'])" $t \
        2>/dev/null; then
      t=$s
      [[ -f $t ]] || simulate_deep $t ${seeds[0]} 0.08 $k
    fi
    starts+=($t)
  done
}

simulate() {  # OUT, then --set overrides of the shallow recipe
  local out=$1; shift
  local sets=()
  for s in "$@"; do sets+=(--set "$s"); done
  $GQD --threads 1 simulate holstein --config $RECIPE --out "$out" "${sets[@]}"
}

evaluate() {  # NAME=CHECKPOINT, store prefix of the clean quenches, largest L rolled out with rho dense
  # K: stored snapshots per model step (data.step of the model, default 1); errors at the multiples of K
  # nearest below exact steps 100, 400, 2500
  local name=${1%%=*} ckpt=${1#*=} prefix=$2 dense_max=$3 k=${K:-1}
  local out=runs/holstein_parc/long_chains/$name args=() steps rho
  mkdir -p $out
  for L in 8 16 32 64 256 1024; do
    steps=$((2500 / k)); [[ $L == 1024 ]] && steps=$((400 / k))
    rho=band; [[ $L -le $dense_max ]] && rho=dense
    rm -f $out/L$L.h5
    $GQD --threads 1 rollout --checkpoint $ckpt --data data/${prefix}_L$L.h5 --steps $steps --rho $rho \
      --out $out/L$L.h5
    args+=(--rollout "$name:$L=$out/L$L.h5,data/${prefix}_L$L.h5")
  done
  $PY $HERE/long_chains.py errors "${args[@]}" --steps $((100 / k * k)) $((400 / k * k)) $((2500 / k * k)) --out $HERE/results/long_chains/errors_$name.json
  $PY $HERE/long_chains.py plot --errors $HERE/results/long_chains/errors_$name.json --model $name \
    --out $HERE/results/long_chains/phi_$name.png
}

if [[ $stage == data || $stage == all ]]; then
  # training: noisy quenches from each L's own ground state; at L = 64 also from g = 0.4, whose CDW seed is as
  # small as a long chain's. rho is stored on the band |i - j| <= 7 (the models read <= 4).
  simulate data/shallow_train.h5 trajectories=48 quench.q_noise=0.03 seed=0
  simulate data/chains_L16.h5 lattice.L=16 trajectories=32 quench.q_noise=0.01 seed=16 storage.rho_band=7
  simulate data/chains_L32.h5 lattice.L=32 trajectories=24 quench.q_noise=0.01 seed=32 storage.rho_band=7
  simulate data/chains_L64.h5 lattice.L=64 trajectories=16 quench.q_noise=0.01 seed=64 storage.rho_band=7
  simulate data/chains_L64_g04.h5 lattice.L=64 trajectories=16 quench.q_noise=0.01 quench.g_initial=0.4 \
    seed=640 storage.rho_band=7
  # the experiment: the clean quench from each L's own ground state, never seen in training
  simulate data/chains_clean_L8.h5 trajectories=1 quench.q_noise=0.0
  for L in 16 32 64 256; do
    simulate data/chains_clean_L$L.h5 lattice.L=$L trajectories=1 quench.q_noise=0.0 storage.rho_band=7
  done
  simulate data/chains_clean_L1024.h5 lattice.L=1024 trajectories=1 quench.q_noise=0.0 storage.rho_band=7 \
    integrator.t_final=32.0
fi

if [[ $stage == train || $stage == all ]]; then
  $GQD train --config $HERE/shallow_chains_graph.yaml      # train.threads = 1 in the config
fi

if [[ $stage == eval || $stage == all ]]; then
  # MODEL=NAME=CHECKPOINT (default: the run above); rollouts from t = 0 of each clean quench, rho kept on the band
  # (dense at L = 8, where the band of radius 4 is the whole matrix)
  evaluate "${MODEL:-chains_graph=runs/holstein_parc/shallow_chains_graph}" chains_clean 8
fi

if [[ $stage == data16 ]]; then
  # for models with band radius 16: chains of L >= 64 (2r + 1 <= L), rho stored on |i - j| <= 16, and the growth
  # from the tiny CDW seeds of long chains (L = 128 and 256 from their own g = 0.5 ground states)
  simulate data/chains16_L64.h5 lattice.L=64 trajectories=16 quench.q_noise=0.01 seed=1064 storage.rho_band=16
  simulate data/chains16_L64_g04.h5 lattice.L=64 trajectories=16 quench.q_noise=0.01 quench.g_initial=0.4 \
    seed=1640 storage.rho_band=16
  simulate data/chains16_L128.h5 lattice.L=128 trajectories=8 quench.q_noise=0.003 seed=1128 storage.rho_band=16
  simulate data/chains16_L256.h5 lattice.L=256 trajectories=4 quench.q_noise=0.001 seed=1256 storage.rho_band=16
  # the short chains again with rho dense (a band of 16 is their whole matrix), for the all-length stage
  simulate data/chains16_L16.h5 lattice.L=16 trajectories=32 quench.q_noise=0.01 seed=2016
  simulate data/chains16_L32.h5 lattice.L=32 trajectories=24 quench.q_noise=0.01 seed=2032
  # the clean quenches again, with rho on the model's band (the initial coherences up to |i - j| = 16): dense
  # up to L = 32, where that band is the whole matrix
  for L in 8 16 32; do
    simulate data/chains16_clean_L$L.h5 lattice.L=$L trajectories=1 quench.q_noise=0.0
  done
  for L in 64 256; do
    simulate data/chains16_clean_L$L.h5 lattice.L=$L trajectories=1 quench.q_noise=0.0 storage.rho_band=16
  done
  simulate data/chains16_clean_L1024.h5 lattice.L=1024 trajectories=1 quench.q_noise=0.0 storage.rho_band=16 \
    integrator.t_final=32.0
fi

if [[ $stage == train16 ]]; then
  $GQD train --config $HERE/shallow_chains16_graph.yaml     # needs the `train` stage's run (its step-1,000 checkpoint)
fi
if [[ $stage == train16all ]]; then
  $GQD train --config $HERE/shallow_chains16_all_graph.yaml # continues the train16 run on chains of every length
fi
if [[ $stage == data16long ]]; then
  # more of the growth from tiny seeds: L = 256 and 512 (storage.batch: runs written per block)
  simulate data/chains16_L256b.h5 lattice.L=256 trajectories=16 quench.q_noise=0.002 seed=2256 storage.rho_band=16 \
    storage.batch=4
  simulate data/chains16_L512.h5 lattice.L=512 trajectories=4 quench.q_noise=0.001 seed=2512 storage.rho_band=16 \
    integrator.t_final=100.0 storage.batch=2
fi
if [[ $stage == train16long ]]; then
  $GQD train --config $HERE/shallow_chains16_long_graph.yaml # continues pretrained/shallow_chains16_graph.pt on L >= 64
fi
if [[ $stage == train16mixed ]]; then
  $GQD train --config $HERE/shallow_chains16_mixed_graph.yaml  # needs the data, data16 and data16long stores
fi
if [[ $stage == train16k8 ]]; then
  # Δt = 0.64 (k = 8): from scratch on L = 8 ... 32, then continued on every length with equal shares
  $GQD train --config $HERE/shallow_chains16_k8_graph.yaml
  $GQD train --config $HERE/shallow_chains16_k8_mixed_graph.yaml
fi
if [[ $stage == train16k8L64 ]]; then
  # Δt = 0.64 from scratch on L = 8 ... 64, equal shares per length (needs the data and data16 stores)
  $GQD train --config $HERE/shallow_chains16_k8_L64_graph.yaml
fi
if [[ $stage == train16exact ]]; then
  # pretrained/shallow_chains16_graph.pt's rho networks with the lattice stepped exactly: first untrained (one step
  # at a vanishing learning rate, on the L = 8 store alone), then continued on the nine stores of train16mixed
  $GQD train --config $HERE/shallow_chains16_exact_graph.yaml --set train.steps=1 --set optim.lr=1.0e-12 \
    --set schedule.warmup_steps=0 --set data.extra_paths=[] --set data.store_weights=[1] \
    --set log.run_dir=runs/holstein_parc/shallow_chains16_exact_s0
  $GQD train --config $HERE/shallow_chains16_exact_graph.yaml
fi
if [[ $stage == eval16 ]]; then
  # MODEL=NAME=CHECKPOINT of a band-16 model (default: the train16 run); rho dense up to L = 32, where the band
  # |i - j| <= 16 is the whole matrix
  evaluate "${MODEL:-chains16_graph=runs/holstein_parc/shallow_chains16_graph}" chains16_clean 32
fi

if [[ $stage == deepdata ]]; then
  # exact deep-quench ensembles of RUNS (32) runs, t = 0 ... T_FINAL (800: 10,000 steps of 0.08): the truth (seed
  # 4242) and an independent one (seed 4343, the sampling floor), data/${ENSEMBLE}{,_b}_L$L.h5 (ENSEMBLE:
  # deep_climate; at L = 8 the stores of experiment 7), rho on the band of radius 4 beyond L = 8 (about 3 h per
  # L = 256 store on one thread; resumable: rerun to continue; SHARDS=8: in parts of 4 runs, each kept as its climate
  # once done). The pilot: ENSEMBLE=deep_pilot RUNS=4 T_FINAL=160 BURN_IN=500 LATTICES=256; the held-out ensembles,
  # seeds never looked at: ENSEMBLE=deep_heldout SEEDS="5252 5353"
  ensemble=${ENSEMBLE:-deep_climate} seeds=(${SEEDS:-4242 4343})
  for L in ${LATTICES:-8 256}; do
    for ((k = 0; k < ${SHARDS:-1}; k++)); do
      for store_seed in "${ensemble} ${seeds[0]}" "${ensemble}_b ${seeds[1]}"; do
        set -- $store_seed
        f=data/${1}_L$L$(part $k).h5
        [[ $L == 8 && $ensemble == deep_climate ]] && f=data/$1.h5
        [[ $(kept $f) == $f ]] || continue
        simulate_deep $f $2 ${T_FINAL:-800} $k
        keep_climate $f
      done
    done
  done
fi
if [[ $stage == deepcut ]]; then
  # the floor of a band-local surrogate (deep_band_truncation.py): the exact dynamics with rho cut to the band of
  # radius r after every step, from t = 0 of every run of the L-site truth of deepdata, for each r in RADII
  # (default "4 8"; -1: no cut, the exact dynamics again; r:INVARIANT+INVARIANT also projects after every cut, as
  # --conserve does; eq:r integrates the equations on the band alone, graphqd.physics.holstein_band, cut at every
  # evaluation, O(L r); eq:r/s with s RK4 steps per step), scored like the rollouts of stage deep (about 30 s per
  # run and 1,000 steps at L = 256 on one thread for a cut, 1-2 s for eq:r) into results/long_chains/
  # deep_long_chains_${ENSEMBLE}_${TAG:-bandcut}_L$L.*; drawn: the items in PLOT_RADII (default: every one
  # without invariants)
  L=${L:-256} ensemble=${ENSEMBLE:-deep_climate} out=runs/holstein_parc/deep_long args=() plot=()
  [[ ${SHARDS:-1} == 1 ]] || { echo "deepcut runs whole ensembles: leave SHARDS unset" >&2; exit 2; }
  deep_ensembles $ensemble
  mkdir -p $out
  for item in ${RADII:-4 8}; do
    r=${item%%:*} flags=() name="exact, band cut r ${item%%:*}"
    if [[ $item == eq:* ]]; then
      r=${item#eq:} r=${r%/*} flags=(--band-equations) name="band equations r $r"
      [[ $item == */* ]] && { flags+=(--substeps ${item#*/}); name+=", RK4 step 0.08/${item#*/}"; }
    elif [[ $item == *:* ]]; then
      IFS=+ read -ra invariants <<< "${item#*:}"
      for x in "${invariants[@]}"; do flags+=(--conserve $x); done
      name+=$(printf ", %s" "${invariants[@]}")
    fi
    if [[ -n ${PLOT_RADII:-} ]]; then
      [[ " $PLOT_RADII " == *" $item "* ]] && plot+=("$name")
    elif [[ $item != *:* || $item == eq:* ]]; then
      plot+=("$name")
    fi
    f=$out/${ensemble}_cut_r${item//[:+\/]/_}_L$L.h5
    [[ -f $f ]] || $PY $HERE/deep_band_truncation.py --truth ${starts[0]} --radius $r --steps ${STEPS:-10000} \
      "${flags[@]}" --out $f
    args+=(--rollout "$name=$f")
  done
  $PY $HERE/deep_long_chains.py --truth $truth --reference $reference "${args[@]}" --burn-in ${BURN_IN:-1000} \
    --tag ${ensemble}_${TAG:-bandcut}_L$L --out-dir $HERE/results/long_chains --plot "${plot[@]}"
fi
if [[ $stage == deeptrain ]]; then
  # deep quenches through nucleation into the domain phase (t = 0 ... 400) at L = 32, 16 (rho on the band of radius 4)
  # and 8 (dense), then deep_chains_graph.yaml: pretrained/deep_graph.pt continued on all three (about 10 + 25 min)
  deep="$GQD --threads 1 simulate holstein --config datasets/holstein_deep.yaml --set integrator.t_final=400"
  $deep --out data/deep_chains_L32.h5 --set lattice.L=32 --set trajectories=32 --set seed=3232 --set storage.rho_band=4
  $deep --out data/deep_chains_L16.h5 --set lattice.L=16 --set trajectories=48 --set seed=1616 --set storage.rho_band=4
  $deep --out data/deep_chains_L8.h5 --set lattice.L=8 --set trajectories=64 --set seed=808
  $GQD train --config $HERE/deep_chains_graph.yaml
fi
if [[ $stage == deeptrain8 ]]; then
  # the same quenches (seeds 1616, 3232) with rho on the band of radius 8 (dense at L = 16, the whole ring), then
  # deep_chains_r8_graph.yaml: pretrained/deep_graph.pt on the band of radius 8, continued on L = 8, 16 and 32
  # (about 5 min of data, 36 min of training beside three other jobs)
  deep="$GQD --threads 1 simulate holstein --config datasets/holstein_deep.yaml --set integrator.t_final=400"
  $deep --out data/deep_chains_r8_L32.h5 --set lattice.L=32 --set trajectories=32 --set seed=3232 --set storage.rho_band=8
  $deep --out data/deep_chains_dense_L16.h5 --set lattice.L=16 --set trajectories=48 --set seed=1616
  [[ -f data/deep_chains_L8.h5 ]] || $deep --out data/deep_chains_L8.h5 --set lattice.L=8 --set trajectories=64 --set seed=808
  $GQD train --config $HERE/deep_chains_r8_graph.yaml
fi
if [[ $stage == deeptrain8c ]]; then
  # after deeptrain8: deep_chains_r8_conserve_graph.yaml, the band-8 model continued with purity-band and
  # energy-band inside its training rollouts (train.conserve; about 40 min)
  $GQD --threads 1 train --config $HERE/deep_chains_r8_conserve_graph.yaml
fi
if [[ $stage == deeptrain8L64 ]]; then
  # after deeptrain8c: 16 deep quenches of L = 64 (rho on the band of radius 8; about 10 min), then
  # deep_chains_r8_L64_graph.yaml, deep_chains_r8_conserve continued with them
  $GQD --threads 1 simulate holstein --config datasets/holstein_deep.yaml --set integrator.t_final=400 \
    --out data/deep_chains_r8_L64.h5 --set lattice.L=64 --set trajectories=16 --set seed=6464 --set storage.rho_band=8
  $GQD --threads 1 train --config $HERE/deep_chains_r8_L64_graph.yaml
fi
if [[ $stage == deeptrain8exact ]]; then
  # after deeptrain8L64: its rho networks with the lattice stepped exactly (model.phonons: exact), fine-tuned
  $GQD --threads 1 train --config $HERE/deep_chains_r8_L64_exact_graph.yaml
fi
if [[ $stage == deeptrain8exactlong ]]; then
  # after deeptrain8exact: continued with training rollouts of 16 and 32 steps
  $GQD --threads 1 train --config $HERE/deep_chains_r8_L64_exact_long_graph.yaml
fi
if [[ $stage == deeptrainexact ]]; then
  # the deep quenches of deeptrain8 and deeptrain8L64 (run those stages' simulate lines first), then
  # deep_chains_exact_graph.yaml: pretrained/deep_graph.pt's rho networks with the lattice stepped exactly from the
  # start, trained through purity-band and energy-band on L = 8 ... 64; then deep_chains_exact_L8_graph.yaml, the same
  # model continued with the 8-site chains weighted more (pretrained/deep_chains_exact_graph.pt)
  $GQD --threads 1 train --config $HERE/deep_chains_exact_graph.yaml
  $GQD --threads 1 train --config $HERE/deep_chains_exact_L8_graph.yaml
fi
if [[ $stage == deeptrainearly ]]; then
  # after deeptrainclimate's projected seed 2 (results/README.md, result 11): 32 early deep quenches of L = 32 to
  # t = 24 (seed 7332, never used elsewhere; about 2 min), then deep_chains_climate_early_L8_graph.yaml
  [[ -f data/deep_early_L32.h5 ]] || $GQD --threads 1 simulate holstein --config datasets/holstein_deep.yaml \
    --out data/deep_early_L32.h5 --set lattice.L=32 --set trajectories=32 --set seed=7332 \
    --set integrator.t_final=24 --set storage.rho_band=8
  $GQD --threads 1 train --config $HERE/deep_chains_climate_early_L8_graph.yaml
fi
if [[ $stage == deeptrainclimate ]]; then
  # the data of deeptrainexact, and 64 quenches of L = 8 to t = 800 (seed 880; 15 s), then
  # deep_chains_climate_L8_graph.yaml: pretrained/deep_chains_exact_graph.pt continued with the climate loss
  [[ -f data/deep_chains_long_L8.h5 ]] || $GQD --threads 1 simulate holstein --config datasets/holstein_deep.yaml \
    --out data/deep_chains_long_L8.h5 --set lattice.L=8 --set trajectories=64 --set seed=880 --set integrator.t_final=800
  $GQD --threads 1 train --config $HERE/deep_chains_climate_L8_graph.yaml
fi
if [[ $stage == deep ]]; then
  # MODEL=NAME=CHECKPOINT (default: pretrained/deep_graph.pt) rolled out STEPS (10,000) steps from t = 0 of every run
  # of the L-site truth of deepdata, with each set of --conserve projections in CONSERVE (";"-separated, "+" between
  # invariants; "bare" for none); statistics over steps BURN_IN (1,000) ... STEPS against the truth and the
  # independent ensemble, with the sets in PLOT drawn. The pilot: ENSEMBLE=deep_pilot STEPS=2000 BURN_IN=500. With
  # SHARDS (as in deepdata, with its SEEDS) a part at a time, each rollout part kept as its climate once done
  L=${L:-256} model=${MODEL:-deep_graph=$HERE/pretrained/deep_graph.pt} ensemble=${ENSEMBLE:-deep_climate}
  name=${model%%=*} ckpt=${model#*=} out=runs/holstein_parc/deep_long args=()
  rho=band; [[ $L == 8 ]] && rho=dense
  deep_ensembles $ensemble
  mkdir -p $out
  IFS=';' read -ra sets <<< "${CONSERVE:-purity-band+energy-band;purity-band+energy}"
  for c in "${sets[@]}"; do
    flags=(); [[ $c == bare ]] || for x in ${c//+/ }; do flags+=(--conserve $x); done
    parts=
    for ((k = 0; k < ${SHARDS:-1}; k++)); do
      f=$out/${ensemble}_${name}_${c}_L$L$(part $k).h5
      if [[ $(kept $f) == $f ]]; then
        $GQD --threads 1 rollout --checkpoint $ckpt --data ${starts[$k]} --steps ${STEPS:-10000} --rho $rho \
          "${flags[@]}" --out $f
        keep_climate $f
      fi
      parts+=${parts:+,}$(kept $f)
    done
    args+=(--rollout "$name, $c=$parts")
  done
  plot=(); IFS=';' read -ra drawn <<< "${PLOT:-energy;purity-band+energy-band}"
  for c in "${drawn[@]}"; do plot+=("$name, $c"); done
  $PY $HERE/deep_long_chains.py --truth $truth --reference $reference "${args[@]}" --burn-in ${BURN_IN:-1000} \
    --tag ${ensemble}_${name}_L$L --out-dir $HERE/results/long_chains --plot "${plot[@]}"
fi
