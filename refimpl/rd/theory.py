r"""Linear stability of a homogeneous steady state: Turing's analysis, continuous and on the lattice.

Near a homogeneous steady state :math:`(u^*, v^*)`, a perturbation :math:`w\,e^{i\mathbf{k}\cdot\mathbf{x} + \lambda t}`
grows at the eigenvalues :math:`\lambda` of :math:`A(k^2) = J - k^2 D`, with :math:`D = \mathrm{diag}(D_u, D_v)`:

.. math::
    \lambda^2 - \tau(k^2)\,\lambda + \delta(k^2) = 0, \quad
    \tau = \operatorname{tr} J - (D_u + D_v) k^2, \quad
    \delta = D_u D_v k^4 - (D_v f_u + D_u g_v) k^2 + \det J .

Turing's conditions (Murray, *Mathematical Biology II*, ch. 2) for a diffusion-driven instability:

1. :math:`\operatorname{tr} J < 0` and 2. :math:`\det J > 0` (stable without diffusion);
3. :math:`D_v f_u + D_u g_v > 0`;  4. :math:`(D_v f_u + D_u g_v)^2 > 4 D_u D_v \det J`.

Then exactly the band :math:`k_1^2 < k^2 < k_2^2` (roots of :math:`\delta`) grows. On an N × M periodic grid
of spacing h with the 5-point Laplacian, :math:`k^2` becomes the lattice symbol
:math:`\mu_{pq} = (4/h^2)(\sin^2(\pi p/N) + \sin^2(\pi q/M))`, and explicit Euler multiplies a mode by
:math:`1 + \Delta t\,\lambda` per step.
"""

from collections import namedtuple

import numpy as np

TuringConditions = namedtuple("TuringConditions",
                              "negative_trace positive_determinant activator_inhibitor band_exists")


def jacobian(model, u=None, v=None):
    r"""Jacobian of the reaction terms at (u, v) (default: the model's steady state).

    With :math:`f = c_0 + c_u u + c_v v + c_{uuv} u^2 v + c_{uvv} u v^2`:

    .. math:: f_u = c_u + 2 c_{uuv} u v + c_{uvv} v^2, \qquad f_v = c_v + c_{uuv} u^2 + 2 c_{uvv} u v

    Returns
    -------
    (2, 2) float64 array ``[[f_u, f_v], [g_u, g_v]]``
    """
    if u is None or v is None:
        u, v = model.steady_state
    rows = []
    for c in (model.f, model.g):
        rows.append([c[1] + 2 * c[3] * u * v + c[4] * v * v, c[2] + c[3] * u * u + 2 * c[4] * u * v])
    return np.array(rows, dtype=np.float64)


def gray_scott_steady_states(F, k):
    r"""Every homogeneous steady state of Gray-Scott: (1, 0), and when :math:`F \ge 4(F+k)^2` the pair

    .. math:: v^* = \frac{F \pm \sqrt{F^2 - 4F(F+k)^2}}{2(F+k)}, \qquad u^* = \frac{F + k}{v^*} .
    """
    states = [(1.0, 0.0)]
    discriminant = F * F - 4 * F * (F + k) ** 2
    if discriminant >= 0:
        for sign in (-1, 1):
            v_star = (F + sign * np.sqrt(discriminant)) / (2 * (F + k))
            states.append(((F + k) / v_star, v_star))
    return states


def turing_conditions(J, D_u, D_v):
    """The four Turing conditions (module docstring), as a named tuple of booleans."""
    (f_u, f_v), (g_u, g_v) = J
    determinant = f_u * g_v - f_v * g_u
    cross = D_v * f_u + D_u * g_v
    return TuringConditions(bool(f_u + g_v < 0), bool(determinant > 0), bool(cross > 0),
                            bool(cross * cross > 4 * D_u * D_v * determinant))


def is_turing_unstable(J, D_u, D_v):
    """True when all four Turing conditions hold: stable without diffusion, unstable band with it."""
    return all(turing_conditions(J, D_u, D_v))


def growth_rates(J, D_u, D_v, k2):
    r"""Both eigenvalues :math:`\lambda_\pm(k^2)` of :math:`J - k^2 D`, larger real part first.

    Parameters
    ----------
    k2 : array_like of :math:`k^2` (or lattice symbols :math:`\mu`)

    Returns
    -------
    complex array of shape ``k2.shape + (2,)``
    """
    (f_u, f_v), (g_u, g_v) = J
    k2 = np.asarray(k2, dtype=np.float64)
    trace = f_u + g_v - (D_u + D_v) * k2
    determinant = (f_u - D_u * k2) * (g_v - D_v * k2) - f_v * g_u
    root = np.sqrt((trace * trace - 4 * determinant).astype(complex))
    return np.stack([(trace + root) / 2, (trace - root) / 2], axis=-1)


