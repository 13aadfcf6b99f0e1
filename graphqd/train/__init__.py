"""graphqd.train: one training loop for every model (config, objective, schedule, checkpoints, DDP).

    from graphqd.train import train
    result = train(config_dict)                # or train(config_dict, resume="runs/x")
"""
__all__ = ["TrainResult", "resolve", "train"]


def __getattr__(name):  # lazy: graphqd.evaluate imports graphqd.train.checkpoint, and the trainer imports evaluate
    if name in ("train", "TrainResult"):
        from graphqd.train import trainer
        return getattr(trainer, name)
    if name == "resolve":
        from graphqd.train.config import resolve
        return resolve
    raise AttributeError(f"module 'graphqd.train' has no attribute {name!r}")
