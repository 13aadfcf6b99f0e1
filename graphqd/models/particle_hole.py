"""Particle–hole symmetry of the half-filled Holstein chain, on the band layout of a model's state.

On a bipartite lattice (an open chain, a ring of even L) the map c_i → (−1)^i c_i†, Q → −Q, P → −P leaves
the Holstein Hamiltonian (DESIGN.md §3.1)

    H = −t Σ_⟨ij⟩ (c_i† c_j + h.c.) − g Σ_i Q_i (n_i − ½) + Σ_i (P_i²/2m + K Q_i²/2)

unchanged (the hopping picks up (−1)^{i+j} = −1 and a sign from reordering, n_i − ½ → ½ − n_i), and it maps
the one-body density matrix ρ_ij = ⟨c_i† c_j⟩ to

    T(ρ)_ij = δ_ij − (−1)^{i−j} ρ_ji = δ_ij − (−1)^{i−j} ρ_ij*      (ρ Hermitian),

so the Ehrenfest flow commutes with T (tests/physics/test_holstein.py). T is affine and an involution; its
linear part T₀(δρ)_ij = −(−1)^{i−j} δρ_ij* acts on increments and rates. A learned step M commutes with T when
averaged over the group {1, T} (frame averaging; Puny et al., ICLR 2022, arXiv 2110.03336):

    M_T(u) = ½ [M(u) + T M(T u)].
"""
from __future__ import annotations

import torch
from torch import Tensor

from graphqd import keys as K

_ODD = (K.Q, K.P, K.rate_key(K.Q), K.rate_key(K.P))   # Q, P and their rates change sign


def offset_sign(sites: Tensor) -> Tensor:
    """(−1)^{i−j} of each band entry (i, j). Shapes: sites (M, 2) long → (M,)."""
    return 1.0 - 2.0 * ((sites[:, 0] - sites[:, 1]) % 2)


def mirror(values: dict, sign: Tensor, diagonal: Tensor) -> dict:
    """T of a state (Q, P, ρ) and T₀ of its rates, key by key (other keys are dropped).

    Shapes: Q, P and their rates (N,); ρ and its rate (M, 2) as (Re, Im); sign (M,) from `offset_sign`;
    diagonal (N,) the band rows of ρ_ii."""
    out = {key: -values[key] for key in _ODD if key in values}
    for key in (K.RHO, K.rate_key(K.RHO)):
        if key in values:
            re, im = values[key].unbind(-1)
            re = -sign.to(re.dtype) * re
            if key == K.RHO:
                re = re.index_add(0, diagonal, torch.ones_like(diagonal, dtype=re.dtype))
            out[key] = torch.stack([re, sign.to(im.dtype) * im], -1)
    return out
