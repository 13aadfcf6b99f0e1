"""The published GRU emulator's own weights as graphqd model files, to be rolled out and scored
by graphqd beside our models (table1.py) with no TensorFlow installed.

The published repository (yaoyu-33/quantum_dynamics_machine_learning) keeps the Keras weights of
its 5.29 M-step GRU run (`models_checkpoints/full-gru/ckpts/`: `step_1000000` … `step_5000000` and
`final_step`, TensorFlow checkpoints). Each is read with `graphqd.io.tf_checkpoint`, mapped onto
our `wave_gru` (`keras_gru_state`; the Keras model and ours agree to float32 round-off, tested
in tests/models/test_wave_window.py) and written as a model file with the configuration of
TEMPLATE (a `wave_gru` model file of ours: V/14, 23-point windows, Δt = 0.1, the paper's inference).

    python experiments/wave_emulator/published_weights.py PATH/models_checkpoints/full-gru/ckpts \
        --out-dir runs/published_gru
    python experiments/wave_emulator/table1.py --append published=runs/published_gru/step_05290000.pt
"""
from __future__ import annotations

import argparse
import glob
import os
import re
from dataclasses import replace

import torch

from graphqd.io.tf_checkpoint import read_tf_checkpoint
from graphqd.models.wave_window import keras_gru_state
from graphqd.runtime import checkpoint as ckpt

HERE = os.path.dirname(os.path.abspath(__file__))
FINAL_STEP = 5_290_000   # the published run's num_train_steps; `final_step` is saved after the last one
SOURCE = "yaoyu-33/quantum_dynamics_machine_learning, models_checkpoints/full-gru"


def convert(prefix: str, template: ckpt.Checkpoint, step: int) -> ckpt.Checkpoint:
    """The model file of the Keras checkpoint `prefix`, with `template`'s configuration and normalisation."""
    state = dict(template.model)
    state.update({f"net.{key}": value for key, value in keras_gru_state(read_tf_checkpoint(prefix)).items()})
    dataset = {key: value for key, value in template.dataset.items() if key != "splits"}
    return replace(template, model=state, step=step, dataset=dict(dataset, path=SOURCE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ckpts", help="the published full-gru/ckpts folder")
    parser.add_argument("--template", default=os.path.join(HERE, "pretrained", "gru.pt"))
    parser.add_argument("--out-dir", default="runs/published_gru")
    args = parser.parse_args()
    template = ckpt.load(args.template)
    if template.config["model"]["name"] != "wave_gru":
        raise SystemExit(f"--template '{args.template}' is a {template.config['model']['name']} model; "
                         f"give a wave_gru model file")
    prefixes = sorted(path[:-len(".index")] for path in glob.glob(os.path.join(args.ckpts, "*.index")))
    if not prefixes:
        raise SystemExit(f"no TensorFlow checkpoint (*.index) in '{args.ckpts}'")
    for prefix in prefixes:
        name = os.path.basename(prefix)
        found = re.fullmatch(r"step_(\d+)", name)
        step = int(found.group(1)) if found else FINAL_STEP if name == "final_step" else None
        if step is None:
            print(f"skipped {prefix}: neither step_<n> nor final_step")
            continue
        out = os.path.join(args.out_dir, f"step_{step:08d}.pt")
        ckpt.write_file(convert(prefix, template, step), out)
        print(f"{prefix} -> {out}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
