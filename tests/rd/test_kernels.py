"""The three twins of kernel "rd_steps" agree to rounding: NumPy vs numba (hypothesis) vs numba.cuda."""

import re

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from refimpl import rd
from refimpl.core import backend
from refimpl.rd import kernels
from refimpl.rd.kernels import rd_steps_numba

MODELS = {
    "gray_scott": rd.gray_scott_preset("mitosis"),
    "brusselator": rd.brusselator(3.0, 9.0, 1.0, 10.0),
    "schnakenberg": rd.schnakenberg(),
    "linear": rd.linear([[0.5, -1.0], [1.5, -2.0]], D_u=0.2, D_v=1.0),
}
# per step, relative to the largest field value; measured worst cases over 400 random draws were
# 1.5e-16 (float64) and 1.2e-7 (float32), so these leave a margin of about 70x
TOLERANCE = {np.float64: 1e-14, np.float32: 1e-5}


def _tolerance(dtype, steps, fields):
    return TOLERANCE[dtype] * (1 + steps) * max(float(np.abs(a).max()) for a in fields)


def _start(model, shape, seed, dtype):
    rng = np.random.default_rng(seed)
    u, v = rd.noisy_steady_state(rng, model, shape, amplitude=0.1)
    if model.name.startswith("Gray-Scott"):
        u, v = rd.pearson_seed(rng, shape, square=0.5, noise=0.05)
    return u.astype(dtype), v.astype(dtype)


def _max_difference(a, b):
    return max(float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) for x, y in zip(a, b))


