"""The "three pillars" tutorial (seed 001): linear fit by GD/SGD with the descent lemma checked,
one- and two-layer networks and a three-layer CNN on MNIST, and the loss surface (Li et al. 2018).

::

    from refimpl.tutorial import gradient_descent, TwoLayerNet, train_classifier
"""

from refimpl.tutorial import kernels, landscape, theory
from refimpl.tutorial.kernels import conv2d_backward, conv2d_forward, max_pool_backward, max_pool_forward
from refimpl.tutorial.landscape import filter_normalized_direction, loss_slice, loss_surface
from refimpl.tutorial.model import (LinearTrace, Network, OneLayerNet, ThreeLayerConvNet, TwoLayerNet, closed_form,
                                    count_params, gradient_descent, linear_excess_loss, linear_loss,
                                    linear_loss_change, linear_model, minibatch_sgd, train_classifier)
from refimpl.tutorial.theory import (descent_lemma_gaps, descent_lemma_violations, hessian, smoothness_constant,
                                     stationarity_bound, stationarity_violations)

__all__ = ["kernels", "landscape", "theory", "conv2d_forward", "conv2d_backward", "max_pool_forward",
           "max_pool_backward", "filter_normalized_direction", "loss_slice", "loss_surface", "LinearTrace",
           "Network", "OneLayerNet", "TwoLayerNet", "ThreeLayerConvNet", "closed_form", "count_params",
           "gradient_descent", "linear_excess_loss", "linear_loss", "linear_loss_change", "linear_model",
           "minibatch_sgd", "train_classifier", "descent_lemma_gaps", "descent_lemma_violations", "hessian",
           "smoothness_constant", "stationarity_bound", "stationarity_violations"]
