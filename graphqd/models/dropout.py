"""Channel-wise dropout for graph models: a channel is dropped on every node of a graph at
once (the graph analogue of Dropout1d/2d, used by the paper's PARC-CNN)."""
from __future__ import annotations

import torch
from torch import Tensor, nn


class ChannelDropout(nn.Module):
    r"""Zero whole channels per graph with probability p during training, scale the rest by 1/(1 − p).

    .. math:: x'_{nc} = x_{nc}\, m_{g(n) c} / (1 - p), \quad m_{gc} \sim \mathrm{Bernoulli}(1 - p)

    Shapes:
        x (N, C); graph_of_node (N,) long (all zeros for one graph) → (N, C)
    """

    def __init__(self, p: float = 0.0):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, x: Tensor, graph_of_node: Tensor | None = None) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        graphs = int(graph_of_node.max()) + 1 if graph_of_node is not None and graph_of_node.numel() else 1
        keep = torch.empty(graphs, x.size(-1), device=x.device, dtype=x.dtype).bernoulli_(1.0 - self.p)
        mask = keep[graph_of_node] if graph_of_node is not None else keep.expand_as(x)
        return x * mask / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
