"""Bad-input cases of :mod:`refimpl.tutorial` (see :mod:`tests.api.probe`)."""

import numpy as np

from refimpl.tutorial import landscape, model, theory
from tests.api.probe import Case, qualified_name

ANY_SHAPE = ("empty", "extra axis", "wrong size")
ONE_MORE = ("wrong size",)  # one point (or one step) more is still a valid input of its own


def _line(rng, n=8):
    x = rng.standard_normal(n)
    return {"x": x, "y": 2.0 * x - 1.0 + 0.1 * rng.standard_normal(n)}


def _fit_example(rng):
    return {**_line(rng), "theta_0": np.array([0.5, 0.0]), "steps": 5, "step_size": 0.1}


def _trace_example(rng):
    """Loss changes, squared gradient norms and β of a real GD run (valid inputs of the theory checks)."""
    trace = model.gradient_descent(**_fit_example(rng))
    return {"loss_changes": trace.loss_changes, "grad_norms_sq": trace.grad_norms_sq, "beta": trace.beta}


def _logistic_example(rng):
    return {"w": rng.standard_normal(3), "X": rng.standard_normal((6, 3)), "y": np.array([1.0, -1.0] * 3)}


def _net(name):
    return model.OneLayerNet(d_in=6, d_out=3) if name == "one" else model.TwoLayerNet(d_in=6, hidden=4, d_out=3)


def _forward_case(name):
    def call(x):
        network = _net(name)
        return network.forward(network.init_params(np.random.default_rng(0)), x)
    return Case(type(_net(name)).forward, lambda rng: {"x": rng.standard_normal((5, 6))}, call=call)


def _backward_case(name):
    def example(rng):
        network = _net(name)
        logits, cache = network.forward(network.init_params(rng), rng.standard_normal((5, 6)) + 0.1)
        return {"network": network, "dlogits": rng.standard_normal(logits.shape), "cache": cache}
    return Case(type(_net(name)).backward, example, skip=("cache",),
                call=lambda network, dlogits, cache: network.backward(dlogits, cache))


def _init_params_case(name):
    return Case(type(_net(name)).init_params, lambda rng: {"rng": rng}, call=lambda rng: _net(name).init_params(rng))


def _params(rng):
    return {"M": rng.standard_normal((3, 4)), "c": rng.standard_normal(3)}


def _quadratic(params):
    return float(sum(np.sum(v**2) for v in params.values()))


def _slice_example(rng):
    params = _params(rng)
    return {"loss": _quadratic, "params": params, "direction": landscape.filter_normalized_direction(params, rng),
            "alphas": np.linspace(-1.0, 1.0, 5)}


def _surface_example(rng):
    params = _params(rng)
    return {"loss": _quadratic, "params": params,
            "direction_1": landscape.filter_normalized_direction(params, rng),
            "direction_2": landscape.filter_normalized_direction(params, rng),
            "alphas": np.linspace(-1.0, 1.0, 3), "betas": np.linspace(-1.0, 1.0, 4)}


def _gd_trace_example(rng):
    def loss_and_gradient(theta):
        return 0.5 * float(theta @ theta), theta
    return {"loss_and_gradient": loss_and_gradient, "theta_0": rng.standard_normal(3), "step_size": 0.5, "steps": 4}


