"""Infinite-width kernels of the paper's RNN (Def. 3.2): NNGP and NTK.

**Forward kernel.** At the initialization of Def. 3.2 each neuron's
pre-activation at step l, ``z_r = a_r . x^(l) + w_r . h^(l-1)``, is (as
m -> infinity, jointly over two inputs x, x') a centred Gaussian with
covariance ``(2/m) S^(l)`` where

    S^(l)(x, x') = <x^(l), x'^(l)> + K^(l-1)(x, x'),     K^(0) = 0,
    K^(l)(x, x') = lim_m <h^(l), h'^(l)> = kappa_1(S^(l)),

and, for a 2x2 covariance with diagonal (a, b) and off-diagonal c,
``cos theta = c / sqrt(a b)`` (clipped to [-1, 1]),

    kappa_1 = sqrt(a b) / pi * (sin theta + (pi - theta) cos theta)
            = m E[relu(z) relu(z')]      (arc-cosine kernel of order 1, x2),
    kappa_0 = (pi - theta) / (2 pi) = P(z >= 0, z' >= 0)   (order 0).

On the diagonal kappa_1(S) = S, so ``S^(l)(x, x) = sum_{j <= l} |x^(j)|^2``:
the He initialization preserves the norm of the state. Weight sharing across
time does not change the forward limit (the Gaussian conditioning argument of
Yang's tensor programs covers tied weights).

**NNGP.** ``F = B h^(L)`` with ``B ~ N(0, 2/d_out)``: for d_out = 1,
``E[F(x) F(x')] -> 2 K^(L)(x, x')``.

**NTK (B frozen, over W and A).** By Eq. (4), the gradient of F in (W, A) is
``sum_i g_i [h^(i-1), x^(i)]^T`` with ``g_i = D^(i) Back_{i->L}^T``, so

    Theta(x, x') = sum_{i, j} <g_i, g'_j> (<h^(i-1), h'^(j-1)> + <x^(i), x'^(j)>).

``<g_i, g'_i> / m`` converges to ``P^(i)``, the backward recursion
``P^(L) = 2 kappa_0(S^(L))`` (E[b_r^2] = 2 times the probability that both
neurons are on) and ``P^(i) = 2 kappa_0(S^(i)) P^(i+1)`` (one more ``D W^T``:
``E[(W^T g)_r (W^T g')_r] = (2/m) <g, g'>`` with the backward W treated as
independent of the forward one, the gradient-independence assumption). The
terms with i != j vanish in the limit: ``<g_i, g'_j>`` contains an unmatched
product of W's, a sum of O(m^2) centred terms of size O(m^{-3/2}), so it is
O(m^{1/2}) against the O(m) of the diagonal terms (the same computation that
makes B nearly uncorrelated with Back_{i->L} for i < L, Lemma F.11). Hence

    lim_m Theta(x, x') / m = sum_{i=1}^{L} P^(i)(x, x') S^(i)(x, x').

Theta itself grows like m in this parametrization, which is why the practical
step size is eta = lr / m.

**Zero tokens.** A step whose pre-activation variance is 0 (zero input and
zero state, e.g. left padding) has z = 0 exactly and the derivative
convention ``1[z >= 0]`` of Eq. (5) switches the neuron on: kappa_0 is 1
when both variances are 0 and 1/2 when one is. Such steps add nothing to the
sums (their S is 0), so sequences of different lengths are aligned at the
last step by left zero padding, exactly as for the finite RNN.

Cost: O(N1 N2 L) time and O(N1 N2) memory per step; a ``lax.scan`` over time,
no loop over pairs. Pure, jit- and vmap-safe, float32 and float64.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def _check(name: str, xs) -> jax.Array:
  xs = jnp.asarray(xs)
  if xs.ndim != 3:
    raise ValueError(f"{name} must have shape (N, L, d), got {xs.shape}")
  if not jnp.issubdtype(xs.dtype, jnp.floating):
    raise TypeError(f"{name} must be floating point, got {xs.dtype}")
  return xs


def _align(xs1: jax.Array, xs2: jax.Array) -> tuple[jax.Array, jax.Array]:
  if xs1.shape[2] != xs2.shape[2]:
    raise ValueError(
      f"xs1 and xs2 must have the same token dimension d, got {xs1.shape[2]} and {xs2.shape[2]}"
    )
  L = max(xs1.shape[1], xs2.shape[1])
  dtype = jnp.result_type(xs1, xs2)

  def pad(xs):
    extra = L - xs.shape[1]
    return jnp.pad(xs.astype(dtype), ((0, 0), (extra, 0), (0, 0)))

  return pad(xs1), pad(xs2)


def _arccos_kernels(a, b, c):
  """kappa_1 and kappa_0 of the 2x2 covariance [[a, c], [c, b]] (a, b >= 0)."""
  tiny = jnp.finfo(c.dtype).tiny
  ab = a * b
  root = jnp.sqrt(jnp.maximum(ab, tiny))
  cos = jnp.clip(c / root, -1.0, 1.0)
  theta = jnp.arccos(cos)
  k1 = jnp.where(ab > 0, root / jnp.pi * (jnp.sin(theta) + (jnp.pi - theta) * cos), 0.0)
  k0 = (jnp.pi - theta) / (2 * jnp.pi)
  zero_a, zero_b = a <= 0, b <= 0
  k0 = jnp.where(zero_a & zero_b, 1.0, jnp.where(zero_a | zero_b, 0.5, k0))
  return k1.astype(c.dtype), k0.astype(c.dtype)


def _forward(xs1: jax.Array, xs2: jax.Array):
  """S^(l) and kappa_0(S^(l)) for l = 1..L: each (L, N1, N2)."""
  norms1 = jnp.cumsum(jnp.sum(xs1**2, axis=-1), axis=1)  # (N1, L) = S^(l)(x, x)
  norms2 = jnp.cumsum(jnp.sum(xs2**2, axis=-1), axis=1)
  inner = jnp.einsum("ald,bld->lab", xs1, xs2)  # (L, N1, N2)

  def step(K, inputs):
    xx, a, b = inputs
    S = xx + K
    k1, k0 = _arccos_kernels(a[:, None], b[None, :], S)
    return k1, (S, k0)

  K0 = jnp.zeros(inner.shape[1:], inner.dtype)
  K_L, (S, k0) = lax.scan(step, K0, (inner, norms1.T, norms2.T))
  return K_L, S, k0


def infinite_width_nngp(xs1: jax.Array, xs2: jax.Array) -> jax.Array:
  """``lim_m E[F(x) F(x')]`` over the initialization of Def. 3.2 (d_out = 1).

  ``2 K^(L)(x, x')`` with the arc-cosine recursion of the module docstring.

  **Arguments:** ``xs1`` (N1, L1, d), ``xs2`` (N2, L2, d); sequences of
  different lengths are aligned at the last step (left zero padding, exact
  for this RNN). Inputs need not be normalized.

  **Returns:** (N1, N2). Cost O(N1 N2 L).

  Example::

    >>> import jax.numpy as jnp
    >>> from jaxrnn.kernels import infinite_width_nngp
    >>> x = jnp.array([[[1.0, 0.0], [0.0, 1.0]]])      # one sequence, L = 2
    >>> float(infinite_width_nngp(x, x)[0, 0])          # 2 (|x1|^2 + |x2|^2)
    4.0
  """
  xs1, xs2 = _align(_check("xs1", xs1), _check("xs2", xs2))
  K_L, _, _ = _forward(xs1, xs2)
  return 2.0 * K_L


def infinite_width_ntk(xs1: jax.Array, xs2: jax.Array) -> jax.Array:
  """``lim_m Theta(x, x') / m`` for the empirical NTK over (W, A), B frozen.

  ``sum_i P^(i) S^(i)`` with ``P^(i) = prod_{j >= i} 2 kappa_0(S^(j))`` (module
  docstring); the same Theta as ``jaxrnn.kernels.empirical_ntk`` computes at
  finite m, divided by m.

  **Arguments:** ``xs1`` (N1, L1, d), ``xs2`` (N2, L2, d); different lengths
  are aligned at the last step. Inputs need not be normalized.

  **Returns:** (N1, N2). Cost O(N1 N2 L).

  Example::

    >>> import jax.numpy as jnp
    >>> from jaxrnn.kernels import infinite_width_ntk
    >>> x = jnp.array([[[3.0, 4.0]]])                  # L = 1: Theta/m = 2 k0 |x|^2
    >>> float(infinite_width_ntk(x, x)[0, 0])
    25.0
  """
  xs1, xs2 = _align(_check("xs1", xs1), _check("xs2", xs2))
  _, S, k0 = _forward(xs1, xs2)
  P = jnp.cumprod((2.0 * k0)[::-1], axis=0)[::-1]  # P^(i), (L, N1, N2)
  return jnp.sum(P * S, axis=0)
