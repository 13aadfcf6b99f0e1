"""Wave emulators on the grid graph: the paper's four window networks, and a complex-linear
kernel model.

**Window models** (`wave_linear`, `wave_dense`, `wave_conv`, `wave_gru`; Yao et al., Front.
Mater. 9:1060744 (2023), Table 1): every window of `width` points reads the last `frames`
frames of (Re ψ, Im ψ, V/v_scale) and predicts its whole window one step later
(`graphqd.models.wave_window`); the new frame is the Gaussian-weighted mean of the
predictions at each point (`graphqd.graphs.wave.assemble_windows`).

**Field model** (`wave_field`): offset convolutions over the grid graph and a GRU over the
frames, no windows (`WaveField`).

**Kernel model** (`wave_kernel`): the Schrödinger step is linear in ψ, ψ(t+Δt) = U(V) ψ(t), and
U is local for a band-limited packet. The model is that map, complex-linear in ψ with a kernel
that depends on the local potential,

    ψ'_c = Σ_{s=−h…h} K_s(Ṽ_{c−h…c+h}) ψ_{c+s},   K = K⁰ + MLP(V/v_scale),  K_s ∈ ℂ,

so Cauchy–Riemann holds by construction (∂Re ψ'/∂Re ψ = ∂Im ψ'/∂Im ψ = Re K), and the
model is equivariant under translations of the grid. The MLP's read-out starts at zero and K⁰
at the identity (the untrained model is ψ' = ψ) or, with `free_start`, at the free propagator
of the data's Laplacian (3-point or spectral, `free_laplacian`) over one step fitted on the
window: the untrained model then moves a packet through empty space as the truth does, and
training learns what V changes. That fit is
accurate (~5e-6) and stable (gain ≤ 1.003) with 47 points, not with the paper's 23. With
`strang_phase` every kernel is multiplied by the potential's phases,

    K_s ← e^{−iΔt V_c/2} K_s e^{−iΔt V_{c+s}/2},

so that with `free_start` the untrained model is one Strang step e^{−iVΔt/2} U_free e^{−iVΔt/2}
of the frame spacing (Strang, SIAM J. Numer. Anal. 5, 506 (1968)) and the MLP learns its
correction. With `anchor_free` K⁰ is fixed and the correction is MLP(Ṽ) − MLP(0), so free
propagation stays exactly K⁰ wherever V vanishes on the window (for data propagated exactly in
time, where K⁰ is already right there). V does not change along a rollout, so outside training
the kernels are computed once per grid, as a sparse matrix U, and every step
is one sparse product ψ' = U ψ.

`norm_preserving` rescales the new frame of every whole grid to the norm of the last one
(Σ|ψ|² is conserved by the exact dynamics); it acts on whole periodic grids (rollouts),
not on training patches, which exchange probability with their surroundings.

State: {psi: (points, frames, 2)}, the last `frames` frames, oldest first; the output is the
same window moved on by one step. The networks see raw ψ, as in the paper.
"""
from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from graphqd import keys as K
from graphqd.config import Field
from graphqd.graphs.wave import WaveGraphSpec, assemble_windows, gather_windows, window_centres
from graphqd.models.normalization import Normalization
from graphqd.models.offset_conv import OffsetConv
from graphqd.models.registry import register
from graphqd.models.wave_window import ReluGRUCell, WindowConv, WindowDense, WindowGRU, WindowLinear
from graphqd.physics import schrodinger

COMMON_SCHEMA = {
    "width": Field("int", 23, minimum=1, doc="grid points per window (odd; the paper: 23)"),
    "v_scale": Field("float", 14.0, positive=True, doc="V is fed as V/v_scale (the paper: 14, the highest "
                                                        "barrier of the curriculum)"),
    "norm_preserving": Field("bool", False, doc="rescale each new frame of a whole grid to the norm of the last"),
}


def _graph_of_node(batch, count: int, device) -> Tensor:
    graph = batch[K.GRAPH_OF_SITE] if K.GRAPH_OF_SITE in batch else None
    return graph if graph is not None else torch.zeros(count, dtype=torch.long, device=device)


