r"""Gradient flow and gradient descent-ascent (GDA) of the PRD model (eq. 3).

The generator follows :math:`\dot U = -\partial L/\partial U`, :math:`\dot V = -\partial L/\partial V`
with L = L_sup ("without diffusion") or L = L_aug ("with diffusion"); the critic (W, a) is either frozen
or *ascends* the WGAN objective :func:`refimpl.prd.model.critic_objective`, regularised by projection
onto :math:`\|W\|_F \le L` (the theory, Theorem 2) or by the gradient penalty (the paper's practice).

Two integrators: explicit Euler with step ``dt`` (:func:`train`, the gradients from the numba twins;
what the experiments run) and, for small problems without projection or penalty, the continuous flow
through :func:`scipy.integrate.solve_ivp` (:func:`integrate_flow`); the tests check that they agree on
short horizons. :func:`joint_field` is the flow's vector field on one flat vector, also used for the
Jacobian spectrum in :mod:`refimpl.prd.theory`.

Validation happens once, at the public entry (:func:`train`, :func:`integrate_flow`, :func:`flat_field`);
the loops inside call only the unchecked private functions of :mod:`refimpl.prd.model` with the gradient
kernel looked up before the first step, so stepping through a training step with a debugger stays in
this file, :mod:`refimpl.prd.model` and the kernel.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from refimpl.core.backend import get_kernel
from refimpl.core.validate import (
    as_float_array,
    check_choice,
    check_finite_step,
    check_int,
    check_positive,
    check_rng,
    check_shape,
)
from refimpl.prd import model
from refimpl.prd.kernels import SUPERVISED


@dataclass(frozen=True)
class CriticSettings:
    """How the adversary moves. All values are our choices (the paper publishes none of them).

    rate : critic ascent step relative to the generator step ``dt`` (0 freezes the critic)
    regulariser : "projection" (‖W‖_F ≤ bound, Theorem 2), "penalty" (WGAN-GP, weight ``penalty``) or "none"
    bound : L of the projection;  penalty : λ_GP (10 in Gulrajani et al.);  steps : critic steps per
    generator step (n_critic);  weight : β ≥ 0, the generator descends L_sup − β L_adv (1: L_aug, eq. 2)
    """

    rate: float = 1.0
    regulariser: str = "penalty"
    bound: float = 1.0
    penalty: float = 10.0
    steps: int = 1
    weight: float = 1.0

    def __post_init__(self):
        check_positive("rate", self.rate, allow_zero=True)
        check_choice("regulariser", self.regulariser, ("projection", "penalty", "none"))
        check_positive("bound", self.bound)
        check_positive("penalty", self.penalty, allow_zero=True)
        check_int("steps", self.steps, minimum=1)
        check_positive("weight", self.weight, allow_zero=True)


@dataclass
class Trajectory:
    """What :func:`train` records at its checkpoints (arrays over checkpoints) and the final state.

    times : (k,) flow time t = step·dt;  drift_max, drift_mean : max_j and mean_j ‖u_j(t) − u_j(0)‖;
    drift_U, drift_V : ‖U(t) − U(0)‖_F, ‖V(t) − V(0)‖_F;  residual : ‖Z(t) − Y‖_F;  loss_sup, loss_adv;
    neuron_drift : (k, m) ‖u_j(t) − u_j(0)‖ for every neuron;  U, V, W, a : the final parameters.
    """

    times: np.ndarray
    drift_max: np.ndarray
    drift_mean: np.ndarray
    drift_U: np.ndarray
    drift_V: np.ndarray
    residual: np.ndarray
    loss_sup: np.ndarray
    loss_adv: np.ndarray
    neuron_drift: np.ndarray
    U: np.ndarray
    V: np.ndarray
    W: np.ndarray = None
    a: np.ndarray = None


def generator_field(X, Y, U, V, W=None, a=None, backend="numba"):
    """The generator's flow −∇L: L_sup when W is None (no diffusion), else L_aug. Returns (L, U̇, V̇)."""
    X, U, V, Y, W, a = model.check_problem(X, U, V, Y=Y, W=W, a=a, required=("Y",))
    return _generator_field(X, Y, U, V, W, a, get_kernel(SUPERVISED, backend))


def _generator_field(X, Y, U, V, W, a, supervised):
    if W is None:
        loss, dU, dV = model._supervised_gradient(X, Y, U, V, supervised)
    else:
        parts = model._augmented_parts(X, Y, U, V, W, a, supervised)
        loss, dU, dV = parts.loss_sup - parts.loss_adv, parts.dU, parts.dV
    return loss, -dU, -dV


