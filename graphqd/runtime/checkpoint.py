"""Checkpoints: one dataclass with everything a run needs to continue bit-for-bit.

Files are `RUN_DIR/checkpoints/step_<8-digit step>.pt`, written atomically (temporary file,
then rename), the latest found by its step number. `export_model` writes the model part
alone (a pretrained file: no optimiser, scheduler or RNG state, so it cannot be resumed). They
hold tensors and plain Python values only, so they load with `torch.load(weights_only=True)`.
"""
from __future__ import annotations

import os
import random
import re
import subprocess
import zipfile
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch

from graphqd import __version__
from graphqd.errors import GraphqdError

PATTERN = re.compile(r"^step_(\d{8})\.pt$")


@dataclass
class Checkpoint:
    """State of a training run after `step` optimiser steps."""

    model: dict                 # model.state_dict() (normalisation buffers included)
    optimizer: dict
    scheduler: dict
    step: int
    rng: dict                   # torch (CPU and CUDA), numpy and python generator states
    normalization: dict         # Normalization.to_dict(): training-split statistics and the model dt
    config: dict                # the resolved training config
    code_version: str
    dataset: dict = field(default_factory=dict)  # system, stored spacing, lattice, store facts of the training data
    scaler: dict | None = None  # AMP gradient scaler
    climate: dict | None = None  # the climate pool's chains (graphqd.train.climate)


def code_version() -> str:
    """graphqd's version, with the git commit of the source tree when there is one."""
    try:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+g{commit}" if commit else __version__


def rng_state() -> dict:
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, gauss],
            "python": list(random.getstate()[1]), "python_version": random.getstate()[0],
            "python_gauss": random.getstate()[2]}


def restore_rng(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, position, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
    random.setstate((state["python_version"], tuple(state["python"]), state["python_gauss"]))


def checkpoint_dir(run_dir: str) -> str:
    return os.path.join(run_dir, "checkpoints")


def save(checkpoint: Checkpoint, run_dir: str, keep: int | None = None) -> str:
    """Write `checkpoint` atomically; keep only the `keep` latest files. Returns its path."""
    path = os.path.join(checkpoint_dir(run_dir), f"step_{checkpoint.step:08d}.pt")
    write_file(checkpoint, path)
    if keep:
        for old in list_checkpoints(run_dir)[:-keep]:
            os.remove(old)
    return path


def list_checkpoints(run_dir: str) -> list[str]:
    """Checkpoint files of a run, oldest first (by step number in the name)."""
    folder = checkpoint_dir(run_dir)
    if not os.path.isdir(folder):
        return []
    names = sorted((int(m.group(1)), name) for name in os.listdir(folder) if (m := PATTERN.match(name)))
    return [os.path.join(folder, name) for _, name in names]


def find(path: str) -> str:
    """The checkpoint file named by `path`: the file itself, or the latest one of a run directory."""
    if os.path.isfile(path):
        return path
    if os.path.isdir(path):
        found = list_checkpoints(path)
        if not found:
            raise GraphqdError(f"run directory '{path}' holds no checkpoints (expected {checkpoint_dir(path)}/"
                               f"step_<8-digit step>.pt)")
        return found[-1]
    raise GraphqdError(f"checkpoint '{path}' does not exist; give a run directory or a step_<8-digit step>.pt file")


def load(path: str, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read the checkpoint at `path` (a file, or a run directory's latest)."""
    path = find(path)
    damaged = _damaged_member(path)
    if damaged:
        raise GraphqdError(f"'{path}' is a damaged checkpoint (the CRC-32 of its record '{damaged}' fails); "
                           "use another checkpoint of the run or retrain")
    try:  # arbitrary bytes fail inside torch.load in many ways (unpickling, zip, struct, decoding errors)
        payload: dict[str, Any] = torch.load(path, map_location=map_location, weights_only=True)
        return Checkpoint(**payload)
    except Exception as error:
        raise GraphqdError(f"'{path}' is not a readable graphqd checkpoint ({type(error).__name__})") from None


def _damaged_member(path: str) -> str | None:
    """The first record of a checkpoint (a zip archive, as torch.save writes) whose CRC-32 does
    not match its bytes, which torch.load does not check; None when all match or the file is
    not a zip archive (torch.load then says what it is)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip()
    except Exception:  # not a zip archive, or headers zipfile cannot parse: torch.load reports it
        return None


def export_model(source: str, out: str) -> Checkpoint:
    """Write the model of checkpoint `source` to `out`: weights, normalisation, configs and step.

    The optimiser, scheduler, scaler, climate-pool and RNG states, which only resuming needs (two thirds of
    a checkpoint's size with AdamW), are dropped; the training-data paths keep their file names
    only. The file loads wherever a checkpoint file is taken (rollout, evaluate,
    train.init_from).
    """
    checkpoint = load(source)
    dataset = dict(checkpoint.dataset)
    if dataset.get("path"):
        dataset["path"] = os.path.basename(dataset["path"])
    if dataset.get("extra_paths"):
        dataset["extra_paths"] = [os.path.basename(p) for p in dataset["extra_paths"]]
    model_only = replace(checkpoint, optimizer={}, scheduler={}, rng={}, scaler=None, climate=None, dataset=dataset)
    write_file(model_only, out)
    return model_only


def write_file(checkpoint: Checkpoint, path: str) -> None:
    """torch.save to a temporary file beside `path`, then rename: a reader never sees half a file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".partial"
    torch.save(asdict(checkpoint), tmp)
    os.replace(tmp, path)
