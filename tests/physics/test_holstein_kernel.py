"""The compiled Holstein RK4 against the torch integrator, and its fallback where nothing compiles."""
import pytest
import torch

from graphqd.errors import GraphqdError
from graphqd.physics import holstein as H
from graphqd.physics import holstein_kernel

pytestmark = pytest.mark.skipif(holstein_kernel.library() is None, reason="no C compiler")


def deep_quench(L, boundary, runs=3):
    params = H.HolsteinParams(L=L, g=0.0, boundary=boundary)
    state = H.noisy_ground_states(params, 1e-2, list(range(runs)))
    return state, params.with_g(2.0)


@pytest.mark.parametrize("L,boundary", [(8, "periodic"), (7, "open"), ((3, 4), "periodic"), ((3, 4), "open")])
def test_compiled_equals_torch(L, boundary):
    state, params = deep_quench(L, boundary)
    c = H.simulate(state, params, 0.08, 300, kernel="c")
    ref = H.simulate(state, params, 0.08, 300, kernel="torch")
    assert c.Q.abs().max() > 0.5  # the runs moved
    for a, b in ((c.Q, ref.Q), (c.P, ref.P), (c.rho, ref.rho)):
        assert (a - b).abs().max() <= 1e-12
    assert torch.equal(c.rho, c.rho.mH)  # exactly Hermitian, as the torch integrator keeps it


def test_advance_with_a_count_per_run():
    state, params = deep_quench(8, "periodic")
    counts = torch.tensor([0, 5, 17])
    c = H.advance(state, params, 0.01, counts, kernel="c")
    ref = H.advance(state, params, 0.01, counts, kernel="torch")
    assert torch.equal(c.Q[0], state.Q[0])
    assert (c.rho - ref.rho).abs().max() <= 1e-13 and (c.P - ref.P).abs().max() <= 1e-13


def test_threads_share_a_batch_without_changing_it():
    state, params = deep_quench(6, "periodic", runs=5)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = H.simulate(state, params, 0.08, 50, record_dtype=torch.float32)
        torch.set_num_threads(3)
        three = H.simulate(state, params, 0.08, 50, record_dtype=torch.float32)
    finally:
        torch.set_num_threads(threads)
    assert one.rho.dtype == torch.complex64 and torch.equal(one.rho, three.rho) and torch.equal(one.Q, three.Q)


def test_compiles_into_a_fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    holstein_kernel.library.cache_clear()
    try:
        assert holstein_kernel.library() is not None
        assert [p.suffix for p in (tmp_path / "graphqd").iterdir()] == [".so"]
    finally:
        holstein_kernel.library.cache_clear()


def test_without_a_compiler_auto_falls_back_and_c_is_a_clear_error(tmp_path, monkeypatch):
    state, params = deep_quench(6, "periodic", runs=1)
    expected = H.simulate(state, params, 0.08, 10, kernel="torch")
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    holstein_kernel.library.cache_clear()
    try:
        assert torch.equal(H.simulate(state, params, 0.08, 10).rho, expected.rho)
        with pytest.raises(GraphqdError, match="C compiler"):
            H.simulate(state, params, 0.08, 10, kernel="c")
    finally:
        holstein_kernel.library.cache_clear()
    with pytest.raises(GraphqdError, match="kernel must be"):
        H.simulate(state, params, 0.08, 10, kernel="fortran")
