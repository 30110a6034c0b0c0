"""Bad-input cases of :mod:`refimpl.dynsys` (see :mod:`tests.api.probe`)."""

import numpy as np

from refimpl.dynsys import kernels, model, splitting, theory, training
from tests.api.probe import Case

ONE_MORE = ("wrong size",)  # one sample, class or step more is still a valid input of its own


def _resnet(rng=None):
    """A small trained-shape ResNet: 3 inputs, width 4, 2 classes."""
    return model.resnet(np.random.default_rng(0) if rng is None else rng, 3, 4, 2, 2)


def _lipschitz(rng=None):
    return model.lipschitz_network(np.random.default_rng(0) if rng is None else rng, 3, 4, 1, 2)


def _data(rng, n=6, d=3):
    return {"X": rng.standard_normal((n, d)), "y": rng.integers(0, 2, n)}


def _resnet_layer_example(rng):
    return {"kind": "resnet", "params": {"A": rng.standard_normal((4, 3)), "B": rng.standard_normal((3, 4)),
                                         "b": rng.standard_normal(4)}, "config": {"h": 0.5}}


def _forward_example(rng):
    return {"network": _resnet(rng), "x": rng.standard_normal((5, 3))}


def _backward_example(rng):
    network = _resnet(rng)
    out, caches = network.forward(rng.standard_normal((5, 3)))
    return {"network": network, "dout": rng.standard_normal(out.shape), "caches": caches}


def _jvp_example(rng):
    network = _resnet(rng)
    _, caches = network.forward(rng.standard_normal((5, 3)))
    return {"network": network, "t": rng.standard_normal((5, 3)), "caches": caches}


def _mass_example(rng):
    d = 3
    return {"x": rng.standard_normal((4, d)), "U": rng.standard_normal((d * d, d)) / d, "u": rng.standard_normal(d * d),
            "h": 0.1, "steps": 3, "method": "rk4", "activation_name": "tanh", "backend": "numpy"}


def _fields(rng):
    A, b = rng.standard_normal((3, 3)) / np.sqrt(3), rng.standard_normal(3)
    C, c = rng.standard_normal((9, 3)) / 3, rng.standard_normal(9)
    return (lambda y: splitting.gradient_field(y, A, b)), (lambda y: splitting.sphere_field(y, C, c))


def _strang_example(rng):
    field_a, field_b = _fields(rng)
    return {"field_a": field_a, "field_b": field_b, "x": rng.standard_normal((4, 3)), "h": 0.2, "substeps": 2}


def _strang_errors_example(rng):
    field_a, field_b = _fields(rng)
    return {"field_a": field_a, "field_b": field_b, "x": rng.standard_normal((4, 3)),
            "steps": np.array([0.2, 0.1]), "substeps": 2, "reference_substeps": 8}


def _presnov_example(rng):
    A, b = rng.standard_normal((3, 3)) / np.sqrt(3), rng.standard_normal(3)
    return {"field": lambda y: splitting.gradient_field(y, A, b),
            "field_vjp": lambda y, w: splitting.gradient_field_vjp(y, w, A, b),
            "x": rng.standard_normal((4, 3)), "n_nodes": 5}


def _hinge_example(rng):
    return {"logits": rng.standard_normal((6, 3)), "labels": rng.integers(0, 3, 6), "margin": 0.5}


def _margins_example(rng):
    return {"logits": rng.standard_normal((6, 3)), "labels": rng.integers(0, 3, 6)}


MODEL_CASES = [
    Case(model.Layer, _resnet_layer_example),
    Case(model.Network, lambda rng: {"layers_": _resnet(rng).layers}),
    Case(model.Network.forward, _forward_example, call=lambda network, x: network.forward(x)),
    Case(model.Network.backward, _backward_example, skip=("caches",),  # built by the forward pass
         call=lambda network, dout, caches: network.backward(dout, caches)),
    Case(model.Network.jvp, _jvp_example, skip=("caches",), call=lambda network, t, caches: network.jvp(t, caches)),
    Case(model.network_jacobian, _forward_example),
    Case(model.resnet, lambda rng: {"rng": rng, "d_in": 3, "width": 4, "depth": 2, "n_classes": 2, "h": 0.5,
                                    "activation_name": "tanh"}),
    Case(model.lipschitz_network, lambda rng: {"rng": rng, "d_in": 3, "width": 4, "n_pairs": 2, "n_classes": 2,
                                               "h_C": 0.5, "h_E": 0.1},
         accepts={"h_E": ("none",)}),  # None: the largest step the pair rule allows
    *(Case(builder, lambda rng: {"rng": rng, "d_in": 3, "width": 4, "depth": 2, "n_classes": 2})
      for builder in (model.cpl_network, model.sll_network, model.groupsort_network)),
    Case(model.learned_lipschitz_network, lambda rng: {"rng": rng, "d_in": 3, "width": 4, "n_pairs": 2,
                                                       "n_classes": 2, "h_C": 0.5}),
    Case(model.volume_preserving_network, lambda rng: {"rng": rng, "d": 4, "depth": 2, "h": 0.5,
                                                       "activation_name": "tanh", "scale": 1.0}),
    Case(model.hamiltonian_network, lambda rng: {"rng": rng, "d": 4, "depth": 2, "width": 3, "h": 0.5,
                                                 "activation_name": "tanh"},
         accepts={"width": ("none",)}),  # None: width k = d/2
    Case(model.mass_preserving_network, lambda rng: {"rng": rng, "d": 3, "depth": 2, "h": 0.1, "method": "heun",
                                                     "activation_name": "tanh"}),
    Case(kernels.mass_rollout, _mass_example),
]

