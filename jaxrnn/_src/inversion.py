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

Also here: the naive constructions the paper contrasts with
(``naive_inversion_matrix`` / ``invert_hidden_state_naive``:
``Wbar^[l] = factor [W Wbar^[l-1], A]_r`` without patterns, factor 2 as in
the paper or 1), a ridge least-squares decoder fitted on held-out sequences
(``fit_linear_decoder``, a yardstick the paper does not have), the base
sequence ``zero_base_sequence``, the centred decoder
``invert_hidden_state_centered`` (``Wbar^T h`` minus its value at the base
sequence, plus the base) and ``reconstruction_errors`` (l_inf error
split into bias and token entries).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn._src import arguments
from jaxrnn._src.rnn import RNNParams, hidden_states, preactivations, relu_derivative


def _patterns(params: RNNParams, base_xs: jax.Array) -> jax.Array:
  """The diagonals of D^(1) ... D^(L) at ``base_xs`` as (L, m) floats: 0, 1,
  or NaN where a pre-activation is NaN (``relu_derivative``), so that NaN
  weights give a NaN inversion instead of one that reads NaN units as off."""
  return relu_derivative(preactivations(params, base_xs))


def inversion_matrix(params: RNNParams, base_xs: jax.Array) -> jax.Array:
  """``Wbar^[L]`` of Sec. 4.4, built from the patterns of ``base_xs``.

  **Arguments:** ``base_xs`` (L, d), the base sequence x_(0).

  **Returns:** (m, L*d); columns ``[(j-1) d, j d)`` decode x^(j), so
  ``(Wbar^[L].T @ h^(L)).reshape(L, d) ~= xs``.

  Cost: a ``lax.scan`` over l with a fixed (m, L d) buffer, O(L^2 m^2 d)
  time and O(m L d) memory. To decode hidden states without forming the
  matrix use ``invert_hidden_state`` (O(L m^2)).
  """
  arguments.check_sequence(params, base_xs, "base_xs")
  masks = _patterns(params, base_xs)
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


def invert_hidden_state(params: RNNParams, base_xs: jax.Array, h: jax.Array) -> jax.Array:
  """``(Wbar^[L].T @ h).reshape(L, d)`` without forming ``Wbar^[L]``.

  Uses ``block_j^T h = A^T D^(j) W^T D^(j+1) ... W^T D^(L) h``: a reverse scan
  carrying one (m,) vector.

  **Arguments:** ``base_xs`` (L, d) base sequence; ``h`` (m,), typically h^(L)
  of the sequence to decode.

  **Returns:** (L, d), the decoded sequence. Cost O(L (m^2 + m d)).
  """
  arguments.check_sequence(params, base_xs, "base_xs")
  arguments.check_hidden(params, h)
  masks = _patterns(params, base_xs)
  v_last = masks[-1] * h

  def step(v, mask):
    v = mask * (v @ params.W)
    return v, v

  _, vs = lax.scan(step, v_last, masks[:-1], reverse=True)
  vs = jnp.concatenate([vs, v_last[None]], axis=0)  # (L, m): v_j = D^(j)...
  return vs @ params.A


def centered_decoding_offset(params: RNNParams, base_xs: jax.Array) -> jax.Array:
  """``x_(0) - Wbar^[L].T h^(L)(x_(0))``: what the pattern decoder misses on
  its own base sequence, (L, d).

  Adding it to ``invert_hidden_state(params, base_xs, h)`` gives the centred
  decoder ``invert_hidden_state_centered``. Cost O(L m^2).
  """
  arguments.check_sequence(params, base_xs, "base_xs")
  h_base = hidden_states(params, base_xs)[-1]
  return base_xs - invert_hidden_state(params, base_xs, h_base)