@given(st.sampled_from(sorted(MODELS)), st.one_of(st.tuples(st.integers(1, 9), st.integers(1, 9)),
                                                  st.tuples(st.integers(1, 12))),
       st.sampled_from(rd.BOUNDARIES), st.sampled_from([np.float64, np.float32]), st.integers(0, 40),
       st.integers(1, 6), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_numba_twin_matches_numpy_reference(name, shape, boundary, dtype, steps, steps_per_pass, slabs, seed):
    """Any time blocking (steps per sweep) and any split into row slabs gives the reference fields."""
    model = MODELS[name]
    u, v = _start(model, shape, seed, dtype)
    dt = 0.5 * rd.max_stable_dt(max(model.D_u, model.D_v), 1.0, len(shape))
    reference = rd.simulate(model, u, v, dt=dt, steps=steps, boundary=boundary, backend="numpy")
    blocked = rd_steps_numba(model, u, v, dt, steps, 1.0, boundary, steps_per_pass=steps_per_pass, slabs=slabs)
    difference = _max_difference(reference, blocked)
    note(f"max |numpy - numba| = {difference:.3e}")
    assert all(a.dtype == dtype and a.shape == shape for a in blocked)
    assert difference <= _tolerance(dtype, steps, reference)


@pytest.mark.parametrize("boundary", rd.BOUNDARIES)
def test_twins_agree_after_many_steps(boundary):
    """500 Gray-Scott steps from Pearson's seed on a grid larger than the row slabs and time blocks."""
    model = rd.gray_scott_preset("coral")
    u, v = rd.pearson_seed(np.random.default_rng(3), (48, 40), square=0.3)
    reference = rd.simulate(model, u, v, dt=1.0, steps=500, boundary=boundary, backend="numpy")
    for slabs in (1, 3):
        fused = rd_steps_numba(model, u, v, 1.0, 500, 1.0, boundary, slabs=slabs)
        assert _max_difference(reference, fused) < 1e-13  # measured 7.8e-16 (periodic), 1.9e-15 (neumann)
    assert _max_difference(reference, (u, v)) > 0.05  # the pattern did move


@given(st.sampled_from(sorted(MODELS)), st.one_of(st.tuples(st.integers(1, 13), st.integers(1, 13)),
                                                  st.tuples(st.integers(1, 15))),
       st.sampled_from(rd.BOUNDARIES), st.sampled_from([np.float64, np.float32]), st.integers(0, 45),
       st.integers(2, 9), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_temporal_blocking_is_bit_identical_to_one_step_per_sweep(name, shape, boundary, dtype, steps,
                                                                  steps_per_pass, slabs, seed):
    """Several steps per sweep and any split into row slabs compute every cell with the same operations in
    the same order as one step per sweep on one slab: the fields are equal bit for bit, not only to rounding."""
    model = MODELS[name]
    u, v = _start(model, shape, seed, dtype)
    dt = 0.5 * rd.max_stable_dt(max(model.D_u, model.D_v), 1.0, len(shape))
    one_step = rd_steps_numba(model, u, v, dt, steps, 1.0, boundary, steps_per_pass=1, slabs=1)
    blocked = rd_steps_numba(model, u, v, dt, steps, 1.0, boundary, steps_per_pass=steps_per_pass, slabs=slabs)
    assert all(np.array_equal(a, b) for a, b in zip(one_step, blocked))
    assert all(a.dtype == dtype for a in blocked)


# (shape, dtype, boundary): with blocks of 16 × 4 threads, each owning a tile of 8 rows × 16 columns, 37 × 21
# spans 2 × 5 tiles, 21 × 37 3 × 3 and 13 × 19 2 × 2, partly filled at the edges (odd sizes); 5 × 7 is smaller
# than one tile and than its halo; 45 cells in 1-D span one block of 256 threads. The simulator is slow.
CUDA_CASES = [((37, 21), np.float64, "periodic"), ((21, 37), np.float32, "neumann"),
              ((13, 19), np.float64, "neumann"), ((13, 19), np.float32, "periodic"),
              ((5, 7), np.float64, "periodic"), ((45,), np.float64, "neumann"), ((45,), np.float32, "periodic")]
CUDA_STEPS = 5  # not a multiple of 2 or 4: every blocked run ends on a shorter launch


@pytest.mark.cuda
@pytest.mark.skipif(not backend.cuda_available(), reason="needs a CUDA GPU or NUMBA_ENABLE_CUDASIM=1")
@pytest.mark.parametrize("shape, dtype, boundary", CUDA_CASES)
def test_cuda_twin_steps_per_launch_are_bit_identical_and_match_numpy(shape, dtype, boundary):
    """T = 2 and 4 steps per launch (the halo recomputed in shared memory), and the default blocks, give the
    fields of one step per launch bit for bit; those agree with the NumPy reference to rounding."""
    from refimpl.rd.cuda_kernels import rd_steps_cuda

    model = MODELS["gray_scott"]
    u, v = _start(model, shape, 7, dtype)
    reference = rd.simulate(model, u, v, dt=1.0, steps=CUDA_STEPS, boundary=boundary, backend="numpy")
    one_step = rd_steps_cuda(model, u, v, 1.0, CUDA_STEPS, 1.0, boundary, steps_per_launch=1, threads=(16, 4))
    assert all(a.dtype == dtype and a.shape == shape for a in one_step)
    assert _max_difference(reference, one_step) <= _tolerance(dtype, CUDA_STEPS, reference)
    assert _max_difference(reference, (u, v)) > 1e-3  # the fields did move
    for steps_per_launch in (2, 4, 6):  # 6 > CUDA_STEPS: one launch, a halo wider than the 16-column block
        blocked = rd_steps_cuda(model, u, v, 1.0, CUDA_STEPS, 1.0, boundary, steps_per_launch=steps_per_launch,
                                threads=(16, 4))
        assert all(np.array_equal(a, b) for a, b in zip(one_step, blocked)), f"T = {steps_per_launch}"
    default = rd.simulate(model, u, v, dt=1.0, steps=CUDA_STEPS, boundary=boundary, backend="cuda")
    assert all(np.array_equal(a, b) for a, b in zip(one_step, default))


@pytest.mark.cuda
@pytest.mark.skipif(not backend.cuda_available(), reason="needs a CUDA GPU or NUMBA_ENABLE_CUDASIM=1")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_stepper_refuses_tiles_beyond_shared_memory(dtype):
    """The largest T that fits is accepted; one more is refused before anything is allocated, naming T,
    the bytes it needs and the largest T that fits."""
    from refimpl.rd.cuda_kernels import (MAX_STEPS_PER_LAUNCH, SHARED_BYTES_PER_BLOCK, DeviceStepper,
                                         max_steps_per_launch, shared_bytes)

    model, threads = MODELS["gray_scott"], (32, 8)
    fitting = max_steps_per_launch(dtype, threads, limit=64)
    assert shared_bytes(dtype, threads, fitting) <= SHARED_BYTES_PER_BLOCK < shared_bytes(dtype, threads, fitting + 1)
    assert max_steps_per_launch(dtype, threads) == min(fitting, MAX_STEPS_PER_LAUNCH)
    DeviceStepper(model, (8, 8), dtype, 1.0, 1.0, "periodic", fitting, threads)
    with pytest.raises(ValueError, match=rf"steps_per_launch = {fitting + 1} needs \d+ bytes .* "
                                         rf"use steps_per_launch <= {fitting}"):
        DeviceStepper(model, (8, 8), dtype, 1.0, 1.0, "periodic", fitting + 1, threads)


@pytest.mark.parametrize("keyword, value, rule", [("slabs", 0, ">= 1"), ("slabs", -2, ">= 1"),
                                                  ("steps_per_pass", 0, ">= 1"), ("steps_per_pass", 10, "<= 9")])
def test_numba_twin_refuses_blocking_out_of_range(keyword, value, rule):
    """T = 10 would need a ninth ring phase: two steps of a sweep would share rows."""
    u, v = _start(MODELS["brusselator"], (4, 4), 0, np.float64)
    with pytest.raises(ValueError, match=f"{keyword} must be {rule}; got {value}"):
        rd_steps_numba(MODELS["brusselator"], u, v, 0.01, 3, 1.0, "periodic", **{keyword: value})


def _page_offset(a):
    return a.ctypes.data % kernels.PAGE


def _distance(a, b):
    """Bytes between two offsets on the 4 KiB circle."""
    return min((a - b) % kernels.PAGE, (b - a) % kernels.PAGE)


@given(st.integers(1, 5000), st.sampled_from([np.float64, np.float32]), st.integers(1, 3))
def test_ring_rows_of_each_phase_start_512_bytes_apart_modulo_4k(nx, dtype, slabs):
    """Read from the addresses of the rows: phase c of field f starts c × 512 + f × 2048 B (mod 4 KiB) after
    the first row, in every slot and slab, and a row holds at least nx cells."""
    ring = kernels._ring(slabs, nx, dtype)
    assert ring.shape[-1] >= nx and ring.shape[2] == 3 * kernels.RING_PHASES + 4
    first = _page_offset(ring)
    for slab, field, slot, phase in np.ndindex(slabs, 2, 3, kernels.RING_PHASES):
        row = ring[slab, field, kernels.RING_PHASES * slot + phase]
        assert (_page_offset(row) - first) % kernels.PAGE == (512 * phase + 2048 * field) % kernels.PAGE


@given(st.integers(0, 511), st.sampled_from([np.float64, np.float32]))
def test_sweep_buffers_start_a_whole_kilobyte_from_the_input_modulo_4k(offset, dtype):
    itemsize = np.dtype(dtype).itemsize
    u = kernels._at_offset((3, 1024), dtype, offset * itemsize)
    assert _page_offset(u) == offset * itemsize and u.flags.c_contiguous
    pairs = kernels.sweep_buffers(u)
    got = [(_page_offset(a) - _page_offset(u)) % kernels.PAGE for pair in pairs for a in pair]
    assert got == [1024, 3072, 2048, 0]
    assert all(a.shape == u.shape and a.dtype == u.dtype and a.flags.c_contiguous for pair in pairs for a in pair)


@given(st.lists(st.integers(0, 511), min_size=4, max_size=4), st.integers(2, 9))
def test_the_ring_rotation_keeps_the_first_and_last_ring_rows_farthest_from_the_grid_rows(offsets, levels):
    """Over all 8 rotations, measured on the ring's row addresses: the one chosen puts the rows of the first
    intermediate step (which read the sources) and of the last (read by the step that writes the targets) as far
    from those grid rows, modulo 4 KiB, as any rotation can."""
    ring = kernels._ring(1, 512, np.float64)
    sources, targets = ([kernels._at_offset((1, 512), np.float64, 8 * o) for o in pair]
                        for pair in (offsets[:2], offsets[2:]))

    def nearest(rotation):
        first = [ring[0, f, (1 + rotation) % kernels.RING_PHASES] for f in (0, 1)]
        last = [ring[0, f, (levels - 1 + rotation) % kernels.RING_PHASES] for f in (0, 1)]
        return min([_distance(_page_offset(a), _page_offset(b)) for a in first for b in sources]
                   + [_distance(_page_offset(a), _page_offset(b)) for a in last for b in targets])

    offsets = [tuple(_page_offset(a) for a in pair) for pair in (sources, targets)]
    chosen = kernels._ring_rotation(_page_offset(ring), *offsets, levels)
    assert nearest(chosen) == max(nearest(rotation) for rotation in range(kernels.RING_PHASES))
    assert kernels._ring_rotation(_page_offset(ring), *offsets, 1) == 0  # one step: no ring


def _doubling(field, D=0.5):
    """A linear model whose ``field`` doubles exactly every step at dt = 1/4 (1 + dt·4 = 2), the other fixed."""
    J = [[4.0, 0.0], [0.0, 0.0]] if field == "u" else [[0.0, 0.0], [0.0, 4.0]]
    return rd.linear(J, D_u=D, D_v=D)


CPU_TWINS = {"numpy": lambda model, u, v, steps: rd.simulate(model, u, v, dt=0.25, steps=steps, backend="numpy"),
             "numba": lambda model, u, v, steps: rd.simulate(model, u, v, dt=0.25, steps=steps, backend="numba"),
             "numba, 1 step per sweep, 2 slabs": lambda model, u, v, steps: rd_steps_numba(
                 model, u, v, 0.25, steps, 1.0, "periodic", steps_per_pass=1, slabs=2),
             "numba, 7 steps per sweep": lambda model, u, v, steps: rd_steps_numba(
                 model, u, v, 0.25, steps, 1.0, "neumann", steps_per_pass=7, slabs=3)}


@pytest.mark.parametrize("field", ["u", "v"])
@pytest.mark.parametrize("twin, dtype, exponent, first_bad", [
    (twin, *case) for twin in sorted(CPU_TWINS) for case in [(np.float64, -5, 1028), (np.float32, -3, 130)]
    if case[0] == np.float32 or "1 step" not in twin])  # 1028 sweeps of one step each take seconds
def test_a_blow_up_stops_with_the_step_and_the_field(twin, field, dtype, exponent, first_bad):
    """A uniform field 2^e doubles exactly each step (its Laplacian is exactly 0) until the 5-point sum of
    four neighbours, 4u, overflows: from u = 2^1022 (float64) or 2^126 (float32), that is at step 1028 from
    2^-5 and 130 from 2^-3, in the middle of a block of checks. The run stops there, naming that field
    (u + Δt (D (Σ − 4u) + f) gives inf − inf = nan, numba's regrouped (1 − 4d) u + d Σ + … gives inf); the
    run one step shorter is finite and exact."""
    model, shape = _doubling(field), (5, 3)
    u, v = np.full(shape, 2.0**exponent, dtype), np.full(shape, 2.0**exponent, dtype)
    fields = dict(zip("uv", CPU_TWINS[twin](model, u, v, first_bad - 1)))
    largest = dtype(2.0 ** (np.finfo(dtype).maxexp - 2))
    assert np.all(fields[field] == largest) and np.all(fields["v" if field == "u" else "u"] == dtype(2.0**exponent))
    message = rf"^{field} became (nan|inf) at step {first_bad} of {first_bad + 40}$"
    with pytest.raises(FloatingPointError, match=message):
        CPU_TWINS[twin](model, u, v, first_bad + 40)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.data(), st.sampled_from("uv"), st.integers(1, 9),
       st.integers(1, 4), st.sampled_from(rd.BOUNDARIES))
def test_the_kernel_check_sees_one_bad_cell_anywhere(ny, nx, data, field, steps_per_pass, slabs, boundary):
    """Without diffusion one cell at 2^-3 doubles alone (float32) until its regrouped update c_u u = 2u
    overflows at step 131 (:func:`~refimpl.rd.kernels.folded_coefficients`), or at step 130 on a 1 × 1 grid,
    where the cell is its own four neighbours and their sum 4u overflows first (as the NumPy reference's 4u,
    above): the in-kernel check of the numba twin must see it in whichever row, slab and column it lies."""
    model = _doubling(field, D=0.0)
    cell = data.draw(st.integers(0, ny - 1)), data.draw(st.integers(0, nx - 1))
    u, v = np.zeros((ny, nx), np.float32), np.zeros((ny, nx), np.float32)
    (u if field == "u" else v)[cell] = 2.0**-3
    first_bad = 130 if (ny, nx) == (1, 1) else 131
    with pytest.raises(FloatingPointError, match=rf"^{field} became (nan|inf) at step {first_bad} of 150$"):
        rd_steps_numba(model, u, v, 0.25, 150, 1.0, boundary, steps_per_pass=steps_per_pass, slabs=slabs)


def _squaring(field):
    """No diffusion; ``field`` follows w' = w + dt·w² from 1 at dt = 1 (1, 2, 6, 42, 1806, ...), the other
    stays 1: w² overflows float32 at step 8 (w = 1.1e26 before it) and float64 at step 11 (w = 2.7e208)."""
    f, g = ((0, 0, 0, 1, 0), (0,) * 5) if field == "u" else ((0,) * 5, (0, 0, 0, 0, 1))
    return rd.ReactionDiffusion("squaring", 0.0, 0.0, f, g, steady_state=(0.0, 0.0))


@pytest.mark.parametrize("backend_name", ["numpy", "numba",
                                          pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(
                                              not backend.cuda_available(), reason="needs CUDA or the simulator"),
                                              pytest.mark.filterwarnings("ignore::RuntimeWarning")])])
