r"""Two-morphogen reaction-diffusion systems (Turing 1952; Gray-Scott as in Pearson 1993), readable NumPy.

.. math::
    \partial_t u = D_u \nabla^2 u + f(u, v), \qquad \partial_t v = D_v \nabla^2 v + g(u, v)

Every model of this module has reaction terms that are polynomials of one shape,

.. math::
    f(u, v) = c_0 + c_u u + c_v v + c_{uuv} u^2 v + c_{uvv} u v^2

(and likewise :math:`g`), so one set of kernels (NumPy, numba, numba.cuda) integrates all of them;
a model is its two diffusivities and its 2 × 5 coefficients
``(c_0, c_u, c_v, c_uuv, c_uvv)``:

=================  ==========================================  ==========================================
model              :math:`f(u, v)`                             :math:`g(u, v)`
=================  ==========================================  ==========================================
Gray-Scott         :math:`-u v^2 + F (1 - u)`                  :math:`u v^2 - (F + k) v`
Brusselator        :math:`a - (b + 1) u + u^2 v`               :math:`b u - u^2 v`
Schnakenberg       :math:`\gamma (a - u + u^2 v)`              :math:`\gamma (b - u^2 v)`
linear (Turing)    :math:`J_{11} u + J_{12} v`                 :math:`J_{21} u + J_{22} v`
=================  ==========================================  ==========================================

Space: the 5-point Laplacian (3-point in 1-D) on a grid of spacing ``h``, with periodic boundaries or
zero-flux (Neumann) boundaries. Zero flux is cell-centred: the ghost value beyond an edge equals the
edge value, so the flux through the wall is zero and the sum of a field is conserved by diffusion.
Time: explicit Euler, stable for pure diffusion when :math:`\Delta t \le h^2 / (2\,n_{dim} D_{max})`.
"""

from dataclasses import dataclass

import numpy as np

from refimpl.core.validate import as_float_array, check_choice, check_int, check_positive, check_real, check_rng, \
    check_shape

BOUNDARIES = ("periodic", "neumann")

#: Gray-Scott (F, k) pairs. All but the last two from pmneila/jsexp (grayscott/index.html), with that
#: demo's D_u = 0.2097, D_v = 0.105 in lattice units; "mitosis" and "coral" from Karl Sims
#: (karlsims.com/rd.html), whose 9-point stencil gives about the same D_u : D_v = 2 : 1.
GRAY_SCOTT_PRESETS = {
    "default": (0.037, 0.06),
    "solitons": (0.03, 0.062),
    "pulsating_solitons": (0.025, 0.06),
    "worms": (0.078, 0.061),
    "mazes": (0.029, 0.057),
    "holes": (0.039, 0.058),
    "chaos": (0.026, 0.051),
    "chaos_and_holes": (0.034, 0.056),
    "moving_spots": (0.014, 0.054),
    "spots_and_loops": (0.018, 0.051),
    "waves": (0.014, 0.045),
    "u_skate": (0.062, 0.06093),
    "mitosis": (0.0367, 0.0649),
    "coral": (0.0545, 0.062),
}
GRAY_SCOTT_D_U, GRAY_SCOTT_D_V = 0.2097, 0.105


