r"""What the paper proves, as functions to hold measurements against (Theorems 1-2, Def. 1, eqs. 13, 33-35, 58).

- :func:`gram_infinity` — Definition 1 in closed form for unit inputs (derived, not printed in the paper):

  .. math:: H^\infty_{ij} = \mathbb{E}_{u\sim N(0,I)}\big[x_i^\top x_j 1\{u^\top x_i \ge 0, u^\top x_j \ge 0\}\big]
            = x_i^\top x_j\, \frac{\pi - \arccos(x_i^\top x_j)}{2\pi}

  (the probability that a Gaussian direction lies in both half-spaces is (π − angle)/(2π)).
- :func:`theorem1_bound`, :func:`theorem2_bound` — the time-dependent bounds eq. 13 and eq. 43.
- :func:`fit_bernoulli` — the Bernoulli model eq. 58 fitted to a measured residual curve.
- :func:`jacobian_spectrum` — beyond the paper: eigenvalues of the linearised flow.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from refimpl.core.validate import as_float_array, check_int, check_positive, check_rng, check_shape
from refimpl.prd import flow
from refimpl.prd.model import _check_nonempty


def _unit_rows(X):
    X = _check_nonempty("X", as_float_array("X", X, ndim=2), "(n, d_in)")
    norms = np.linalg.norm(X, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-10):
        worst = float(np.max(np.abs(norms - 1.0)))
        raise ValueError(f"X must have unit rows (‖x_p‖ = 1, Theorems 1-2); worst |‖x_p‖ − 1| = {worst:.3g}; "
                         "use refimpl.prd.normalise_inputs")
    return X


def gram_infinity(X):
    r"""H∞ (n, n) of Definition 1 in closed form; X : (n, d_in) with unit rows."""
    X = _unit_rows(X)
    cosines = np.clip(X @ X.T, -1.0, 1.0)
    return cosines * (np.pi - np.arccos(cosines)) / (2.0 * np.pi)


def gram_finite(X, U):
    r"""The finite-width Gram matrix of Remark 1, :math:`H_{ij} = x_i^\top x_j \frac1m \sum_r 1\{u_r^\top x_i \ge 0, u_r^\top x_j \ge 0\}`.

    X : (n, d_in), U : (m, d_in) → (n, n). Averaged over many Gaussian U it is the Monte Carlo estimate of H∞.
    """
    X = _check_nonempty("X", as_float_array("X", X, ndim=2), "(n, d_in)")
    U = check_shape("U", as_float_array("U", U, ndim=2), (None, X.shape[1]), described="(m, d_in)",
                    context=f"to match X with d_in = {X.shape[1]}")
    return _gram_finite(X, _check_nonempty("U", U, "(m, d_in)"))


def _gram_finite(X, U):
    active = (X @ U.T >= 0).astype(np.float64)  # (n, m)
    return (X @ X.T) * (active @ active.T) / U.shape[0]


def gram_monte_carlo(rng, X, samples, batch=4096):
    """Monte Carlo estimate of H∞ from ``samples`` Gaussian directions u ~ N(0, I), drawn ``batch`` at a time
    from ``rng`` (a numpy Generator or an int seed)."""
    X = _unit_rows(X)
    samples, batch = check_int("samples", samples, minimum=1), check_int("batch", batch, minimum=1)
    rng = check_rng("rng", rng)
    total, done = np.zeros((X.shape[0], X.shape[0])), 0
    while done < samples:
        size = min(batch, samples - done)
        total += _gram_finite(X, rng.standard_normal((size, X.shape[1]))) * size
        done += size
    return total / samples


def lambda0(H):
    """λ₀ = λ_min(H) (Assumption 1); H (n, n) symmetric."""
    H = _check_nonempty("H", as_float_array("H", H, ndim=2), "(n, n)")
    if H.shape[0] != H.shape[1] or not np.allclose(H, H.T, rtol=1e-10, atol=1e-12):
        raise ValueError(f"H must be a symmetric (n, n) matrix; got shape {H.shape}"
                         + ("" if H.shape[0] != H.shape[1] else ", not symmetric"))
    return float(np.linalg.eigvalsh(H)[0])


def theorem1_bound(t, n, m, lambda_0, residual_0):
    r"""Eq. 13: :math:`\|u_j(t) - u_j(0)\| \le \frac{2\sqrt n \|z(0) - y\|}{\sqrt m \lambda_0}(1 - e^{-\lambda_0 t/2})`."""
    n, m, lambda_0, residual_0 = _check_bound_constants(n, m, lambda_0, residual_0)
    t = _check_times(t)
    return 2.0 * np.sqrt(n) * residual_0 / (np.sqrt(m) * lambda_0) * (1.0 - np.exp(-0.5 * lambda_0 * np.asarray(t)))


def theorem2_bound(t, n, m, lambda_0, residual_0, L, delta, kappa):
    r"""Eq. 43 with :math:`\mu` of :func:`theorem2_mu`:

    .. math:: \frac{2\sqrt n(\|z(0)-y\| - \kappa\mu)}{\sqrt m \lambda_0}(1 - e^{-\lambda_0 t/2})
              + \frac{\mu(1 + \kappa\sqrt n)}{\sqrt m}\, t

    Meaningful only inside the theorem's regime κμ < ε < ‖z(0) − y‖ (:func:`theorem2_in_regime`): outside
    it the first term is negative and the bound is vacuous.
    """
    n, m, lambda_0, residual_0 = _check_bound_constants(n, m, lambda_0, residual_0)
    kappa = check_positive("kappa", kappa)
    mu = theorem2_mu(L, n, m, delta)
    t = _check_times(t)
    return (2.0 * np.sqrt(n) * (residual_0 - kappa * mu) / (np.sqrt(m) * lambda_0) * (1.0 - np.exp(-0.5 * lambda_0 * t))
            + mu * (1.0 + kappa * np.sqrt(n)) / np.sqrt(m) * t)


def theorem2_kappa(lambda_0, lambda_max):
    r"""κ = λ₁/λ₀ of eq. 34 with :math:`\lambda_1 = 2\lambda_{max}(H^\infty) + \lambda_0` (Lemma 4)."""
    lambda_0, lambda_max = check_positive("lambda_0", lambda_0), check_positive("lambda_max", lambda_max)
    return (2.0 * lambda_max + lambda_0) / lambda_0


def theorem2_mu(L, n, m, delta):
    r""":math:`\mu = L n \sqrt{2\log(2/\delta)}/\sqrt m` (eqs. 31-32); L ≥ 0 the critic bound ‖w‖ ≤ L,
    δ in (0, 1] the failure probability."""
    L, n, m = check_positive("L", L, allow_zero=True), check_int("n", n, minimum=1), check_int("m", m, minimum=1)
    return L * n * np.sqrt(2.0 * np.log(2.0 / _check_delta(delta))) / np.sqrt(m)


def theorem2_critic_bound(epsilon, n, m, delta, kappa):
    r"""The critic bound L at which κμ = ε: :math:`L = \epsilon\sqrt m / (\kappa n \sqrt{2\log(2/\delta)})`
    (the condition L ≤ O(ε√m/(κn√(2 log(2/δ)))) below eq. 45, with its constant 1). Any smaller L is in
    the regime κμ < ε."""
    epsilon, kappa = check_positive("epsilon", epsilon), check_positive("kappa", kappa)
    return epsilon / (kappa * theorem2_mu(1.0, n, m, delta))


def theorem2_in_regime(kappa, mu, epsilon, residual_0):
    """Whether the hitting-time condition κμ < ε < ‖z(0) − y‖ (below eq. 45) holds; residual_0 may be an
    array (one initial residual per seed): True only if it holds for all."""
    kappa, mu = check_positive("kappa", kappa), check_positive("mu", mu, allow_zero=True)
    epsilon = check_positive("epsilon", epsilon)
    residual_0 = as_float_array("residual_0", residual_0)
    return bool(kappa * mu < epsilon and np.all(epsilon < residual_0))


def residual_bound(t, residual_0, lambda_0, kappa, mu):
    r"""Eq. 35: :math:`\|z(t) - y\| \le (\|z(0) - y\| - \kappa\mu) e^{-\lambda_0 t/2} + \kappa\mu`
    (μ = 0: Remark 3 of Theorem 1)."""
    residual_0, lambda_0 = check_positive("residual_0", residual_0, allow_zero=True), check_positive("lambda_0",
                                                                                                     lambda_0)
    kappa, mu = check_positive("kappa", kappa), check_positive("mu", mu, allow_zero=True)
    return (residual_0 - kappa * mu) * np.exp(-0.5 * lambda_0 * _check_times(t)) + kappa * mu


def _check_delta(delta):
    if not 0 < check_positive("delta", delta) <= 1:
        raise ValueError(f"delta must be a probability in (0, 1]; got {delta!r}")
    return delta


def _check_times(t):
    """Times t >= 0, any shape (the bounds are element-wise in t)."""
    t = as_float_array("t", t)
    if np.any(t < 0):
        raise ValueError(f"t must hold times >= 0; got a minimum of {t.min():g}")
    return t


def _check_bound_constants(n, m, lambda_0, residual_0):
    return (check_int("n", n, minimum=1), check_int("m", m, minimum=1), check_positive("lambda_0", lambda_0),
            check_positive("residual_0", residual_0, allow_zero=True))


@dataclass(frozen=True)
class BernoulliFit:
    r"""Eq. 58, :math:`\dot\psi = r\psi^{1/2}(1 - \psi^{1/2}/K)` with :math:`\psi = \|z - y\|^2`, whose
    solution is :math:`\psi^{1/2}(t) = K + (\psi^{1/2}(0) - K)e^{-rt/(2K)}`; the paper reads
    :math:`r = \lambda_1\mu`, :math:`K = \kappa\mu`, so the decay rate :math:`r/(2K)` is :math:`\lambda_0/2`."""

    r: float
    K: float
    rate: float
    r_squared: float


def fit_bernoulli(t, residual):
    """Fit the solution of eq. 58 to a measured residual curve ‖z(t) − y‖ (t, residual : (k,))."""
    t = as_float_array("t", t, ndim=1)
    residual = check_shape("residual", as_float_array("residual", residual, ndim=1), t.shape, described="(k,)",
                           context="to match t")
    if t.size < 3:
        raise ValueError(f"fit_bernoulli needs at least 3 points to fit K and the rate; got {t.size}")
    start = residual[0]
    if np.ptp(residual) == 0:
        raise ValueError("fit_bernoulli needs a residual curve that changes; got a constant one")

    def model_curve(time, K, rate):
        return K + (start - K) * np.exp(-rate * time)

    guess_rate = 1.0 / max(t[-1] / 5.0, 1e-12)
    with warnings.catch_warnings():  # an exact fit has no covariance estimate; we do not use it
        warnings.simplefilter("ignore", OptimizeWarning)
        (K, rate), _ = curve_fit(model_curve, t, residual, p0=(residual[-1], guess_rate), maxfev=20000)
    fitted = model_curve(t, K, rate)
    r_squared = 1.0 - np.sum((residual - fitted) ** 2) / np.sum((residual - residual.mean()) ** 2)
    return BernoulliFit(r=float(2.0 * K * rate), K=float(K), rate=float(rate), r_squared=float(r_squared))


def jacobian(field, vector, h=1e-6):
    """Central-difference Jacobian (k, k) of a vector field R^k → R^k at ``vector`` (k,), step ``h`` > 0."""
    if not callable(field):
        raise TypeError(f"field must be a function R^k -> R^k; got {type(field).__name__}")
    vector = as_float_array("vector", vector, ndim=1)
    if vector.size == 0:
        raise ValueError("vector must hold at least one entry; got shape (0,)")
    h = check_positive("h", h)
    columns = []
    for i in range(vector.size):
        step = np.zeros_like(vector)
        step[i] = h
        columns.append((field(vector + step) - field(vector - step)) / (2.0 * h))
    return np.stack(columns, axis=1)


@dataclass(frozen=True)
class Spectrum:
    """Eigenvalues of the linearised flow and where its fastest-growing mode lives.

    eigenvalues : (k,) complex;  max_real : largest real part (> 0: a growing mode);
    unstable : number of eigenvalues with real part > ``tolerance`` · max |λ| (above the differencing noise);
    share_U, share_V : fractions of the leading mode's squared amplitude in the hidden layer U and the top
    layer V (the rest lies in the critic);  generator_share : (k,) the same fraction in (U, V) for every mode;
    max_real_generator : largest real part among modes that live mostly (> ½) in the generator.
    """

    eigenvalues: np.ndarray
    max_real: float
    unstable: int
    share_U: float
    share_V: float
    generator_share: np.ndarray
    max_real_generator: float


def jacobian_spectrum(X, Y, U, V, *, adversarial, W=None, a=None, critic_rate=0.0, penalty=0.0, epsilon=None,
                      tolerance=1e-6, h=1e-6):
    r"""Spectrum of :math:`\partial F/\partial\theta` for the flow :math:`\dot\theta = F(\theta)` at (U, V[, W, a]).

    F is the hand-derived field of :func:`refimpl.prd.flow.joint_field`, differentiated by central
    differences: without diffusion (L_sup), with diffusion and a frozen critic (``critic_rate`` = 0: the
    Hessian of L_aug, symmetric), or the joint descent-ascent game (``critic_rate`` > 0, not symmetric).
    ``penalty`` and ``epsilon`` (n, 1) add the critic's gradient penalty at fixed interpolates.
    Eigenvalues with positive real part are modes that grow: the Turing-instability claim as a number.
    Only for small problems (the Jacobian is dense, size of all parameters squared).
    """
    check_positive("h", h)
    tolerance = check_positive("tolerance", tolerance)
    if adversarial and W is None:
        raise ValueError("jacobian_spectrum with adversarial=True needs the critic's W (m_c, d_out) and a (m_c,)")
    field, state, shapes = flow.flat_field(X, Y, U, V, adversarial=adversarial, W=W, a=a, critic_rate=critic_rate,
                                           penalty=penalty, epsilon=epsilon)
    J = jacobian(field, state, h=h)
    return spectrum_of(J, int(np.prod(shapes[0])), int(np.prod(shapes[1])), tolerance=tolerance)


def spectrum_of(J, size_U, size_V, tolerance=1e-6):
    """The :class:`Spectrum` of a Jacobian J (k, k) whose state is (U, V, critic) flattened in that order,
    with ``size_U`` and ``size_V`` entries in U and V (the rest, if any, in the critic)."""
    J = as_float_array("J", J, ndim=2)
    tolerance = check_positive("tolerance", tolerance)
    size_U, size_V = check_int("size_U", size_U, minimum=1), check_int("size_V", size_V, minimum=0)
    if J.shape[0] != J.shape[1] or J.shape[0] < size_U + size_V:
        raise ValueError(f"J must be square with at least size_U + size_V = {size_U + size_V} rows; got {J.shape}")
    eigenvalues, vectors = np.linalg.eig(J)
    amplitude = np.abs(vectors) ** 2
    amplitude /= amplitude.sum(axis=0)  # column k: how mode k divides among the parameters
    leading = int(np.argmax(eigenvalues.real))
    generator_share = amplitude[:size_U + size_V].sum(axis=0)
    generator_modes = eigenvalues.real[generator_share > 0.5]
    threshold = tolerance * max(float(np.abs(eigenvalues).max()), 1e-300)  # above the differencing noise
    return Spectrum(eigenvalues, float(eigenvalues.real[leading]), int(np.sum(eigenvalues.real > threshold)),
                    float(amplitude[:size_U, leading].sum()), float(amplitude[size_U:size_U + size_V, leading].sum()),
                    generator_share, float(generator_modes.max()) if generator_modes.size else float("nan"))