def keep_norm(new: Tensor, last: Tensor, batch) -> Tensor:
    """Rescale `new` (points, 2) so that each graph's Σ|ψ|² equals that of `last`."""
    graph = _graph_of_node(batch, new.size(0), new.device)
    count = int(graph.max()) + 1
    before = new.new_zeros(count).index_add_(0, graph, last.pow(2).sum(-1))
    after = new.new_zeros(count).index_add_(0, graph, new.pow(2).sum(-1))
    return new * (before / after.clamp_min(torch.finfo(new.dtype).tiny)).sqrt()[graph, None]


class WaveEmulator(nn.Module):
    """Shared frame: the window graph, the state shift, the norm option. Subclasses give
    `graph_spec` and `next_frame(batch, history) -> (points, 2)`."""

    system = "wave"

    def __init__(self, config: dict, normalization: Normalization):
        super().__init__()
        self.config = dict(config)
        self.normalization = normalization
        self.spec = self.graph_spec(config)

    def forward(self, batch, state: dict) -> dict:
        history = state[K.PSI]
        new = self.next_frame(batch, history)
        edges = batch[K.WINDOW_EDGE_INDEX]
        if self.config["norm_preserving"] and edges.size(1) == history.size(0) * self.spec.width:
            new = keep_norm(new, history[:, -1], batch)
        return {K.PSI: torch.cat([history[:, 1:], new[:, None]], 1)}


class WindowModel(WaveEmulator):
    """A window network of the paper with the Gaussian assembly (module docstring)."""

    network: type = WindowLinear
    SCHEMA = {**COMMON_SCHEMA,
              "frames": Field("int", 4, minimum=1, doc="input frames (the paper: 4)"),
              "hidden": Field("int", 69, minimum=1, doc="hidden width (the paper: 69; unused by wave_linear)"),
              "delta": Field("float", 2.8, positive=True, doc="width of the assembly weights, in points")}

    def __init__(self, config: dict, normalization: Normalization):
        super().__init__(config, normalization)
        extra = {} if self.network is WindowLinear else {"hidden": config["hidden"]}
        self.net = self.network(points=config["width"], frames=config["frames"], channels=3, **extra)

    @classmethod
    def graph_spec(cls, config: dict) -> WaveGraphSpec:
        return WaveGraphSpec(frames=config["frames"], width=config["width"], patch=config["width"],
                             delta=config["delta"])

    def next_frame(self, batch, history: Tensor) -> Tensor:
        V = (batch[K.POTENTIAL] / self.config["v_scale"]).to(history.dtype)
        features = torch.cat([history, V[:, None, None].expand(-1, history.size(1), 1)], -1)   # (N, H, 3)
        edges = batch[K.WINDOW_EDGE_INDEX]
        windows = gather_windows(features, edges, self.spec.width).transpose(1, 2)             # (C, H, W, 3)
        return assemble_windows(self.net(windows), edges, batch[K.WINDOW_OFFSET], history.size(0), self.spec.delta)


@register("wave_linear")
class WaveLinear(WindowModel):
    network = WindowLinear


@register("wave_dense")
class WaveDense(WindowModel):
    network = WindowDense


@register("wave_conv")
class WaveConv(WindowModel):
    network = WindowConv


@register("wave_gru")
class WaveGRU(WindowModel):
    network = WindowGRU