def invert_hidden_state_centered(params: RNNParams, base_xs: jax.Array, h: jax.Array) -> jax.Array:
  """The centred (affine) pattern decoder:
  ``Wbar^[L].T h - Wbar^[L].T h^(L)(x_(0)) + x_(0)``, (L, d).

  ``Wbar^[L].T h^(L)`` (Sec. 4.4) is linear in h, so on the base sequence
  itself it misses by a fixed amount (the leakage of the bias tokens into the
  other blocks at O(m^-1/2)), which every sequence near the base shares.
  Subtracting the base's decoding and adding the base makes the decoder exact
  at ``x_(0)``; it differs from ``Wbar^[L].T h`` by a constant, the
  modification of Wbar that Thm. 4.3's sketch allows ("we can modify Wbar").
  The same centring as ``jaxrnn.concept.construct_pseudo_network(...,
  center=True)``.

  **Arguments:** ``base_xs`` (L, d) the base sequence x_(0); ``h`` (m,).

  **Returns:** (L, d). Cost O(L m^2) (twice ``invert_hidden_state``); under
  ``jax.vmap`` over ``h`` alone the base's part is computed once.

  Example::

    >>> import jax, jaxrnn
    >>> from jaxrnn import inversion
    >>> p = jaxrnn.init_params(jax.random.key(0), 256, 4, 1)
    >>> base = inversion.zero_base_sequence(5, 4)
    >>> h0 = jaxrnn.final_hidden_state(p, base)
    >>> bool(jax.numpy.allclose(inversion.invert_hidden_state_centered(p, base, h0), base,
    ...                         atol=1e-5))
    True
  """
  return invert_hidden_state(params, base_xs, h) + centered_decoding_offset(params, base_xs)


# --------------------------------------------------------------------------
# The naive constructions the paper contrasts with (Sec. 4.4)


def _check_length(L) -> int:
  if not isinstance(L, int) or isinstance(L, bool) or L < 1:
    raise ValueError(f"L must be a positive int (static), got {L!r}")
  return L


def naive_inversion_matrix(params: RNNParams, L: int, factor: float = 2.0) -> jax.Array:
  """The naive decoder of Sec. 4.4, without activation patterns.

  ``Wbar^[1] = A`` and ``Wbar^[l] = factor * [W Wbar^[l-1], A]_r`` for
  l = 2 ... L, as written in the paper with ``factor=2`` (from ``p = 2 T v``
  of Lemma 4.4); ``factor=1`` is the same construction with the factor
  dropped. Block j of ``Wbar^[L]`` is ``factor^(L-j+1) W^(L-j) A`` for
  j >= 2 and ``factor^(L-1) W^(L-1) A`` for j = 1.

  Note on scale: at the RNN's initialization (entries of variance 2/m)
  ``[W, A]^T relu([W, A] u) ~= u`` already (Lemma 4.4 with s^2 = 2/m, see
  ``jaxrnn.features.relu_readout``), so ``factor=1`` is the correctly normalized naive
  decoder; ``factor=2`` also doubles the decoded x^(j) once per step, and
  its error grows like 2^(L-j). Without the masks the noise of each step
  is not halved either, so ``factor=1`` still grows, like (sqrt 2)^(L-j).

  **Arguments:** ``L`` static sequence length; ``factor`` a Python float.

  **Returns:** (m, L*d), columns ``[(j-1) d, j d)`` decode x^(j).
  Cost O(L^2 m^2 d). Use ``invert_hidden_state_naive`` to decode without
  forming the matrix.
  """
  arguments.check_params(params)
  L = _check_length(L)
  m, d = params.A.shape
  factors = jnp.asarray([1.0] + [factor] * (L - 1), params.W.dtype)

  def step(buf, inputs):
    l, f = inputs
    buf = f * (params.W @ buf)
    buf = lax.dynamic_update_slice(buf, f * params.A, (0, l * d))
    return buf, None

  buf0 = jnp.zeros((m, L * d), params.W.dtype)
  wbar, _ = lax.scan(step, buf0, (jnp.arange(L), factors))
  return wbar


