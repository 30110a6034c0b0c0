"""The "three pillars" tutorial (seed 001): linear fit by GD/SGD with the descent lemma checked,
one- and two-layer networks and a three-layer CNN on MNIST, and the loss surface (Li et al. 2018).

The convolution, pooling, CNN classifier and training loop are core's (:mod:`refimpl.core.conv`,
:mod:`refimpl.core.classifier`), shared with the other topics::

    from refimpl.tutorial import gradient_descent, TwoLayerNet
    from refimpl.core.classifier import train_classifier
"""

from refimpl.tutorial import landscape, theory
from refimpl.tutorial.landscape import filter_normalized_direction, loss_slice, loss_surface
from refimpl.tutorial.model import (LinearTrace, OneLayerNet, TwoLayerNet, closed_form, gradient_descent,
                                    linear_excess_loss, linear_loss, linear_loss_change, linear_model, minibatch_sgd,
                                    three_layer_convnet)
from refimpl.tutorial.theory import (descent_lemma_gaps, descent_lemma_violations, hessian, smoothness_constant,
                                     stationarity_bound, stationarity_violations)

__all__ = ["landscape", "theory", "filter_normalized_direction", "loss_slice", "loss_surface", "LinearTrace",
           "OneLayerNet", "TwoLayerNet", "three_layer_convnet", "closed_form", "gradient_descent",
           "linear_excess_loss", "linear_loss", "linear_loss_change", "linear_model", "minibatch_sgd",
           "descent_lemma_gaps", "descent_lemma_violations", "hessian", "smoothness_constant",
           "stationarity_bound", "stationarity_violations"]
