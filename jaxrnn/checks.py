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

from jaxrnn._src.arguments import NonFiniteError, ResourceError  # noqa: F401
from jaxrnn._src.checks import all_finite, check_finite, check_params, check_sequence, check_states  # noqa: F401

__all__ = [name for name in globals() if not name.startswith("_")]  # the names imported above