def critic_step(rng, Y, Z, W, a, critic, step_size):
    """One ascent step of the critic on J (with its regulariser); returns the new (W, a).

    Y : (n, d_out) real samples;  Z : (n, d_out) generator outputs;  W : (m_c, d_out), a : (m_c,);
    critic : :class:`CriticSettings`;  step_size ≥ 0;  rng draws the gradient penalty's interpolates.
    """
    Y, W, a = model.check_critic(Y, W, a)
    Z = check_shape("Z", as_float_array("Z", Z, ndim=2), Y.shape, described="(n, d_out)", context="to match Y")
    if not isinstance(critic, CriticSettings):
        raise TypeError(f"critic must be a CriticSettings; got {type(critic).__name__}")
    rng = _check_optional_rng(rng, critic.regulariser == "penalty" and critic.penalty > 0)
    return _critic_step(rng, Y, Z, W, a, critic, check_positive("step_size", step_size, allow_zero=True))


def _check_optional_rng(rng, needed):
    """A Generator for ``rng`` (an int seed or a Generator), None where it is None and not ``needed``."""
    if rng is None and needed:
        raise ValueError("a critic with the gradient penalty needs rng (a numpy Generator or an int seed) "
                         "for its interpolates")
    return None if rng is None else check_rng("rng", rng)


def _critic_step(rng, Y, Z, W, a, critic, step_size):
    penalty = critic.penalty if critic.regulariser == "penalty" else 0.0
    Y_hat = model._interpolates(rng, Y, Z) if penalty > 0 else None
    _, dW, da = model._critic_objective(Y, Z, W, a, penalty, Y_hat)
    W, a = W + step_size * dW, a + step_size * da
    if critic.regulariser == "projection":
        W = model._project_critic(W, critic.bound)
    return W, a


def train(X, Y, U, V, *, dt, steps, adversarial, W=None, a=None, critic=None, train_V=True, rng=None,
          checkpoints=50, backend="numba", progress=None):
    r"""Explicit Euler on the flow (eq. 3): :math:`\theta_{k+1} = \theta_k - dt\,\nabla L(\theta_k)`.

    Parameters
    ----------
    X : (n, d_in) unit rows;  Y : (n, d_out);  U : (m, d_in);  V : (d_out, m): the initial generator
    dt : step; steps : number of steps; adversarial : L_aug (True, needs W, a) or L_sup (False)
    W : (m_c, d_out), a : (m_c,) the initial critic;  critic : :class:`CriticSettings` (None: frozen)
    train_V : False freezes the top layer (the setting of Theorems 1-2)
    rng : numpy Generator, needed for the gradient penalty's interpolates
    checkpoints : number of recorded points (plus t = 0);  progress : wraps the step loop (a tqdm-like)

    Stability is the caller's choice of ``dt``: near initialisation the linearised supervised flow has
    the kernel H∞ (:func:`refimpl.prd.theory.gram_infinity`) for d_out = 1 with V frozen, so Euler is
    stable for dt < 2/λ_max(H∞) (the experiments use 0.5/λ_max and 1/λ_max). An unstable dt stops
    with ``FloatingPointError`` naming the step where the loss became non-finite.
    backend : the gradient twins, "numpy", "numba" or "cuda" (`refimpl bench prd` says which is faster where)

    Everything is validated here, once; the steps call only unchecked private functions.

    Returns
    -------
    :class:`Trajectory`
    """
    X, U, V, Y, W, a = model.check_problem(X, U, V, Y=Y, W=W, a=a, required=("Y",))
    dt, steps = check_positive("dt", dt), check_int("steps", steps, minimum=1)
    checkpoints = check_int("checkpoints", checkpoints, minimum=1)
    if adversarial and W is None:
        raise ValueError("adversarial=True needs the critic's W (m_c, d_out) and a (m_c,)")
    if critic is not None and not isinstance(critic, CriticSettings):
        raise TypeError(f"critic must be a CriticSettings or None; got {type(critic).__name__}")
    training_critic = adversarial and critic is not None and critic.rate > 0
    rng = _check_optional_rng(rng, training_critic and critic.regulariser == "penalty" and critic.penalty > 0)
    if training_critic and critic.regulariser == "projection":
        W = model._project_critic(W, critic.bound)
    weight = 1.0 if critic is None else critic.weight
    rows = _euler(X, Y, U, V, W, a, dt, steps, (adversarial, weight), critic if training_critic else None, train_V,
                  rng, checkpoints, get_kernel(SUPERVISED, backend), progress)
    columns = list(zip(*rows[:-1]))
    arrays = [np.array(c) for c in columns[:-1]] + [np.stack(columns[-1])]
    return Trajectory(*arrays, *rows[-1])


