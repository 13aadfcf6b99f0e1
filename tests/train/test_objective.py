"""The training loss in normalized and in raw units."""
import pytest
import torch

from graphqd.models.normalization import Normalization
from graphqd.train.objective import RolloutObjective

STEP_STD = torch.tensor([2.0, 0.5])


class Drift(torch.nn.Module):
    """u → u + c: every prediction is off by c, channel by channel."""

    def __init__(self, offset):
        super().__init__()
        self.offset = torch.as_tensor(offset)
        self.normalization = Normalization({"u": {"mean": [0.0, 0.0], "std": [1.0, 1.0], "step_std": STEP_STD.tolist(),
                                                  "rate_std": [1.0, 1.0]}}, dt=0.1)

    def forward(self, batch, state):
        return {"u": state["u"] + self.offset}


@pytest.mark.parametrize("raw", [False, True])
def test_loss_is_the_mse_in_the_units_asked_for(raw):
    frames = torch.zeros(5, 3, 2)   # (nodes, frames, channels): the truth stands still
    offset = torch.tensor([0.3, -0.2])
    objective = RolloutObjective(Drift(offset), ("u",), raw_units=raw)
    loss, terms = objective({"u": frames}, 2)
    # after h steps the error is h·c; the loss is the mean over the two steps
    scale = torch.ones(2) if raw else STEP_STD
    expected = sum(((h * offset / scale) ** 2).mean() for h in (1, 2)) / 2
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(terms["loss_u"], expected)


def test_a_constraint_acts_after_every_step_and_feeds_the_next():
    """With c(u) = u − c/2 after every step of u → u + c, the rollout moves by c/2 per step, and the loss sees it."""
    frames = torch.zeros(5, 4, 2)
    offset = torch.tensor([0.3, -0.2])
    made = []

    def constraint_for(batch, initial):
        made.append(initial["u"])
        return lambda state: {"u": state["u"] - offset / 2}
    objective = RolloutObjective(Drift(offset), ("u",), raw_units=True, constraint_for=constraint_for)
    loss, _ = objective({"u": frames}, 3)
    torch.testing.assert_close(loss, sum(((h * offset / 2) ** 2).mean() for h in (1, 2, 3)) / 3)
    assert len(made) == 1 and torch.equal(made[0], frames[:, 0])


def test_the_energy_term_sees_the_raw_step_before_the_constraint():
    """E(u) = mean of channel 0: every raw step of u → u + c changes it by c₀, although the constraint takes half of
    the step back before the state loss and the next step see it."""
    frames = torch.zeros(5, 4, 2)
    offset = torch.tensor([0.3, -0.2])

    def energy_of(batch, state):
        return state["u"][:, 0].mean()[None]

    def constraint_for(batch, initial):
        return lambda state: {"u": state["u"] - offset / 2}
    plain = RolloutObjective(Drift(offset), ("u",), raw_units=True, constraint_for=constraint_for)
    held = RolloutObjective(Drift(offset), ("u",), raw_units=True, constraint_for=constraint_for,
                            energy_of=energy_of, energy_weight=10.0)
    state_loss, plain_terms = plain({"u": frames}, 3)
    loss, terms = held({"u": frames}, 3)
    assert "loss_energy" not in plain_terms
    torch.testing.assert_close(terms["loss_energy"], offset[0] ** 2)
    torch.testing.assert_close(loss, state_loss + 10.0 * offset[0] ** 2)
