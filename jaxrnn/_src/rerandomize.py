"""Re-randomization of blocks of neurons (Sec. 4.2).

The proofs need concentration over the rows ``[w_r, a_r]`` of ``[W, A]_r``,
but h^(l), Back_{i->L} and Wbar^[L] all depend on those same rows. The fix
(from Wang et al. [37], adapted in Sec. 4.2): split the m rows into k
disjoint blocks of equal size s = m/k; for one block, redraw its rows of W and
A from the initialization distribution N(0, 2/m), show that h^(l),
Back_{i->L} and Wbar^[L] barely change, and apply concentration to the fresh
rows, which are independent of everything computed from the others.

``rerandomize`` redraws one block; ``rerandomization_changes`` measures what
moves. Block indices may be traced, so both vmap over blocks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn._src import arguments
from jaxrnn._src.inversion import inversion_matrix, invert_hidden_state
from jaxrnn._src.pseudo import backward_matrices
from jaxrnn._src.rnn import RNNParams, hidden_states


def _block_size(m: int, num_blocks: int) -> int:
  if not isinstance(num_blocks, int) or isinstance(num_blocks, bool) or num_blocks < 1:
    raise ValueError(f"num_blocks must be a positive int (static), got {num_blocks!r}")
  if m % num_blocks:
    raise ValueError(f"num_blocks={num_blocks} must divide m={m} (blocks of equal size)")
  return m // num_blocks


def block_mask(m: int, block: int | jax.Array, num_blocks: int) -> jax.Array:
  """(m,) bool: the rows ``[block * s, (block + 1) * s)``, s = m / num_blocks."""
  s = _block_size(m, num_blocks)
  return (jnp.arange(m) // s) == block


def rerandomize(
  key: jax.Array, params: RNNParams, block: int | jax.Array, num_blocks: int
) -> RNNParams:
  """Redraws one block of rows of ``[W, A]_r`` from the initialization law.

  Rows ``r`` in ``[block * s, (block + 1) * s)``, ``s = m / num_blocks``, of
  W and of A are replaced by fresh i.i.d. N(0, 2/m) entries drawn from
  ``key``; all other rows, and B, are kept. (Only the block's *rows* are
  redrawn, as in Sec. 4.2; columns of W that read the block's neurons stay.)

  **Arguments:**

  - ``key``: PRNG key for the fresh rows.
  - ``params``: ``RNNParams`` at initialization.
  - ``block``: int or traced int32 scalar in ``[0, num_blocks)`` -- vmap over
    it to redraw every block at once.
  - ``num_blocks``: static int k dividing m.

  **Returns:** ``RNNParams`` of the same shapes. Cost O(s (m + d)) random
  draws plus a copy of W.

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> p = jaxrnn.init_params(jax.random.key(0), 8, 3, 1)
    >>> q = jaxrnn.rerandomize.rerandomize(jax.random.key(1), p, 1, num_blocks=4)
    >>> [int(i) for i in jnp.nonzero(jnp.any(q.W != p.W, axis=1))[0]]
    [2, 3]
    >>> news = jax.vmap(jaxrnn.rerandomize.rerandomize, (0, None, 0, None))(
    ...     jax.random.split(jax.random.key(1), 4), p, jnp.arange(4), 4)
    >>> news.W.shape
    (4, 8, 8)
  """
  m, d, _ = arguments.check_params(params)
  s = _block_size(m, num_blocks)
  dtype = params.W.dtype
  kw, ka = jax.random.split(key)
  scale = jnp.sqrt(jnp.asarray(2.0 / m, dtype))
  new_w = scale * jax.random.normal(kw, (s, m), dtype)
  new_a = scale * jax.random.normal(ka, (s, d), dtype)
  start = jnp.asarray(block, jnp.int32) * s
  W = lax.dynamic_update_slice(params.W, new_w, (start, jnp.int32(0)))
  A = lax.dynamic_update_slice(params.A, new_a, (start, jnp.int32(0)))
  return RNNParams(W=W, A=A, B=params.B)


def rerandomize_rows(key: jax.Array, params: RNNParams, rows: jax.Array) -> RNNParams:
  """Redraws the rows of W and A selected by the (m,) bool mask ``rows``.

  Same law as ``rerandomize`` (fresh N(0, 2/m) entries, B kept) for any
  subset of rows; the mask may be traced, so one compiled function serves
  blocks of every size (e.g. ``rows = jnp.arange(m) // s == b`` with traced
  ``s``, ``b``). Draws a full (m, m + d) Gaussian and selects, so it costs
  O(m^2) random draws whatever the subset.
  """
  m, d, _ = arguments.check_params(params)
  if jnp.shape(rows) != (m,):
    raise ValueError(f"rows must be an (m,) mask with m={m}, got shape {jnp.shape(rows)}")
  dtype = params.W.dtype
  kw, ka = jax.random.split(key)
  scale = jnp.sqrt(jnp.asarray(2.0 / m, dtype))
  sel = jnp.asarray(rows, bool)[:, None]
  W = jnp.where(sel, scale * jax.random.normal(kw, (m, m), dtype), params.W)
  A = jnp.where(sel, scale * jax.random.normal(ka, (m, d), dtype), params.A)
  return RNNParams(W=W, A=A, B=params.B)


def relative_change(
  old: jax.Array, new: jax.Array, axis: int | tuple[int, ...] | None = None
) -> jax.Array:
  """``||new - old|| / ||old||`` (Frobenius over ``axis``; all axes if None)."""
  num = jnp.sqrt(jnp.sum((new - old) ** 2, axis=axis))
  den = jnp.sqrt(jnp.sum(old**2, axis=axis))
  return num / jnp.maximum(den, jnp.finfo(den.dtype).tiny)


def rerandomization_changes(
  params: RNNParams,
  new_params: RNNParams,
  xs: jax.Array,
  base_xs: jax.Array,
  with_matrix: bool = True,
) -> dict:
  """How much the quantities of Sec. 4.2 move when params -> new_params.

  **Arguments:** ``params``, ``new_params`` (e.g. from ``rerandomize``);
  ``xs`` (L, d) one sequence; ``base_xs`` (L, d) the base sequence of the
  pattern-based decoder; ``with_matrix`` (static) whether to form Wbar^[L]
  (O(L^2 m^2 d); skip it at large m).

  **Returns:** dict with

  - ``h``: (L,) ``||h'^(l) - h^(l)|| / ||h^(l)||``, l = 1 .. L;
  - ``back``: (L,) ``||Back'_{i->L} - Back_{i->L}||_F / ||Back_{i->L}||_F``;
  - ``wbar``: scalar, same for ``Wbar^[L]`` (NaN when ``with_matrix`` is off);
  - ``inv_err``, ``inv_err_new``: l_inf error of the pattern-based
    reconstruction of ``xs`` from h^(L), before and after;
  - ``decoded``: ``||xhat' - xhat||_inf``, change of the decoded sequence.

  Cost O(L m^2 (1 + d_out)) (+ O(L^2 m^2 d) for Wbar).
  """
  hs, hs_new = hidden_states(params, xs), hidden_states(new_params, xs)
  bk, bk_new = backward_matrices(params, xs), backward_matrices(new_params, xs)
  xhat = invert_hidden_state(params, base_xs, hs[-1])
  xhat_new = invert_hidden_state(new_params, base_xs, hs_new[-1])
  if with_matrix:
    wbar = relative_change(inversion_matrix(params, base_xs), inversion_matrix(new_params, base_xs))
  else:
    wbar = jnp.asarray(jnp.nan, params.W.dtype)
  return {
    "h": relative_change(hs, hs_new, axis=1),
    "back": relative_change(bk, bk_new, axis=(1, 2)),
    "wbar": wbar,
    "inv_err": jnp.max(jnp.abs(xhat - xs)),
    "inv_err_new": jnp.max(jnp.abs(xhat_new - xs)),
    "decoded": jnp.max(jnp.abs(xhat_new - xhat)),
  }
