"""Runs of the wave system (DESIGN.md §3.2): the training curriculum and the 37-case test panel.

Curriculum (Yao et al., Front. Mater. 9:1060744 (2023), Sec. 2.1): packets with
X₀ ∈ {10, 40, 70}, S₀ ∈ {1.0, 1.5, …, 4.0}, E₀ ∈ {1, …, 9} (189 packets), each against
a rectangular barrier of width 7 centred at L_x/2 with height 1, …, 14: 2646 runs.

Test panel: 12 free packets, 11 random rectangular barriers and 14 shaped potentials, with
parameters drawn from legacy ``numpy.random.RandomState`` streams (frozen by numpy, so the
panel is identical on every machine and numpy version) and rounded to 0.01. Every shape
lies in 34 ≤ x ≤ 66 of the default box and every panel packet starts at 8 ≤ X₀ ≤ 16 with
S₀ ≤ 4, at least 4.5 S₀ away from the potential.

Shapes:
    every potential function: x (X,) → V (X,) float64
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from graphqd.errors import GraphqdError
from graphqd.physics import schrodinger

CURRICULUM_X0 = (10.0, 40.0, 70.0)
CURRICULUM_S0 = tuple(1.0 + 0.5 * i for i in range(7))
CURRICULUM_E0 = tuple(float(e) for e in range(1, 10))
CURRICULUM_HEIGHTS = tuple(float(h) for h in range(1, 15))
CURRICULUM_WIDTH = 7.0

SHAPED_CASES = ("double_0", "double_1", "triple", "half_circle", "quadratic_0", "quadratic_1", "random",
                "steps", "trapezoid", "triangle_0", "triangle_1", "triangle_2", "well_0", "well_1")
# one RandomState seed per family of the panel: changing one case never moves another
_SEED_FREE, _SEED_BARRIER, _SEED_SHAPES = 20230001, 20230002, 20230100


# ---------------------------------------------------------------------------------------
# curriculum

@dataclass(frozen=True)
class Curriculum:
    """Per-run parameters of barrier runs; every tensor field has shape (N,) float64.

    Runs are ordered packet-major: X₀ slowest, then S₀, E₀ and the barrier height fastest.
    """
    X0: torch.Tensor
    S0: torch.Tensor
    E0: torch.Tensor
    barrier_height: torch.Tensor
    barrier_width: torch.Tensor
    barrier_center: torch.Tensor
    kind: tuple[str, ...] = field(repr=False)

    def __len__(self) -> int:
        return self.X0.shape[0]

    def select(self, index) -> "Curriculum":
        """The runs at ``index`` (a slice, an integer tensor or a list of integers)."""
        rows = torch.arange(len(self))[index].reshape(-1)
        tensors = {name: getattr(self, name)[rows] for name in
                   ("X0", "S0", "E0", "barrier_height", "barrier_width", "barrier_center")}
        return Curriculum(**tensors, kind=tuple(self.kind[i] for i in rows.tolist()))

    def packets(self, x: torch.Tensor) -> torch.Tensor:
        """Initial wave functions. Shapes: (N, X) complex128."""
        return schrodinger.packet(x, *(t.to(x.device) for t in (self.X0, self.S0, self.E0)))

    def potentials(self, x: torch.Tensor) -> torch.Tensor:
        """Barrier potentials. Shapes: (N, X) float64."""
        return schrodinger.barrier(x, *(t.to(x.device) for t in
                                        (self.barrier_height, self.barrier_width, self.barrier_center)))


def curriculum(length: float = 100.0) -> Curriculum:
    """The 2646 training runs of §3.2: 189 packets × 14 barrier heights, barrier width 7 at length/2."""
    grids = torch.meshgrid(*(torch.tensor(v, dtype=torch.float64) for v in
                             (CURRICULUM_X0, CURRICULUM_S0, CURRICULUM_E0, CURRICULUM_HEIGHTS)), indexing="ij")
    X0, S0, E0, height = (g.reshape(-1) for g in grids)
    return Curriculum(X0=X0, S0=S0, E0=E0, barrier_height=height,
                      barrier_width=torch.full_like(X0, CURRICULUM_WIDTH),
                      barrier_center=torch.full_like(X0, length / 2), kind=("barrier",) * X0.shape[0])


# ---------------------------------------------------------------------------------------
# shaped potentials

def _zeros(x: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(x, dtype=torch.float64)


def rectangle(x: torch.Tensor, height: float, left: float, right: float) -> torch.Tensor:
    """V = height on left ≤ x < right, else 0."""
    return torch.where((x >= left) & (x < right), torch.full_like(x, height), _zeros(x))


def double_barrier(x, height: float, width: float, gap: float, center: float,
                   second_height: float | None = None) -> torch.Tensor:
    """Two rectangular barriers of one width around a gap (a resonant-tunnelling structure)."""
    second_height = height if second_height is None else second_height
    left_edge = center - gap / 2 - width
    return (rectangle(x, height, left_edge, left_edge + width)
            + rectangle(x, second_height, center + gap / 2, center + gap / 2 + width))


def triple_barrier(x, height: float, width: float, gap: float, center: float) -> torch.Tensor:
    """Three equal rectangular barriers separated by equal gaps (two coupled resonances)."""
    left_edge = center - 1.5 * width - gap
    return sum(rectangle(x, height, left_edge + k * (width + gap), left_edge + k * (width + gap) + width)
               for k in range(3))


def half_circle(x, height: float, radius: float, center: float) -> torch.Tensor:
    """V = height·√(1 − ((x − center)/radius)²) for |x − center| < radius: steep edges, round top."""
    u = ((x - center) / radius).clamp(-1.0, 1.0)
    return height * torch.sqrt(1 - u**2)


def quadratic(x, height: float, half_width: float, center: float) -> torch.Tensor:
    """Parabolic hill V = height·(1 − ((x − center)/half_width)²) for |x − center| < half_width."""
    return height * (1 - ((x - center) / half_width) ** 2).clamp(min=0.0)


def triangle(x, height: float, left: float, peak: float, right: float) -> torch.Tensor:
    """Piecewise-linear hill: 0 at ``left``, ``height`` at ``peak``, 0 at ``right``."""
    rise = (x - left) / (peak - left)
    fall = (right - x) / (right - peak)
    return height * torch.minimum(rise, fall).clamp(min=0.0)


def trapezoid(x, height: float, top_width: float, ramp_width: float, center: float) -> torch.Tensor:
    """Linear ramps of ``ramp_width`` up to a flat top of ``top_width`` and back down."""
    distance = (x - center).abs() - top_width / 2
    return height * (1 - distance / ramp_width).clamp(0.0, 1.0)


def step_pyramid(x, height: float, levels: int, step_width: float, center: float) -> torch.Tensor:
    """Staircase up in ``levels`` equal steps to ``height`` and symmetrically down again."""
    V = _zeros(x)
    for level in range(1, levels + 1):
        half = (levels - level + 0.5) * step_width
        V = V + rectangle(x, height / levels, center - half, center + half)
    return V


def piecewise_constant(x, heights, left: float, widths) -> torch.Tensor:
    """Consecutive segments of the given widths and heights starting at ``left``."""
    V = _zeros(x)
    for height, width in zip(heights, widths):
        V = V + rectangle(x, float(height), left, left + float(width))
        left += float(width)
    return V


def well(x, depth: float, width: float, center: float) -> torch.Tensor:
    """Rectangular well V = −depth on |x − center| < width/2."""
    return -rectangle(x, depth, center - width / 2, center + width / 2)


def smooth_well(x, depth: float, half_width: float, center: float) -> torch.Tensor:
    """cos²-shaped well V = −depth·cos²(π(x − center)/(2·half_width)) for |x − center| < half_width."""
    u = (x - center) / half_width
    # cos(π/2)² is 4e-33, not 0: cut explicitly so the support stays finite
    return torch.where(u.abs() < 1, -depth * torch.cos(0.5 * math.pi * u) ** 2, _zeros(x))


# ---------------------------------------------------------------------------------------
# test panel

@dataclass(frozen=True)
class PanelCase:
    """One named test case: potential and packet.

    barrier_height is the potential's extreme value (negative for wells, 0 when free);
    barrier_width the length of its support (0 when free).

    Shapes: V (X,) float64.
    """
    name: str
    kind: str
    V: torch.Tensor
    X0: float
    S0: float
    E0: float
    barrier_height: float
    barrier_width: float

    def packet(self, x: torch.Tensor) -> torch.Tensor:
        """Initial wave function. Shapes: (X,) complex128."""
        return schrodinger.packet(x, self.X0, self.S0, self.E0)


def _draw(rng: np.random.RandomState, low: float, high: float) -> float:
    return round(float(rng.uniform(low, high)), 2)


def _shape(name: str, rng: np.random.RandomState, x: torch.Tensor, center: float) -> torch.Tensor:
    """The shaped potential ``name`` with parameters drawn from ``rng``; support within center ± 14."""
    d = lambda low, high: _draw(rng, low, high)  # noqa: E731 (draw order is part of the panel)
    if name == "double_0":      # narrow gap: a sharp resonance between equal barriers
        return double_barrier(x, d(4, 10), d(1.5, 3), d(2, 4), center)
    if name == "double_1":      # unequal barriers around a wide gap: many quasi-bound levels
        return double_barrier(x, d(3, 8), d(3, 5), d(8, 12), center, second_height=d(8, 13))
    if name == "triple":
        return triple_barrier(x, d(4, 9), d(1.5, 2.5), d(2.5, 4), center)
    if name == "half_circle":
        return half_circle(x, d(5, 12), d(4, 10), center)
    if name == "quadratic_0":   # narrow and tall: tunnelling through a smooth hill
        return quadratic(x, d(8, 13), d(2, 4), center)
    if name == "quadratic_1":   # wide and low: over-barrier reflection from a smooth hill
        return quadratic(x, d(2, 5), d(9, 13), center)
    if name == "random":
        widths = [d(1.5, 3.5) for _ in range(8)]
        heights = [d(0, 12) for _ in range(8)]
        return piecewise_constant(x, heights, center - sum(widths) / 2, widths)
    if name == "steps":
        return step_pyramid(x, d(6, 12), 4, d(2, 3.5), center)
    if name == "trapezoid":
        return trapezoid(x, d(4, 10), d(3, 8), d(3, 7), center)
    if name.startswith("triangle"):
        height = d(5, 12)
        rise, fall = {"triangle_0": (d(4, 9),) * 2,                 # symmetric
                      "triangle_1": (d(0.5, 1.5), d(8, 14)),          # cliff, then a long slope
                      "triangle_2": (d(8, 14), d(0.5, 1.5))}[name]    # long slope, then a cliff
        left = center - (rise + fall) / 2
        return triangle(x, height, left, left + rise, left + rise + fall)
    if name == "well_0":
        return well(x, d(3, 10), d(4, 10), center)
    if name == "well_1":
        return smooth_well(x, d(3, 10), d(5, 12), center)
    raise GraphqdError(f"unknown shaped potential {name!r}; choose one of {', '.join(SHAPED_CASES)}.")


def _packet_parameters(rng: np.random.RandomState) -> tuple[float, float, float]:
    """X₀ ∈ [8, 16], S₀ ∈ [1, 4], E₀ ∈ [1, 9]: in the curriculum's packet range, left of the potential."""
    return _draw(rng, 8, 16), _draw(rng, 1, 4), _draw(rng, 1, 9)


