"""Bad-input cases of :mod:`refimpl.core` and :mod:`refimpl.data` (see :mod:`tests.api.probe`)."""

import numpy as np

from refimpl.core import (backend, classifier, conv, fitting, gradcheck, kernels, layers, losses, optim, unchecked,
                          validate)
from refimpl.data import mnist, synthetic
from tests.api.probe import Case, qualified_name

ANY_SHAPE = ("empty", "extra axis", "wrong size")  # element-wise: every shape is a valid input


def _x(rng, shape=(5, 4)):
    return rng.standard_normal(shape) + 0.1  # off the ReLU kink at 0


def _backward_case(forward, backward, accepts=()):
    """Case of ``backward``: a valid dout for the cache of ``forward`` at a random point (the cache is not
    probed: it is what ``forward`` returned)."""
    def example(rng):
        out, cache = forward(_x(rng))
        return {"dout": rng.standard_normal(np.shape(out)), "cache": cache}
    return Case(backward, example, accepts={"dout": accepts}, skip=("cache",))


def _element_wise(function):
    return Case(function, lambda rng: {"x": _x(rng)}, accepts={"x": ANY_SHAPE})


def _affine_example(rng):
    return {"x": _x(rng), "w": rng.standard_normal((3, 4)), "b": rng.standard_normal(3)}


def _affine_backward_example(rng):
    out, cache = layers.affine_forward(**_affine_example(rng))
    return {"dout": rng.standard_normal(out.shape), "cache": cache}


def _scores(rng, *names):
    return {name: rng.standard_normal(6) for name in names}


def _optimizer_step(optimizer, param, grad):
    optimizer.step({"w": param}, {"w": grad})


def _two_layer_example(rng):
    return {"X": rng.standard_normal((6, 4)), "Y": rng.standard_normal((6, 2)), "U": rng.standard_normal((5, 4)),
            "V": rng.standard_normal((2, 5)), "scale": 0.5, "backend": "numpy"}


def _numba_threads(count):
    with backend.numba_threads(count):
        pass


