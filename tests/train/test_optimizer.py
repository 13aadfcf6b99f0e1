"""The optimiser conventions: biases exempt from weight decay, gradients clipped per tensor or globally."""
import math

import pytest
import torch

from graphqd.train.optimizer import build_optimizer, clip_gradients

OPTIM = {"lr": 0.1, "betas": [0.9, 0.999], "weight_decay": 0.5}


class Cell(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)
        self.input_bias = torch.nn.Parameter(torch.ones(2))


@pytest.mark.parametrize("decay_biases", [True, False])
def test_weight_decay_spares_biases_only_when_asked(decay_biases):
    torch.manual_seed(0)
    cell = Cell()
    before = {name: p.detach().clone() for name, p in cell.named_parameters()}
    optimizer = build_optimizer(cell, {**OPTIM, "decay_biases": decay_biases})
    for p in cell.parameters():
        p.grad = torch.zeros_like(p)  # the Adam step is zero: only the decay moves the weights
    optimizer.step()
    shrink = 1.0 - OPTIM["lr"] * OPTIM["weight_decay"]
    for name, p in cell.named_parameters():
        expected = before[name] * (shrink if decay_biases or "bias" not in name else 1.0)
        torch.testing.assert_close(p.detach(), expected)


def test_clipping_per_tensor_and_global():
    def params():
        a, b = torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)
        a.grad, b.grad = torch.tensor([3.0, 4.0]), torch.tensor([0.5])  # norms 5 and 0.5
        return a, b

    a, b = params()
    norm = clip_gradients([a, b], 1.0, per_tensor=True)
    assert float(norm) == pytest.approx(math.hypot(5.0, 0.5))
    torch.testing.assert_close(a.grad, torch.tensor([0.6, 0.8]))
    torch.testing.assert_close(b.grad, torch.tensor([0.5]))  # under the cap: untouched

    a, b = params()
    norm = clip_gradients([a, b], 1.0, per_tensor=False)
    scale = 1.0 / math.hypot(5.0, 0.5)
    torch.testing.assert_close(a.grad, torch.tensor([3.0, 4.0]) * scale)
    torch.testing.assert_close(b.grad, torch.tensor([0.5]) * scale)

    a, b = params()
    clip_gradients([a, b], 0.0, per_tensor=True)  # 0: no clipping
    torch.testing.assert_close(a.grad, torch.tensor([3.0, 4.0]))


def test_fused_adamw_takes_the_steps_of_the_per_tensor_loop():
    torch.manual_seed(0)
    fused, loop = Cell(), Cell()
    loop.load_state_dict(fused.state_dict())
    optimizers = [build_optimizer(fused, {**OPTIM, "decay_biases": False})]
    assert optimizers[0].defaults["fused"]
    optimizers.append(torch.optim.AdamW([{"params": [loop.linear.weight]},
                                         {"params": [loop.linear.bias, loop.input_bias], "weight_decay": 0.0}],
                                        lr=OPTIM["lr"], betas=OPTIM["betas"], weight_decay=OPTIM["weight_decay"],
                                        foreach=False))
    for step in range(5):
        x = torch.randn(4, 3, generator=torch.Generator().manual_seed(step))
        for cell, optimizer in zip((fused, loop), optimizers):
            optimizer.zero_grad()
            (cell.linear(x) + cell.input_bias).pow(2).sum().backward()
            optimizer.step()
    for (name, a), b in zip(fused.named_parameters(), loop.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7, msg=name)
