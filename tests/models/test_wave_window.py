"""Window emulators of Yao et al. 2023: Table 1 parameter counts, the ReLU GRU cell against
NumPy, every model against a NumPy re-derivation of its Keras layout, batch vs single,
frame dependence, WindowConv's point-major flatten, repr and initialisation; the GRU against
Keras itself (weights and output written by TensorFlow, read without it)."""
import os

import numpy as np
import pytest
import torch

from graphqd.errors import GraphqdError
from graphqd.io.tf_checkpoint import read_tf_checkpoint
from graphqd.models.wave_window import (WINDOW_MODELS, ReluGRUCell, WindowConv, WindowDense, WindowGRU, WindowLinear,
                                        keras_gru_state)

TABLE_1 = {"linear": 3220, "dense": 27163, "conv": 28889, "gru": 40204}  # Yao et al. 2023, Table 1
F64 = dict(rtol=0.0, atol=1e-10)
B, T, P, C = 5, 4, 23, 3


def windows(batch=B, seed=0):
    return torch.randn(batch, T, P, C, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def model64(name, seed=0):
    torch.manual_seed(seed)
    return WINDOW_MODELS[name]().double()


def randomise_(module, seed=1):
    """Random values in every parameter, biases included (Keras's zero biases would hide their errors)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(0.3 * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
    return module


def numpy_of(tensor):
    return tensor.detach().cpu().numpy().astype(np.float64)


# ---- independent NumPy references, written from the equations in Keras's (in, out) layout ----

def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def relu(a):
    return np.maximum(a, 0.0)


def dense(a, linear):  # Keras Dense: a @ kernel + bias, kernel (in, out)
    return a @ numpy_of(linear.weight).T + numpy_of(linear.bias)


def gru_step(x, h, W, U, b, c):
    H = h.shape[-1]
    gx, gh = x @ W + b, h @ U + c
    z = sigmoid(gx[:, :H] + gh[:, :H])
    r = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    h_tilde = relu(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    return z * h + (1.0 - z) * h_tilde


def gru_reference(cell, sequence):
    W, U = numpy_of(cell.input_kernel), numpy_of(cell.recurrent_kernel)
    b, c = numpy_of(cell.input_bias), numpy_of(cell.recurrent_bias)
    h = np.zeros((sequence.shape[0], U.shape[0]))
    for t in range(sequence.shape[1]):
        h = gru_step(sequence[:, t], h, W, U, b, c)
    return h


def reference_forward(model, x):
    """NumPy forward pass of each window model, (B, T, P, C) → (B, P, 2)."""
    x = numpy_of(x)
    frames = x.reshape(x.shape[0], T, P * C)  # point-major: index 3p + c
    if isinstance(model, WindowLinear):
        out = dense(frames[:, -1], model.readout)
    elif isinstance(model, WindowDense):
        codes = relu(dense(frames, model.frame_encoder))  # (B, T, hidden)
        kernel = numpy_of(model.temporal_conv.weight)  # (out, in, T)
        history = relu(np.einsum("bti,oit->bo", codes, kernel) + numpy_of(model.temporal_conv.bias))
        out = dense(history, model.readout)
    elif isinstance(model, WindowConv):
        kernel = numpy_of(model.temporal_conv.weight)[..., 0]  # (F, C, T)
        filtered = relu(np.einsum("btpc,fct->bpf", x, kernel) + numpy_of(model.temporal_conv.bias))
        out = dense(relu(dense(filtered.reshape(x.shape[0], -1), model.window_mixer)), model.readout)
    else:
        h = gru_reference(model.cell, relu(dense(frames, model.frame_encoder)))
        out = dense(np.concatenate([h, h], axis=-1), model.readout)
    return out.reshape(x.shape[0], P, 2)


# ---- tests ----

@pytest.mark.parametrize("name", list(WINDOW_MODELS))
def test_table_1_parameter_count_and_output_shape(name):
    model = WINDOW_MODELS[name]()
    assert sum(p.numel() for p in model.parameters()) == TABLE_1[name]
    assert model(torch.randn(B, T, P, C)).shape == (B, P, 2)
    assert type(model).__name__ in repr(model)


def test_gru_cell_matches_numpy_equations():
    cell = randomise_(ReluGRUCell(6, 5).double())
    assert sum(p.numel() for p in ReluGRUCell(69, 69).parameters()) == 3 * (69 * 69 + 69 * 69 + 2 * 69)
    sequence = torch.randn(3, 4, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    h = None
    for t in range(sequence.shape[1]):
        h = cell(sequence[:, t], h)
    np.testing.assert_allclose(numpy_of(h), gru_reference(cell, numpy_of(sequence)), **F64)
    np.testing.assert_allclose(numpy_of(cell.scan(sequence)), numpy_of(h), **F64)  # all steps at once, h_0 = 0
    assert "ReluGRUCell" in repr(cell) and "relu" in repr(cell)


def test_gru_matches_keras():
    """A Keras GRU emulator of the published layout (5 points, hidden 8, random weights, biases
    included), saved by TensorFlow's save_weights with its output on 6 windows
    (data/keras_gru/make_fixture.py): read with our checkpoint reader, our model gives Keras's output."""
    fixture = os.path.join(os.path.dirname(__file__), "data", "keras_gru")
    variables = read_tf_checkpoint(os.path.join(fixture, "weights"))
    assert variables["gru/cell/bias/.ATTRIBUTES/VARIABLE_VALUE"].shape == (2, 24)
    reference = np.load(os.path.join(fixture, "reference.npz"))
    model = WindowGRU(points=5, hidden=8)
    model.load_state_dict(keras_gru_state(variables))
    with torch.no_grad():
        output = model(torch.from_numpy(reference["windows"]))
    np.testing.assert_allclose(output.numpy(), reference["output"], rtol=1e-5, atol=1e-5)
    with pytest.raises(GraphqdError, match="dense1"):
        keras_gru_state({key: value for key, value in variables.items() if not key.startswith("dense1/kernel")})
    with pytest.raises(GraphqdError, match="without .index"):
        read_tf_checkpoint(os.path.join(fixture, "missing"))


@pytest.mark.parametrize("name", list(WINDOW_MODELS))
def test_model_matches_numpy_keras_layout(name):
    model = randomise_(model64(name))
    x = windows()
    np.testing.assert_allclose(numpy_of(model(x)), reference_forward(model, x), **F64)


@pytest.mark.parametrize("name", list(WINDOW_MODELS))
def test_batch_equals_single(name):
    model = randomise_(model64(name))
    x = windows()
    batched = model(x)
    single = torch.cat([model(x[i:i + 1]) for i in range(B)])
    torch.testing.assert_close(batched, single, rtol=0.0, atol=1e-12)


@pytest.mark.parametrize("name", list(WINDOW_MODELS))
def test_only_linear_ignores_earlier_frames(name):
    model = randomise_(model64(name))
    x = windows()
    earlier_changed = x.clone()
    earlier_changed[:, :T - 1] += windows(seed=5)[:, :T - 1]
    unchanged = torch.equal(model(x), model(earlier_changed))
    assert unchanged == (name == "linear")


def test_conv_flatten_is_point_major():
    model = randomise_(model64("conv"))
    x = windows(batch=1)
    F = model.filters
    base = model.point_features(x)
    assert base.shape == (1, P * F)
    for point in (0, 7, P - 1):
        moved = x.clone()
        moved[:, :, point] += 3.0
        change = (model.point_features(moved) - base).reshape(-1)
        block = slice(F * point, F * (point + 1))
        assert change[block].abs().max() > 0
        outside = torch.cat([change[:block.start], change[block.stop:]])
        assert torch.count_nonzero(outside) == 0


@pytest.mark.parametrize("name", list(WINDOW_MODELS))
def test_keras_default_initialisation(name):
    torch.manual_seed(0)
    model = WINDOW_MODELS[name]()
    for parameter_name, parameter in model.named_parameters():
        if "bias" in parameter_name:
            assert torch.count_nonzero(parameter) == 0, parameter_name
    if name == "gru":
        U = model.cell.recurrent_kernel.detach()  # (H, 3H), rows orthonormal as Keras's Orthogonal
        torch.testing.assert_close(U @ U.T, torch.eye(U.shape[0]), rtol=0.0, atol=1e-5)  # float32
    before = [p.detach().clone() for p in model.parameters()]
    model.reset_parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_wrong_window_shape_raises():
    with pytest.raises(ValueError, match="expects windows of shape"):
        WindowGRU()(torch.randn(2, T, P + 1, C))