@dataclass(frozen=True)
class ReactionDiffusion:
    """A two-morphogen model: diffusivities and the polynomial coefficients of f and g.

    Attributes
    ----------
    name : str
    D_u, D_v : float, diffusivities (>= 0)
    f, g : tuple of 5 floats, ``(c_0, c_u, c_v, c_uuv, c_uvv)`` of the reaction terms
    steady_state : (u*, v*), a homogeneous steady state (the one the Turing analysis is about)
    parameters : tuple of (name, value) pairs, for labels
    """

    name: str
    D_u: float
    D_v: float
    f: tuple
    g: tuple
    steady_state: tuple
    parameters: tuple = ()

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str; got {type(self.name).__name__} {self.name!r}")
        for name in ("D_u", "D_v"):
            object.__setattr__(self, name, check_positive(name, getattr(self, name), allow_zero=True))
        for name, size in (("f", 5), ("g", 5), ("steady_state", 2)):
            values = check_shape(name, as_float_array(name, getattr(self, name), ndim=1), (size,))
            object.__setattr__(self, name, tuple(values.tolist()))

    def reaction(self, u, v):
        """``(f(u, v), g(u, v))``, element-wise, arrays of the shape of ``u``."""
        return reaction_polynomial(self.f, u, v), reaction_polynomial(self.g, u, v)

    @property
    def coefficients(self):
        """(2, 5) float64 array: the rows are the coefficients of f and of g."""
        return np.array([self.f, self.g], dtype=np.float64)

    @property
    def label(self):
        values = [f"{k}={v:g}" for k, v in self.parameters] + [f"D_u={self.D_u:g}", f"D_v={self.D_v:g}"]
        return f"{self.name} ({', '.join(values)})"


def reaction_polynomial(c, u, v):
    r""":math:`c_0 + c_u u + c_v v + c_{uuv} u^2 v + c_{uvv} u v^2`, element-wise."""
    return c[0] + c[1] * u + c[2] * v + (c[3] * u + c[4] * v) * (u * v)


def _model(name, D_u, D_v, f, g, steady_state, parameters):
    return ReactionDiffusion(name, D_u, D_v, f, g, steady_state, tuple(parameters.items()))


def check_model(model):
    """Return ``model`` if it is a :class:`ReactionDiffusion`, else raise ``TypeError``."""
    if not isinstance(model, ReactionDiffusion):
        raise TypeError(f"model must be a refimpl.rd.ReactionDiffusion (from gray_scott, brusselator, ...); "
                        f"got {type(model).__name__}")
    return model


def check_fields(u, v):
    """Return the fields u, v as non-empty finite arrays of one shape, (n,) or (ny, nx): float32 stays float32,
    anything else becomes float64; or raise naming the field."""
    u = as_float_array("u", u, ndim=(1, 2), dtype=None)
    if u.dtype not in (np.float32, np.float64):
        u = u.astype(np.float64)
    v = as_float_array("v", v, ndim=(1, 2), dtype=u.dtype)
    if v.shape != u.shape:
        raise ValueError(f"v must have the shape of u, {u.shape}; got {v.shape}")
    if u.size == 0:
        raise ValueError(f"u and v must hold at least one cell along each axis; got shape {u.shape}")
    return u, v


def gray_scott(F, k, D_u=GRAY_SCOTT_D_U, D_v=GRAY_SCOTT_D_V):
    r"""Gray-Scott: :math:`f = -uv^2 + F(1-u)`, :math:`g = uv^2 - (F+k)v`; steady state (1, 0).

    The trivial state (1, 0) is linearly stable for every F, k > 0: Gray-Scott patterns grow from
    finite seeds, not from a Turing instability (Pearson 1993).
    """
    F, k = check_positive("F", F), check_positive("k", k)
    return _model("Gray-Scott", D_u, D_v, f=(F, -F, 0, 0, -1), g=(0, 0, -(F + k), 0, 1),
                  steady_state=(1, 0), parameters={"F": F, "k": k})


def gray_scott_preset(name, D_u=GRAY_SCOTT_D_U, D_v=GRAY_SCOTT_D_V):
    """The Gray-Scott model at the named (F, k) of :data:`GRAY_SCOTT_PRESETS`."""
    F, k = GRAY_SCOTT_PRESETS[check_choice("name", name, tuple(GRAY_SCOTT_PRESETS))]
    model = gray_scott(F, k, D_u, D_v)
    return ReactionDiffusion(f"Gray-Scott {name}", model.D_u, model.D_v, model.f, model.g,
                             model.steady_state, model.parameters)


