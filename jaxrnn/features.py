"""Linear functions from random ReLU features (Lemma 4.4).

``relu_readout(T, v)`` is Lemma 4.4's readout with the correct normalization
``p = 2 T v / (m s^2)`` (the paper's ``2 T v`` is m times too large; see
``jaxrnn.experiments.random_features``); ``relu_features_error`` measures
``|v.x - p.relu(T x)|`` and ``relu_features_error_std`` is its standard
deviation ``sqrt((2 + 3 cos^2) / m) |v| |x|``.
"""

from jaxrnn._src.features import (  # noqa: F401
  random_relu_features,
  relu_features_apply,
  relu_features_error,
  relu_features_error_std,
  relu_readout,
)

__all__ = [name for name in globals() if not name.startswith("_")]  # the names imported above
