"""Lattice group actions on node features and an equivariance check (e3nn-style).

An action is a node permutation ``perm``: the transformed features are ``x[perm]``, i.e.
node p receives the value of node ``perm[p]`` — for a translation by t, x'(r) = x(r − t).
Features are treated as scalars (Q, P, n, Re ρ, Im ρ); the graph itself is left unchanged
because every lattice graph here is invariant under these actions, with edge offsets
transformed like vectors (checked by :func:`assert_graph_invariant`). Where a periodic
axis has even length n and the radius reaches n/2, the two images ±n/2 are one stored edge
with offset +n/2: transformed offsets must then be taken modulo n (``minimum_image``).

Actions:
- translations of chains and square lattices along periodic axes;
- chain inversion i → −i (periodic) or i → L − 1 − i (open), on sites and on the
  density-matrix band, ρ_ij → ρ_−i,−j (band nodes permuted, offsets (di, dj) → (−di, −dj));
- square-lattice point group D4 (rotations need Ly = Lx and equal boundary conditions);
  with leads and bias along x only the reflection y → −y (``"reflect_y"``) survives.
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Sequence, Union

import torch
from torch import Tensor

from graphqd.errors import GraphqdError
from graphqd.graphs.band_graph import BandGraph
from graphqd.graphs.site_graph import _ravel, normalize_periodic

# forward action of each D4 element on (y, x) offsets, a signed permutation matrix
POINT_GROUP = {
    "identity": ((1, 0), (0, 1)),
    "reflect_y": ((-1, 0), (0, 1)),
    "reflect_x": ((1, 0), (0, -1)),
    "rot180": ((-1, 0), (0, -1)),
    "rot90": ((0, 1), (-1, 0)),      # (dy, dx) → (dx, −dy): counter-clockwise in the (x, y) plane
    "rot270": ((0, -1), (1, 0)),
    "transpose": ((0, 1), (1, 0)),
    "antitranspose": ((0, -1), (-1, 0)),
}


def _shape_tuple(shape) -> tuple:
    return (int(shape),) if isinstance(shape, int) else tuple(int(n) for n in shape)


def translation_permutation(shape: Union[int, Sequence[int]], shift: Union[int, Sequence[int]],
                            periodic=True) -> Tensor:
    """Translation x'(r) = x(r − shift) of site features; nonzero shifts need periodic axes."""
    shape = _shape_tuple(shape)
    shift = (int(shift),) if isinstance(shift, int) else tuple(int(s) for s in shift)
    periodic = normalize_periodic(periodic, len(shape))
    if len(shift) != len(shape):
        raise GraphqdError(f"shift {shift} does not match lattice shape {shape}.")
    if any(s % n and not p for s, n, p in zip(shift, shape, periodic)):
        raise GraphqdError("a lattice can only be translated along its periodic axes.")
    coords = torch.stack(torch.unravel_index(torch.arange(math.prod(shape)), shape), dim=1)
    source = (coords - torch.tensor(shift)) % torch.tensor(shape)
    return _ravel(source, shape)


def chain_inversion_permutation(L: int, periodic: bool = True) -> Tensor:
    """Inversion of chain site features: x'_i = x_−i (periodic) or x_{L−1−i} (open)."""
    return point_group_permutation((L,), "inversion", periodic)


def point_group_permutation(shape: Union[int, Sequence[int]], element: str, periodic=True) -> Tensor:
    """Site permutation of a point-group element: ``"inversion"`` on a chain, a name of
    :data:`POINT_GROUP` on a square lattice. Open axes are reflected about their centre."""
    shape = _shape_tuple(shape)
    periodic = normalize_periodic(periodic, len(shape))
    matrix = _matrix(element, len(shape))
    swaps_axes = len(shape) == 2 and bool(matrix[0, 1] != 0)
    if swaps_axes and (shape[0] != shape[1] or periodic[0] != periodic[1]):
        raise GraphqdError(f"{element} needs a square lattice with equal boundary conditions, got "
                           f"{shape}, periodic={periodic}.")
    coords = torch.stack(torch.unravel_index(torch.arange(math.prod(shape)), shape), dim=1)
    # doubled coordinates centred on the reflection point: 2a on periodic axes, 2a − (n − 1) on open ones
    centre = torch.tensor([0 if p else n - 1 for n, p in zip(shape, periodic)])
    source = (((2 * coords - centre) @ matrix) + centre) // 2  # matrix⁻¹ = matrixᵀ, row vectors
    source = source % torch.tensor(shape)
    return _ravel(source, shape)