def brusselator(a=3.0, b=9.0, D_u=1.0, D_v=10.0):
    r"""Brusselator: :math:`f = a - (b+1)u + u^2 v`, :math:`g = bu - u^2 v`; steady state (a, b/a)."""
    a, b = check_positive("a", a), check_positive("b", b)
    return _model("Brusselator", D_u, D_v, f=(a, -(b + 1), 0, 1, 0), g=(0, b, 0, -1, 0),
                  steady_state=(a, b / a), parameters={"a": a, "b": b})


def schnakenberg(a=0.1, b=0.9, D_u=1.0, D_v=40.0, gamma=1.0):
    r"""Schnakenberg: :math:`f = \gamma(a - u + u^2 v)`, :math:`g = \gamma(b - u^2 v)`;
    steady state :math:`(a + b,\; b / (a + b)^2)`."""
    a, b = check_positive("a", a, allow_zero=True), check_positive("b", b)
    gamma = check_positive("gamma", gamma)
    return _model("Schnakenberg", D_u, D_v, f=(gamma * a, -gamma, 0, gamma, 0), g=(gamma * b, 0, 0, -gamma, 0),
                  steady_state=(a + b, b / (a + b) ** 2), parameters={"a": a, "b": b, "gamma": gamma})


def linear(J, D_u=1.0, D_v=10.0):
    r"""Turing's linear two-morphogen model: :math:`(f, g) = J (u, v)`, steady state (0, 0).

    Parameters
    ----------
    J : (2, 2) array_like, the reaction Jacobian ``[[J11, J12], [J21, J22]]``
    """
    J = check_shape("J", as_float_array("J", J, ndim=2), (2, 2))
    return _model("linear", D_u, D_v, f=(0, J[0, 0], J[0, 1], 0, 0), g=(0, J[1, 0], J[1, 1], 0, 0),
                  steady_state=(0, 0), parameters={})


def laplacian(u, h=1.0, boundary="periodic"):
    r"""The 5-point Laplacian (3-point in 1-D), any number of dimensions.

    .. math:: (\nabla^2_h u)_{ij} = (u_{i+1,j} + u_{i-1,j} + u_{i,j+1} + u_{i,j-1} - 4u_{ij}) / h^2

    Parameters
    ----------
    u : (n,) or (ny, nx) array
    h : float, grid spacing
    boundary : "periodic" (wrap around) or "neumann" (zero flux: the ghost value equals the edge value)
    """
    u = as_float_array("u", u, dtype=None)
    if u.ndim == 0 or u.size == 0:
        raise ValueError(f"u must be a non-empty grid of at least one dimension; got shape {u.shape}")
    check_choice("boundary", boundary, BOUNDARIES)
    return _laplacian(u, check_positive("h", h), boundary)


def _laplacian(u, h, boundary):
    padded = np.pad(u, 1, mode="wrap" if boundary == "periodic" else "edge")
    centre = (slice(1, -1),) * u.ndim
    total = -2 * u.ndim * u
    for axis in range(u.ndim):
        for shift in (slice(None, -2), slice(2, None)):
            total = total + padded[centre[:axis] + (shift,) + centre[axis + 1:]]
    return total / (h * h)


def euler_step(model, u, v, dt, h=1.0, boundary="periodic"):
    r"""One explicit Euler step, the definition every kernel reproduces.

    .. math:: u' = u + \Delta t\,(D_u \nabla^2_h u + f(u, v)), \qquad
              v' = v + \Delta t\,(D_v \nabla^2_h v + g(u, v))

    Validated (as :func:`~refimpl.rd.kernels.simulate`); the NumPy twin loops over the unchecked ``_euler_step``.
    """
    u, v = check_fields(u, v)
    dt = check_time_step(dt, check_model(model), h, u.ndim)
    check_choice("boundary", boundary, BOUNDARIES)
    return _euler_step(model, u, v, dt, float(h), boundary)


