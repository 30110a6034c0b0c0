"""Cross-check cases of the PRD model (Rout, AAAI-21): the gradients of L_sup (eq. 1), L_adv and
L_aug = L_sup − L_adv (eq. 2) on both twins, and the WGAN-GP critic objective (a double backward pass in
the frameworks)."""

import numpy as np

from refimpl.crosscheck.lazy import jax, jnn, jnp, torch
from refimpl.crosscheck.registry import Case, dims, off_kink, register, scalar, until_off_kinks
from refimpl.prd import (adversarial_gradient, augmented_gradient, critic_objective, normalise_inputs,
                         supervised_gradient)

TOPIC = "prd"
BACKENDS = ("numpy", "numba")


def _draw(rng):
    n, d_in, d_out = dims(rng, 3, 1, 4)
    m, m_c = dims(rng, 2, 1, 5)
    return {"X": normalise_inputs(off_kink(rng, (n, d_in), 1.0, 0.05)), "Y": off_kink(rng, (n, d_out)),
            "U": off_kink(rng, (m, d_in)), "V": off_kink(rng, (d_out, m)), "W": off_kink(rng, (m_c, d_out)),
            "a": off_kink(rng, (m_c,), 1.5)}


def _preactivations(p):
    hidden = np.maximum(p["X"] @ p["U"].T, 0.0)
    Z = hidden @ p["V"].T / np.sqrt(p["V"].shape[0] * p["U"].shape[0])
    return [p["X"] @ p["U"].T, Z @ p["W"].T]


def _problem(names):
    """Inputs of a PRD gradient: the arrays ``names`` of one problem with every ReLU input off its kink."""
    return lambda rng: {name: array for name, array in until_off_kinks(rng, _draw, _preactivations).items()
                        if name in names}


def _returns(*names):
    return lambda values: {"value": values[0], **{f"grad_{name}": g for name, g in zip(names, values[1:])}}


def _supervised(backend):
    pack = _returns("U", "V")
    return lambda p: pack(supervised_gradient(p["X"], p["Y"], p["U"], p["V"], backend=backend))


def _adversarial(backend):
    pack = _returns("U", "V", "W", "a")
    return lambda p: pack(adversarial_gradient(p["X"], p["U"], p["V"], p["W"], p["a"], backend=backend))


def _augmented(backend):
    pack = _returns("U", "V", "W", "a")
    return lambda p: pack(augmented_gradient(p["X"], p["Y"], p["U"], p["V"], p["W"], p["a"], backend=backend))


def _losses(relu, X, U, V, W=None, a=None, Y=None):
    """L_sup and L_adv exactly as eqs. 1-2 print them, with ``relu`` of the framework."""
    m, d_out = U.shape[0], V.shape[0]
    hidden = relu(X @ U.T)
    loss_sup = None if Y is None else 0.5 * ((hidden @ V.T / np.sqrt(d_out * m) - Y) ** 2).sum()
    loss_adv = None if W is None else (relu(hidden @ V.T @ W.T) @ a).sum() / (np.sqrt(m * W.shape[0] * d_out))
    return loss_sup, loss_adv


def _references(select):
    return {"torch": lambda **p: select(*_losses(torch.relu, **p)), "jax": lambda **p: select(*_losses(jnn.relu, **p))}


for _backend in BACKENDS:
    register(Case(f"prd.supervised_gradient[{_backend}]", TOPIC,
                  r"L_{sup} = \tfrac12 \sum_p \|\tfrac{1}{\sqrt{d_{out} m}} V \sigma(U x_p) - y_p\|^2",
                  _problem(("X", "Y", "U", "V")), _supervised(_backend), ("U", "V"), _references(lambda sup, adv: sup)))
    register(Case(f"prd.adversarial_gradient[{_backend}]", TOPIC,
                  r"L_{adv} = \frac{1}{\sqrt{m m_c d_{out}}} \sum_p a^\top \sigma(W V \sigma(U x_p))",
                  _problem(("X", "U", "V", "W", "a")), _adversarial(_backend), ("U", "V", "W", "a"),
                  _references(lambda sup, adv: adv)))
    register(Case(f"prd.augmented_gradient[{_backend}]", TOPIC, r"L_{aug} = L_{sup} - L_{adv}",
                  _problem(("X", "Y", "U", "V", "W", "a")), _augmented(_backend), ("U", "V", "W", "a"),
                  _references(lambda sup, adv: sup - adv)))


# ---------------------------------------------------------------------------------------------------------------
# The WGAN-GP critic objective: the frameworks differentiate through their own input gradient
# ---------------------------------------------------------------------------------------------------------------

def _critic_draw(rng):
    n, d_out = dims(rng, 2, 1, 4)
    (m_c,) = dims(rng, 1, 1, 5)
    return {"Y": off_kink(rng, (n, d_out)), "Z": off_kink(rng, (n, d_out)), "Y_hat": off_kink(rng, (n, d_out)),
            "W": off_kink(rng, (m_c, d_out)), "a": off_kink(rng, (m_c,), 1.5), "penalty": scalar(rng, 1.0, 10.0)}


def _critic_preactivations(p):
    # the largest active unit of each interpolate: 0 where no unit is active, where ‖∇g‖ = 0 has no gradient
    active_hat = np.maximum(p["Y_hat"] @ p["W"].T, 0.0).max(axis=1)
    return [p["Y"] @ p["W"].T, p["Z"] @ p["W"].T, p["Y_hat"] @ p["W"].T, active_hat]


def _critic_inputs(rng):
    return until_off_kinks(rng, _critic_draw, _critic_preactivations)


def _critic(p):
    value, dW, da = critic_objective(p["Y"], p["Z"], p["W"], p["a"], penalty=float(p["penalty"]), Y_hat=p["Y_hat"])
    return {"value": value, "grad_W": dW, "grad_a": da}


def _torch_critic(Y, Z, Y_hat, W, a, penalty):
    def g(y):
        return torch.relu(y @ W.T) @ a / np.sqrt(W.shape[0])

    points = Y_hat.detach().requires_grad_(True)
    (input_gradient,) = torch.autograd.grad(g(points).sum(), points, create_graph=True)
    gradient_penalty = ((input_gradient.norm(dim=1) - 1.0) ** 2).mean()
    return g(Y).mean() - g(Z).mean() - penalty * gradient_penalty


def _jax_critic(Y, Z, Y_hat, W, a, penalty):
    def g(y):
        return jnn.relu(y @ W.T) @ a / np.sqrt(W.shape[0])

    input_gradient = jax.grad(lambda y: g(y).sum())(Y_hat)
    gradient_penalty = ((jnp.linalg.norm(input_gradient, axis=1) - 1.0) ** 2).mean()
    return g(Y).mean() - g(Z).mean() - penalty * gradient_penalty


register(Case("prd.critic_objective[gradient_penalty]", TOPIC,
              r"J = \frac1n\sum_p g(y_p) - \frac1n\sum_p g(z_p)"
              r" - \lambda \frac1n \sum_p (\|\nabla_y g(\hat y_p)\| - 1)^2",
              _critic_inputs, _critic, ("W", "a"), {"torch": _torch_critic, "jax": _jax_critic}))
