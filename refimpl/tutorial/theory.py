r"""What the slides prove about gradient descent on a β-smooth loss, as checkable functions.

Assumption (β-smoothness): :math:`\|\nabla^2 L(\theta)\|_2 \le \beta` for every θ. For the linear
least-squares loss of :mod:`refimpl.tutorial.model` the Hessian is constant, so β is its largest
eigenvalue, computed here from the data.

Descent lemma (one step of :math:`\theta_{t+1} = \theta_t - \beta^{-1}\nabla L(\theta_t)`, from the
second-order Taylor expansion and :math:`\|\nabla^2 L\|_2 \le \beta`):

.. math:: L(\theta_{t+1}) \le L(\theta_t) - \frac{1}{2\beta} \|\nabla L(\theta_t)\|_2^2

Iteration complexity (summing the lemma over t = 0, …, T − 1 and using :math:`L(\theta_T) \ge L^*`):

.. math:: \min_{t < T} \|\nabla L(\theta_t)\|_2^2 \le \frac1T \sum_{t<T} \|\nabla L(\theta_t)\|_2^2
          \le \frac{2\beta\,(L(\theta_0) - L^*)}{T},

so :math:`T = \lceil 2\beta (L(\theta_0) - L^*)/\epsilon^2 \rceil = O(1/\epsilon^2)` steps reach an
ε-stationary point, :math:`\|\nabla L\|_2 \le \epsilon`.

The theorem holds for any β-smooth loss, not only for a quadratic. A loss whose Hessian varies,
to check it on: the logistic loss (:func:`logistic_loss`), with the computed bound β of
:func:`logistic_smoothness_constant` and plain GD on any loss (:func:`gradient_descent_trace`).
"""

from collections import namedtuple

import numpy as np

from refimpl.core.validate import as_float_array, check_finite_step, check_int, check_positive, check_shape

# The lemma is tight along the Hessian's top eigenvector (gap exactly 0 in exact arithmetic), so
# a gap within this fraction of the two terms compared is float64 rounding, not a violation.
ROUNDING_RTOL = 1e-12


def design_matrix(x):
    """The rows :math:`a_p = (x_p, 1)` of the linear model, shape (n, 2); x (n,), n >= 1."""
    x = as_float_array("x", x, ndim=1)
    if x.size == 0:
        raise ValueError("x must hold at least one point; got an empty array")
    return np.column_stack([x, np.ones_like(x)])


def hessian(x):
    r"""Hessian of :math:`L(m, c) = \frac{1}{2n}\sum_p (m x_p + c - y_p)^2`, constant in (m, c).

    .. math:: \nabla^2 L = \frac1n A^\top A = \begin{pmatrix} \overline{x^2} & \bar x \\ \bar x & 1 \end{pmatrix}

    Returns
    -------
    (2, 2) float64
    """
    A = design_matrix(x)
    return A.T @ A / len(A)


def smoothness_constant(x):
    r"""β = :math:`\lambda_{\max}(\nabla^2 L)`, the smallest β with :math:`\|\nabla^2 L\|_2 \le \beta`."""
    return float(np.linalg.eigvalsh(hessian(x))[-1])


def sample_smoothness_constant(x):
    r"""The largest β of the one-sample losses :math:`L_p = \frac12 (m x_p + c - y_p)^2`.

    :math:`\nabla^2 L_p = a_p a_p^\top` has rank one with eigenvalue :math:`\|a_p\|^2 = x_p^2 + 1`.
    A minibatch loss is an average of such terms, so this β bounds every minibatch Hessian too.
    """
    A = design_matrix(x)
    return float(np.max(np.sum(A**2, axis=1)))


def descent_lemma_gaps(loss_changes, grad_norms_sq, beta):
    r""":math:`L(\theta_{t+1}) - L(\theta_t) + \|\nabla L(\theta_t)\|^2/(2\beta)` for t = 0, …, T − 1.

    The lemma says every gap is ≤ 0.

    Parameters
    ----------
    loss_changes : (T,), :math:`L(\theta_{t+1}) - L(\theta_t)`; compute them without cancellation
        (:func:`refimpl.tutorial.model.linear_loss_change`), since near convergence they are far
        smaller than the losses themselves
    grad_norms_sq : (T,) or longer, :math:`\|\nabla L(\theta_t)\|^2` from t = 0
    beta : float
    """
    loss_changes = as_float_array("loss_changes", loss_changes, ndim=1)
    grad_norms_sq = as_float_array("grad_norms_sq", grad_norms_sq, ndim=1)
    beta = check_positive("beta", beta)
    T = len(loss_changes)
    if T == 0:
        raise ValueError("loss_changes must hold at least one step; got an empty array")
    if len(grad_norms_sq) < T:
        raise ValueError(f"grad_norms_sq must have at least len(loss_changes) = {T} entries; "
                         f"got {len(grad_norms_sq)}")
    return loss_changes + grad_norms_sq[:T] / (2.0 * beta)


