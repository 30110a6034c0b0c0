"""What every torch cross-check needs: float64 autograd of a function and a tight comparison.

Imported only by ``test_*_torch.py`` modules, after ``pytest.importorskip("torch")``.
"""

import numpy as np
import torch

RTOL = 1e-10


def torch_gradients(function, *inputs, dout=None):
    """Value of ``function`` on float64 torch copies of ``inputs`` and the gradients of ⟨value, dout⟩
    (of the value itself when ``dout`` is None, for scalar functions)."""
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in inputs]
    value = function(*tensors)
    scalar = value if dout is None else (value * torch.tensor(dout)).sum()
    scalar.backward()
    return value.detach().numpy(), [t.grad.numpy() for t in tensors]


def assert_close(ours, theirs, rtol=RTOL):
    """Element-wise relative agreement ≤ ``rtol``, with an absolute floor of 1e-12 of each array's scale."""
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12 * max(1.0, np.max(np.abs(b))))
