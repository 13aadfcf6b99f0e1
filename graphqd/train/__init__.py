"""graphqd.train: one training loop for every model (config, objective, schedule, DDP).

    from graphqd.train import train
    result = train(config_dict)                # or train(config_dict, resume="runs/x")
"""
from graphqd.train.config import resolve
from graphqd.train.trainer import TrainResult, train

__all__ = ["TrainResult", "resolve", "train"]