CASES = [
    Case(layers.affine_forward, _affine_example),
    Case(layers.affine_backward, _affine_backward_example, skip=("cache",)),
    *(_element_wise(f) for f in (layers.relu_forward, layers.tanh_forward, layers.sigmoid_forward, layers.sigmoid)),
    Case(layers.leaky_relu_forward, lambda rng: {"x": _x(rng), "slope": 0.2}, accepts={"x": ANY_SHAPE}),
    Case(layers.softmax, lambda rng: {"logits": _x(rng)}, accepts={"logits": ANY_SHAPE}),  # rows along the last axis
    Case(layers.softmax_forward, lambda rng: {"logits": _x(rng)}, accepts={"logits": ANY_SHAPE}),
    _backward_case(layers.relu_forward, layers.relu_backward),
    _backward_case(layers.leaky_relu_forward, layers.leaky_relu_backward),
    _backward_case(layers.tanh_forward, layers.tanh_backward),
    _backward_case(layers.sigmoid_forward, layers.sigmoid_backward),
    _backward_case(layers.softmax_forward, layers.softmax_backward),
    Case(losses.squared_error, lambda rng: {"pred": _x(rng), "target": _x(rng)},
         accepts={"pred": ("extra axis",)}),  # a target of the old shape then mismatches: refused by target's check
    Case(losses.softmax_cross_entropy, lambda rng: {"logits": _x(rng), "labels": rng.integers(0, 4, 5)},
         accepts={"logits": ("wrong size",)}),  # one class more is still a valid problem
    Case(losses.binary_cross_entropy_with_logits, lambda rng: {"logits": _x(rng), "targets": rng.random((5, 4))},
         accepts={"logits": ("extra axis",)}),
    *(Case(f, lambda rng: _scores(rng, "real_scores", "fake_scores"),
           accepts={"real_scores": ANY_SHAPE[1:], "fake_scores": ANY_SHAPE[1:]})  # batches may differ in size
      for f in (losses.least_squares_discriminator_loss, losses.gan_discriminator_loss,
                losses.wasserstein_critic_loss)),
    *(Case(f, lambda rng: _scores(rng, "fake_scores"), accepts={"fake_scores": ANY_SHAPE[1:]})
      for f in (losses.least_squares_generator_loss, losses.non_saturating_generator_loss,
                losses.minimax_generator_loss, losses.wasserstein_generator_loss)),
    Case(optim.SGD, lambda rng: {"lr": 0.1}),
    Case(optim.Momentum, lambda rng: {"lr": 0.1, "momentum": 0.9}),
    Case(optim.Adam, lambda rng: {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    Case(optim.Optimizer.step, lambda rng: {"params": _x(rng), "grads": _x(rng)},
         call=lambda params, grads: _optimizer_step(optim.Adam(0.1), params, grads),
         # NaN or inf gradients give NaN parameters, which the training loops' finite checks stop (with the step)
         accepts={"grads": ("nan", "inf"), "params": ("nan", "inf")}),
    Case(kernels.two_layer_squared_error_gradient, _two_layer_example),
    Case(kernels.check_two_layer_problem, lambda rng: {k: v for k, v in _two_layer_example(rng).items()
                                                       if k in ("X", "U", "V", "Y")},
         accepts={"Y": ("none",)}),  # Y is optional
    Case(fitting.loglog_slope, lambda rng: {"x": np.array([1.0, 2.0, 4.0]), "y": np.array([1.0, 3.0, 8.0])}),
    Case(fitting.linear_fit, lambda rng: {"t": np.array([1.0, 2.0, 4.0]), "y": np.array([1.0, 3.0, 8.0])}),
    Case(backend.get_kernel, lambda rng: {"name": kernels.KERNEL, "backend": "numpy"}),
    Case(backend.numba_threads, lambda rng: {"count": 1}, call=_numba_threads),
    Case(gradcheck.compare_gradients, lambda rng: {"analytic": [np.ones(3)], "numerical": [np.ones(3)],
                                                   "rtol": 1e-6, "atol": 1e-8}),
]

def _conv_example(rng):
    return {"x": _x(rng, (2, 1, 6, 6)), "K": rng.standard_normal((3, 1, 3, 3)), "b": rng.standard_normal(3),
            "pad": 1, "backend": "numpy"}


def _temporal_example(rng):
    return {"x": _x(rng, (2, 5, 4)), "W": rng.standard_normal((3, 2, 4)), "b": rng.standard_normal(3),
            "backend": "numpy"}


def _conv_backward_case(backward, forward_example, forward):
    def example(rng):
        out, cache = forward(**forward_example(rng))
        return {"dout": rng.standard_normal(out.shape), "cache": cache}
    return Case(backward, example, skip=("cache",))  # the cache is what the forward pass returned


SMALL_NET = {"image_size": 8, "channels": 1, "blocks": ((2, 3, 1),), "pool": 2, "hidden": 4, "d_out": 3,
             "backend": "numpy"}


def _network():
    return classifier.ConvNet(**SMALL_NET)


def _images(rng, n=6):
    return rng.random((n, 64))


def _net_example(rng, *names):
    arrays = {"params": _network().init_params(rng), "x": _images(rng), "labels": rng.integers(0, 3, 6),
              "batch_size": 4}
    return {name: arrays[name] for name in names}


def _method_case(method, *names):
    """Case of a :class:`~refimpl.core.classifier.Classifier` method, called on a small ConvNet."""
    return Case(method, lambda rng: _net_example(rng, *names),
                call=lambda **kwargs: getattr(_network(), method.__name__)(**kwargs))


def _backward_of_network_example(rng):
    params = _network().init_params(rng)
    network = _network()
    logits, cache = network.forward(params, _images(rng))
    return {"network": network, "dlogits": rng.standard_normal(logits.shape), "cache": cache}


def _train_example(rng):
    return {"network": _network(), **_net_example(rng, "params", "x", "labels"), "rng": rng, "epochs": 1,
            "batch_size": 3, "optimizer": "sgd", "lr": 0.05}


CONV_CASES = [
    Case(conv.conv2d_forward, _conv_example,
         accepts={"x": ("wrong size",), "K": ("wrong size",)}),  # a wider image, a wider filter: still a valid layer
    _conv_backward_case(conv.conv2d_backward, _conv_example, conv.conv2d_forward),
    Case(conv.temporal_conv_forward, _temporal_example),
    _conv_backward_case(conv.temporal_conv_backward, _temporal_example, conv.temporal_conv_forward),
    Case(conv.max_pool_forward, lambda rng: {"x": _x(rng, (2, 1, 4, 4)), "size": 2, "backend": "numpy"}),
    _conv_backward_case(conv.max_pool_backward, lambda rng: {"x": _x(rng, (2, 1, 4, 4)), "size": 2},
                        conv.max_pool_forward),
    Case(conv.max_over_time_forward, lambda rng: {"x": _x(rng, (2, 3, 5)), "backend": "numpy"},
         accepts={"x": ("wrong size",)}),  # one time step more is still a sequence
    _conv_backward_case(conv.max_over_time_backward, lambda rng: {"x": _x(rng, (2, 3, 5))}, conv.max_over_time_forward),
]

CLASSIFIER_CASES = [
    Case(classifier.ConvNet, lambda rng: dict(SMALL_NET)),
    Case(classifier.lenet, lambda rng: {"backend": "numpy"}),
    Case(classifier.ConvNet.init_params, lambda rng: {"rng": rng}, call=lambda rng: _network().init_params(rng)),
    Case(classifier.ConvNet.forward, lambda rng: _net_example(rng, "params", "x"),
         call=lambda **kwargs: _network().forward(**kwargs)),
    Case(classifier.ConvNet.backward, _backward_of_network_example,
         call=lambda network, **kwargs: network.backward(**kwargs), skip=("network", "cache"),
         # a non-finite dlogits comes from a non-finite loss, which the training loop reports with its step
         accepts={"dlogits": ("nan", "inf")}),
    _method_case(classifier.Classifier.loss, "params", "x", "labels"),
    _method_case(classifier.Classifier.logits, "params", "x", "batch_size"),
    _method_case(classifier.Classifier.predict, "params", "x", "batch_size"),
    _method_case(classifier.Classifier.accuracy, "params", "x", "labels"),
    _method_case(classifier.Classifier.mean_loss, "params", "x", "labels", "batch_size"),
    Case(classifier.count_params, lambda rng: {"params": {"w": rng.standard_normal((2, 3)), "b": np.zeros(2)}}),
    Case(classifier.he_normal, lambda rng: {"rng": rng, "shape": (3, 4), "fan_in": 4, "gain": 2.0}),
    Case(classifier.train_classifier, _train_example, skip=("network",)),  # a model object: its checks are tested
]

DATA_CASES = [
    Case(mnist.load_mnist, lambda rng: {"n_train": 10, "n_test": 10},
         accepts={"n_train": ("none",), "n_test": ("none",)}),  # None: all images
    Case(synthetic.noisy_line, lambda rng: {"rng": rng, "n": 5, "noise": 1.0}),
    Case(synthetic.two_moons, lambda rng: {"rng": rng, "n": 6, "noise": 0.1}),
    Case(synthetic.spirals, lambda rng: {"rng": rng, "n": 6, "turns": 1.5, "noise": 0.05}),
    Case(synthetic.gaussian_ring, lambda rng: {"rng": rng, "n": 6, "modes": 3, "radius": 2.0, "std": 0.02}),
    Case(synthetic.bump_images, lambda rng: {"rng": rng, "n": 3, "bumps": 2, "width": 2.5, "side": 6}),
]

PACKAGES = {"refimpl.core": CASES + CONV_CASES + CLASSIFIER_CASES, "refimpl.core.fitting": [],
            "refimpl.data": DATA_CASES}

# Public callables that take no data (nothing to refuse) or are the checks themselves.
EXEMPT = {
    **{qualified_name(f): "a validator: its own messages are tested in tests/core/test_validate.py"
       for f in (validate.as_float_array, validate.check_shape, validate.check_positive, validate.check_real,
                 validate.check_int, validate.check_choice, validate.check_finite_step, validate.check_unregistered,
                 validate.check_labels, validate.check_rng,
                 validate.as_real_array)},
    **{qualified_name(f): "registry plumbing, called with names by library code at import"
       for f in (backend.register, backend.register_lazy, backend.backends_of, backend.kernel_names, backend.kernel_path,
                 backend.cuda_available)},
    **{qualified_name(f): "takes a user function; tested in tests/core/test_gradcheck.py"
       for f in (gradcheck.numerical_gradient, gradcheck.check_gradients, gradcheck.assert_gradients)},
    qualified_name(gradcheck.GradientComparison): "a result record",
    qualified_name(optim.Optimizer): "abstract base: its subclasses and step are probed",
    qualified_name(optim.check_update): "the check Optimizer.step makes of each pair, probed through step",
    **{qualified_name(getattr(unchecked, name)): "the unchecked twins, by design: see its module docstring"
       for name in unchecked.__all__},
    qualified_name(conv.Workspace): "takes no argument: a holder of buffers that the layers fill",
    qualified_name(classifier.Classifier): "abstract base: its methods are probed on a ConvNet",
    qualified_name(classifier.History): "a result record, built by train_classifier",
    qualified_name(mnist.MnistSplit): "a result record, built by the loaders",
    qualified_name(mnist.load_bundled_mnist): "takes no argument",
    qualified_name(mnist.read_mnist_directory): "takes a path; bad folders are tested in tests/data/test_mnist.py",
    qualified_name(mnist.find_mnist_files): "takes a path; bad folders are tested in tests/data/test_mnist.py",
    qualified_name(mnist.read_idx): "takes a path; bad files are tested in tests/data/test_mnist.py",
    qualified_name(mnist.write_idx): "takes a path and an array; tested in tests/data/test_mnist.py",
}
