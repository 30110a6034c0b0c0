"""The measured growth rate of a perturbation (refimpl.rd.measure) against the lattice dispersion relation."""

import numpy as np
import pytest

from refimpl import rd
from refimpl.rd import theory
from refimpl.rd.measure import perturbation_growth_rate


@pytest.mark.parametrize("model, shape, dt, amplitude, sign", [
    (rd.brusselator(3.0, 9.0, 1.0, 10.0), (4, 4), 0.01, 1e-13, 1),  # one lattice band, μ = 2, grows fastest
    (rd.gray_scott_preset("waves"), (8, 8), 1.0, 1e-3, -1),
])
def test_perturbation_growth_rate_is_measured(model, shape, dt, amplitude, sign):
    """It reports growth for a Turing-unstable state (at the fastest lattice mode's Euler rate), decay for
    a stable one: a measurement that can come out either way. Within 1 %: the slower modes have not
    quite died out after the transient (waves: v decays only k = 0.045 per step faster than u)."""
    u, v = rd.noisy_steady_state(np.random.default_rng(0), model, shape, amplitude=amplitude)
    u, v = rd.simulate(model, u, v, dt=dt, steps=500 if sign > 0 else 100)
    rate = perturbation_growth_rate(model, u, v, dt=dt, steps=200 if sign > 0 else 100)
    mu = theory.lattice_wavenumbers_squared(shape)
    predicted = theory.euler_growth_rate(theory.dispersion_relation(theory.jacobian(model), model.D_u, model.D_v,
                                                                    mu).max(), dt)
    assert np.sign(rate) == sign and rate == pytest.approx(predicted, rel=1e-2)


def test_a_state_without_deviation_or_steps_is_refused():
    model = rd.brusselator()
    u, v = np.full((4, 4), model.steady_state[0]), np.full((4, 4), model.steady_state[1])
    with pytest.raises(ValueError, match="must differ from the steady state"):
        perturbation_growth_rate(model, u, v, dt=0.01, steps=10)
    with pytest.raises(ValueError, match="steps must be >= 1; got 0"):
        perturbation_growth_rate(model, u + 1e-3, v, dt=0.01, steps=0)