SPLITTING_CASES = [
    Case(splitting.gradient_field, lambda rng: {"x": rng.standard_normal((4, 3)), "A": rng.standard_normal((2, 3)),
                                                "b": rng.standard_normal(2), "activation_name": "tanh"}),
    Case(splitting.sphere_field, lambda rng: {"x": rng.standard_normal((4, 3)), "C": rng.standard_normal((9, 3)),
                                              "c": rng.standard_normal(9), "activation_name": "tanh"}),
    Case(splitting.sphere_cayley_step, lambda rng: {"x": rng.standard_normal((4, 3)), "C": rng.standard_normal((9, 3)),
                                                    "c": rng.standard_normal(9), "h": 0.1,
                                                    "activation_name": "tanh"}),
    Case(splitting.presnov_decomposition, _presnov_example, skip=("field", "field_vjp")),  # user functions
    Case(splitting.strang_step, _strang_example, skip=("field_a", "field_b")),
    Case(splitting.strang_local_errors, _strang_errors_example, skip=("field_a", "field_b"),
         accepts={"steps": ONE_MORE}),  # one step size more
]

TRAINING_CASES = [
    Case(training.multiclass_hinge, _hinge_example, accepts={"logits": ONE_MORE}),  # one class more: valid
    Case(training.accuracy, lambda rng: {"network": _resnet(), **_data(rng)}),
    Case(training.empirical_lipschitz, lambda rng: {"network": _lipschitz(), "X": _data(rng)["X"], "rng": rng,
                                                    "n_iter": 3}),
    Case(training.pgd_l2, lambda rng: {"network": _resnet(), **_data(rng), "eps": 0.3, "rng": rng, "steps": 3,
                                       "restarts": 2}),
    Case(training.train_classifier, lambda rng: {"network": _resnet(), **_data(rng), "rng": rng, "steps": 3,
                                                 "batch_size": 4, "lr": 0.01, "margin": 0.5, "loss": "certified",
                                                 "eps": 0.5, "temperature": 2.0, "warmup": 0.5}),
    Case(training.certified_cross_entropy, lambda rng: {**_margins_example(rng), "pair_constants": 1 - np.eye(3),
                                                        "eps": 0.5, "temperature": 2.0}),
    Case(training.ddn_l2, lambda rng: {"network": _resnet(), **_data(rng), "steps": 3, "gamma": 0.05, "alpha": 1.0,
                                       "init_norm": 1.0, "box": (-5.0, 5.0)},
         accepts={"box": ("none",)}),  # None: no box
]

THEORY_CASES = [
    *(Case(f, lambda rng: {"h_C": 0.5, "mu": 0.5})
      for f in (theory.contractive_lipschitz_bound, theory.contractive_lipschitz_sqrt, theory.max_expansive_step,
                theory.check_contractive_step)),
    Case(theory.pair_rule_steps, lambda rng: {"theta": 0.3, "mu": 0.5}),
    Case(theory.body_lipschitz, lambda rng: {"network": _lipschitz()}),
    Case(theory.pair_lipschitz, lambda rng: {"network": _lipschitz()}),
    Case(theory.head_pair_norms, lambda rng: {"C": rng.standard_normal((3, 4))},
         accepts={"C": ONE_MORE}),  # any (k, m) head
    Case(theory.certified_radii, lambda rng: {**_margins_example(rng), "pair_constants": 1 - np.eye(3)}),
    Case(theory.check_pair_rule, lambda rng: {"h_C": 0.5, "h_E": 0.1, "mu": 0.5}),
    Case(theory.check_lipschitz_activation, lambda rng: {"layer": _lipschitz().layers[1], "index": 1},
         accepts={"index": ("none",)}),  # None: the message names the kind only
    Case(theory.check_lipschitz_layers, lambda rng: {"layers": _lipschitz().layers}),
    Case(theory.spectral_norm, lambda rng: {"W": rng.standard_normal((3, 4)), "n_iter": 5, "v0": np.ones(4),
                                            "tol": 1e-12},
         accepts={"v0": ("none",)}),  # None: start from the ones vector
    Case(theory.layer_lipschitz_bound, lambda rng: {"layer": _lipschitz().layers[1]}),
    Case(theory.certified_lipschitz, lambda rng: {"network": _lipschitz()}),
    Case(theory.check_logits, _margins_example, accepts={"logits": ONE_MORE}),
    Case(theory.margins, _margins_example, accepts={"logits": ONE_MORE}),
    Case(theory.certified_accuracy, lambda rng: {**_margins_example(rng), "pair_constants": 1 - np.eye(3),
                                                 "eps": 0.1}),
]

PACKAGES = {"refimpl.dynsys": MODEL_CASES + SPLITTING_CASES + TRAINING_CASES + THEORY_CASES}

EXEMPT = {}
