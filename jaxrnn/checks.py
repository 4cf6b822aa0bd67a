"""Checked entry points for values (outside jit); the error types.

Shapes and dtypes are checked by every function, also under ``jax.jit``.
Values (NaN, inf, overflow) cannot be checked under ``jit``: a traced array
has no numbers. The math propagates them instead (NaN weights or inputs give
NaN outputs and NaN gradients), and the functions here check them outside
``jit``: ``check_finite`` (any array or pytree), ``check_params`` (weights),
``check_sequence`` (one input sequence), ``check_states`` (runs Eq. 1 and
names the step at which a float32 state overflows). Each raises
``NonFiniteError`` naming the first bad entry, and ``TypeError`` on tracers
rather than skipping silently. Under ``jit``, return ``all_finite(tree)`` and
look at the flag outside. ``ResourceError`` is raised before work whose
memory would not fit.
"""

from jaxrnn._src.checks import NonFiniteError, ResourceError
from jaxrnn._src.validate import (
  all_finite,
  check_finite,
  check_params,
  check_sequence,
  check_states,
)

__all__ = [
  "check_finite",
  "check_params",
  "check_sequence",
  "check_states",
  "all_finite",
  "NonFiniteError",
  "ResourceError",
]
