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

from refimpl.core.validate import as_float_array, check_choice, check_int, check_positive, check_real, check_shape
from refimpl.rd.model import check_fields, check_grid_shape, check_model

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
        u, v = check_model(model).steady_state
    else:
        check_model(model)
        u, v = check_real("u", u), check_real("v", v)
    rows = []
    for c in (model.f, model.g):
        rows.append([c[1] + 2 * c[3] * u * v + c[4] * v * v, c[2] + c[3] * u * u + 2 * c[4] * u * v])
    return np.array(rows, dtype=np.float64)


def gray_scott_steady_states(F, k):
    r"""Every homogeneous steady state of Gray-Scott: (1, 0), and when :math:`F \ge 4(F+k)^2` the pair

    .. math:: v^* = \frac{F \pm \sqrt{F^2 - 4F(F+k)^2}}{2(F+k)}, \qquad u^* = \frac{F + k}{v^*} .
    """
    F, k = check_positive("F", F), check_positive("k", k)
    states = [(1.0, 0.0)]
    discriminant = F * F - 4 * F * (F + k) ** 2
    if discriminant >= 0:
        for sign in (-1, 1):
            v_star = (F + sign * np.sqrt(discriminant)) / (2 * (F + k))
            states.append(((F + k) / v_star, v_star))
    return states


def turing_conditions(J, D_u, D_v):
    """The four Turing conditions (module docstring), as a named tuple of booleans.

    Parameters
    ----------
    J : (2, 2) array_like, the reaction Jacobian;  D_u, D_v : float >= 0, the diffusivities
    """
    (f_u, f_v), (g_u, g_v) = _check_jacobian(J)
    D_u, D_v = _check_diffusivities(D_u, D_v)
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
    J, (D_u, D_v) = _check_jacobian(J), _check_diffusivities(D_u, D_v)
    return _growth_rates(J, D_u, D_v, as_float_array("k2", k2))


def _check_jacobian(J):
    """``J`` as a finite (2, 2) float64 array, or raise naming it."""
    return check_shape("J", as_float_array("J", J, ndim=2), (2, 2), described="[[f_u, f_v], [g_u, g_v]]")


def _check_diffusivities(D_u, D_v, allow_zero=True):
    return (check_positive("D_u", D_u, allow_zero=allow_zero), check_positive("D_v", D_v, allow_zero=allow_zero))


def _growth_rates(J, D_u, D_v, k2):
    (f_u, f_v), (g_u, g_v) = J
    trace = f_u + g_v - (D_u + D_v) * k2
    determinant = (f_u - D_u * k2) * (g_v - D_v * k2) - f_v * g_u
    root = np.sqrt((trace * trace - 4 * determinant).astype(complex))
    return np.stack([(trace + root) / 2, (trace - root) / 2], axis=-1)


def dispersion_relation(J, D_u, D_v, k2):
    r"""The growth rate :math:`\max \operatorname{Re} \lambda(k^2)` of the fastest mode at each :math:`k^2`."""
    return growth_rates(J, D_u, D_v, k2)[..., 0].real


def unstable_band(J, D_u, D_v):
    r"""``(k1², k2²)``, the roots of :math:`\delta(k^2)` bounding the unstable band, or None if no band.
    D_u, D_v > 0."""
    J, (D_u, D_v) = _check_jacobian(J), _check_diffusivities(D_u, D_v, allow_zero=False)
    if not is_turing_unstable(J, D_u, D_v):
        return None
    (f_u, f_v), (g_u, g_v) = J
    cross, determinant = D_v * f_u + D_u * g_v, f_u * g_v - f_v * g_u
    root = np.sqrt(cross * cross - 4 * D_u * D_v * determinant)
    return (cross - root) / (2 * D_u * D_v), (cross + root) / (2 * D_u * D_v)


def critical_wavenumber(J, D_u, D_v):
    r""":math:`k_c = \sqrt{(D_v f_u + D_u g_v) / (2 D_u D_v)}`, the minimum of :math:`\delta`: the first mode
    to grow as condition 4 is crossed. Returns nan where condition 3 fails. D_u, D_v > 0."""
    J, (D_u, D_v) = _check_jacobian(J), _check_diffusivities(D_u, D_v, allow_zero=False)
    cross = D_v * J[0][0] + D_u * J[1][1]
    return float(np.sqrt(cross / (2 * D_u * D_v))) if cross > 0 else float("nan")


