"""The PRD kernels: NumPy reference, numba twin and CUDA twin agree (the supervised CUDA twin is core's,
tested in tests/core/test_kernels.py)."""

import numpy as np
import pytest
from hypothesis import given, settings

from refimpl.core import backend
from refimpl.prd import kernels, model
from tests.prd.strategies import problems


def assert_same(ours, theirs, rtol=1e-12):
    for x, y in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(y)))))


@given(problems(max_m=8))
def test_numba_twins_agree_with_the_numpy_references(problem):
    X, Y, U, V, W, a = problem
    assert_same(model.supervised_gradient(X, Y, U, V, backend="numba"),
                model.supervised_gradient(X, Y, U, V, backend="numpy"))
    assert_same(model.adversarial_gradient(X, U, V, W, a, backend="numba"),
                model.adversarial_gradient(X, U, V, W, a, backend="numpy"))


def test_supervised_kernel_is_the_core_kernel_and_no_second_name_is_registered():
    from refimpl.core import kernels as core_kernels

    assert kernels.SUPERVISED == core_kernels.KERNEL
    assert "prd_supervised_gradient" not in backend.kernel_names()
    assert backend.backends_of(kernels.ADVERSARIAL) == ("numpy", "numba", "cuda")


@pytest.mark.cuda
@pytest.mark.skipif(not backend.cuda_available(), reason="needs a CUDA GPU or NUMBA_ENABLE_CUDASIM=1")
@settings(max_examples=3)
@given(problems(max_m=3))
def test_cuda_twin_of_the_adversarial_gradient_agrees_with_the_numpy_reference(problem):
    X, _, U, V, W, a = problem
    assert_same(model.adversarial_gradient(X, U, V, W, a, backend="cuda"),
                model.adversarial_gradient(X, U, V, W, a, backend="numpy"), rtol=1e-11)


@pytest.mark.cuda
@pytest.mark.skipif(not backend.cuda_available(), reason="needs a CUDA GPU or NUMBA_ENABLE_CUDASIM=1")
def test_cuda_adversarial_twin_on_a_grid_of_several_blocks(rng, monkeypatch):
    """Over 4 × 4 blocks and product tiles, odd shapes span several blocks per side in every kernel (the
    critic's (n, m_c) = (9, 10) gates 3 × 3, the column sums an inner dimension of 9: three tiles)."""
    from refimpl.core import cuda_kernels

    monkeypatch.setattr(cuda_kernels, "BLOCK", (4, 4))
    monkeypatch.setattr(cuda_kernels, "GEMM_TILE", 4)
    X = model.normalise_inputs(rng.standard_normal((9, 6)))
    U, V = model.init_generator(rng, 6, 3, 11)
    W, a = model.init_critic(rng, 3, 10)
    assert_same(model.adversarial_gradient(X, U, V, W, a, backend="cuda"),
                model.adversarial_gradient(X, U, V, W, a, backend="numpy"), rtol=1e-11)
