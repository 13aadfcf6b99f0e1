"""A trained surrogate loaded from a checkpoint, with the facts needed to run it."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from graphqd.data.dataset import WindowDataset
from graphqd.data.store import open_store, run_count
from graphqd.errors import GraphqdError
from graphqd.models.normalization import Normalization
from graphqd.models.registry import build_model, model_class
from graphqd.runtime import checkpoint as ckpt
from graphqd.runtime import systems


@dataclass
class Surrogate:
    """A trained model with what is needed to run it: its config and training-data facts."""

    model: nn.Module
    config: dict
    dataset: dict
    step: int
    path: str

    @property
    def system(self) -> str:
        return checkpoint_system(self.dataset, self.config)

    @property
    def dt(self) -> float:
        return self.model.normalization.dt

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def checkpoint_system(dataset: dict, config: dict) -> str:
    """The system a checkpoint was trained on: recorded with its data, else its model's."""
    return dataset.get("system") or model_class(config["model"]["name"]).system


def load_surrogate(path: str, device: torch.device | str = "cpu", system: str | None = None) -> Surrogate:
    """The model of a checkpoint (a file, or the latest in a run directory), in eval mode.

    The checkpoint's system must have surrogates, and be `system` when that is given (the
    system of the data it is run on)."""
    checkpoint = ckpt.load(path)
    found = checkpoint_system(checkpoint.dataset, checkpoint.config)
    systems.get(found, f"the system of checkpoint '{path}'").load("dataset", f"'{path}' is a {found} checkpoint")
    if system is not None and found != system:
        raise GraphqdError(f"'{path}' holds a {found} surrogate, but the data given are {system} data")
    normalization = Normalization.from_dict(checkpoint.normalization)
    model = build_model(checkpoint.config["model"], normalization)
    try:
        model.load_state_dict(checkpoint.model)
    except RuntimeError as error:
        detail = str(error).strip().splitlines()[-1].strip()
        raise GraphqdError(f"'{path}' does not fit the {checkpoint.config['model']['name']} model of this graphqd "
                           f"version ({detail})") from None
    model.to(device).eval()
    return Surrogate(model, checkpoint.config, checkpoint.dataset, checkpoint.step, ckpt.find(path))


def surrogate_samples(surrogate: Surrogate, data: str) -> WindowDataset:
    """Samples of every run of store `data` in the graphs and model step of `surrogate`
    (one model step per sample, every start)."""
    with open_store(data) as handle:
        n_runs = run_count(handle)
    config = dict(surrogate.config, data=dict(surrogate.config["data"], path=data, extra_paths=[]))
    return systems.dataset_for(config, range(n_runs), 1, rates=False, start_stride=1)