def descent_lemma_violations(loss_changes, grad_norms_sq, beta, rtol=ROUNDING_RTOL, gradient_floor=0.0):
    r"""Number of steps whose gap exceeds rounding.

    A step violates the lemma when gap > (rtol + f/‖∇L‖) · (|ΔL| + ‖∇L‖²/(2β)), with f the
    ``gradient_floor``: the absolute rounding error of the computed gradient (and of the residuals
    the loss change is built from), so f/‖∇L‖ is their relative precision. Once ‖∇L‖ ≤ f, GD sits at
    the float64 optimum, the computed gradient is noise and no step is counted.
    """
    gaps = descent_lemma_gaps(loss_changes, grad_norms_sq, beta)
    grad_norms_sq = np.asarray(grad_norms_sq[:len(gaps)], dtype=np.float64)
    scale = np.abs(loss_changes) + grad_norms_sq / (2.0 * beta)
    floor = check_positive("gradient_floor", gradient_floor, allow_zero=True)
    precision = check_positive("rtol", rtol, allow_zero=True) + floor / np.maximum(np.sqrt(grad_norms_sq), 1e-300)
    return int(np.count_nonzero(gaps > precision * scale))


def stationarity_bound(excess_loss_0, beta, T):
    r""":math:`2\beta(L(\theta_0) - L^*)/T`, the bound on :math:`\min_{t<T}\|\nabla L(\theta_t)\|^2`.

    ``excess_loss_0`` is :math:`L(\theta_0) - L^*`; ``T`` is a step count or an array of them (integers ≥ 1).
    """
    T = as_float_array("T", T)
    if T.size == 0 or np.any(T < 1) or np.any(T != np.round(T)):
        raise ValueError(f"T must hold integer step counts >= 1; got {T if T.size <= 5 else T.ravel()[:5]} "
                         f"(shape {T.shape})")
    return 2.0 * check_positive("beta", beta) * check_positive("excess_loss_0", excess_loss_0, allow_zero=True) / T


def stationarity_violations(grad_norms_sq, excess_loss_0, beta, rtol=ROUNDING_RTOL, gradient_floor=0.0):
    r"""Number of T = 1, …, len(grad_norms_sq) at which :math:`\min_{t<T}\|\nabla L_t\|^2` exceeds the bound.

    At T = 1 the bound is tight when :math:`\theta_0 - \theta^*` is the Hessian's top eigenvector,
    so the comparison allows rounding: :math:`(\min_t \|\nabla L_t\| - f)^2 > (1 + \mathrm{rtol})\,
    2\beta(L_0 - L^*)/T` counts, with f the ``gradient_floor`` (absolute error of a computed gradient).
    """
    grad_norms_sq = as_float_array("grad_norms_sq", grad_norms_sq, ndim=1)
    if grad_norms_sq.size == 0:
        raise ValueError("grad_norms_sq must hold at least one step; got an empty array")
    T = np.arange(1, len(grad_norms_sq) + 1)
    bound = stationarity_bound(excess_loss_0, beta, T)
    floor = check_positive("gradient_floor", gradient_floor, allow_zero=True)
    smallest = np.maximum(np.sqrt(np.minimum.accumulate(grad_norms_sq)) - floor, 0.0) ** 2
    return int(np.count_nonzero(smallest > (1.0 + check_positive("rtol", rtol, allow_zero=True)) * bound))


def iterations_for_stationarity(epsilon, excess_loss_0, beta):
    r""":math:`T = \lceil 2\beta(L(\theta_0) - L^*)/\epsilon^2 \rceil`: after T steps some
    :math:`\|\nabla L(\theta_t)\| \le \epsilon`."""
    epsilon = check_positive("epsilon", epsilon)
    excess = check_positive("excess_loss_0", excess_loss_0, allow_zero=True)
    return int(np.ceil(2.0 * check_positive("beta", beta) * excess / epsilon**2))