def transform_offsets(offset: Tensor, element: str) -> Tensor:
    """Edge offsets (E, D) under a point-group element (``"inversion"`` negates all components)."""
    matrix = _matrix(element, offset.size(-1)).to(offset.device, offset.dtype)
    return offset @ matrix.T


def band_translation_permutation(graph: BandGraph, shift: int) -> Tensor:
    """Translation of band features, ρ'_ij = ρ_{i−t, j−t} (periodic chain only)."""
    if not graph.periodic and shift % graph.L:
        raise GraphqdError("an open chain cannot be translated.")
    return graph.node(graph.pairs[0] - shift, graph.pairs[1] - shift)


def band_inversion_permutation(graph: BandGraph) -> Tensor:
    """Inversion of band features, ρ'_ij = ρ_−i,−j (periodic) or ρ_{L−1−i, L−1−j} (open);
    edge offsets transform as (di, dj) → (−di, −dj)."""
    reflect = (lambda i: -i) if graph.periodic else (lambda i: graph.L - 1 - i)
    return graph.node(reflect(graph.pairs[0]), reflect(graph.pairs[1]))


def node_action(perm: Tensor) -> Callable[[Tensor], Tensor]:
    """The action x ↦ x[perm] on node features with nodes along dim 0."""
    return lambda x: x.index_select(0, perm.to(x.device))


def assert_graph_invariant(edge_index: Tensor, offset: Tensor, perm: Tensor,
                           offset_action: Callable[[Tensor], Tensor]) -> None:
    """Check that a node permutation with its offset transformation maps the graph onto itself,
    so that a model on the fixed graph can be equivariant at all."""
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(perm.numel(), device=perm.device)
    offset = offset.reshape(offset.size(0), -1)
    before = torch.cat([edge_index, offset.T]).unique(dim=1)
    after = torch.cat([inverse[edge_index], offset_action(offset).reshape(offset.size(0), -1).T]).unique(dim=1)
    if before.shape != after.shape or not torch.equal(before, after):
        raise AssertionError("the graph is not invariant under this action (edges or offsets differ).")


def assert_equivariant(model_fn: Callable, action_in, action_out, inputs, atol: float = 1e-8,
                       rtol: float = 0.0) -> float:
    """Assert ``model_fn(*action_in(inputs)) == action_out(model_fn(*inputs))``.

    Args:
        model_fn: called with the inputs as positional arguments; returns a tensor or a
            tuple of tensors.
        action_in: a tuple with one callable per input (``None`` leaves that input as it
            is, e.g. the edge index), or one callable applied to every input.
        action_out: likewise for the outputs (``None`` for an invariant output).
        inputs: a tensor or a tuple of inputs.
        atol, rtol: tolerance of the comparison (1e-8 suits float64, 1e-3 float32).

    Returns the largest absolute deviation.
    """
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    transformed = tuple(_apply(action, value) for action, value in zip(_per_item(action_in, len(inputs)), inputs))
    outputs = model_fn(*inputs)
    single = not isinstance(outputs, tuple)
    outputs = (outputs,) if single else outputs
    expected = tuple(_apply(action, value) for action, value in zip(_per_item(action_out, len(outputs)), outputs))
    got = model_fn(*transformed)
    got = (got,) if single else got
    worst = 0.0
    for number, (a, b) in enumerate(zip(got, expected)):
        deviation = (a - b).abs().max().item() if a.numel() else 0.0
        worst = max(worst, deviation)
        if not torch.allclose(a, b, atol=atol, rtol=rtol):
            raise AssertionError(f"output {number} is not equivariant: max deviation {deviation:.3g} "
                                 f"> atol {atol:g}.")
    return worst


def _per_item(action, count: int) -> tuple:
    """A tuple of actions is matched item by item; a single action applies to every item."""
    if isinstance(action, (tuple, list)):
        if len(action) != count:
            raise ValueError(f"{len(action)} actions for {count} tensors.")
        return tuple(action)
    return (action,) * count


def _apply(action: Optional[Callable], value):
    return value if action is None else action(value)


def _matrix(element: str, dim: int) -> Tensor:
    if element == "inversion":
        return -torch.eye(dim, dtype=torch.long)
    if dim != 2 or element not in POINT_GROUP:
        raise GraphqdError(f"unknown point-group element {element!r} for a {dim}D lattice; "
                           f"use 'inversion'" + (f" or one of {sorted(POINT_GROUP)}." if dim == 2 else "."))
    return torch.tensor(POINT_GROUP[element])