def naive_block_scales(
  L: int, factor: float = 2.0, dtype: jax.typing.DTypeLike = jnp.float32
) -> jax.Array:
  """(L,) scale of each block of the naive ``Wbar^[L]`` relative to
  ``factor=1``: ``factor^(L-j+1)`` for j >= 2 and ``factor^(L-1)`` for j = 1.

  So ``naive(factor) = naive_block_scales(L, factor)[:, None] * naive(1)``.
  """
  L = _check_length(L)
  expo = jnp.arange(L, 0, -1).at[0].set(L - 1)
  return jnp.asarray(factor, dtype) ** expo.astype(dtype)


def invert_hidden_state_naive(
  params: RNNParams, h: jax.Array, L: int, factor: float = 2.0
) -> jax.Array:
  """``(naive_inversion_matrix(params, L, factor).T @ h).reshape(L, d)``
  in O(L m^2), by a reverse scan ``u_L = h``, ``u_j = W^T u_{j+1}``,
  ``xhat^(j) = A^T u_j`` times ``naive_block_scales(L, factor)[j-1]``.

  **Arguments:** ``h`` (m,); ``L`` static; ``factor`` a Python float.

  **Returns:** (L, d).

  Example::

    >>> import jax, jaxrnn
    >>> p = jaxrnn.init_params(jax.random.key(0), 256, 4, 1)
    >>> xs = jaxrnn.random_normalized_sequence(jax.random.key(1), 5, 4, 0.1)
    >>> h = jaxrnn.final_hidden_state(p, xs)
    >>> jaxrnn.inversion.invert_hidden_state_naive(p, h, 5, factor=1.0).shape
    (5, 4)
  """
  arguments.check_hidden(params, h)
  L = _check_length(L)

  def step(u, _):
    u = u @ params.W
    return u, u

  _, us = lax.scan(step, h, None, length=L - 1, reverse=True)
  us = jnp.concatenate([us, h[None]], axis=0)  # (L, m), row j-1 = u_j
  scales = naive_block_scales(L, factor, params.W.dtype)
  return scales[:, None] * (us @ params.A)


def zero_base_sequence(L: int, d: int, dtype: jax.typing.DTypeLike = jnp.float32) -> jax.Array:
  """The base sequence ``x_(0)`` used by default for the pattern-based
  decoder: the eps_x -> 0 limit of Def. 3.1, ``x^(1) = x^(L) = e_d`` and
  zero middle tokens. Every normalized sequence is within eps_x of it
  token by token, so its activation patterns are the natural common guess
  (the paper does not say which base it uses)."""
  L = _check_length(L)
  if L < 2 or d < 1:
    raise ValueError(f"need L >= 2 and d >= 1, got L={L}, d={d}")
  return jnp.zeros((L, d), dtype).at[0, -1].set(1).at[-1, -1].set(1)


# --------------------------------------------------------------------------
# Least-squares decoder (a yardstick the paper does not have)


class LinearDecoder(NamedTuple):
  """Affine decoder ``xhat = (h @ M + b).reshape(L, d)``; a pytree.

  - ``M``: (m, L*d); ``b``: (L*d,). Built by ``fit_linear_decoder``.
  """

  M: jax.Array
  b: jax.Array