def dispersion_relation(J, D_u, D_v, k2):
    r"""The growth rate :math:`\max \operatorname{Re} \lambda(k^2)` of the fastest mode at each :math:`k^2`."""
    return growth_rates(J, D_u, D_v, k2)[..., 0].real


def unstable_band(J, D_u, D_v):
    r"""``(k1², k2²)``, the roots of :math:`\delta(k^2)` bounding the unstable band, or None if no band."""
    if not is_turing_unstable(J, D_u, D_v):
        return None
    (f_u, f_v), (g_u, g_v) = J
    cross, determinant = D_v * f_u + D_u * g_v, f_u * g_v - f_v * g_u
    root = np.sqrt(cross * cross - 4 * D_u * D_v * determinant)
    return (cross - root) / (2 * D_u * D_v), (cross + root) / (2 * D_u * D_v)


def critical_wavenumber(J, D_u, D_v):
    r""":math:`k_c = \sqrt{(D_v f_u + D_u g_v) / (2 D_u D_v)}`, the minimum of :math:`\delta`: the first mode
    to grow as condition 4 is crossed. Returns nan where condition 3 fails."""
    cross = D_v * J[0][0] + D_u * J[1][1]
    return float(np.sqrt(cross / (2 * D_u * D_v))) if cross > 0 else float("nan")


def critical_diffusion_ratio(J):
    r"""The ratio :math:`d_c = D_v / D_u` at which condition 4 holds with equality,

    .. math:: d_c = \frac{f_u g_v - 2 f_v g_u + 2\sqrt{-f_v g_u \det J}}{f_u^2};

    Turing patterns need :math:`d > d_c` (for :math:`f_u > 0`, :math:`f_v g_u < 0`, :math:`\det J > 0`)."""
    (f_u, f_v), (g_u, g_v) = J
    determinant = f_u * g_v - f_v * g_u
    return float((f_u * g_v - 2 * f_v * g_u + 2 * np.sqrt(-f_v * g_u * determinant)) / f_u ** 2)


def fastest_growing_wavenumber(J, D_u, D_v):
    r"""The :math:`k` of largest growth rate (continuous): the maximum of :math:`\mathrm{Re}\,\lambda(k^2)`
    over the unstable band, found by bounded (Brent) minimisation of :math:`-\mathrm{Re}\,\lambda` on
    :math:`(k_1^2, k_2^2)`; nan when no band exists. Brent finds a local maximum; inside the band
    :math:`\mathrm{Re}\,\lambda > 0`, and a test checks the result against a dense grid."""
    from scipy.optimize import minimize_scalar

    band = unstable_band(J, D_u, D_v)
    if band is None:
        return float("nan")
    result = minimize_scalar(lambda k2: -dispersion_relation(J, D_u, D_v, k2), bounds=band, method="bounded",
                             options={"xatol": 1e-12 * band[1]})
    return float(np.sqrt(result.x))


def lattice_wavenumbers_squared(shape, h=1.0):
    r"""The symbol :math:`\mu` of the negative 5-point Laplacian for every Fourier mode, in ``numpy.fft`` order.

    .. math:: \mu_{pq} = \frac{4}{h^2}\left(\sin^2\frac{\pi p}{N} + \sin^2\frac{\pi q}{M}\right)

    Parameters
    ----------
    shape : (N,) or (N, M)

    Returns
    -------
    array of ``shape``
    """
    axes = np.meshgrid(*(np.sin(np.pi * np.arange(n) / n) ** 2 for n in shape), indexing="ij")
    return 4 / (h * h) * sum(axes)


def euler_growth_rate(rate, dt):
    r"""The per-time growth rate explicit Euler realises for an eigenvalue :math:`\lambda`:
    :math:`\ln|1 + \Delta t\,\lambda| / \Delta t`."""
    return np.log(np.abs(1 + dt * np.asarray(rate))) / dt