@pytest.mark.parametrize("field, dtype, first_inf", [("u", np.float32, 8), ("v", np.float64, 11)])
def test_every_backend_names_the_step_and_field_of_a_blow_up(backend_name, field, dtype, first_inf):
    u, v = np.ones((3, 4), dtype), np.ones((3, 4), dtype)
    model = _squaring(field)
    finite = rd.simulate(model, u, v, dt=1.0, steps=first_inf - 1, backend=backend_name)
    assert all(np.all(np.isfinite(a)) for a in finite) and finite["uv".index(field)].max() > 1e25
    with pytest.raises(FloatingPointError, match=rf"^{field} became inf at step {first_inf} of 20$"):
        rd.simulate(model, u, v, dt=1.0, steps=20, backend=backend_name)


@pytest.mark.parametrize("backend_name", ["numpy", "numba", "cuda"])
@pytest.mark.parametrize("shape", [(0,), (0, 4), (3, 0), (0, 0)])
def test_an_empty_grid_is_refused_before_any_kernel_runs(backend_name, shape):
    model = MODELS["brusselator"]
    with pytest.raises(ValueError, match=rf"u and v must hold at least one cell along each axis; got shape "
                                         rf"{re.escape(str(shape))}"):
        rd.simulate(model, np.ones(shape), np.ones(shape), dt=0.01, steps=3, backend=backend_name)


def test_steps_per_pass_fit_the_ring_in_the_cache(monkeypatch):
    """T is the largest T <= 8 whose ring of 3 rows × (T − 1) steps × 2 fields fits the cache of a thread."""
    assert kernels.cache_bytes_per_thread() >= 2**15  # this machine's, read from /sys, or the fallback
    monkeypatch.setattr(kernels, "cache_bytes_per_thread", lambda: 2**20)
    ring_per_step = 3 * 2 * 4096 * 8  # 4096 float64 cells a row: 192 KiB per intermediate step
    assert kernels.steps_per_pass_for(4096, 8) == 1 + 2**20 // ring_per_step == 6
    assert kernels.steps_per_pass_for(4096, 4) == kernels.MAX_STEPS_PER_PASS  # float32: 11 would fit, capped
    assert kernels.steps_per_pass_for(2**20, 8) == 1  # not even one intermediate row fits: one step per sweep