@register("wave_kernel")
class WaveKernel(WaveEmulator):
    """The complex-linear kernel model of the module docstring.

    Shapes: history (N, 1, 2), V (N,) → new frame (N, 2); points that are no window's centre
    keep their last value (and carry no weight in training).
    """

    SCHEMA = {**COMMON_SCHEMA,
              "hidden": Field("int", 128, minimum=1, doc="width of the kernel MLP"),
              "depth": Field("int", 2, minimum=1, doc="hidden layers of the kernel MLP"),
              "patch": Field("int", 64, minimum=0, doc="grid points per training patch (>= width; 0: whole grids, "
                                                       "for multi-step rollout training)"),
              "free_start": Field("bool", False, doc="start K0 at the free fd3 propagator of one model step fitted "
                                                     "on the window (physics.schrodinger.free_window_kernel), not "
                                                     "at the identity"),
              "strang_phase": Field("bool", False, doc="multiply every kernel by the potential's Strang phases "
                                                       "exp(-i dt (V_c + V_c+s) / 2): with free_start the untrained "
                                                       "model is one Strang step of the frame spacing"),
              "anchor_free": Field("bool", False, doc="keep K0 fixed and subtract the MLP's output at V = 0, so "
                                                      "that where the potential vanishes on a window the kernel is "
                                                      "exactly K0 (the free propagator with free_start): training "
                                                      "then changes only what V changes"),
              "free_laplacian": Field("str", "fd3", choices=["fd3", "spectral"],
                                      doc="the Laplacian whose free propagator free_start fits: that of the "
                                          "training data"),
              "grid_spacing": Field("float", 100.0 / 1024, positive=True, doc="grid spacing of the data (for "
                                                                               "free_start)")}

    def __init__(self, config: dict, normalization: Normalization):
        super().__init__(config, normalization)
        width, hidden = config["width"], config["hidden"]
        start = torch.zeros(width, 2)
        if config["free_start"]:
            free = schrodinger.free_window_kernel(width, config["grid_spacing"], normalization.dt,
                                                     laplacian=config["free_laplacian"])
            start = torch.stack([free.real, free.imag], -1).float()
        else:
            start[width // 2, 0] = 1.0
        if config["anchor_free"]:  # K0 stays what it was built as
            self.register_buffer("base_kernel", start)
        else:
            self.base_kernel = nn.Parameter(start)
        sizes = [width] + [hidden] * config["depth"]
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.GELU()]
        self.kernel_net = nn.Sequential(*layers, nn.Linear(hidden, 2 * width))
        nn.init.zeros_(self.kernel_net[-1].weight)
        nn.init.zeros_(self.kernel_net[-1].bias)
        self._kernels = None  # (potential tensor, versions of it and the weights, propagator) of the last rollout

    @classmethod
    def graph_spec(cls, config: dict) -> WaveGraphSpec:
        patch = config["patch"] and max(config["patch"], config["width"])
        return WaveGraphSpec(frames=1, width=config["width"], patch=patch, margin=config["width"] // 2)

    def kernel(self, potential_windows: Tensor) -> Tensor:
        """K_s ∈ ℂ as (Re, Im) per window slot: (C, W) → (C, W, 2)."""
        change = self.kernel_net(potential_windows / self.config["v_scale"])
        if self.config["anchor_free"]:
            change = change - self.kernel_net(potential_windows.new_zeros(1, self.spec.width))
        kernel = self.base_kernel + change.reshape(-1, self.spec.width, 2)
        if not self.config["strang_phase"]:
            return kernel
        centre = potential_windows[:, self.spec.width // 2, None]
        angle = -0.5 * self.normalization.dt * (centre + potential_windows)
        cos, sin = torch.cos(angle), torch.sin(angle)
        real, imag = kernel[..., 0], kernel[..., 1]
        return torch.stack([real * cos - imag * sin, real * sin + imag * cos], -1)

    def propagator(self, batch, dtype: torch.dtype) -> Tensor:
        """The step as a sparse complex matrix U (points × points, CSR): row c holds K(c) at the
        members of window c, a 1 on the diagonal for points that are no window's centre. Built
        once per potential tensor and kept while it and the weights are unchanged (a rollout)."""
        potential, edges, width = batch[K.POTENTIAL], batch[K.WINDOW_EDGE_INDEX], self.spec.width
        key = (potential._version, dtype, tuple(p._version for p in self.parameters()))
        cached = self._kernels
        if cached is not None and cached[0] is potential and cached[1] == key:
            return cached[2]
        kernel = self.kernel(gather_windows(potential.to(dtype.to_real()), edges, width))
        centres = window_centres(edges, width)
        others = torch.ones(potential.size(0), dtype=torch.bool, device=potential.device)
        others[centres] = False
        others = others.nonzero().flatten()
        rows = torch.cat([edges[0], others])
        columns = torch.cat([edges[1], others])
        values = torch.cat([torch.complex(kernel[..., 0], kernel[..., 1]).reshape(-1),
                            torch.ones(len(others), dtype=dtype, device=potential.device)])
        size = (potential.size(0), potential.size(0))
        with warnings.catch_warnings():  # torch calls its CSR support beta
            warnings.simplefilter("ignore", UserWarning)
            matrix = torch.sparse_coo_tensor(torch.stack([rows, columns]), values, size,
                                             check_invariants=False).coalesce().to_sparse_csr()
        self._kernels = (potential, key, matrix)
        return matrix

    def next_frame(self, batch, history: Tensor) -> Tensor:
        edges, width = batch[K.WINDOW_EDGE_INDEX], self.spec.width
        last = history[:, -1]
        if not (self.training or torch.is_grad_enabled()):  # a rollout: one sparse product per step
            complex_dtype = torch.complex128 if last.dtype == torch.float64 else torch.complex64
            matrix = self.propagator(batch, complex_dtype)
            return torch.view_as_real(matrix @ torch.view_as_complex(last.contiguous()))
        members = gather_windows(last, edges, width)                                            # (C, W, 2)
        kernel = self.kernel(gather_windows(batch[K.POTENTIAL].to(last.dtype), edges, width))   # (C, W, 2)
        real = (kernel[..., 0] * members[..., 0] - kernel[..., 1] * members[..., 1]).sum(1)
        imag = (kernel[..., 0] * members[..., 1] + kernel[..., 1] * members[..., 0]).sum(1)
        new = last.clone()
        new[window_centres(edges, width)] = torch.stack([real, imag], -1)
        return new


@register("wave_field")
class WaveField(WaveEmulator):
    """A message-passing field model on the grid graph, without windows: each frame is encoded
    by offset convolutions over space (shared over frames), a ReLU GRU per point runs over the
    frames, and an offset convolution reads out the change of ψ,

        e_f = Conv_s(ψ_f, V/v_scale),   h_f = GRU(e_f, h_{f−1}),   ψ' = ψ_last + σ_Δ Conv_s(h_frames),

    with σ_Δ the training-split std of one step's change. Translation-equivariant by
    construction; its reach is (depth + 1)·radius points per step, which is the margin of a
    training patch left out of the loss.

    Shapes: history (N, frames, 2), V (N,) → new frame (N, 2).
    """

    SCHEMA = {**COMMON_SCHEMA,
              "frames": Field("int", 4, minimum=1, doc="input frames"),
              "hidden": Field("int", 48, minimum=1, doc="channels of the convolutions and of the GRU"),
              "depth": Field("int", 2, minimum=0, doc="hidden offset convolutions of the frame encoder"),
              "radius": Field("int", 2, minimum=1, doc="offsets per convolution (kernel of 2r + 1 points)"),
              "patch": Field("int", 0, minimum=0, doc="grid points per training patch (0: whole grids)")}

    def __init__(self, config: dict, normalization: Normalization):
        super().__init__(config, normalization)
        hidden, radius = config["hidden"], config["radius"]
        sizes = [3] + [hidden] * (config["depth"] + 1)
        self.encoder = nn.ModuleList(OffsetConv(a, b, radius) for a, b in zip(sizes[:-1], sizes[1:]))
        self.cell = ReluGRUCell(hidden, hidden)
        self.readout = OffsetConv(hidden, 2, radius)
        with torch.no_grad():  # start near ψ' = ψ
            self.readout.weight.mul_(0.1)

    @classmethod
    def graph_spec(cls, config: dict) -> WaveGraphSpec:
        reach = (config["depth"] + 2) * config["radius"]
        patch = config["patch"] and max(config["patch"], config["width"], 2 * reach + 1)
        return WaveGraphSpec(frames=config["frames"], width=config["width"], patch=patch, margin=reach,
                             cutoff=config["radius"])

    def next_frame(self, batch, history: Tensor) -> Tensor:
        edges, offset = batch[K.SITE_EDGE_INDEX], batch[K.SITE_OFFSET]
        V = (batch[K.POTENTIAL] / self.config["v_scale"]).to(history.dtype)
        state = None
        for frame in range(history.size(1)):
            x = torch.cat([history[:, frame], V[:, None]], -1)
            for layer in self.encoder:
                x = nn.functional.gelu(layer(x, edges, offset))
            state = self.cell(x, state)
        change = self.readout(state, edges, offset) * self.normalization.get(K.PSI, "step_std").to(history.dtype)
        return history[:, -1] + change
