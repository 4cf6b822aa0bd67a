"""Kernels of the RNN and kernel baselines.

- ``empirical_ntk(params, xs1, xs2)``: the RNN's empirical neural tangent
  kernel at ``params`` over (W, A) with B frozen (the kernel of the
  pseudo-network of Eq. 4).
- ``infinite_width_ntk``, ``infinite_width_nngp``: the closed-form limits as
  m -> infinity of Theta / m and of E[F(x) F(x')] at the initialization of
  Def. 3.2 (arc-cosine recursions over time).
- ``gradient_descent_mse``: kernel dynamics, the train and test outputs of
  gradient descent on the squared loss of the linearized model, in closed
  form (t = inf is kernel regression).
- ``kernel_ridge_loo``: kernel ridge regression with the ridge chosen by
  exact leave-one-out error.
- ``additive_token_kernel``, ``fit_additive_baseline``: the token-wise
  additive class of Allen-Zhu & Li [37] as a kernel method.
"""

from jaxrnn._src.infinite_width import infinite_width_nngp, infinite_width_ntk  # noqa: F401
from jaxrnn._src.kernel_dynamics import gradient_descent_mse  # noqa: F401
from jaxrnn._src.kernels import (  # noqa: F401
  additive_token_kernel,
  empirical_ntk,
  fit_additive_baseline,
  kernel_ridge_loo,
  ntk_factors,
)

__all__ = [name for name in globals() if not name.startswith("_")]  # the names imported above
