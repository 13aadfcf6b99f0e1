"""Forward time per model step (no grad, float32, one chain, one CPU thread) of an untrained
PARC model on periodic chains of length L (weights do not change the cost).

    .venv/bin/python experiments/holstein_parc/step_timing.py parc_graph 128 8 256 1024
    .venv/bin/python experiments/holstein_parc/step_timing.py parc_cnn 128 8 256
"""
import sys
import time

import torch

import graphqd.models.parc_cnn  # noqa: F401  (imports register the models)
import graphqd.models.parc_graph  # noqa: F401
import graphqd.models.recurrent_cnn  # noqa: F401
from graphqd import keys as K
from graphqd.graphs.holstein import graph_batch
from graphqd.models.normalization import Normalization
from graphqd.models.registry import build_model, validate_model_section

STATS = {"Q": {"mean": [0.0], "std": [1.0], "step_std": [0.02], "rate_std": [0.3]},
         "P": {"mean": [0.0], "std": [1.0], "step_std": [0.03], "rate_std": [0.2]},
         "rho": {"mean": [0.0, 0.0], "std": [0.2, 0.1], "step_std": [0.01, 0.01], "rate_std": [0.1, 0.1]}}
torch.set_num_threads(1)  # extra threads only contend on small lattices and shared cores
name, width = sys.argv[1], int(sys.argv[2])
for L in map(int, sys.argv[3:]):
    section = validate_model_section({"name": name, "width": width})
    model = build_model(section, Normalization(STATS, 0.08)).eval()
    spec = model.graph_spec({k: v for k, v in section.items() if k != "name"})
    t0 = time.perf_counter()
    batch = graph_batch(L, True, spec, 1)
    build = time.perf_counter() - t0
    M = batch[K.BAND_SITES].size(0)
    state = {K.Q: torch.randn(L), K.P: torch.randn(L), K.RHO: torch.randn(M, 2)}
    with torch.no_grad():
        model(batch, state)
        reps, t0 = 0, time.perf_counter()
        while reps < 3 or time.perf_counter() - t0 < 2.0:
            model(batch, state)
            reps += 1
        per = (time.perf_counter() - t0) / reps
    print(f"{name} width {width} L {L}: rho entries {M}, graph build {build:.2f} s, {per*1e3:.1f} ms/step "
          f"({per/L*1e6:.1f} us per site), threads {torch.get_num_threads()}", flush=True)
