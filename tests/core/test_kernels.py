"""The two-layer squared-error kernel: twins agree, gradients are right, bad shapes are named."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from refimpl.core import backend
from refimpl.core.gradcheck import assert_gradients
from refimpl.core.kernels import KERNEL, masked_scale_pass, relu_pass, two_layer_squared_error_gradient
from tests.helpers import arrays, floats, off_kinks


@st.composite
def problems(draw):
    n, d_in, m, d_out = (draw(st.integers(1, 6)) for _ in range(4))
    return (draw(arrays((n, d_in))), draw(arrays((n, d_out))), draw(arrays((m, d_in))),
            draw(arrays((d_out, m))), draw(floats(0.1, 2.0)))


@given(problems())
def test_numba_twin_equals_numpy_reference(problem):
    reference = two_layer_squared_error_gradient(*problem, backend="numpy")
    twin = two_layer_squared_error_gradient(*problem, backend="numba")
    assert twin[0] == pytest.approx(reference[0], rel=1e-12, abs=1e-12)
    for a, b in zip(twin[1:], reference[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * max(1.0, np.max(np.abs(b))))


@settings(max_examples=20)
@given(problems())
def test_gradients_match_finite_differences(problem):
    X, Y, U, V, scale = problem
    assume(off_kinks(X @ U.T))
    _, dU, dV = two_layer_squared_error_gradient(X, Y, U, V, scale, backend="numpy")
    assert_gradients(lambda U, V: two_layer_squared_error_gradient(X, Y, U, V, scale, backend="numpy")[0],
                     [U, V], [dU, dV])


def test_shape_mismatch_names_the_parameter():
    X, Y = np.zeros((5, 4)), np.zeros((5, 2))
    with pytest.raises(ValueError, match=r"U must have shape \(m, d_in\) = \(any, 4\) to match X with d_in = 4; got \(3, 5\)"):
        two_layer_squared_error_gradient(X, Y, np.zeros((3, 5)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Y must have shape \(n, d_out\) = \(5, 2\)"):
        two_layer_squared_error_gradient(X, np.zeros((5, 3)), np.zeros((3, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="X must be finite"):
        two_layer_squared_error_gradient(np.full((5, 4), np.nan), Y, np.zeros((3, 4)), np.zeros((2, 3)))


def test_registry_lists_the_three_twins():
    assert backend.backends_of(KERNEL) == ("numpy", "numba", "cuda")
    with pytest.raises(ValueError, match="backend must be one of 'numpy', 'numba', 'cuda'; got 'opencl'"):
        two_layer_squared_error_gradient(*(np.ones(shape) for shape in ((2, 3), (2, 1), (4, 3), (1, 4))),
                                         backend="opencl")


def test_element_wise_passes_are_relu_and_its_masked_backward(rng):
    pre_activation = rng.standard_normal((7, 5))
    upstream = rng.standard_normal((7, 5))
    np.testing.assert_array_equal(relu_pass(pre_activation), np.where(pre_activation > 0, pre_activation, 0.0))
    expected = np.where(pre_activation > 0, 0.5 * upstream, 0.0)
    result = masked_scale_pass(upstream, pre_activation, 0.5)
    assert np.shares_memory(result, upstream), "the mask is applied in place"
    np.testing.assert_array_equal(result, expected)


def assert_same(ours, theirs, rtol=1e-11):
    assert ours[0] == pytest.approx(theirs[0], rel=rtol, abs=rtol)
    for a, b in zip(ours[1:], theirs[1:], strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(b)))))


requires_cuda = pytest.mark.skipif(not backend.cuda_available(), reason="needs a CUDA GPU or NUMBA_ENABLE_CUDASIM=1")


@pytest.mark.cuda
@requires_cuda
@pytest.mark.parametrize("n, d_in, m, d_out", [(1, 1, 1, 1), (3, 4, 5, 2)])
def test_cuda_twin_equals_numpy_reference_in_one_block(rng, n, d_in, m, d_out):
    X, Y = rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))
    U, V = rng.standard_normal((m, d_in)), rng.standard_normal((d_out, m))
    assert_same(two_layer_squared_error_gradient(X, Y, U, V, 0.3, backend="cuda"),
                two_layer_squared_error_gradient(X, Y, U, V, 0.3, backend="numpy"))


@pytest.fixture
def small_device_blocks(monkeypatch):
    """Blocks of 4 × 4 threads and product tiles of 4: small shapes then span several blocks per side."""
    from refimpl.core import cuda_kernels

    monkeypatch.setattr(cuda_kernels, "BLOCK", (4, 4))
    monkeypatch.setattr(cuda_kernels, "GEMM_TILE", 4)


@pytest.mark.cuda
@requires_cuda
@pytest.mark.parametrize("n, d_in, m, d_out", [(19, 11, 13, 9), (9, 17, 25, 1)])
def test_cuda_twin_on_a_grid_of_several_blocks(rng, small_device_blocks, n, d_in, m, d_out):
    """Odd shapes over 4 × 4 blocks and product tiles: every kernel's bounds checks, block offsets and the
    zero padding of partial tiles are exercised (each grid spans 1 to 7 blocks per side, inner dimensions
    of 1 to 25 cover one to seven tiles)."""
    X, Y = rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))
    U, V = rng.standard_normal((m, d_in)), rng.standard_normal((d_out, m))
    assert_same(two_layer_squared_error_gradient(X, Y, U, V, 0.7, backend="cuda"),
                two_layer_squared_error_gradient(X, Y, U, V, 0.7, backend="numpy"))


@pytest.mark.cuda
@requires_cuda
@pytest.mark.parametrize("transpose_a, transpose_b", [(False, False), (True, False), (False, True), (True, True)])
def test_tiled_product_matches_numpy_for_every_transpose(rng, small_device_blocks, transpose_a, transpose_b):
    from refimpl.core import cuda_kernels

    left, right = rng.standard_normal((7, 9)), rng.standard_normal((9, 6))
    A = left.T.copy() if transpose_a else left
    B = right.T.copy() if transpose_b else right
    product = cuda_kernels.matmul(*cuda_kernels.to_device(A, B), (7, 6), 0.5, transpose_a, transpose_b)
    np.testing.assert_allclose(product.copy_to_host(), 0.5 * left @ right, rtol=1e-13, atol=1e-13)