def _euler_step(model, u, v, dt, h, boundary):
    f, g = model.reaction(u, v)
    return (u + dt * (model.D_u * _laplacian(u, h, boundary) + f),
            v + dt * (model.D_v * _laplacian(v, h, boundary) + g))


def max_stable_dt(D_max, h=1.0, ndim=2):
    r"""Largest stable explicit-Euler step for pure diffusion, :math:`h^2 / (2\,n_{dim} D_{max})`."""
    D_max, h = check_positive("D_max", D_max, allow_zero=True), check_positive("h", h)
    ndim = check_int("ndim", ndim, minimum=1)
    return np.inf if D_max == 0 else h * h / (2 * ndim * D_max)


def check_time_step(dt, model, h=1.0, ndim=2):
    """Return ``dt`` as a float, or refuse a step beyond the explicit-Euler diffusion limit."""
    dt = check_positive("dt", dt)
    h = check_positive("h", h)
    check_model(model)
    D_max = max(model.D_u, model.D_v)
    limit = max_stable_dt(D_max, h, ndim)
    if dt > limit:
        raise ValueError(f"dt = {dt:g} is unstable for the explicit {2 * ndim + 1}-point scheme "
                         f"with D_max = {D_max:g}, h = {h:g} in {ndim}-D; use dt <= {limit:.6g}")
    return dt


def pearson_seed(rng, shape, *, square=0.2, noise=0.01, values=(0.5, 0.25)):
    """Pearson's Gray-Scott start: u = 1, v = 0, a central square at (u, v) = ``values``, plus noise.

    Parameters
    ----------
    rng : numpy.random.Generator or int seed
    shape : (n,) or (ny, nx)
    square : float, side of the square as a fraction of the grid
    noise : float, amplitude of the uniform noise added to both fields
    values : (u, v) inside the square; Pearson used (1/2, 1/4)
    """
    rng = check_rng("rng", rng)
    shape = check_grid_shape("shape", shape)
    square = check_positive("square", square)
    if square > 1:
        raise ValueError(f"square must be a fraction of the grid in (0, 1]; got {square!r}")
    noise = check_positive("noise", noise, allow_zero=True)
    if np.shape(values) != (2,):
        raise ValueError(f"values must be a pair (u, v); got {values!r}")
    values = tuple(check_real(f"values[{i}]", value) for i, value in enumerate(values))
    u, v = np.ones(shape), np.zeros(shape)
    centre = tuple(slice(int(n * (1 - square) / 2), int(n * (1 + square) / 2) + 1) for n in shape)
    u[centre], v[centre] = values
    u += noise * rng.uniform(-1, 1, shape)
    v += noise * rng.uniform(-1, 1, shape)
    return u, np.clip(v, 0, None)


def noisy_steady_state(rng, model, shape, amplitude=1e-3):
    """The homogeneous steady state plus uniform noise of the given amplitude (Turing's start).

    Parameters
    ----------
    rng : numpy.random.Generator or int seed;  model : :class:`ReactionDiffusion`;  shape : (n,) or (ny, nx)
    amplitude : float >= 0, half-width of the uniform noise on each field
    """
    rng = check_rng("rng", rng)
    shape = check_grid_shape("shape", shape)
    amplitude = check_positive("amplitude", amplitude, allow_zero=True)
    u_star, v_star = check_model(model).steady_state
    return (u_star + amplitude * rng.uniform(-1, 1, shape), v_star + amplitude * rng.uniform(-1, 1, shape))


def check_grid_shape(name, shape):
    """Return ``shape`` as a tuple of 1 or 2 positive ints, or raise naming ``name``."""
    if np.ndim(shape) != 1 or len(shape) not in (1, 2):
        raise ValueError(f"{name} must be (n,) or (ny, nx); got {shape!r}")
    return tuple(check_int(f"{name}[{i}]", n, minimum=1) for i, n in enumerate(shape))
