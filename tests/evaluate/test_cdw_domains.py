"""CDW domain observables on hand-made lattices."""
import math

import pytest
import torch

from graphqd.evaluate import cdw_domains


def checkerboard(Ly, Lx, amplitude):
    y = torch.arange(Ly)[:, None]
    x = torch.arange(Lx)[None, :]
    return amplitude * (1 - 2 * ((x + y) % 2)).to(torch.float64)


def test_column_order_parameter():
    Q = checkerboard(4, 6, 2.0)
    assert torch.allclose(cdw_domains.column_order_parameter(Q), torch.full((6,), 2.0, dtype=torch.float64))
    Q[:, :2] = 0.3                     # uniform (metallic-like) columns have no staggered component
    phi = cdw_domains.column_order_parameter(Q)
    assert torch.allclose(phi[:2], torch.zeros(2, dtype=torch.float64)) and torch.allclose(phi[2:], torch.tensor(2.0, dtype=torch.float64))
    assert torch.allclose(cdw_domains.column_order_parameter(-Q), phi)     # the other CDW domain


def test_domain_wall_position_and_velocity():
    Lx = 10
    x = torch.arange(Lx, dtype=torch.float64)
    t = torch.arange(5, dtype=torch.float64)
    walls = 1.0 + 1.5 * t                                               # wall moving right at v = 1.5
    phi = 2.0 / (1 + torch.exp(-(x[None, :] - walls[:, None]) * 4))     # metal left of the wall
    pos = cdw_domains.domain_wall_position(phi, bulk=2.0, side="left")
    assert torch.allclose(pos, walls, atol=0.06)
    assert abs(float(cdw_domains.domain_wall_velocity(t, pos)) - 1.5) < 0.05
    right = cdw_domains.domain_wall_position(phi.flip(-1), bulk=2.0, side="right")
    assert torch.allclose(right, (Lx - 1) - walls, atol=0.06)
    frac = cdw_domains.metallic_fraction(phi, bulk=2.0)
    assert torch.allclose(frac, (walls.ceil()) / Lx)
    # fully insulating and fully metallic profiles
    assert float(cdw_domains.domain_wall_position(torch.full((Lx,), 2.0), 2.0)) == -0.5
    assert float(cdw_domains.domain_wall_position(torch.zeros(Lx), 2.0)) == Lx - 0.5
    assert math.isnan(float(cdw_domains.domain_wall_velocity(t, torch.full((5,), -0.5), 0.0, 9.0)))


def test_bulk_value_and_current():
    phi = torch.tensor([[0.1, 2.0, 2.1, 1.9, 2.0]])
    assert float(cdw_domains.bulk_order_parameter(phi)) == 2.0
    assert float(cdw_domains.transport_current(torch.tensor(0.3), torch.tensor(-0.3))) == pytest.approx(0.3)
