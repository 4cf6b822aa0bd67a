"""The Elman ReLU RNN of Def. 3.2 and its random initialization.

The recurrence (Eq. 1) is

    h^(0) = 0,    h^(l) = relu(A x^(l) + W h^(l-1)),    l = 1 ... L,
    F_rnn^(L)(x; W, A) = B h^(L).

Every function here takes **one** sequence ``xs`` of shape (L, d) and is
batched with ``jax.vmap``. Time is unrolled with ``lax.scan``. The input
projection ``A x^(l)`` does not depend on the recurrence, so it is computed for
all steps at once (one (L, d) @ (d, m) matmul) before the scan; the scan then
carries only ``h`` and does one (m,) @ (m, m) product per step.

ReLU is written ``where(z >= 0, z, 0)`` so that its derivative is the
indicator ``1[z >= 0]`` of Eq. (5), including at ``z == 0``; ``jnp.maximum``
would give 1/2 there and the pseudo-network would then disagree with Eq. (4)
on the measure-zero set of exact ties.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn._src import checks


class RNNParams(NamedTuple):
  """Weights of the RNN of Def. 3.2; a pytree.

  **Fields:**

  - ``W``: (m, m) recurrent weights.
  - ``A``: (m, d) input weights.
  - ``B``: (d_out, m) output weights (kept at initialization in Thm. 3.1).
  """

  W: jax.Array
  A: jax.Array
  B: jax.Array


def init_params(key: jax.Array, m: int, d: int, d_out: int,
                dtype=jnp.float32) -> RNNParams:
  """Random initialization of Def. 3.2.

  ``W_ij, A_ij ~ N(0, 2/m)`` and ``B_ij ~ N(0, 2/d_out)``, all independent.

  **Arguments:**

  - ``key``: a PRNG key.
  - ``m``: hidden width; ``d``: input dimension; ``d_out``: output dimension.
  - ``dtype``: floating dtype of the weights (``jnp.float64`` needs
    ``jax_enable_x64``).

  **Returns:** ``RNNParams`` with shapes (m, m), (m, d), (d_out, m).

  Example::

    >>> import jax, jaxrnn
    >>> p = jaxrnn.init_params(jax.random.key(0), m=64, d=5, d_out=1)
    >>> p.W.shape, p.A.shape, p.B.shape
    ((64, 64), (64, 5), (1, 64))
  """
  for name, v in (("m", m), ("d", d), ("d_out", d_out)):
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
      raise ValueError(f"{name} must be a positive int, got {v!r}")
  dtype = jnp.dtype(dtype)
  if not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"dtype must be a floating dtype, got {dtype}")
  if dtype == jnp.float64 and not jax.config.jax_enable_x64:
    raise TypeError("dtype float64 needs jax.config.update('jax_enable_x64', True)")
  kw, ka, kb = jax.random.split(key, 3)
  scale_wa = jnp.sqrt(jnp.asarray(2.0 / m, dtype))
  scale_b = jnp.sqrt(jnp.asarray(2.0 / d_out, dtype))
  return RNNParams(
      W=scale_wa * jax.random.normal(kw, (m, m), dtype),
      A=scale_wa * jax.random.normal(ka, (m, d), dtype),
      B=scale_b * jax.random.normal(kb, (d_out, m), dtype),
  )


def relu(z: jax.Array) -> jax.Array:
  """ReLU with derivative ``1[z >= 0]`` (the convention of Eq. 5)."""
  return jnp.where(z >= 0, z, jnp.zeros((), z.dtype))


def cell(params: RNNParams, h: jax.Array, x: jax.Array) -> jax.Array:
  """One RNN step (Eq. 1): ``relu(A x + W h)``.

  **Arguments:** ``h`` (m,) previous hidden state, ``x`` (d,) token.

  **Returns:** (m,) next hidden state. Cost O(m^2 + m d).
  """
  checks.check_hidden(params, h)
  checks.check_token(params, x)
  return relu(params.A @ x + params.W @ h)


def input_projections(params: RNNParams, xs: jax.Array) -> jax.Array:
  """``A x^(l)`` for all l at once: (L, d) -> (L, m). Cost O(L m d)."""
  return xs @ params.A.T


def _step(W_T):
  def step(h, u):
    h = relu(u + h @ W_T)
    return h, h
  return step


def hidden_states(params: RNNParams, xs: jax.Array) -> jax.Array:
  """All hidden states ``h^(1) ... h^(L)`` of Eq. (1), with ``h^(0) = 0``.

  **Arguments:** ``xs`` (L, d), one sequence.

  **Returns:** (L, m). Cost O(L (m^2 + m d)) time, O(L m) memory.
  """
  checks.check_sequence(params, xs)
  us = input_projections(params, xs)
  h0 = jnp.zeros((params.W.shape[0],), us.dtype)
  _, hs = lax.scan(_step(params.W.T), h0, us)
  return hs


def final_hidden_state(params: RNNParams, xs: jax.Array) -> jax.Array:
  """``h^(L)`` only; the scan keeps one (m,) carry and stacks nothing.

  **Returns:** (m,). Cost O(L (m^2 + m d)) time, O(m + L m) memory (the
  hoisted input projections).
  """
  checks.check_sequence(params, xs)
  us = input_projections(params, xs)
  W_T = params.W.T

  def step(h, u):
    return relu(u + h @ W_T), None

  h0 = jnp.zeros((params.W.shape[0],), us.dtype)
  h, _ = lax.scan(step, h0, us)
  return h


def rnn_output(params: RNNParams, xs: jax.Array) -> jax.Array:
  """The RNN's output ``F_rnn^(L)(x; W, A) = B h^(L)`` (Def. 3.2).

  **Arguments:** ``xs`` (L, d), one sequence.

  **Returns:** (d_out,). Cost O(L (m^2 + m d) + m d_out).

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> p = jaxrnn.init_params(jax.random.key(0), m=32, d=4, d_out=2)
    >>> xs = jnp.ones((7, 4))
    >>> jaxrnn.rnn_output(p, xs).shape
    (2,)
    >>> jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))(p, jnp.ones((3, 7, 4))).shape
    (3, 2)
  """
  return params.B @ final_hidden_state(params, xs)


def preactivations(params: RNNParams, xs: jax.Array) -> jax.Array:
  """``A x^(l) + W h^(l-1)`` for l = 1 ... L: (L, m)."""
  hs = hidden_states(params, xs)
  h_prev = jnp.concatenate([jnp.zeros_like(hs[:1]), hs[:-1]], axis=0)
  return input_projections(params, xs) + h_prev @ params.W.T


def activation_patterns(params: RNNParams, xs: jax.Array) -> jax.Array:
  """Diagonals of the activation matrices ``D^(l)`` of Eq. (5).

  ``D^(l)_rr = 1[w_r . h^(l-1) + a_r . x^(l) >= 0]`` at the given weights.

  **Returns:** (L, m) bool; row ``l-1`` is the diagonal of ``D^(l)``.
  """
  return preactivations(params, xs) >= 0
