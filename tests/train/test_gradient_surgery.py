"""Two-task gradient surgery (graphqd.train.gradient_surgery): the auxiliary gradient never raises the data loss
to first order, is capped at r times the data gradient, and passes unchanged where it neither conflicts nor
exceeds the cap."""
import torch

from graphqd.train.gradient_surgery import project_auxiliary

SHAPES = [(3, 4), (4,), (2, 2, 2)]


def gradients(seed, scale=1.0):
    generator = torch.Generator().manual_seed(seed)
    return [scale * torch.randn(shape, generator=generator, dtype=torch.float64) for shape in SHAPES]


def flat(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])


def test_a_conflicting_auxiliary_gradient_loses_its_part_along_the_data_gradient():
    data = gradients(0)
    auxiliary = [-3 * d + e for d, e in zip(data, gradients(1, 0.1))]       # mostly against the data gradient
    assert flat(auxiliary) @ flat(data) < 0
    combined = flat(project_auxiliary(data, auxiliary, ratio=100.0))
    g_d = flat(data)
    added = combined - g_d
    torch.testing.assert_close(added @ g_d, torch.tensor(0.0, dtype=torch.float64), atol=1e-12, rtol=0)
    assert combined @ g_d >= g_d @ g_d * (1 - 1e-12)
    # what is left is the auxiliary gradient's part orthogonal to the data gradient, in full (under the cap)
    a = flat(auxiliary)
    torch.testing.assert_close(added, a - (a @ g_d) / (g_d @ g_d) * g_d)


def test_the_auxiliary_gradient_is_capped_at_ratio_times_the_data_gradient():
    data, auxiliary = gradients(2), gradients(3, 50.0)
    for ratio in (0.1, 1.0, 4.0):
        added = flat(project_auxiliary(data, auxiliary, ratio)) - flat(data)
        torch.testing.assert_close(added.norm(), ratio * flat(data).norm())
        assert added @ flat(data) >= -1e-12


def test_an_agreeing_small_auxiliary_gradient_passes_unchanged():
    data = gradients(4)
    auxiliary = [0.2 * d + e for d, e in zip(data, gradients(5, 0.01))]
    combined = project_auxiliary(data, auxiliary, ratio=1.0)
    for c, d, a, shape in zip(combined, data, auxiliary, SHAPES):
        assert c.shape == shape
        torch.testing.assert_close(c, d + a)