def _euler(X, Y, U, V, W, a, dt, steps, adversary, critic, train_V, rng, checkpoints, supervised, progress):
    """The loop of :func:`train` (its arguments validated, ``supervised`` the kernel function, ``adversary``
    the pair (adversarial, weight β)); returns the checkpoint rows and, last, the final (U, V, W, a)."""
    (adversarial, weight), (U0, V0) = adversary, (U.copy(), V.copy())
    record_at = set(np.unique(np.linspace(0, steps, checkpoints + 1).astype(int)).tolist())
    rows = []
    loop = range(steps + 1) if progress is None else progress(range(steps + 1))
    for step in loop:
        if adversarial:
            loss_sup, loss_adv, dU, dV, _, _, Z = model._augmented_parts(X, Y, U, V, W, a, supervised, weight)
        else:
            (loss_sup, dU, dV), loss_adv = model._supervised_gradient(X, Y, U, V, supervised), 0.0
        if not (math.isfinite(loss_sup) and math.isfinite(loss_adv)):  # the check only builds the message
            check_finite_step(step, steps, loss_sup=loss_sup, loss_adv=loss_adv)  # 0-based step, as the foundation
        if step in record_at:
            neuron_drift = np.linalg.norm(U - U0, axis=1)
            rows.append((step * dt, neuron_drift.max(), neuron_drift.mean(), np.linalg.norm(U - U0),
                         np.linalg.norm(V - V0), np.sqrt(2.0 * loss_sup), loss_sup, loss_adv, neuron_drift))
        if step == steps:
            break
        if critic is not None:  # simultaneous descent-ascent: both players see the same (U, V, W, a)
            for _ in range(critic.steps):
                W, a = _critic_step(rng, Y, Z, W, a, critic, critic.rate * dt)
        U = U - dt * dU
        if train_V:
            V = V - dt * dV
    return rows + [(U, V, W, a)]


# ------------------------------------------------------------------------ flat fields, solve_ivp
def pack(*arrays):
    """Concatenate finite arrays into one flat vector; :func:`unpack` with their shapes undoes it."""
    return _pack(*(as_float_array(f"arrays[{i}]", v) for i, v in enumerate(arrays)))


def _pack(*arrays):
    return np.concatenate([np.ravel(v) for v in arrays])


def unpack(vector, shapes):
    """Split a flat vector into arrays of the given shapes (views of ``vector``); undoes :func:`pack`."""
    vector, size = as_float_array("vector", vector, ndim=1), _state_size(shapes)
    if vector.size != size:
        raise ValueError(f"vector must have shape ({size},) to match shapes {list(shapes)}; got {vector.shape}")
    return _unpack(vector, shapes)


def _state_size(shapes):
    """The number of entries of a state of arrays of ``shapes`` (a list of tuples of non-negative ints)."""
    try:
        sizes = [math.prod(check_int("shapes", n, minimum=0) for n in shape) for shape in shapes]
    except TypeError as error:
        raise TypeError(f"shapes must be a list of shapes (tuples of ints); got {shapes!r}") from error
    return sum(sizes)


def _unpack(vector, shapes):
    out, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(vector[start:start + size].reshape(shape))
        start += size
    return out


def _check_epsilon(epsilon, penalty, moving, n):
    """The fixed interpolation weights (n, 1), needed when a moving critic has a gradient penalty."""
    if penalty == 0 or not moving:
        return epsilon
    if epsilon is None:
        raise ValueError("a moving critic with penalty > 0 needs epsilon (n, 1), the fixed interpolation weights")
    return check_shape("epsilon", as_float_array("epsilon", epsilon, ndim=2), (n, 1), described="(n, 1)",
                       context=f"to match X with n = {n}")


def joint_field(vector, X, Y, shapes, *, adversarial, critic_rate=0.0, train_V=True, frozen=None, penalty=0.0,
                epsilon=None, backend="numpy"):
    r"""The flow on a flat state: generator descent, and (``critic_rate`` > 0) critic ascent on J.

    ``shapes`` lists the shapes of the state's arrays: (U, V) for the generator alone (the critic, if
    ``adversarial``, is ``frozen = (W, a)``) or (U, V, W, a) when the critic moves with the flow.
    ``penalty`` > 0 adds the gradient penalty at fixed interpolates :math:`\epsilon_p y_p + (1-\epsilon_p) z_p`
    (``epsilon`` (n, 1)), so that the field is deterministic. Returns the flat time derivative.
    Validated at every call; loops that evaluate the field many times use :func:`flat_field`.
    """
    critic_rate = check_positive("critic_rate", critic_rate, allow_zero=True)
    penalty = check_positive("penalty", penalty, allow_zero=True)
    moving = len(shapes) == 4
    vector = as_float_array("vector", vector, ndim=1)
    parts = unpack(vector, shapes)
    W, a = (parts[2], parts[3]) if moving else (frozen if frozen is not None else (None, None))
    X, _, _, Y, W, a = model.check_problem(X, parts[0], parts[1], Y=Y, W=W, a=a, required=("Y",))
    epsilon = _check_epsilon(epsilon, penalty, moving, X.shape[0])
    return _joint_field(vector, X, Y, shapes, adversarial=adversarial, critic_rate=critic_rate, train_V=train_V,
                        frozen=(W, a), penalty=penalty, epsilon=epsilon, supervised=get_kernel(SUPERVISED, backend))