def panel_case(name: str, kind: str, V: torch.Tensor, x: torch.Tensor, packet: tuple) -> PanelCase:
    """A case of potential V and packet (X₀, S₀, E₀), with its extreme value and support width."""
    support = V != 0
    extreme = float(V[V.abs().argmax()]) if bool(support.any()) else 0.0
    width = float(support.sum()) * schrodinger.spacing(x)
    return PanelCase(name, kind, V, *packet, barrier_height=extreme, barrier_width=width)


def test_panel(x: torch.Tensor | None = None) -> list[PanelCase]:
    """The 37 named test cases of §3.2, identical on every machine.

    12 free packets (X₀ ∈ [10, 90], S₀ ∈ [1, 5], E₀ ∈ [0, 9]); 11 rectangular barriers
    (height 0.6–13.3, width 2.4–23.7, centre 45–55); 14 shaped potentials (SHAPED_CASES),
    each centred in [48, 52]. kind is "free", "barrier" or the shape family ("double",
    "triangle", …).

    Args:
        x: grid (X,); the default box of :func:`schrodinger.grid` when None. Shapes are
            placed in absolute coordinates, so the box should be at least 70 long.
    """
    x = schrodinger.grid() if x is None else x
    if schrodinger.box_length(x) < 70.0:
        raise GraphqdError(f"the test panel needs a box of length >= 70, got {schrodinger.box_length(x):g}.")
    cases = []
    rng = np.random.RandomState(_SEED_FREE)
    for i in range(12):
        packet = (_draw(rng, 10, 90), _draw(rng, 1, 5), _draw(rng, 0, 9))
        cases.append(panel_case(f"free_{i:02d}", "free", _zeros(x), x, packet))
    rng = np.random.RandomState(_SEED_BARRIER)
    for i in range(11):
        height, width, center = _draw(rng, 0.6, 13.3), _draw(rng, 2.4, 23.7), _draw(rng, 45, 55)
        V = schrodinger.barrier(x, height, width, center)
        cases.append(panel_case(f"barrier_{i:02d}", "barrier", V, x, _packet_parameters(rng)))
    for i, name in enumerate(SHAPED_CASES):
        rng = np.random.RandomState(_SEED_SHAPES + i)
        V = _shape(name, rng, x, center=_draw(rng, 48, 52))
        kind = name.rsplit("_", 1)[0] if name[-1].isdigit() else name
        cases.append(panel_case(name, kind, V, x, _packet_parameters(rng)))
    return cases


test_panel.__test__ = False  # a library function, not a pytest test


def panel_batch(cases: list[PanelCase], x: torch.Tensor) -> dict:
    """Stack cases into the per-run arrays of the HDF5 layout (DESIGN.md §2.2).

    Returns: V (N, X) float64, psi0 (N, X) complex128, X0, S0, E0, barrier_height,
    barrier_width (N,) float64, and the lists name, kind.
    """
    scalars = {key: torch.tensor([getattr(c, key) for c in cases], dtype=torch.float64, device=x.device)
               for key in ("X0", "S0", "E0", "barrier_height", "barrier_width")}
    return {"V": torch.stack([c.V.to(x.device) for c in cases]),
            "psi0": schrodinger.packet(x, scalars["X0"], scalars["S0"], scalars["E0"]),
            **scalars, "name": [c.name for c in cases], "kind": [c.kind for c in cases]}
