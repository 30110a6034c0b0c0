"""The kernel registry: registration, lazy CUDA entries, clear errors."""

import pytest

from refimpl.core import backend


def test_register_and_lazy_register_resolve():
    @backend.register("test_kernel_square", "numpy")
    def square(x):
        return x * x

    backend.register_lazy("test_kernel_square", "numba", "operator:mul")
    assert backend.get_kernel("test_kernel_square", "numpy") is square
    assert backend.get_kernel("test_kernel_square", "numba")(3, 4) == 12
    assert backend.backends_of("test_kernel_square") == ("numpy", "numba")
    assert "test_kernel_square" in backend.kernel_names()


def test_kernel_path_names_the_function_without_importing_a_lazy_entry():
    backend.register_lazy("test_kernel_path", "cuda", "refimpl_not_a_module.kernels:step")  # would fail to import
    assert backend.kernel_path("test_kernel_path", "cuda") == "refimpl_not_a_module.kernels.step"
    assert backend.kernel_path("conv2d_forward", "numba") == "refimpl.core.conv.conv2d_forward_numba"
    with pytest.raises(ValueError, match="backend must be one of 'cuda'; got 'numba'"):
        backend.kernel_path("test_kernel_path", "numba")


def test_unknown_kernel_and_backend_are_named():
    with pytest.raises(KeyError, match="name 'nope' is not a registered kernel"):
        backend.get_kernel("nope")
    with pytest.raises(ValueError, match="backend must be one of 'numpy', 'numba', 'cuda'; got 'opencl'"):
        backend.register("x", "opencl")


def test_cuda_backend_without_gpu_or_simulator_says_how_to_get_one(monkeypatch):
    backend.register_lazy("test_kernel_cuda_only", "cuda", "operator:add")
    monkeypatch.setattr(backend, "cuda_available", lambda: False)
    with pytest.raises(RuntimeError, match="NUMBA_ENABLE_CUDASIM=1"):
        backend.get_kernel("test_kernel_cuda_only", "cuda")


def _cube(x):
    return x**3


def _other_cube(x):
    return x * x * x


def test_a_second_function_under_a_registered_name_is_refused():
    backend.register("test_kernel_cube", "numpy")(_cube)
    backend.register("test_kernel_cube", "numpy")(_cube)  # the same function again (a module reload)
    with pytest.raises(ValueError, match=r"kernel named 'test_kernel_cube\[numpy\]' is already registered "
                                         r"\(tests.core.test_backend._cube\).*_other_cube"):
        backend.register("test_kernel_cube", "numpy")(_other_cube)
    backend.register_lazy("test_kernel_cube", "cuda", "operator:pow")
    with pytest.raises(ValueError, match=r"test_kernel_cube\[cuda\].*operator:pow.*operator:mul"):
        backend.register_lazy("test_kernel_cube", "cuda", "operator:mul")
    assert backend.get_kernel("test_kernel_cube", "numpy") is _cube
