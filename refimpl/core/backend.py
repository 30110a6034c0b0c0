"""One name, several implementations: the kernel registry.

Every hot loop of the library exists twice (``"numpy"``: a readable, vectorised reference;
``"numba"``: a jitted kernel) and, where the design asks for it, a third time (``"cuda"``: a
``numba.cuda`` kernel). All are registered under one name and called alike; callers choose with
``backend=``::

    from refimpl.core import backend

    @backend.register("two_layer_squared_error_gradient", "numpy")
    def _reference(X, Y, U, V, scale): ...

    kernel = backend.get_kernel("two_layer_squared_error_gradient", backend="numba")

CUDA implementations are registered by import path (``register_lazy``) so that ``numba.cuda`` is
imported only when a CUDA kernel is asked for. Tests prove that the implementations agree.

Set ``NUMBA_DISABLE_JIT=1`` to run every ``"numba"`` kernel as plain Python and step through it in a
debugger; set ``NUMBA_ENABLE_CUDASIM=1`` (before numba is imported) to run the ``"cuda"`` kernels on
the CPU simulator.
"""

import importlib
from contextlib import contextmanager

from refimpl.core.validate import check_choice, check_int, check_unregistered

BACKENDS = ("numpy", "numba", "cuda")

_kernels = {}  # name -> {backend: callable or "module:attribute"}


def register(name, backend):
    """Decorator registering ``function`` as the ``backend`` implementation of kernel ``name``."""
    check_choice("backend", backend, BACKENDS)

    def decorate(function):
        _add(name, backend, function)
        return function

    return decorate


def register_lazy(name, backend, target):
    """Register ``"package.module:attribute"`` as the ``backend`` implementation of ``name``.

    The module is imported on the first :func:`get_kernel` call that asks for it.
    """
    check_choice("backend", backend, BACKENDS)
    _add(name, backend, target)


def _add(name, backend, implementation):
    implementations = _kernels.setdefault(name, {})
    if backend in implementations:
        check_unregistered("kernel", f"{name}[{backend}]", implementations[backend], implementation)
        if not isinstance(implementations[backend], str):
            return  # the same function again (a module reload): keep the resolved entry
    implementations[backend] = implementation


def get_kernel(name, backend="numba"):
    """Return the ``backend`` implementation of kernel ``name``.

    Raises
    ------
    KeyError
        If no kernel of that name is registered.
    ValueError
        If ``backend`` is not one of the registered implementations of ``name``.
    RuntimeError
        If ``backend`` is ``"cuda"`` and neither a GPU nor the CUDA simulator is available.
    """
    if name not in _kernels:
        raise KeyError(f"name {name!r} is not a registered kernel; registered: {', '.join(sorted(_kernels))}")
    implementations = _kernels[name]
    check_choice("backend", backend, backends_of(name))
    if backend == "cuda" and not cuda_available():
        raise RuntimeError(
            f"backend='cuda' for {name!r} needs a CUDA GPU with the numba-cuda package "
            "(pip install 'refimpl[cuda]'), or NUMBA_ENABLE_CUDASIM=1 set before numba is imported"
        )
    implementation = implementations[backend]
    if isinstance(implementation, str):
        module_name, attribute = implementation.split(":")
        implementation = getattr(importlib.import_module(module_name), attribute)
        implementations[backend] = implementation
    return implementation


def backends_of(name):
    """The backends that implement kernel ``name``, in the order numpy, numba, cuda."""
    return tuple(b for b in BACKENDS if b in _kernels.get(name, {}))


def kernel_path(name, backend):
    """``"package.module.function"`` of the ``backend`` implementation of kernel ``name``, without importing a
    lazily registered one (the documentation lists the CUDA twins on machines without numba-cuda)."""
    if name not in _kernels:
        raise KeyError(f"name {name!r} is not a registered kernel; registered: {', '.join(sorted(_kernels))}")
    check_choice("backend", backend, backends_of(name))
    implementation = _kernels[name][backend]
    if isinstance(implementation, str):
        return implementation.replace(":", ".")
    function = getattr(implementation, "py_func", implementation)  # a numba dispatcher: the Python function
    return f"{function.__module__}.{function.__qualname__}"


def kernel_names():
    """Sorted names of every registered kernel."""
    return sorted(_kernels)


def cuda_available():
    """True when ``numba.cuda`` can run kernels: a GPU is present or the simulator is enabled."""
    try:
        from numba import cuda
    except ImportError:
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver install reports itself in many ways; none can run kernels
        return False


@contextmanager
def numba_threads(count):
    """Run the numba kernels inside the block on at most ``count`` threads (never more than numba has).

    Kernels that split their work into fewer parts than numba has threads, and benchmarks that time one
    thread beside all, use this rather than changing the global setting for good.
    """
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(min(check_int("count", count, minimum=1), previous))
    try:
        yield
    finally:
        numba.set_num_threads(previous)
