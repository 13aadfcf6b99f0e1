"""graphqd.models: surrogate models and their layers.

`graphqd.models.registry` maps config names to classes (`build_model`, `available`);
`OffsetConv` is the offset-conditioned lattice convolution every graph model builds on.
"""
from graphqd.models.offset_conv import OffsetConv
from graphqd.models.registry import available, build_model, model_class, register

__all__ = ["OffsetConv", "available", "build_model", "model_class", "register"]