def mode_eigenvectors(J, D_u, D_v, k2):
    """Eigenvalues (larger real part first) and right and left eigenvectors of :math:`J - k^2 D`.

    Returns
    -------
    rates : (2,) complex;  right : (2, 2), columns are eigenvectors;  left : (2, 2), rows, left @ right = I
    """
    eigenvalues, right = np.linalg.eig(np.asarray(J) - k2 * np.diag([D_u, D_v]))
    order = np.argsort(-eigenvalues.real)
    eigenvalues, right = eigenvalues[order], right[:, order]
    return eigenvalues, right, np.linalg.inv(right)


def seeded_mode(model, shape, mode, amplitude, h=1.0, branch=0):
    r"""The steady state plus one lattice Fourier mode along one eigenvector of :math:`J - \mu D`:

    .. math:: (u, v) = (u^*, v^*) + \varepsilon\,\mathrm{Re}\big(w\,e^{2\pi i (p y / N + q x / M)}\big)

    Parameters
    ----------
    shape : (N,) or (N, M);  mode : (p,) or (p, q);  amplitude : ε
    branch : 0 for the eigenvalue of larger real part, 1 for the other

    Returns
    -------
    u, v : arrays of ``shape``;  rate : the eigenvalue λ of that mode (complex)
    """
    J = jacobian(model)
    mu = lattice_wavenumbers_squared(shape, h)[tuple(mode)]
    rates, right, _ = mode_eigenvectors(J, model.D_u, model.D_v, mu)
    phase = fourier_mode(shape, mode)
    u_star, v_star = model.steady_state
    return (u_star + amplitude * (right[0, branch] * phase).real,
            v_star + amplitude * (right[1, branch] * phase).real, rates[branch])


def mode_coefficient(model, u, v, mode, h=1.0, branch=0):
    r"""The complex amplitude :math:`c` of the fields along ``mode`` and one eigenvector: the Fourier
    coefficients of (u, v) at ``mode`` projected with the left eigenvector, scaled so that
    :func:`seeded_mode` with amplitude ε gives :math:`c = \varepsilon`. Projecting (rather than taking
    a maximum) keeps the other eigen-branch, which decays at its own rate, out of the measurement.

    A real field puts half of :math:`\varepsilon w` on the mode and half on its mirror :math:`-\text{mode}`,
    hence the factor 2; a self-conjugate mode (every index 0 or N/2) is its own mirror and takes the
    whole :math:`\varepsilon\,\mathrm{Re}(w)`, so there the factor is 1 (and :math:`c = \varepsilon`
    holds when the eigenvector is real)."""
    shape = np.shape(u)
    mu = lattice_wavenumbers_squared(shape, h)[tuple(mode)]
    _, _, left = mode_eigenvectors(jacobian(model), model.D_u, model.D_v, mu)
    fourier = np.array([np.fft.fftn(field)[tuple(mode)] for field in (u, v)])
    self_conjugate = all((2 * p) % n == 0 for p, n in zip(mode, shape))
    return (1 if self_conjugate else 2) * (left[branch] @ fourier) / np.prod(shape)


def fourier_mode(shape, mode):
    r""":math:`e^{2\pi i (p y / N + q x / M)}` on the index grid of ``shape``; complex array of ``shape``."""
    axes = np.meshgrid(*(np.arange(n) / n for n in shape), indexing="ij")
    return np.exp(2j * np.pi * sum(p * x for p, x in zip(mode, axes)))


def dominant_wavenumber(field, h=1.0):
    r"""The wavenumber of a pattern: the peak of its radially binned power spectrum.

    The mean is removed; each Fourier mode's power goes to the shell
    :math:`\mathrm{rint}(|\mathbf{k}| / \Delta k)` with :math:`\Delta k = 2\pi / (N_{max} h)`
    (one step of the coarsest axis), and the centre of the strongest shell is returned.

    Parameters
    ----------
    field : (n,) or (ny, nx) array;  h : float, grid spacing

    Returns
    -------
    float, :math:`k` in units of 1/length (wavelength :math:`2\pi / k`)
    """
    field = np.asarray(field, dtype=np.float64)
    power = np.abs(np.fft.fftn(field - field.mean())) ** 2
    axes = np.meshgrid(*(2 * np.pi * np.fft.fftfreq(n, d=h) for n in field.shape), indexing="ij")
    step = 2 * np.pi / (max(field.shape) * h)
    shells = np.bincount(np.rint(np.sqrt(sum(k * k for k in axes)) / step).astype(int).ravel(),
                         weights=power.ravel())
    return float(step * np.argmax(shells))