def critical_diffusion_ratio(J):
    r"""The ratio :math:`d_c = D_v / D_u` at which condition 4 holds with equality,

    .. math:: d_c = \frac{f_u g_v - 2 f_v g_u + 2\sqrt{-f_v g_u \det J}}{f_u^2};

    Turing patterns need :math:`d > d_c` (for :math:`f_u > 0`, :math:`f_v g_u < 0`, :math:`\det J > 0`)."""
    (f_u, f_v), (g_u, g_v) = _check_jacobian(J)
    determinant = f_u * g_v - f_v * g_u
    if not (f_u > 0 and f_v * g_u < 0 and determinant > 0):
        raise ValueError(f"J must have f_u > 0, f_v g_u < 0 and det J > 0 for a critical ratio; got f_u = {f_u:g}, "
                         f"f_v g_u = {f_v * g_u:g}, det J = {determinant:g}")
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
    J, (D_u, D_v) = _check_jacobian(J), _check_diffusivities(D_u, D_v)
    result = minimize_scalar(lambda k2: -_growth_rates(J, D_u, D_v, np.asarray(k2))[0].real, bounds=band,
                             method="bounded", options={"xatol": 1e-12 * band[1]})
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
    shape, h = check_grid_shape("shape", shape), check_positive("h", h)
    axes = np.meshgrid(*(np.sin(np.pi * np.arange(n) / n) ** 2 for n in shape), indexing="ij")
    return 4 / (h * h) * sum(axes)


def euler_growth_rate(rate, dt):
    r"""The per-time growth rate explicit Euler realises for an eigenvalue :math:`\lambda`:
    :math:`\ln|1 + \Delta t\,\lambda| / \Delta t`, element-wise (``rate`` real or complex, any shape)."""
    dt = check_positive("dt", dt)
    if isinstance(rate, (str, bytes)) or rate is None or np.asarray(rate).dtype.kind not in "biufc":
        raise TypeError(f"rate must be an array of real or complex numbers; got {type(rate).__name__}")
    rate = np.asarray(rate)
    if not np.all(np.isfinite(rate)):
        raise ValueError(f"rate must be finite; it holds {int(np.sum(~np.isfinite(rate)))} NaN or infinite value(s)")
    return np.log(np.abs(1 + dt * rate)) / dt


def mode_eigenvectors(J, D_u, D_v, k2):
    """Eigenvalues (larger real part first) and right and left eigenvectors of :math:`J - k^2 D`.

    Returns
    -------
    rates : (2,) complex;  right : (2, 2), columns are eigenvectors;  left : (2, 2), rows, left @ right = I
    """
    J, (D_u, D_v) = _check_jacobian(J), _check_diffusivities(D_u, D_v)
    k2 = check_positive("k2", k2, allow_zero=True)
    eigenvalues, right = np.linalg.eig(J - k2 * np.diag([D_u, D_v]))
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
    shape, amplitude = check_grid_shape("shape", shape), check_real("amplitude", amplitude)
    mode, branch = _check_mode(mode, shape), _check_branch(branch)
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
    u, v = check_fields(u, v)
    shape, branch = u.shape, _check_branch(branch)
    mode = _check_mode(mode, shape)
    mu = lattice_wavenumbers_squared(shape, h)[tuple(mode)]
    _, _, left = mode_eigenvectors(jacobian(model), model.D_u, model.D_v, mu)
    fourier = np.array([np.fft.fftn(field)[tuple(mode)] for field in (u, v)])
    self_conjugate = all((2 * p) % n == 0 for p, n in zip(mode, shape))
    return (1 if self_conjugate else 2) * (left[branch] @ fourier) / np.prod(shape)


def fourier_mode(shape, mode):
    r""":math:`e^{2\pi i (p y / N + q x / M)}` on the index grid of ``shape``; complex array of ``shape``."""
    shape = check_grid_shape("shape", shape)
    mode = _check_mode(mode, shape)
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
    field = as_float_array("field", field, ndim=(1, 2))
    if field.size == 0:
        raise ValueError(f"field must hold at least one cell along each axis; got shape {field.shape}")
    h = check_positive("h", h)
    power = np.abs(np.fft.fftn(field - field.mean())) ** 2
    axes = np.meshgrid(*(2 * np.pi * np.fft.fftfreq(n, d=h) for n in field.shape), indexing="ij")
    step = 2 * np.pi / (max(field.shape) * h)
    shells = np.bincount(np.rint(np.sqrt(sum(k * k for k in axes)) / step).astype(int).ravel(),
                         weights=power.ravel())
    return float(step * np.argmax(shells))


def _check_mode(mode, shape):
    """``mode`` as a tuple of one Fourier index per axis of ``shape``, each in -n .. n - 1, or raise."""
    if np.ndim(mode) != 1 or len(mode) != len(shape):
        raise ValueError(f"mode must hold one index per axis of the grid {shape}; got {mode!r}")
    mode = tuple(check_int(f"mode[{i}]", p) for i, p in enumerate(mode))
    if any(not -n <= p < n for p, n in zip(mode, shape)):
        raise ValueError(f"mode must have indices in -n .. n - 1 for the grid {shape}; got {mode}")
    return mode


def _check_branch(branch):
    return check_choice("branch", check_int("branch", branch), (0, 1))
