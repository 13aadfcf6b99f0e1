"""Window emulators of a 1D wave function: the four baselines of Yao et al.

Source: Y. Yao, C. Cao, S. Haas, M. Agarwal, D. Khanna, M. Abram, "Emulating quantum
dynamics with neural networks via knowledge distillation", Front. Mater. 9:1060744
(2023), arXiv:2203.10200. Architectures and parameter counts are those of the paper's
Table 1; layer layouts were read off its published Keras code and weights (this is an
independent PyTorch rewrite, not a port).

A *window* is a patch of ``points`` = 23 grid points of ψ(x, t) over ``frames`` = 4
consecutive time steps, with ``channels`` = 3 per point: (Re ψ, Im ψ, V/14). Each model
maps it to the same 23 points one step later,

    ψ(x_p, t_{n+1}) = N[ψ(x_q, t_{n-3..n}), V(x_q)],   p, q in the window,

through a last ``Dense(2·points)`` without activation, reshaped to (points, 2) = (Re, Im).
A frame is flattened point-major (index 3p + c, a plain reshape of (23, 3) to 69), as
Keras's ``Flatten``/``Reshape`` do.

=============  ============================================================  ==========
model          layers (defaults)                                              parameters
=============  ============================================================  ==========
``linear``     last frame, 69 → 46                                                 3,220
``dense``      per-frame 69 → 69 ReLU; Conv1D over frames (k=4) 69 → 69 ReLU;     27,163
               69 → 46
``conv``       Conv2D (4 frames × 1 point) 3 → 16 ReLU; flatten 16p + f → 368;     28,889
               368 → 69 ReLU; 69 → 46
``gru``        per-frame 69 → 69 ReLU; GRU(69, ReLU candidate, reset_after);      40,204
               concat(h_4, h_4) 138 → 46
=============  ============================================================  ==========

Initialisation follows Keras's defaults, with which the paper trained: Glorot-uniform
kernels and zero biases; the GRU recurrent kernel is orthogonal.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from graphqd.errors import GraphqdError

__all__ = ["ReluGRUCell", "WindowLinear", "WindowDense", "WindowConv", "WindowGRU", "WINDOW_MODELS",
           "keras_gru_state"]


def _keras_init_(layer: nn.Module) -> None:
    """Glorot-uniform weight and zero bias, Keras's ``Dense``/``Conv`` defaults.

    ``xavier_uniform_`` counts fans as (in · receptive field, out · receptive field),
    the same fans Keras uses for its (k, in, out) kernels.
    """
    nn.init.xavier_uniform_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


class ReluGRUCell(nn.Module):
    r"""One step of Keras's ``GRU(activation="relu", reset_after=True)``.

    .. math::
        z &= \sigma(x W_z + b_z + h U_z + c_z), \qquad
        r  = \sigma(x W_r + b_r + h U_r + c_r), \\
        \tilde h &= \mathrm{ReLU}\big(x W_h + b_h + r \odot (h U_h + c_h)\big), \qquad
        h' = z \odot h + (1 - z) \odot \tilde h,

    with σ the logistic sigmoid (Keras's default ``recurrent_activation`` since TF 2).
    Unlike ``torch.nn.GRUCell``, the candidate is ReLU rather than tanh and z keeps the
    old state (Keras's convention; torch's GRU is the same with z ↔ 1 − z).
    Separate input biases b and recurrent biases c give 3·(I·H + H·H + 2·H) parameters
    (Yao et al. 2023, Table 1: 28,980 for I = H = 69).

    Parameters use Keras's layout, gate order (z, r, h) along the last axis, so trained
    Keras weights load by assignment: ``input_kernel`` = ``kernel`` (I, 3H),
    ``recurrent_kernel`` (H, 3H), ``input_bias`` = ``bias[0]``, ``recurrent_bias`` =
    ``bias[1]`` (3H each).

    Args:
        input_size: features I of x per step.
        hidden_size: size H of the state h.

    Shapes:
        - **input:** x :math:`(B, I)`, h :math:`(B, H)` or ``None`` for h = 0
        - **output:** h' :math:`(B, H)`
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        gates = 3 * self.hidden_size
        self.input_kernel = nn.Parameter(torch.empty(self.input_size, gates))
        self.recurrent_kernel = nn.Parameter(torch.empty(self.hidden_size, gates))
        self.input_bias = nn.Parameter(torch.empty(gates))
        self.recurrent_bias = nn.Parameter(torch.empty(gates))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Keras defaults: Glorot-uniform input kernel, orthogonal recurrent kernel, zero biases."""
        nn.init.xavier_uniform_(self.input_kernel)
        # Orthogonal over the whole (H, 3H) matrix, rows orthonormal, as Keras's Orthogonal does.
        nn.init.orthogonal_(self.recurrent_kernel)
        nn.init.zeros_(self.input_bias)
        nn.init.zeros_(self.recurrent_bias)

    def forward(self, x: Tensor, h: Optional[Tensor] = None) -> Tensor:
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        x_z, x_r, x_h = (x @ self.input_kernel + self.input_bias).chunk(3, dim=-1)
        h_z, h_r, h_h = (h @ self.recurrent_kernel + self.recurrent_bias).chunk(3, dim=-1)
        update = torch.sigmoid(x_z + h_z)
        reset = torch.sigmoid(x_r + h_r)
        # reset_after=True: the reset gate scales the recurrent product, bias included.
        candidate = torch.relu(x_h + reset * h_h)
        return update * h + (1.0 - update) * candidate

    def scan(self, xs: Tensor) -> Tensor:
        """The final state h_T of the sequence xs (B, T, I) from h_0 = 0: `forward` step by step, with the
        input products of all T steps in one matrix product and the first step's recurrent product, h_0 U = 0,
        left out.

        Shapes:
            - **input:** xs :math:`(B, T, I)`
            - **output:** h_T :math:`(B, H)`
        """
        inputs = (xs @ self.input_kernel + self.input_bias).unbind(1)       # T × (B, 3H)
        h_z, h_r, h_h = self.recurrent_bias.chunk(3)                       # h_0 U + c with h_0 = 0
        h = None
        for x in inputs:
            if h is not None:
                h_z, h_r, h_h = (h @ self.recurrent_kernel + self.recurrent_bias).chunk(3, dim=-1)
            x_z, x_r, x_h = x.chunk(3, dim=-1)
            update = torch.sigmoid(x_z + h_z)
            candidate = torch.relu(x_h + torch.sigmoid(x_r + h_r) * h_h)
            h = (1.0 - update) * candidate if h is None else update * h + (1.0 - update) * candidate
        return h

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, candidate=relu, reset_after=True"


class _WindowEmulator(nn.Module):
    """Shared bookkeeping: window geometry, input check, the (Re, Im) readout reshape."""

    def __init__(self, points: int, frames: int, channels: int):
        super().__init__()
        self.points = int(points)
        self.frames = int(frames)
        self.channels = int(channels)
        if min(self.points, self.frames, self.channels) < 1:
            raise ValueError(f"A window needs at least one point, frame and channel, got points={points}, "
                             f"frames={frames}, channels={channels}.")
        self.frame_features = self.points * self.channels  # 69: one frame, point-major
        self.wave_features = 2 * self.points  # 46: (Re ψ, Im ψ) at every point

    def _check_window(self, x: Tensor) -> None:
        expected = (self.frames, self.points, self.channels)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"{type(self).__name__} expects windows of shape (B, {', '.join(map(str, expected))}) "
                             f"= (batch, frame, point, channel), got {tuple(x.shape)}.")

    def _as_wave(self, readout: Tensor) -> Tensor:
        """(B, 2·points) → (B, points, 2), Keras's row-major ``Reshape((points, 2))``."""
        return readout.reshape(readout.shape[0], self.points, 2)

    def _keras_layers(self):
        return [m for m in self.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]

    def reset_parameters(self) -> None:
        """Keras defaults: Glorot-uniform kernels, zero biases (orthogonal recurrent kernel in the GRU)."""
        for layer in self._keras_layers():
            _keras_init_(layer)
        for module in self.modules():
            if isinstance(module, ReluGRUCell):
                module.reset_parameters()

    def extra_repr(self) -> str:
        return f"points={self.points}, frames={self.frames}, channels={self.channels}"


class WindowLinear(_WindowEmulator):
    r"""Linear emulator: the next frame is a linear map of the last one.

    .. math::
        \psi_{n+1} = W\,\mathrm{vec}(u_n) + b,

    with :math:`u_n` the last frame (points × channels, point-major) and earlier frames
    unused (Yao et al. 2023, Table 1: 3,220 parameters for the 23 × 3 window).

    Args:
        points: grid points per window.
        frames: time frames per window (only the last is read).
        channels: channels per point (Re ψ, Im ψ, V/14).

    Shapes:
        - **input:** x :math:`(B, T, P, C)` = (batch, frame, point, channel)
        - **output:** ψ at the next step :math:`(B, P, 2)` = (Re, Im)
    """

    def __init__(self, points: int = 23, frames: int = 4, channels: int = 3):
        super().__init__(points, frames, channels)
        self.readout = nn.Linear(self.frame_features, self.wave_features)
        self.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        self._check_window(x)
        last_frame = x[:, -1].reshape(x.shape[0], self.frame_features)
        return self._as_wave(self.readout(last_frame))


class WindowDense(_WindowEmulator):
    r"""Dense emulator: a shared per-frame layer, then a convolution over the frames.

    .. math::
        e_t = \mathrm{ReLU}(A\,\mathrm{vec}(u_t) + a), \qquad
        g = \mathrm{ReLU}\Big(\sum_{t=1}^{T} K_t\, e_t + k\Big), \qquad
        \psi_{n+1} = W g + b,

    i.e. Keras ``Dense`` on (T, 69), ``Conv1D(hidden, T)`` over the frame axis (valid,
    output length 1), ``Dense(2P)`` (Yao et al. 2023, Table 1: 4,830 + 19,113 + 3,220 =
    27,163 parameters).

    Args:
        points: grid points per window.
        frames: time frames per window, also the temporal kernel length.
        channels: channels per point (Re ψ, Im ψ, V/14).
        hidden: width of the per-frame layer and of the temporal filters.

    Shapes:
        - **input:** x :math:`(B, T, P, C)` = (batch, frame, point, channel)
        - **output:** ψ at the next step :math:`(B, P, 2)` = (Re, Im)
    """

    def __init__(self, points: int = 23, frames: int = 4, channels: int = 3, hidden: int = 69):
        super().__init__(points, frames, channels)
        self.hidden = int(hidden)
        self.frame_encoder = nn.Linear(self.frame_features, self.hidden)
        self.temporal_conv = nn.Conv1d(self.hidden, self.hidden, kernel_size=self.frames)
        self.readout = nn.Linear(self.hidden, self.wave_features)
        self.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        self._check_window(x)
        frame_codes = torch.relu(self.frame_encoder(x.reshape(x.shape[0], self.frames, self.frame_features)))
        # Conv1d wants (B, features, frames); a kernel as long as the window leaves one output step.
        history = torch.relu(self.temporal_conv(frame_codes.transpose(1, 2))).squeeze(-1)
        return self._as_wave(self.readout(history))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, hidden={self.hidden}"


class WindowConv(_WindowEmulator):
    r"""Convolutional emulator: per-point filters over time, then dense layers on the window.

    .. math::
        s_{p f} = \mathrm{ReLU}\Big(\sum_{t, c} K_{t c f}\, u_{t p c} + k_f\Big), \qquad
        \psi_{n+1} = W_2\,\mathrm{ReLU}(W_1\,\mathrm{vec}(s) + b_1) + b_2,

    i.e. Keras ``Conv2D(filters, (T, 1))`` on the channels-last window (height = frames,
    width = points, valid), ``Flatten`` point-major (index ``filters·p + f``),
    ``Dense(hidden, relu)``, ``Dense(2P)`` (Yao et al. 2023, Table 1: 208 + 25,461 +
    3,220 = 28,889 parameters).

    Args:
        points: grid points per window.
        frames: time frames per window, also the kernel height.
        channels: channels per point (Re ψ, Im ψ, V/14).
        filters: filters of the temporal convolution.
        hidden: width of the dense layer after the flatten.

    Shapes:
        - **input:** x :math:`(B, T, P, C)` = (batch, frame, point, channel)
        - **point features:** :math:`(B, P \cdot F)`, index ``F·p + f``
        - **output:** ψ at the next step :math:`(B, P, 2)` = (Re, Im)
    """

    def __init__(self, points: int = 23, frames: int = 4, channels: int = 3, filters: int = 16, hidden: int = 69):
        super().__init__(points, frames, channels)
        self.filters = int(filters)
        self.hidden = int(hidden)
        self.temporal_conv = nn.Conv2d(self.channels, self.filters, kernel_size=(self.frames, 1))
        self.window_mixer = nn.Linear(self.points * self.filters, self.hidden)
        self.readout = nn.Linear(self.hidden, self.wave_features)
        self.reset_parameters()

    def point_features(self, x: Tensor) -> Tensor:
        """Per-point temporal filters, flattened point-major as Keras's ``Flatten``: (B, P·F)."""
        self._check_window(x)
        # (B, T, P, C) → (B, C, T, P): channels first, frames as height, points as width.
        filtered = torch.relu(self.temporal_conv(x.permute(0, 3, 1, 2)))  # (B, F, 1, P)
        return filtered.permute(0, 2, 3, 1).reshape(x.shape[0], self.points * self.filters)

    def forward(self, x: Tensor) -> Tensor:
        mixed = torch.relu(self.window_mixer(self.point_features(x)))
        return self._as_wave(self.readout(mixed))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, filters={self.filters}, hidden={self.hidden}"


class WindowGRU(_WindowEmulator):
    r"""Recurrent emulator: a shared per-frame layer, then a ReLU GRU over the frames.

    .. math::
        e_t = \mathrm{ReLU}(A\,\mathrm{vec}(u_t) + a), \qquad
        h_t = \mathrm{GRU}(e_t, h_{t-1}),\ h_0 = 0, \qquad
        \psi_{n+1} = W\,[h_T;\ h_T] + b,

    the Keras ``GRU(hidden, activation="relu", return_state=True)`` whose last output and
    final state, both h_T, are concatenated before ``Dense(2P)`` (Yao et al. 2023,
    Table 1: 4,830 + 28,980 + 6,394 = 40,204 parameters). The cell is
    :class:`ReluGRUCell`; ``torch.nn.GRU`` has neither the ReLU candidate nor the
    separate recurrent biases of Keras's ``reset_after``.

    Args:
        points: grid points per window.
        frames: time frames per window, the GRU's sequence length.
        channels: channels per point (Re ψ, Im ψ, V/14).
        hidden: width of the per-frame layer and of the GRU state.

    Shapes:
        - **input:** x :math:`(B, T, P, C)` = (batch, frame, point, channel)
        - **output:** ψ at the next step :math:`(B, P, 2)` = (Re, Im)
    """

    def __init__(self, points: int = 23, frames: int = 4, channels: int = 3, hidden: int = 69):
        super().__init__(points, frames, channels)
        self.hidden = int(hidden)
        self.frame_encoder = nn.Linear(self.frame_features, self.hidden)
        self.cell = ReluGRUCell(self.hidden, self.hidden)
        self.readout = nn.Linear(2 * self.hidden, self.wave_features)
        self.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        self._check_window(x)
        frame_codes = torch.relu(self.frame_encoder(x.reshape(x.shape[0], self.frames, self.frame_features)))
        state = self.cell.scan(frame_codes)
        # Keras concatenates the GRU's last output and its final state: the same h_T twice.
        return self._as_wave(self.readout(torch.cat([state, state], dim=-1)))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, hidden={self.hidden}"


def keras_gru_state(variables: dict) -> dict:
    """`WindowGRU` state dict from the variables of the published Keras GRU emulator's checkpoint
    (`graphqd.io.tf_checkpoint.read_tf_checkpoint`; keys ``dense1/kernel/.ATTRIBUTES/VARIABLE_VALUE`` …).
    Keras kernels are (in, out), ``nn.Linear`` weights (out, in); the GRU's kernels keep Keras's
    (in, 3H) layout with gate blocks (z, r, h), and its bias rows are (input, recurrent)."""
    value = {key.split("/.ATTRIBUTES")[0]: torch.from_numpy(array) for key, array in variables.items()}
    try:
        return {"frame_encoder.weight": value["dense1/kernel"].T.contiguous(),
                "frame_encoder.bias": value["dense1/bias"],
                "cell.input_kernel": value["gru/cell/kernel"],
                "cell.recurrent_kernel": value["gru/cell/recurrent_kernel"],
                "cell.input_bias": value["gru/cell/bias"][0], "cell.recurrent_bias": value["gru/cell/bias"][1],
                "readout.weight": value["dense2/kernel"].T.contiguous(), "readout.bias": value["dense2/bias"]}
    except KeyError as missing:
        raise GraphqdError(f"the checkpoint has no variable {missing}; a published GRU emulator has dense1, "
                           f"gru/cell and dense2") from None


WINDOW_MODELS = {"linear": WindowLinear, "dense": WindowDense, "conv": WindowConv, "gru": WindowGRU}
