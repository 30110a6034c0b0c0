r"""The cell's element-wise hot loops, fused by numba: the Adam update and the leaky-ReLU passes.

One cell step updates all of G and D (551 009 parameters at the paper's widths). NumPy's Adam
(:class:`refimpl.core.optim.Adam`) makes six passes with temporaries over each array; the numba twin makes
one, in place:

.. math::
    m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \quad
    \theta \leftarrow \theta - \eta\, \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}

Registered as kernel ``"coevo_adam_update"``; both twins take
``(param, grad, first, second, lr, beta1, beta2, eps, t)`` with the four arrays of one shape and dtype and
update ``param``, ``first``, ``second`` in place. :class:`CellAdam` is core's Adam with this kernel inside
its step; its ``state_dict`` is core Adam's (buffers ``first_moment``/``second_moment``, ``t``, ``lr``).

Kernel ``"coevo_leaky_relu_backward"``, :math:`\delta \leftarrow \delta \odot (1\{a > 0\} + s\,1\{a \le 0\})`,
takes ``(dout, pre_activation, slope)`` of one shape and keeps the dtype of ``dout`` (the numba twin writes
into ``dout``); both multiply by the float64 slope and round the product once, so float32 runs give the numbers
they gave before core's ``leaky_relu_backward`` kept float32 in float32.
Kernel ``"coevo_bias_leaky_relu"``, :math:`a = p + b,\ h = \max(a, s a)`, takes the product ``p = x Wᵀ`` (n, m)
and the bias (m,) and returns ``(h, a)``: the bias and the activation in one pass instead of four.
Kernel ``"coevo_tanh_backward"``, :math:`\delta \leftarrow \delta \odot (1 - y^2)` with :math:`y = \tanh a`
the forward output, takes ``(dout, output)`` of one shape and dtype (the numba twin writes into ``dout``): one
pass instead of three, the reference's operations in its order, so the twins agree to the bit.

The numba twins use ``error_model="numpy"``: a division by zero gives inf or NaN as in NumPy instead of a
check before every division (none can occur here: the Adam denominators are at least ``eps`` and
:math:`1 - \beta^t`), which lets LLVM vectorise the loops (the Adam pass runs several times faster); the
results are the same IEEE operations, to the bit.
"""

import numpy as np
from numba import njit

from refimpl.core.backend import get_kernel, register
from refimpl.core import unchecked as nn
from refimpl.core.optim import Adam, check_update
from refimpl.core.validate import check_choice

__all__ = ["CellAdam"]  # the twins below are registered kernels, called through core.backend

KERNEL = "coevo_adam_update"
LEAKY_RELU_BACKWARD = "coevo_leaky_relu_backward"
BIAS_LEAKY_RELU = "coevo_bias_leaky_relu"
TANH_BACKWARD = "coevo_tanh_backward"


@register(KERNEL, "numpy")
def adam_update_numpy(param, grad, first, second, lr, beta1, beta2, eps, t):
    """The reference: core's :class:`~refimpl.core.optim.Adam` arithmetic, on these buffers, in place."""
    optimiser = Adam(1.0, beta1, beta2, eps)
    optimiser.lr, optimiser.t = lr, t - 1  # lr may have mutated to 0, which the constructor refuses
    optimiser.buffers = {"p": {"first_moment": first, "second_moment": second}}
    optimiser.step({"p": param}, {"p": grad})


@register(KERNEL, "numba")
def adam_update_numba(param, grad, first, second, lr, beta1, beta2, eps, t):
    """numba twin: one pass over the flattened arrays, in the arrays' dtype, in the reference's order of
    operations (so float32 stays float32, and the results agree with the reference to the last bit)."""
    dtype = param.dtype.type
    _adam_update(param.reshape(-1), grad.reshape(-1), first.reshape(-1), second.reshape(-1), dtype(lr),
                 dtype(1.0 - beta1), dtype(1.0 - beta2), dtype(eps), dtype(1.0 - beta1**t), dtype(1.0 - beta2**t))


@njit(cache=True, error_model="numpy")
def _adam_update(param, grad, first, second, lr, keep1, keep2, eps, bias1, bias2):
    for i in range(param.size):
        g = grad[i]
        m = first[i] + keep1 * (g - first[i])
        v = second[i] + keep2 * (g * g - second[i])
        first[i] = m
        second[i] = v
        param[i] -= lr * (m / bias1) / (np.sqrt(v / bias2) + eps)


