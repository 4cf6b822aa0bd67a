"""The pseudo-network: first-order Taylor expansion of the RNN (Sec. 4.1).

Eq. (4) defines, at the initialization W, A, B and for perturbations W', A',

    F^(L)(x; W', A') = sum_{i=1}^{L} Back_{i->L} D^(i) (W' h^(i-1) + A' x^(i))

with ``Back_{i->L} = B D^(L) W ... D^(i+1) W`` and ``Back_{L->L} = B``. It is
the directional derivative of ``W, A -> B h^(L)`` along (W', A'):
``F^(L)(x; W', A') = d/dt F_rnn^(L)(x; W + t W', A + t A') at t = 0``, and
approximates ``F_rnn(W + W', A + A') - F_rnn(W, A)`` (Lemma G.3).

``pseudo_network`` computes it in forward mode: one scan that carries the
state h^(l) and its tangent dh^(l) together,

    dh^(0) = 0,   dh^(l) = D^(l) (W' h^(l-1) + A' x^(l) + W dh^(l-1)),
    F^(L)(x; W', A') = B dh^(L),

which is what ``jax.jvp`` of ``rnn_output`` along (W', A') computes, with
h and dh multiplied by W in one (2, m) @ (m, m) product per step (under vmap
a (2 batch, m) @ (m, m) product). The cost is three products with (m, m)
matrices per step, O(L m^2), never a Jacobian.
``pseudo_network_explicit`` evaluates the sum of Eq. (4) literally through
``backward_matrices``; it costs O(L^2 m^2 d_out) and exists as a cross-check
and as the baseline of ``benchmarks/scaling.py``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn._src import checks
from jaxrnn._src import rnn as _rnn
from jaxrnn._src.rnn import RNNParams, activation_patterns, hidden_states


def _check_delta(params: RNNParams, delta: RNNParams) -> None:
  if not isinstance(delta, tuple) or not hasattr(delta, "W") or not hasattr(delta, "A"):
    raise TypeError("delta must be an RNNParams (its B is ignored)")
  for name in ("W", "A"):
    p, t = getattr(params, name), getattr(delta, name)
    if jnp.shape(t) != jnp.shape(p):
      raise ValueError(
          f"delta.{name} has shape {tuple(jnp.shape(t))}, expected {p.shape} "
          f"like params.{name}")
    if jnp.result_type(t) != jnp.result_type(p):
      raise TypeError(
          f"delta.{name} has dtype {jnp.result_type(t)}, params.{name} has "
          f"{jnp.result_type(p)}")


def pseudo_network(params: RNNParams, delta: RNNParams, xs: jax.Array) -> jax.Array:
  """Pseudo-network ``F^(L)(x; W', A')`` of Eq. (4), in forward mode.

  The directional derivative ``d/dt F_rnn^(L)(x; W + t W', A + t A')`` at
  t = 0, i.e. ``jax.jvp`` of ``rnn_output`` in (W, A) along (W', A'),
  computed by the fused tangent recursion of the module docstring.

  **Arguments:**

  - ``params``: the expansion point (W, A, B), usually the initialization.
  - ``delta``: an ``RNNParams`` whose ``W`` (m, m) and ``A`` (m, d) are the
    perturbation W', A'; ``delta.B`` is ignored (B is not trained).
  - ``xs``: (L, d), one sequence.

  **Returns:** (d_out,), linear in ``delta``. Cost: one forward pass and its
  tangent, O(L m^2).

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> p = jaxrnn.init_params(jax.random.key(0), 64, 4, 1)
    >>> dlt = jaxrnn.init_params(jax.random.key(1), 64, 4, 1)
    >>> xs = jnp.ones((5, 4))
    >>> lin = jaxrnn.pseudo_network(p, dlt, xs)
    >>> t = 1e-3
    >>> true = jaxrnn.rnn_output(p._replace(W=p.W + t * dlt.W, A=p.A + t * dlt.A), xs) - jaxrnn.rnn_output(p, xs)
    >>> bool(jnp.allclose(true, t * lin, rtol=1e-2, atol=1e-5))
    True
  """
  checks.check_sequence(params, xs)
  _check_delta(params, delta)
  return params.B @ _tangent_final_state(params.W, params.A, delta.W, delta.A, xs)


def _tangent_final_state(W, A, dW, dA, xs):
  """dh^(L): the tangent of h^(L) along (W', A') (module docstring)."""
  W_T, A_T, dW_T, dA_T = W.T, A.T, dW.T, dA.T

  def step(carry, x):
    h, dh = carry
    hw = jnp.stack([h, dh]) @ W_T            # W h^(l-1) and W dh^(l-1) at once
    z = x @ A_T + hw[0]
    dz = x @ dA_T + h @ dW_T + hw[1]
    mask = z >= 0                            # D^(l) of Eq. (5)
    zero = jnp.zeros((), z.dtype)
    return (jnp.where(mask, z, zero), jnp.where(mask, dz, zero)), None

  # Step 1 peeled: h^(0) = dh^(0) = 0, so no product with W or W'.
  z1 = xs[0] @ A_T
  mask1 = z1 >= 0
  zero = jnp.zeros((), z1.dtype)
  carry = (jnp.where(mask1, z1, zero), jnp.where(mask1, xs[0] @ dA_T, zero))
  (_, dh), _ = lax.scan(step, carry, xs[1:], unroll=_rnn._UNROLL)
  return dh


def backward_matrices(params: RNNParams, xs: jax.Array) -> jax.Array:
  """The backward matrices ``Back_{i->L}`` of Sec. 4.1 for i = 1 ... L.

  ``Back_{L->L} = B`` and ``Back_{i->L} = Back_{i+1->L} D^(i+1) W``: a reverse
  ``lax.scan`` over the activation patterns.

  **Returns:** (L, d_out, m); entry ``i-1`` is ``Back_{i->L}``.
  Cost O(L m^2 d_out).
  """
  masks = activation_patterns(params, xs).astype(params.W.dtype)

  def step(back, mask):
    back = (back * mask) @ params.W
    return back, back

  _, earlier = lax.scan(step, params.B, masks[1:], reverse=True)
  return jnp.concatenate([earlier, params.B[None]], axis=0)


def pseudo_network_explicit(params: RNNParams, delta: RNNParams,
                            xs: jax.Array) -> jax.Array:
  """Eq. (4) as written: ``sum_i Back_{i->L} D^(i) (W' h^(i-1) + A' x^(i))``.

  Same value as ``pseudo_network`` up to float rounding; O(L m^2 d_out) to
  build the Back matrices plus O(L m^2) for the perturbation terms, and
  O(L m d_out) memory. Prefer ``pseudo_network``.
  """
  checks.check_sequence(params, xs)
  _check_delta(params, delta)
  backs = backward_matrices(params, xs)
  masks = activation_patterns(params, xs).astype(params.W.dtype)
  hs = hidden_states(params, xs)
  h_prev = jnp.concatenate([jnp.zeros_like(hs[:1]), hs[:-1]], axis=0)
  pert = h_prev @ delta.W.T + xs @ delta.A.T          # (L, m)
  return jnp.einsum("lom,lm->o", backs, masks * pert)
