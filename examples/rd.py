"""Turing's instability, step by step: predict a Brusselator pattern from the Jacobian, then grow it.

    python examples/rd.py            # 128² cells, 3,000 steps; figure in figures/examples/rd.png
    python examples/rd.py --smoke    # 48² cells, 600 steps
    NUMBA_DISABLE_JIT=1 python -m pdb examples/rd.py --smoke   # step into the numba kernel
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from refimpl import rd
from refimpl.rd import theory

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--smoke", action="store_true", help="smallest setting")
parser.add_argument("--out", type=Path, default=Path("figures/examples"))
args = parser.parse_args()

# 1. The model and its homogeneous steady state (u*, v*) = (a, b/a).
model = rd.brusselator(a=3.0, b=9.0, D_u=1.0, D_v=10.0)
J = theory.jacobian(model)  # [[f_u, f_v], [g_u, g_v]] at the steady state
print(model.label, "steady state", model.steady_state, "Jacobian", J.tolist())

# 2. The theory: the four Turing conditions, the unstable band and the fastest-growing wavelength.
print(theory.turing_conditions(J, model.D_u, model.D_v))
k2_low, k2_high = theory.unstable_band(J, model.D_u, model.D_v)
k_fastest = theory.fastest_growing_wavenumber(J, model.D_u, model.D_v)
print(f"unstable band {k2_low:.3f} < k² < {k2_high:.3f}; predicted wavelength {2 * np.pi / k_fastest:.3f}")

# 3. The simulation: noise on the steady state, explicit Euler on a periodic grid of spacing h.
size, steps = (48, 600) if args.smoke else (128, 3000)
h, dt = 0.5, 0.005  # dt must stay below h² / (4 D_max) = 0.00625; rd.simulate refuses anything larger
u, v = rd.noisy_steady_state(np.random.default_rng(0), model, (size, size), amplitude=1e-3)
u, v = rd.simulate(model, u, v, dt=dt, steps=steps, h=h)  # backend="numpy" runs the readable reference

# 4. The measurement: the peak of the pattern's radially binned power spectrum.
k_peak = theory.dominant_wavenumber(u, h)
print(f"measured wavelength {2 * np.pi / k_peak:.3f}; inside the band: {k2_low < k_peak**2 < k2_high}")

figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.imshow(u, extent=(0, size * h, 0, size * h), origin="lower")
left.set(title=f"u at t = {steps * dt:g}", xlabel="x", ylabel="y")
k = np.linspace(0, 3, 400)
right.plot(k, theory.dispersion_relation(J, model.D_u, model.D_v, k**2))
right.axvspan(np.sqrt(k2_low), np.sqrt(k2_high), alpha=0.2, label="unstable band")
right.axvline(k_peak, ls=":", color="red", label="pattern FFT peak")
right.axhline(0, color="black", lw=0.8)
right.set(xlabel="wavenumber k", ylabel=r"max Re $\lambda$", title="dispersion relation")
right.legend()
args.out.mkdir(parents=True, exist_ok=True)
figure.savefig(args.out / "rd.png", dpi=150, bbox_inches="tight")
print(f"wrote {args.out / 'rd.png'}")