def _joint_field(vector, X, Y, shapes, *, adversarial, critic_rate, train_V, frozen, penalty, epsilon, supervised):
    parts = _unpack(vector, shapes)
    U, V = parts[0], parts[1]
    W, a = (parts[2], parts[3]) if len(parts) == 4 else frozen
    _, dU, dV = _generator_field(X, Y, U, V, W if adversarial else None, a, supervised)
    derivatives = [dU, dV if train_V else np.zeros_like(dV)]
    if len(parts) == 4:
        Z = model._generator_forward(X, U, V)
        Y_hat = epsilon * Y + (1.0 - epsilon) * Z if penalty > 0 else None
        _, dW, da = model._critic_objective(Y, Z, W, a, penalty, Y_hat)
        derivatives += [critic_rate * dW, critic_rate * da]
    return _pack(*derivatives)


def flat_field(X, Y, U, V, *, adversarial, W=None, a=None, critic_rate=0.0, train_V=True, penalty=0.0, epsilon=None,
               backend="numpy"):
    """The field of :func:`joint_field` at the problem (X, Y), validated once, for loops that evaluate it many
    times (``solve_ivp``, a finite-difference Jacobian).

    The critic moves with the flow (state (U, V, W, a)) when ``adversarial`` and ``critic_rate`` > 0, else it
    is frozen (state (U, V); with ``adversarial`` the critic (W, a) is a constant of the field).

    Returns
    -------
    field : function, flat state (k,) → its unchecked time derivative (k,)
    state : (k,), the flat initial state ``pack(U, V[, W, a])``
    shapes : list of the shapes of the state's arrays
    """
    X, U, V, Y, W, a = model.check_problem(X, U, V, Y=Y, W=W, a=a, required=("Y",))
    if adversarial and W is None:
        raise ValueError("adversarial=True needs the critic's W (m_c, d_out) and a (m_c,)")
    critic_rate = check_positive("critic_rate", critic_rate, allow_zero=True)
    penalty = check_positive("penalty", penalty, allow_zero=True)
    moving = adversarial and critic_rate > 0
    epsilon = _check_epsilon(epsilon, penalty, moving, X.shape[0])
    state = [U, V, W, a] if moving else [U, V]
    shapes = [v.shape for v in state]
    settings = dict(adversarial=adversarial, critic_rate=critic_rate, train_V=train_V,
                    frozen=(W, a) if adversarial and not moving else (None, None), penalty=penalty, epsilon=epsilon,
                    supervised=get_kernel(SUPERVISED, backend))
    return (lambda vector: _joint_field(vector, X, Y, shapes, **settings)), _pack(*state), shapes


def integrate_flow(X, Y, U, V, t_end, *, adversarial, W=None, a=None, critic_rate=0.0, train_V=True,
                   t_eval=None, rtol=1e-9, atol=1e-11):
    """The continuous flow of :func:`joint_field` by ``solve_ivp`` (RK45) up to ``t_end``, for small problems.

    The critic moves (ascent at ``critic_rate``, no regulariser) when ``critic_rate`` > 0, else stays
    frozen. Validated once (:func:`flat_field`). Returns (times, list of states), each state a list
    [U, V] or [U, V, W, a]. A state that becomes NaN or infinite raises ``FloatingPointError`` naming the
    output point and its time.
    """
    field, state, shapes = flat_field(X, Y, U, V, adversarial=adversarial, W=W, a=a, critic_rate=critic_rate,
                                      train_V=train_V)
    t_end = check_positive("t_end", t_end)
    rtol, atol = check_positive("rtol", rtol), check_positive("atol", atol)
    if t_eval is not None:
        t_eval = as_float_array("t_eval", t_eval, ndim=1)
        if t_eval.size == 0 or np.any(np.diff(t_eval) <= 0) or t_eval[0] < 0 or t_eval[-1] > t_end:
            raise ValueError(f"t_eval must be non-empty, increasing and inside [0, t_end = {t_end:g}]; got {t_eval}")
    solution = solve_ivp(lambda t, y: field(y), (0.0, t_end), state, t_eval=t_eval, rtol=rtol, atol=atol)
    if not solution.success:
        raise RuntimeError(f"solve_ivp failed: {solution.message}")
    if not np.all(np.isfinite(solution.y)):  # the check only builds the message: output point and time
        first = int(np.argmin(np.all(np.isfinite(solution.y), axis=0)))
        check_finite_step(first, solution.t.size - 1, **{f"state at t = {solution.t[first]:g}": solution.y[:, first]})
    return solution.t, [_unpack(y, shapes) for y in solution.y.T]
