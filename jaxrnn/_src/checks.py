"""Checked entry points: value checks that raise (public as ``jaxrnn.checks``).

Which checks run where:

- **Under ``jax.jit`` / ``vmap`` / ``grad``: shapes and dtypes only.** Every
  library function checks its arguments' shapes and dtypes, traced or not.
  Values cannot be checked there: a tracer has no numbers, and looking at them
  would cost a device-to-host round trip per call. The math never hides a bad
  value instead: NaN and inf in weights or inputs give NaN outputs and NaN
  derivatives (``jaxrnn.relu`` keeps NaN), and a float32 state that overflows
  becomes inf, then NaN. To watch values inside jitted code, return
  ``all_finite(...)`` (a bool array) and look at it outside.
- **Outside jit: values too.** Library functions check their *input
  sequences* eagerly (a NaN token raises ``NonFiniteError``; weights are not
  scanned on every call). The functions here are the explicit checks:
  ``check_finite`` (any array or pytree), ``check_params`` (weights),
  ``check_sequence`` (one input sequence), ``check_states`` (runs Eq. 1 and
  reports a float32 overflow with its step). They raise ``NonFiniteError``
  naming the first bad entry, and raise ``TypeError`` when given tracers
  instead of skipping the check silently (``values=False`` asks for the
  shape and dtype part alone, which does run under jit).

The experiment runner (``jaxrnn.lab``) checks every point's metrics the same
way: a non-finite metric is stored as ``null`` and listed in the record's
``nonfinite`` field, and the run warns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn._src.arguments import (
  NonFiniteError,
  ResourceError,  # noqa: F401  (the error types' public home is jaxrnn.checks)
  check_sequence_shape,
  is_concrete,
  nonfinite_message,
)
from jaxrnn._src.arguments import check_params as _param_shapes

if TYPE_CHECKING:
  from jaxrnn._src.rnn import RNNParams


def _require_concrete(what: str, x) -> None:
  if not is_concrete(x):
    raise TypeError(
      f"{what} checks values and needs concrete arrays, got a tracer (inside jax.jit, "
      "vmap or grad values are unknown); call it outside the transformation, pass "
      "values=False for the shape and dtype checks alone, or return "
      "jaxrnn.checks.all_finite(...) from the jitted function and check that flag"
    )


def check_finite(x: Any, name: str = "x", *, step_axis: int | None = None) -> Any:
  """Raises ``NonFiniteError`` unless every entry of ``x`` is finite.

  A value check: it needs concrete arrays and raises ``TypeError`` on tracers
  (inside ``jax.jit``; use ``all_finite`` there and check the flag outside).

  **Arguments:**

  - ``x``: an array or a pytree of arrays (integer leaves are always finite).
  - ``name``: how the message names ``x``; leaves of a pytree are named
    ``name`` followed by their path, e.g. ``params.W``.
  - ``step_axis``: the axis of ``x`` that is time, if any: the message then
    names the step ``l`` (1-based, as in Eq. 1) of the first bad entry.

  **Returns:** ``x`` unchanged. The message names the first bad entry (in
  row-major order), its kind (NaN, +inf, -inf) and the counts. Cost: one pass
  over ``x`` on the host.

  Example::

    >>> import jax.numpy as jnp
    >>> from jaxrnn import checks
    >>> checks.check_finite(jnp.array([1.0, 2.0]), "loss")
    Array([1., 2.], dtype=float32)
    >>> checks.check_finite(jnp.array([[1.0, 2.0], [jnp.inf, 0.0]]), "h", step_axis=0)
    Traceback (most recent call last):
    ...
    jaxrnn.checks.NonFiniteError: h has a non-finite entry at step l=2 (index (1, 0)): +inf ...
  """
  leaves, _ = jax.tree_util.tree_flatten_with_path(x)
  for path, leaf in leaves:
    _require_concrete("check_finite", leaf)
    msg = nonfinite_message(name + jax.tree_util.keystr(path), np.asarray(leaf), step_axis)
    if msg:
      raise NonFiniteError(msg)
  return x


def all_finite(tree: Any) -> jax.Array:
  """A scalar bool array: True when every entry of every leaf of ``tree`` is
  finite. Runs under ``jax.jit`` (it computes a flag, it does not raise):
  return it from jitted code and check it outside. Cost: one pass over the
  leaves.

  **Returns:** () bool.

  Example::

    >>> import jax, jax.numpy as jnp
    >>> from jaxrnn import checks
    >>> jax.jit(checks.all_finite)({"a": jnp.ones(3), "b": jnp.array([1.0, jnp.nan])})
    Array(False, dtype=bool)
  """
  leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)]
  return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def check_params(params: RNNParams, *, values: bool = True) -> tuple[int, int, int]:
  """Validates an ``RNNParams`` (Def. 3.2) and returns ``(m, d, d_out)``.

  Shape and dtype checks (W square (m, m), A (m, d), B (d_out, m), one
  floating dtype) run everywhere, also under ``jax.jit``. With ``values=True``
  (the default) every weight must be finite as well: a value check, which
  needs concrete arrays (``TypeError`` on tracers) and raises
  ``NonFiniteError`` naming the first bad weight.

  **Arguments:** ``params``; ``values``: also check the values.

  **Returns:** ``(m, d, d_out)``. Cost: O(m^2 + m d + m d_out) on the host
  with ``values=True``, nothing otherwise.

  Example::

    >>> import jax, jaxrnn
    >>> from jaxrnn import checks
    >>> p = jaxrnn.init_params(jax.random.key(0), m=8, d=3, d_out=1)
    >>> checks.check_params(p)
    (8, 3, 1)
    >>> checks.check_params(p._replace(B=p.B.at[0, 2].set(float("nan"))))
    Traceback (most recent call last):
    ...
    jaxrnn.checks.NonFiniteError: params.B has a non-finite entry at index (0, 2): NaN ...
  """
  shapes = _param_shapes(params)
  if values:
    for name, x in (("params.W", params.W), ("params.A", params.A), ("params.B", params.B)):
      _require_concrete("check_params", x)
      check_finite(x, name)
  return shapes


def check_sequence(
  params: RNNParams, xs: jax.Array, name: str = "xs", *, values: bool = True
) -> None:
  """Validates one input sequence ``xs`` (L, d) against ``params``.

  Shape and dtype checks (rank 2, ``d`` matching ``params.A``, ``L >= 1``,
  the params' dtype) run everywhere, also under ``jax.jit``; with
  ``values=True`` every token must be finite too (a value check: concrete
  arrays only, ``NonFiniteError`` naming the step of the first bad token).
  The weights' values are not looked at (``check_params`` does that).

  **Arguments:** ``params``; ``xs`` (L, d); ``name`` used in messages;
  ``values``: also check the values.

  **Returns:** None. Cost: O(L d) on the host with ``values=True``.

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> from jaxrnn import checks
    >>> p = jaxrnn.init_params(jax.random.key(0), m=8, d=3, d_out=1)
    >>> checks.check_sequence(p, jnp.ones((5, 3)))
    >>> checks.check_sequence(p, jnp.ones((5, 3)).at[3, 1].set(jnp.nan))
    Traceback (most recent call last):
    ...
    jaxrnn.checks.NonFiniteError: xs has a non-finite entry at step l=4 (index (3, 1)): NaN ...
  """
  check_sequence_shape(params, xs, name)
  if values:
    _require_concrete("check_sequence", xs)
    check_finite(xs, name, step_axis=0)


def check_states(params: RNNParams, xs: jax.Array) -> jax.Array:
  """The hidden states of Eq. (1) on concrete inputs, checked finite; a
  state that overflows is reported as an overflow, with its step.

  Checks ``params`` and ``xs`` (shapes, dtypes, finite values), computes
  ``h^(1) ... h^(L)`` (``jaxrnn.hidden_states``) and, if a state is not
  finite, raises ``NonFiniteError``. With finite weights and inputs the only
  way to get there is that some ``|A x^(l) + W h^(l-1)|`` exceeded the
  dtype's range at step l (the state becomes inf there, and NaN from the next
  step on, since ``W h`` then holds inf - inf), so the message says
  "overflow", names the step l, the largest |h^(l-1)| and the largest
  pre-activation computed in float64.

  A value check: concrete arrays only (``TypeError`` on tracers). Inside
  ``jit``, return ``all_finite(jaxrnn.hidden_states(params, xs))``.

  **Arguments:** ``params``; ``xs`` (L, d), one sequence.

  **Returns:** (L, m), the states. Cost: one forward pass, O(L (m^2 + m d)),
  plus O(L m) on the host.

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> from jaxrnn import checks
    >>> p = jaxrnn.init_params(jax.random.key(0), m=4, d=2, d_out=1)
    >>> p = p._replace(W=8.0 * jnp.eye(4), A=jnp.ones((4, 2)))  # h grows 8x per step
    >>> checks.check_states(p, jnp.ones((10, 2))).shape
    (10, 4)
    >>> checks.check_states(p, jnp.ones((60, 2)))
    Traceback (most recent call last):
    ...
    jaxrnn.checks.NonFiniteError: overflow: |h| exceeded the float32 range ... at step l=44 ...
  """
  from jaxrnn._src.rnn import hidden_states  # here: rnn imports the checks

  check_params(params)
  check_sequence(params, xs)
  hs = hidden_states(params, xs)
  arr = np.asarray(hs)
  bad_steps = np.flatnonzero(~np.all(np.isfinite(arr), axis=1))
  if bad_steps.size == 0:
    return hs
  i = int(bad_steps[0])  # h^(i+1) is the first bad state
  L = arr.shape[0]
  W, A = (np.asarray(a, np.float64) for a in (params.W, params.A))
  prev = arr[i - 1].astype(np.float64) if i > 0 else np.zeros(W.shape[0])
  with np.errstate(over="ignore", invalid="ignore"):
    z = A @ np.asarray(xs, np.float64)[i] + W @ prev
  limit = float(np.finfo(arr.dtype).max)
  zmax = float(np.max(np.abs(z)))
  if zmax > limit:
    raise NonFiniteError(
      f"overflow: |h| exceeded the {arr.dtype} range (max {limit:.3g}) at step l={i + 1} of "
      f"L={L}: the largest |h^(l-1)| was {float(np.max(np.abs(prev))):.3g} and the "
      f"largest |A x^(l) + W h^(l-1)| (in float64) {zmax:.3g}; use float64, shorter "
      "sequences or smaller weights"
    )
  raise NonFiniteError(  # partial sums of W h past the limit although the total is not
    f"overflow inside W h^(l-1) at step l={i + 1} of L={L}: weights, inputs and "
    f"h^(l-1) are finite and the largest |A x^(l) + W h^(l-1)| (in float64) is {zmax:.3g}, "
    f"near the {arr.dtype} limit {limit:.3g}; use float64, shorter sequences or smaller "
    "weights"
  )