def logistic_loss(w, X, y):
    r"""Logistic regression loss and its gradient, labels :math:`y_i \in \{-1, +1\}`:

    .. math:: L(w) = \frac1n \sum_{i=1}^n \log\big(1 + e^{-z_i}\big), \quad z_i = y_i\,x_i^\top w, \qquad
              \nabla L(w) = -\frac1n \sum_i \sigma(-z_i)\,y_i\,x_i,

    with :math:`\sigma(t) = 1/(1 + e^{-t})`, evaluated without overflow as
    :math:`\log(1 + e^{-z}) = \mathrm{logaddexp}(0, -z)` and :math:`\sigma(-z) = e^{-\mathrm{logaddexp}(0, z)}`.

    Parameters
    ----------
    w : (d,);  X : (n, d);  y : (n,), entries -1 or +1

    Returns
    -------
    loss : float;  gradient : (d,)
    """
    w, X, y = _check_logistic(w, X, y)
    z = y * (X @ w)
    return float(np.mean(np.logaddexp(0.0, -z))), -(X.T @ (y * np.exp(-np.logaddexp(0.0, z)))) / len(y)


def logistic_smoothness_constant(X):
    r"""A rigorous β for :func:`logistic_loss`: :math:`\lambda_{\max}(X^\top X) / (4n)`.

    .. math:: \nabla^2 L(w) = \frac1n X^\top \mathrm{diag}\big(\sigma(z_i)(1 - \sigma(z_i))\big) X
              \preceq \frac{1}{4n} X^\top X,

    since :math:`\sigma(1 - \sigma) \le 1/4` with equality at z = 0. The bound is the supremum of
    :math:`\|\nabla^2 L\|_2` over all w, attained at w = 0, for any labels.

    Parameters
    ----------
    X : (n, d)
    """
    X = _check_samples(X)
    return float(np.linalg.eigvalsh(X.T @ X)[-1] / (4 * len(X)))


def _check_samples(X):
    X = as_float_array("X", X, ndim=2)
    if X.size == 0:
        raise ValueError(f"X must hold at least one sample of at least one feature; got shape {X.shape}")
    return X


def _check_logistic(w, X, y):
    X = _check_samples(X)
    w = check_shape("w", as_float_array("w", w, ndim=1), (X.shape[1],), described="(d,)", context="to match X")
    y = check_shape("y", as_float_array("y", y, ndim=1), (len(X),), described="(n,)", context="to match X")
    if not np.all(np.abs(y) == 1):
        raise ValueError(f"y must hold labels -1 or +1; got values {np.unique(y)[:5]}")
    return w, X, y


GradientDescentTrace = namedtuple("GradientDescentTrace", "thetas losses grad_norms_sq loss_changes")
GradientDescentTrace.__doc__ = """GD iterates θ_0 … θ_T (T + 1, d); losses and ‖∇L‖² at each (T + 1,);
loss changes L(θ_{t+1}) - L(θ_t) (T,)."""


def gradient_descent_trace(loss_and_gradient, theta_0, step_size, steps):
    r"""Plain gradient descent :math:`\theta_{t+1} = \theta_t - \eta\,\nabla L(\theta_t)` on any loss.

    Parameters
    ----------
    loss_and_gradient : callable, θ (d,) -> (L(θ), ∇L(θ) (d,))
    theta_0 : (d,);  step_size : η > 0 (1/β for the descent lemma);  steps : T >= 0

    Returns
    -------
    :class:`GradientDescentTrace`; the loss changes are differences of computed losses, so compare them
    with a rounding allowance of a few ulps of the losses.
    """
    theta = as_float_array("theta_0", theta_0, ndim=1).copy()
    if theta.size == 0:
        raise ValueError("theta_0 must hold at least one parameter; got an empty array")
    if not callable(loss_and_gradient):
        raise TypeError(f"loss_and_gradient must be a function θ -> (loss, gradient); got {loss_and_gradient!r}")
    step_size, steps = check_positive("step_size", step_size), check_int("steps", steps, minimum=0)
    thetas, losses, grad_norms_sq = [theta], [], []
    for step in range(steps + 1):
        loss, gradient = loss_and_gradient(thetas[-1])
        check_finite_step(step, steps + 1, loss=loss, gradient=gradient)
        losses.append(loss)
        grad_norms_sq.append(float(gradient @ gradient))
        thetas.append(thetas[-1] - step_size * gradient)
    losses = np.array(losses)
    return GradientDescentTrace(np.array(thetas[:-1]), losses, np.array(grad_norms_sq), np.diff(losses))
