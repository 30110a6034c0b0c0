r"""First-order optimisers that update a dict of parameter arrays in place.

::

    optimiser = Adam(lr=1e-3)
    optimiser.step(params, grads)        # params, grads: {name: ndarray}, same keys and shapes
    saved = optimiser.state_dict()       # plain dict of numbers and arrays (copies)
    Adam(lr=1e-3).load_state_dict(saved) # resumes exactly where ``saved`` left off

Gradient *ascent* (a critic maximising its objective) is a step on the negated gradients.
"""

import copy

import numpy as np

from refimpl.core.validate import check_positive, check_real


class Optimizer:
    """Common state handling: hyper-parameters, a step counter and per-parameter buffers."""

    def __init__(self, lr):
        self.lr = check_positive("lr", lr)
        self.t = 0
        self.buffers = {}  # name -> {buffer name: ndarray}

    def step(self, params, grads):
        """Update every array of ``params`` in place from the gradient of the same name."""
        missing = set(params) - set(grads)
        if missing:
            raise ValueError(f"grads is missing the parameter(s) {sorted(missing)}")
        for name, param in params.items():
            check_update(name, param, grads[name])
        self.t += 1
        for name, param in params.items():
            param -= self._update(name, param, grads[name])

    def _update(self, name, param, grad):
        raise NotImplementedError

    def _buffer(self, name, key, like):
        return self.buffers.setdefault(name, {}).setdefault(key, np.zeros_like(like))

    def state_dict(self):
        """A deep copy of everything needed to resume: hyper-parameters, step count, buffers."""
        return copy.deepcopy({k: v for k, v in vars(self).items()})

    def load_state_dict(self, state):
        """Restore a state produced by :meth:`state_dict` of the same optimiser class."""
        unknown = set(state) - set(vars(self))
        if unknown:
            raise ValueError(f"state has keys {sorted(unknown)} unknown to {type(self).__name__}")
        vars(self).update(copy.deepcopy(state))
        return self


def check_update(name, param, grad):
    """Check one (parameter, gradient) pair of an update, as :meth:`Optimizer.step` does for each.

    A parameter must be a real floating array (it is updated in place); its gradient a real array of its
    shape. NaN or inf values are not refused here: the training loops stop on a non-finite loss."""
    if not isinstance(param, np.ndarray) or param.dtype.kind != "f":
        raise TypeError(f"params[{name!r}] must be a floating-point ndarray (updated in place); got "
                        f"{type(param).__name__}{'' if not isinstance(param, np.ndarray) else ' of dtype ' + str(param.dtype)}")
    if not isinstance(grad, np.ndarray) or grad.dtype.kind not in "fiu":
        raise TypeError(f"grads[{name!r}] must be a real ndarray; got {type(grad).__name__}"
                        f"{'' if not isinstance(grad, np.ndarray) else ' of dtype ' + str(grad.dtype)}")
    if grad.shape != param.shape:
        raise ValueError(f"grads[{name!r}] must have the shape of params[{name!r}] = {param.shape}; got {grad.shape}")


class SGD(Optimizer):
    r"""Plain (stochastic) gradient descent, :math:`\theta \leftarrow \theta - \eta\, g`."""

    def _update(self, name, param, grad):
        return self.lr * grad


class Momentum(Optimizer):
    r"""Heavy-ball momentum (Polyak 1964), optionally Nesterov's variant.

    .. math:: v \leftarrow \mu v + g, \qquad \theta \leftarrow \theta - \eta\,v
              \quad(\text{Nesterov: } \theta \leftarrow \theta - \eta\,(g + \mu v))
    """

    def __init__(self, lr, momentum=0.9, nesterov=False):
        super().__init__(lr)
        self.momentum = check_real("momentum", momentum)
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1); got {momentum!r}")
        self.nesterov = bool(nesterov)

    def _update(self, name, param, grad):
        velocity = self._buffer(name, "velocity", param)
        velocity *= self.momentum
        velocity += grad
        return self.lr * (grad + self.momentum * velocity if self.nesterov else velocity)


class Adam(Optimizer):
    r"""Adam (Kingma and Ba 2015) with bias correction.

    .. math::
        m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \quad
        \theta \leftarrow \theta - \eta\, \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}
    """

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= check_real(name, value) < 1:
                raise ValueError(f"{name} must be in [0, 1); got {value!r}")
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self.eps = check_positive("eps", eps)

    def _update(self, name, param, grad):
        first = self._buffer(name, "first_moment", param)
        second = self._buffer(name, "second_moment", param)
        first += (1.0 - self.beta1) * (grad - first)
        second += (1.0 - self.beta2) * (grad**2 - second)
        first_unbiased = first / (1.0 - self.beta1**self.t)
        second_unbiased = second / (1.0 - self.beta2**self.t)
        return self.lr * first_unbiased / (np.sqrt(second_unbiased) + self.eps)


OPTIMISERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
"""Optimiser classes by the names experiments use in their settings."""
