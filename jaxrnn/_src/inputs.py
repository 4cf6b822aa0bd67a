"""Normalized input sequences (Def. 3.1).

A *true* sequence ``xbar = (xbar^(2), ..., xbar^(L-1))`` has L-2 tokens on the
unit sphere S^{d-2} of R^{d-1} whose last entry is 1/2. Its normalized form is
the (L, d) sequence

    x^(1) = x^(L) = (0, ..., 0, 1),
    x^(l) = (eps_x * xbar^(l), 0)          for l = 2 ... L-1,

so the last coordinate is a bias that is on only at the first and last step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn._src import arguments


def _row_tolerance(dtype) -> float:
  return 1e-4 if jnp.finfo(dtype).bits <= 32 else 1e-10


def _check_eps(eps_x) -> None:
  """eps_x is a real scalar (any time); positive and finite (when concrete)."""
  if isinstance(eps_x, (str, bytes, bool, np.bool_)):
    raise TypeError(f"eps_x must be a positive finite number, got {eps_x!r}")
  if arguments.is_concrete(eps_x):
    arr = np.asarray(eps_x)
    if arr.ndim != 0 or arr.dtype.kind not in "iuf":
      raise TypeError(f"eps_x must be a positive finite number, got {eps_x!r}")
    e = float(arr)
    if not np.isfinite(e) or e <= 0:
      raise ValueError(f"eps_x must be a positive finite number, got {e!r}")
  elif jnp.ndim(eps_x) != 0 or not jnp.issubdtype(jnp.result_type(eps_x), jnp.number):
    raise TypeError(f"eps_x must be a real scalar, got shape {jnp.shape(eps_x)}")


def normalize_sequence(xbar: jax.Array, eps_x: float | jax.Array) -> jax.Array:
  """Normalized input sequence of Def. 3.1.

  **Arguments:**

  - ``xbar``: (L-2, d-1) true tokens, each row of unit norm with last entry
    1/2. Concrete input is checked row by row (tolerance 1e-4 in float32,
    1e-10 in float64) and a ``ValueError`` names the first bad row; traced
    input (inside jit/vmap) is taken as given.
  - ``eps_x``: positive finite scale of the middle tokens, a real scalar
    (Thm. 3.1 takes ``eps_x = 1/poly(rho)``); a string is refused. Its value
    is checked when concrete; a traced one only for being a real scalar.

  **Returns:** (L, d) with the dtype of ``xbar``. Cost O(L d).

  Example::

    >>> import jax.numpy as jnp, jaxrnn
    >>> xbar = jnp.array([[jnp.sqrt(3.0) / 2, 0.5]])
    >>> jaxrnn.normalize_sequence(xbar, 0.1)
    Array([[0.        , 0.        , 1.        ],
           [0.08660254, 0.05      , 0.        ],
           [0.        , 0.        , 1.        ]], dtype=float32)
  """
  arguments.check_ndim("xbar", xbar, 2, "(L-2, d-1)")
  arguments.check_float("xbar", xbar)
  if xbar.shape[1] < 1:
    raise ValueError(f"xbar must have d-1 >= 1 columns, got shape {xbar.shape}")
  dtype = jnp.result_type(xbar)
  _check_eps(eps_x)
  if arguments.is_concrete(xbar):
    arr = np.asarray(xbar, dtype=np.float64)
    tol = _row_tolerance(dtype)
    for i, row in enumerate(arr):
      if not np.all(np.isfinite(row)):
        raise ValueError(f"xbar row {i} has a non-finite entry")
      norm = float(np.linalg.norm(row))
      if abs(norm - 1.0) > tol:
        raise ValueError(
          f"xbar row {i} is not on the unit sphere: norm {norm:.6g} "
          "(Def. 3.1 needs ||xbar^(l)|| = 1)"
        )
      if abs(row[-1] - 0.5) > tol:
        raise ValueError(f"xbar row {i} has last entry {row[-1]:.6g}, Def. 3.1 needs 1/2")
  d = xbar.shape[1] + 1
  bias = jnp.zeros((1, d), dtype).at[0, -1].set(1)
  middle = jnp.concatenate(
    [jnp.asarray(eps_x, dtype) * xbar, jnp.zeros((xbar.shape[0], 1), dtype)], axis=1
  )
  return jnp.concatenate([bias, middle, bias], axis=0)


def random_true_sequence(
  key: jax.Array, num_tokens: int, d: int, dtype: jax.typing.DTypeLike = jnp.float32
) -> jax.Array:
  """Random true tokens for Def. 3.1: (num_tokens, d-1) rows uniform on the
  sphere S^{d-2} restricted to last entry 1/2.

  ``num_tokens`` counts true tokens: a normalized sequence of length L (the
  paper's L, as ``L`` everywhere in jaxrnn) has ``num_tokens = L - 2``, the
  first and last tokens being the bias (``normalize_sequence``). The first
  d-2 entries of a row are a uniform direction scaled to norm sqrt(3)/2, the
  last is 1/2, so every row has unit norm. Cost O(num_tokens d).

  Example::

    >>> import jax, jaxrnn
    >>> L, d = 10, 8
    >>> xbar = jaxrnn.random_true_sequence(jax.random.key(1), num_tokens=L - 2, d=d)
    >>> xbar.shape, jaxrnn.normalize_sequence(xbar, eps_x=0.1).shape
    ((8, 7), (10, 8))
  """
  if d < 3:
    raise ValueError(f"d must be at least 3 for random tokens, got {d}")
  g = jax.random.normal(key, (num_tokens, d - 2), dtype)
  g = g / jnp.linalg.norm(g, axis=1, keepdims=True)
  half = jnp.full((num_tokens, 1), 0.5, dtype)
  return jnp.concatenate([jnp.sqrt(jnp.asarray(0.75, dtype)) * g, half], axis=1)


def random_normalized_sequence(
  key: jax.Array,
  L: int,
  d: int,
  eps_x: float | jax.Array,
  dtype: jax.typing.DTypeLike = jnp.float32,
) -> jax.Array:
  """A random normalized sequence (L, d) of Def. 3.1, L the paper's length
  (bias, L - 2 true tokens, bias): ``random_true_sequence(key, L - 2, d)``
  then ``normalize_sequence``. Jit- and vmap-safe (over ``key``)."""
  if L < 2:
    raise ValueError(f"L must be at least 2 (first and last bias tokens), got {L}")
  return normalize_sequence(random_true_sequence(key, L - 2, d, dtype), eps_x)
