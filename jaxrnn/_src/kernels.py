"""Kernel baselines: the RNN's empirical NTK at initialization, and the
token-wise additive class of Allen-Zhu & Li [37].

**Empirical NTK (B frozen).** For d_out = 1, the gradient of ``B h^(L)``
with respect to (W, A) is, by Eq. (4), ``grad_W = sum_i g_i h^(i-1)^T`` and
``grad_A = sum_i g_i x^(i)^T`` with ``g_i = D^(i) Back_{i->L}^T`` (m,). Hence

    K(x, x') = <grad F(x), grad F(x')>
             = sum_{i,j} (g_i . g'_j) (h^(i-1) . h'^(j-1) + x^(i) . x'^(j)),

computed from (L, m) factors per sequence in O(N N' L^2 (m + d)) without ever
forming the (m^2 + m d)-long gradients. Kernel regression with it is the
model trained by gradient flow on the squared loss in the linearized regime
(``model="pseudo"`` of ``train`` in the infinite-time limit).

**Token-wise additive class.** Allen-Zhu & Li's concept class is
``sum_l sum_r b_{r,l} Phi_{r,l}(<w_{r,l}, x^(l)>)``: a sum over positions of
functions of single tokens. As its learnable stand-in we use kernel ridge
regression with the additive kernel ``sum_l exp(-|xbar^(l) - xbar'^(l)|^2 /
(2 s^2))``, whose RKHS is exactly the sums over positions of (smooth)
functions of one token; bandwidth s and ridge are chosen by leave-one-out
error. Its error on a target that mixes tokens is the part no token-wise
function can express.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrnn._src.pseudo import backward_matrices
from jaxrnn._src.rnn import RNNParams, activation_patterns, hidden_states


def ntk_factors(params: RNNParams, xs: jax.Array):
  """Per-sequence factors ``(G, Hprev, X)``, each (L, .), of the empirical
  NTK: ``G[i] = D^(i) Back_{i->L}^T`` (m,), ``Hprev[i] = h^(i-1)``,
  ``X[i] = x^(i)``. d_out must be 1."""
  if params.B.shape[0] != 1:
    raise ValueError(f"ntk_factors needs d_out = 1, got {params.B.shape[0]}")
  backs = backward_matrices(params, xs)[:, 0, :]  # (L, m)
  masks = activation_patterns(params, xs).astype(params.W.dtype)
  hs = hidden_states(params, xs)
  hprev = jnp.concatenate([jnp.zeros_like(hs[:1]), hs[:-1]], axis=0)
  return masks * backs, hprev, xs


def empirical_ntk(params: RNNParams, xs1: jax.Array, xs2: jax.Array) -> jax.Array:
  """Empirical NTK ``K[a, b] = <grad_{W,A} F(xs1[a]), grad_{W,A} F(xs2[b])>``
  at ``params`` (B frozen, d_out = 1). **Arguments:** (N1, L, d), (N2, L, d).
  **Returns:** (N1, N2). Cost O(N1 N2 L^2 (m + d)).

  Example::

    >>> import jax, jaxrnn
    >>> p = jaxrnn.init_params(jax.random.key(0), 16, 3, 1)
    >>> xs = jax.random.normal(jax.random.key(1), (4, 5, 3))
    >>> jaxrnn.kernels.empirical_ntk(p, xs, xs).shape
    (4, 4)
  """
  f = jax.vmap(ntk_factors, in_axes=(None, 0))
  g1, h1, x1 = f(params, xs1)
  g2, h2, x2 = f(params, xs2)
  gg = jnp.einsum("ail,bjl->abij", g1, g2)
  hh = jnp.einsum("ail,bjl->abij", h1, h2) + jnp.einsum("ail,bjl->abij", x1, x2)
  return jnp.sum(gg * hh, axis=(2, 3))


def kernel_ridge_loo(K: jax.Array, y: jax.Array, ridges: jax.Array, mask: jax.Array | None = None):
  """Kernel ridge regression with the ridge chosen by exact leave-one-out
  error among ``ridges`` (relative to mean diag(K)).

  ``mask`` (N,) bool marks the training rows actually used (the others are
  decoupled: zero kernel rows/columns, unit diagonal, zero target), so runs
  with several N share one shape. **Returns:** ``(alpha, ridge, loo_mse)``
  with predictions ``K_test_train @ alpha``. Jit-safe.
  """
  n = K.shape[0]
  if mask is None:
    mask = jnp.ones((n,), bool)
  mf = mask.astype(K.dtype)
  Km = K * mf[:, None] * mf[None, :] + jnp.diag(1.0 - mf)
  ym = y * mf
  scale = jnp.sum(jnp.diag(K) * mf) / jnp.maximum(jnp.sum(mf), 1)
  evals, evecs = jnp.linalg.eigh(Km)
  proj = evecs.T @ ym

  def loo(r):
    # LOO residual of ridge regression: alpha_i / [(K + lam I)^-1]_ii
    lam = r * scale
    alpha = evecs @ (proj / (evals + lam))
    res = alpha / jnp.einsum("ik,k,ik->i", evecs, 1.0 / (evals + lam), evecs)
    return jnp.sum((res * mf) ** 2) / jnp.sum(mf), alpha

  errs, alphas = jax.vmap(loo)(jnp.asarray(ridges, K.dtype))
  best = jnp.argmin(errs)
  return alphas[best] * mf, jnp.asarray(ridges, K.dtype)[best], errs[best]


def additive_token_kernel(xbar1: jax.Array, xbar2: jax.Array, bandwidth) -> jax.Array:
  """``K[a, b] = sum_l exp(-|xbar1[a, l] - xbar2[b, l]|^2 / (2 s^2))``:
  (N1, T, k), (N2, T, k) -> (N1, N2). The kernel of sums over positions of
  functions of one token (the class of [37])."""
  d2 = jnp.sum((xbar1[:, None] - xbar2[None]) ** 2, axis=-1)  # (N1, N2, T)
  return jnp.sum(jnp.exp(-d2 / (2 * bandwidth**2)), axis=-1)


def fit_additive_baseline(
  xbar_train,
  y_train,
  xbar_test,
  *,
  mask=None,
  bandwidths=(0.25, 0.5, 1.0, 2.0),
  ridges=(1e-4, 1e-3, 1e-2, 1e-1, 1.0),
):
  """Token-wise additive kernel ridge regression, bandwidth and ridge by
  leave-one-out. **Returns:** ``(pred_test, info)`` with pred (N_test,)
  and ``info = {"bandwidth", "ridge", "loo_mse"}``. ``y_train`` (N,)."""
  best = None
  for s in bandwidths:
    K = additive_token_kernel(xbar_train, xbar_train, s)
    alpha, r, err = kernel_ridge_loo(K, y_train, jnp.asarray(ridges), mask)
    if best is None or float(err) < best[0]:
      best = (float(err), s, float(r), alpha)
  err, s, r, alpha = best
  pred = additive_token_kernel(xbar_test, xbar_train, s) @ alpha
  return pred, {"bandwidth": s, "ridge": r, "loo_mse": err}