MODEL_CASES = [
    Case(model.linear_model, lambda rng: {"m": 2.0, "c": -1.0, "x": rng.standard_normal(4)},
         accepts={"x": ANY_SHAPE}),  # element-wise: any shape, empty included
    Case(model.linear_loss, lambda rng: {"theta": np.array([1.0, 0.5]), **_line(rng)}),
    Case(model.linear_loss_change,
         lambda rng: {"theta": np.array([1.0, 0.5]), "theta_next": np.array([1.2, 0.4]), **_line(rng)}),
    Case(model.linear_excess_loss, lambda rng: {"theta": np.array([1.0, 0.5]), "theta_star": np.array([2.0, -1.0]),
                                                "x": rng.standard_normal(8)},
         accepts={"x": ONE_MORE}),  # the Hessian of any n ≥ 1 points
    Case(model.closed_form, _line),
    Case(model.gradient_descent, _fit_example, accepts={"step_size": ("none",)}),  # None: the default 1/β
    Case(model.minibatch_sgd, lambda rng: {**_line(rng), "theta_0": np.array([0.5, 0.0]), "rng": rng, "epochs": 2,
                                           "batch_size": 2, "step_size": 0.05},
         accepts={"step_size": ("none",)}),  # None: the default 1/β₁
    Case(model.three_layer_convnet, lambda rng: {"image_size": 4, "channels": 1, "filters": 2, "filter_size": 3,
                                                 "pool": 2, "hidden": 3, "d_out": 3, "backend": "numpy"}),
    Case(model.OneLayerNet, lambda rng: {"d_in": 6, "d_out": 3}),
    Case(model.TwoLayerNet, lambda rng: {"d_in": 6, "hidden": 4, "d_out": 3}),
    *(factory(name) for name in ("one", "two") for factory in (_forward_case, _backward_case, _init_params_case)),
]

LANDSCAPE_CASES = [
    Case(landscape.filter_normalized_direction, lambda rng: {"params": _params(rng), "rng": rng}),
    Case(landscape.loss_slice, _slice_example, skip=("loss",), accepts={"alphas": ONE_MORE}),  # a user function
    Case(landscape.loss_surface, _surface_example, skip=("loss",),
         accepts={"alphas": ONE_MORE, "betas": ONE_MORE}),
]

THEORY_CASES = [
    *(Case(f, lambda rng: {"x": rng.standard_normal(6)}, accepts={"x": ONE_MORE})
      for f in (theory.design_matrix, theory.hessian, theory.smoothness_constant, theory.sample_smoothness_constant)),
    Case(theory.descent_lemma_gaps, _trace_example,  # grad_norms_sq: (T,) or longer (GD's trace has T + 1 norms)
         accepts={"grad_norms_sq": ONE_MORE, "loss_changes": ONE_MORE}),
    Case(theory.descent_lemma_violations,
         lambda rng: {**_trace_example(rng), "rtol": 1e-12, "gradient_floor": 1e-15},
         accepts={"grad_norms_sq": ONE_MORE, "loss_changes": ONE_MORE}),
    Case(theory.stationarity_bound, lambda rng: {"excess_loss_0": 0.5, "beta": 2.0, "T": np.arange(1, 6)},
         accepts={"T": ("extra axis", "wrong size")}),  # any array of step counts
    Case(theory.stationarity_violations, lambda rng: {"grad_norms_sq": _trace_example(rng)["grad_norms_sq"],
                                                      "excess_loss_0": 0.5, "beta": 2.0, "rtol": 1e-12,
                                                      "gradient_floor": 1e-15},
         accepts={"grad_norms_sq": ONE_MORE}),
    Case(theory.iterations_for_stationarity, lambda rng: {"epsilon": 0.1, "excess_loss_0": 0.5, "beta": 2.0}),
    Case(theory.logistic_loss, _logistic_example),
    Case(theory.logistic_smoothness_constant, lambda rng: {"X": rng.standard_normal((6, 3))},
         accepts={"X": ONE_MORE}),  # one feature more is another valid problem
    Case(theory.gradient_descent_trace, _gd_trace_example, skip=("loss_and_gradient",),  # a user function
         accepts={"theta_0": ONE_MORE}),
]

PACKAGES = {"refimpl.tutorial": MODEL_CASES + LANDSCAPE_CASES + THEORY_CASES}

EXEMPT = {
    qualified_name(model.LinearTrace): "a result record, built by the optimisers",
    qualified_name(theory.GradientDescentTrace): "a result record, built by gradient_descent_trace",
}