class CellAdam(Adam):
    """Core's Adam whose step runs the ``backend`` twin of kernel ``"coevo_adam_update"``.

    The backend is not part of :meth:`state_dict`, so a state saved here loads into core's Adam and back.
    """

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, backend="numba"):
        super().__init__(lr, beta1, beta2, eps)
        self._backend = check_choice("backend", backend, ("numpy", "numba"))

    def step(self, params, grads):
        """Update every array of ``params`` in place from the gradient of the same name.

        Checks what core's Adam checks (floating arrays, one shape per pair); NaN or inf values are not refused
        here: the training loops stop on a non-finite loss.
        """
        if not isinstance(params, dict) or not isinstance(grads, dict):
            raise TypeError(f"params and grads must be dicts of arrays; got {type(params).__name__} and "
                            f"{type(grads).__name__}")
        missing = set(params) - set(grads)
        if missing:
            raise ValueError(f"grads is missing the parameter(s) {sorted(missing)}")
        for name, param in params.items():
            check_update(name, param, grads[name])
        self._step(params, grads)

    def _step(self, params, grads):
        """:meth:`step` without the checks, for the cell's training loop (its arrays come from its own networks)."""
        self.t += 1
        kernel = get_kernel(KERNEL, self._backend)
        for name, param in params.items():
            if name not in self.buffers:  # core's _buffer allocates its default on every call: only once here
                self.buffers[name] = {"first_moment": np.zeros_like(param), "second_moment": np.zeros_like(param)}
            moments = self.buffers[name]
            kernel(param, grads[name], moments["first_moment"], moments["second_moment"], self.lr, self.beta1,
                   self.beta2, self.eps, self.t)

    def state_dict(self):
        """Core Adam's state: hyper-parameters, step count and buffers (copies), without the backend."""
        state = super().state_dict()
        del state["_backend"]
        return state


@register(LEAKY_RELU_BACKWARD, "numpy")
def leaky_relu_backward_numpy(dout, pre_activation, slope):
    """The reference: core's ``leaky_relu_backward`` in float64 (the slope is not rounded to float32), returned in
    the dtype of ``dout``."""
    pre_activation = pre_activation.astype(np.float64, copy=False)
    return nn.leaky_relu_backward(dout, (pre_activation, slope)).astype(dout.dtype, copy=False)


@register(LEAKY_RELU_BACKWARD, "numba")
def leaky_relu_backward_numba(dout, pre_activation, slope):
    """numba twin: one pass, written into ``dout`` (which must be C-contiguous) and returned."""
    # a float64 slope, as the reference's: products in float64, rounded once (also with NUMBA_DISABLE_JIT=1)
    _leaky_relu_backward(dout.reshape(-1), np.ascontiguousarray(pre_activation).reshape(-1), np.float64(slope))
    return dout


@njit(cache=True, error_model="numpy")
def _leaky_relu_backward(dout, pre_activation, slope):
    for i in range(dout.size):
        if pre_activation[i] <= 0:
            dout[i] *= slope


@register(BIAS_LEAKY_RELU, "numpy")
def bias_leaky_relu_numpy(product, bias, slope):
    """The reference: the bias of core's ``affine_forward``, then core's ``leaky_relu_forward``."""
    pre_activation = product + bias
    return nn.leaky_relu_forward(pre_activation, slope)[0], pre_activation


@register(BIAS_LEAKY_RELU, "numba")
def bias_leaky_relu_numba(product, bias, slope):
    """numba twin: adds the bias into ``product`` (which becomes the pre-activation) and writes the activation.

    The slope is cast to the arrays' dtype, as NumPy does with a Python float, so the twins agree to the bit.
    """
    out = np.empty_like(product)
    _bias_leaky_relu(product, bias, product.dtype.type(slope), out)
    return out, product


@njit(cache=True, error_model="numpy")
def _bias_leaky_relu(product, bias, slope, out):
    n, m = product.shape
    for i in range(n):
        for j in range(m):
            a = product[i, j] + bias[j]
            product[i, j] = a
            out[i, j] = a if a > 0 else slope * a


@register(TANH_BACKWARD, "numpy")
def tanh_backward_numpy(dout, output):
    """The reference: core's ``tanh_backward`` (cache = the forward output)."""
    return nn.tanh_backward(dout, output)


@register(TANH_BACKWARD, "numba")
def tanh_backward_numba(dout, output):
    """numba twin: one pass, written into ``dout`` (C-contiguous, the dtype of ``output``) and returned."""
    _tanh_backward(dout.reshape(-1), np.ascontiguousarray(output).reshape(-1), output.dtype.type(1.0))
    return dout


@njit(cache=True, error_model="numpy")
def _tanh_backward(dout, output, one):
    for i in range(dout.size):
        y = output[i]
        dout[i] = dout[i] * (one - y * y)
