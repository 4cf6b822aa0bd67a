"""Inverting the hidden state at initialization (Sec. 4.4, Thm. 4.5).

At random initialization (W, A ~ N(0, 2/m)) and for an activation pattern D
that matches the one the RNN used, ``A^T D A ~= I`` because each neuron is on
half the time and ``E[a_r a_r^T] = (2/m) I``. Unrolling
``h^(l) = D^(l) (A x^(l) + W h^(l-1))`` therefore suggests the linear decoder

    Wbar^[1] = D_(0)^(1) A,
    Wbar^[l] = [D_(0)^(l) W Wbar^[l-1], D_(0)^(l) A]_r,      l = 2 ... L,

with ``Wbar^[L]^T h^(L) ~= [x^(1), ..., x^(L)]``. The patterns ``D_(0)^(l)`` are
those of a fixed *base* sequence: for normalized inputs with small eps_x the
patterns of any sequence are close to those of the base (Sec. 4.4).

Block j of ``Wbar^[L]`` (the columns that decode x^(j)) is
``D^(L) W D^(L-1) W ... D^(j+1) W D^(j) A``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn._src import checks
from jaxrnn._src.rnn import RNNParams, activation_patterns


def inversion_matrix(params: RNNParams, base_xs: jax.Array) -> jax.Array:
  """``Wbar^[L]`` of Sec. 4.4, built from the patterns of ``base_xs``.

  **Arguments:** ``base_xs`` (L, d), the base sequence x_(0).

  **Returns:** (m, L*d); columns ``[(j-1) d, j d)`` decode x^(j), so
  ``(Wbar^[L].T @ h^(L)).reshape(L, d) ~= xs``.

  Cost: a ``lax.scan`` over l with a fixed (m, L d) buffer, O(L^2 m^2 d)
  time and O(m L d) memory. To decode hidden states without forming the
  matrix use ``invert_hidden_state`` (O(L m^2)).
  """
  checks.check_sequence(params, base_xs, "base_xs")
  masks = activation_patterns(params, base_xs).astype(params.W.dtype)
  L, d = base_xs.shape
  m = params.W.shape[0]

  def step(buf, inputs):
    l, mask = inputs
    buf = mask[:, None] * (params.W @ buf)
    buf = lax.dynamic_update_slice(buf, mask[:, None] * params.A, (0, l * d))
    return buf, None

  buf0 = jnp.zeros((m, L * d), params.W.dtype)
  wbar, _ = lax.scan(step, buf0, (jnp.arange(L), masks))
  return wbar


def invert_hidden_state(params: RNNParams, base_xs: jax.Array,
                        h: jax.Array) -> jax.Array:
  """``(Wbar^[L].T @ h).reshape(L, d)`` without forming ``Wbar^[L]``.

  Uses ``block_j^T h = A^T D^(j) W^T D^(j+1) ... W^T D^(L) h``: a reverse scan
  carrying one (m,) vector.

  **Arguments:** ``base_xs`` (L, d) base sequence; ``h`` (m,), typically h^(L)
  of the sequence to decode.

  **Returns:** (L, d), the decoded sequence. Cost O(L (m^2 + m d)).
  """
  checks.check_sequence(params, base_xs, "base_xs")
  checks.check_hidden(params, h)
  masks = activation_patterns(params, base_xs).astype(params.W.dtype)
  v_last = masks[-1] * h

  def step(v, mask):
    v = mask * (v @ params.W)
    return v, v

  _, vs = lax.scan(step, v_last, masks[:-1], reverse=True)
  vs = jnp.concatenate([vs, v_last[None]], axis=0)       # (L, m): v_j = D^(j)...
  return vs @ params.A