def fit_linear_decoder(
  hs: jax.Array, xs: jax.Array, ridge: float = 1e-4, intercept: bool = True
) -> LinearDecoder:
  """Ridge least-squares fit of ``x ~= M^T h + b`` on training pairs.

  Minimizes ``sum_n ||M^T h_n + b - vec(x_n)||^2 + lam ||M||_F^2`` with
  ``lam = ridge * trace(Hc Hc^T) / N`` (``Hc`` the centered hidden states):
  a relative ridge, so the same ``ridge`` works at every width and scale.
  With ``intercept=True`` data are centered before the fit (the intercept
  ``b`` is not penalized); this keeps the float32 problem well conditioned
  when the inputs vary by only eps_x around a common base. With
  ``intercept=False`` the decoder is linear, ``b = 0``, like the paper's
  ``Wbar^T h`` (prefer float64 then). Solved in the dual (N x N) when N <= m
  and in the primal (m x m) otherwise, through ``eigh``.

  **Arguments:** ``hs`` (N, m) hidden states; ``xs`` (N, L, d) sequences;
  ``ridge`` >= 0 relative ridge; ``intercept`` static bool.

  **Returns:** ``LinearDecoder``. Cost O(N m min(N, m) + min(N, m)^3).
  """
  if jnp.ndim(hs) != 2 or jnp.ndim(xs) != 3 or hs.shape[0] != xs.shape[0]:
    raise ValueError(
      f"hs must be (N, m) and xs (N, L, d) with the same N, got {jnp.shape(hs)} and {jnp.shape(xs)}"
    )
  if ridge < 0:
    raise ValueError(f"ridge must be >= 0, got {ridge}")
  n, m = hs.shape
  X = xs.reshape(n, -1).astype(hs.dtype)
  if intercept:
    mu_h, mu_x = jnp.mean(hs, axis=0, keepdims=True), jnp.mean(X, axis=0, keepdims=True)
  else:
    mu_h, mu_x = jnp.zeros((1, m), hs.dtype), jnp.zeros((1, X.shape[1]), hs.dtype)
  Hc, Xc = hs - mu_h, X - mu_x
  if n <= m:
    K = Hc @ Hc.T
    lam = ridge * jnp.trace(K) / n
    s, U = jnp.linalg.eigh(K)
    alpha = U @ ((U.T @ Xc) / (jnp.maximum(s, 0) + lam)[:, None])
    M = Hc.T @ alpha
  else:
    G = Hc.T @ Hc
    lam = ridge * jnp.trace(G) / n
    s, U = jnp.linalg.eigh(G)
    M = U @ ((U.T @ (Hc.T @ Xc)) / (jnp.maximum(s, 0) + lam)[:, None])
  return LinearDecoder(M=M, b=(mu_x - mu_h @ M)[0])


def apply_linear_decoder(decoder: LinearDecoder, h: jax.Array, d: int) -> jax.Array:
  """Decodes one hidden state ``h`` (m,) to an (L, d) sequence."""
  return (h @ decoder.M + decoder.b).reshape(-1, d)  # (Ld,) + (Ld,)


# --------------------------------------------------------------------------
# Error measures


def reconstruction_errors(xs: jax.Array, xhat: jax.Array) -> dict:
  """l_inf errors of a decoded normalized sequence, split by entry type.

  **Arguments:** ``xs`` (L, d) the true normalized sequence (Def. 3.1),
  ``xhat`` (L, d) its reconstruction.

  **Returns:** dict of scalars:

  - ``linf``: ``max |xhat - xs|`` over all L*d entries (Thm. 4.5's quantity);
  - ``bias``: max error on the two bias entries ``x^(1)_d``, ``x^(L)_d``
    (true value 1);
  - ``token``: max error on the token entries ``x^(l)_k``, l = 2 .. L-1,
    k < d (true values of size <= eps_x; divide by eps_x to see whether the
    tokens are recovered);
  - ``token_rel_l2``: ``||xhat_tok - x_tok|| / ||x_tok||`` over those
    entries (>= 1 means the decoder does no better than outputting 0).
  """
  if xs.shape != xhat.shape or xs.ndim != 2:
    raise ValueError(f"xs and xhat must be the same (L, d) shape, got {xs.shape}, {xhat.shape}")
  err = jnp.abs(xhat - xs)
  tok = (xhat - xs)[1:-1, :-1]
  tok_true = xs[1:-1, :-1]
  return {
    "linf": jnp.max(err),
    "bias": jnp.maximum(err[0, -1], err[-1, -1]),
    "token": jnp.max(jnp.abs(tok), initial=0.0),
    "token_rel_l2": jnp.sqrt(
      jnp.sum(tok**2) / jnp.maximum(jnp.sum(tok_true**2), jnp.finfo(xs.dtype).tiny)
    ),
  }
