"""The pseudo-network: first-order Taylor expansion of the RNN (Sec. 4.1).

Eq. (4) defines, at the initialization W, A, B and for perturbations W', A',

    F^(L)(x; W', A') = sum_{i=1}^{L} Back_{i->L} D^(i) (W' h^(i-1) + A' x^(i))

with ``Back_{i->L} = B D^(L) W ... D^(i+1) W`` and ``Back_{L->L} = B``. It is
the directional derivative of ``W, A -> B h^(L)`` along (W', A'):
``F^(L)(x; W', A') = d/dt F_rnn^(L)(x; W + t W', A + t A') at t = 0``, and
approximates ``F_rnn(W + W', A + A') - F_rnn(W, A)`` (Lemma G.3).

``pseudo_network`` computes it as the forward-mode ``jax.jvp`` of
``rnn_output`` in (W, A) along (W', A'). The derivative of the recurrence is
the custom JVP rule of ``jaxrnn._src.rnn`` (the tangent recursion
``dh^(l) = D^(l) (W' h^(l-1) + A' x^(l) + W dh^(l-1))``, ``F = B dh^(L)``):
a primal scan then a tangent scan, O(L m^2), never a Jacobian. From m = 256
on its value comes from one scan over the pair (h, dh) instead (same
recursion, W h and W dh in one product), with the derivatives of the
``jax.jvp`` form.
``pseudo_network_explicit`` evaluates the sum of Eq. (4) through
``backward_matrices`` (built by the recursion Back_{i->L} = Back_{i+1->L}
D^(i+1) W, O(L m^2 d_out), and O(L m d_out) memory); multiplied out literally,
term by term, Eq. (4) would cost O(L^2 m^2 d_out). It exists as a
cross-check and as the baseline of ``benchmarks/scaling.py``.

Measures of the expansion: ``taylor_remainder`` (the true change, its
first-order part and the activation flips along a perturbation; Lemma G.3),
``scaled_perturbation`` (a random direction of prescribed relative size),
``absolute_perturbation`` (one of prescribed absolute Frobenius size) and
``backward_correlations`` (B against Back_{i->L}, Lemma F.11).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn._src import arguments
from jaxrnn._src import rnn as _rnn
from jaxrnn._src.rnn import (
  RNNParams,
  apply_relu_mask,
  hidden_states,
  preactivations,
  relu,
  relu_derivative,
  relu_mask,
  rnn_output,
)


def _check_delta(params: RNNParams, delta: RNNParams) -> None:
  if not isinstance(delta, tuple) or not hasattr(delta, "W") or not hasattr(delta, "A"):
    raise TypeError("delta must be an RNNParams (its B is ignored)")
  for name in ("W", "A"):
    p, t = getattr(params, name), getattr(delta, name)
    if jnp.shape(t) != jnp.shape(p):
      raise ValueError(
        f"delta.{name} has shape {tuple(jnp.shape(t))}, expected {p.shape} like params.{name}"
      )
    if jnp.result_type(t) != jnp.result_type(p):
      raise TypeError(
        f"delta.{name} has dtype {jnp.result_type(t)}, params.{name} has {jnp.result_type(p)}"
      )


def pseudo_network(params: RNNParams, delta: RNNParams, xs: jax.Array) -> jax.Array:
  """Pseudo-network ``F^(L)(x; W', A')`` of Eq. (4), the tangent of ``rnn_output``.

  The directional derivative ``d/dt F_rnn^(L)(x; W + t W', A + t A')`` at
  t = 0: the value of ``jax.jvp`` of ``rnn_output`` in (W, A) along (W', A').
  From the width ``_INLOOP_MIN_M`` (256) on, the value is computed by one
  scan that carries h^(l) and its tangent dh^(l) together and multiplies both
  by W in one (2, m) @ (m, m) product per step (under ``vmap``, one
  (2 batch, m) @ (m, m) product: larger products, and no stacked states);
  below it, by ``jax.jvp`` itself. Either way its derivatives (in ``delta``
  when the linearized model is trained, in W, A, B, ``xs``, any order, under
  ``vmap``) are those of ``jax.jvp`` of ``rnn_output``: a ``jax.custom_jvp``
  whose rule is that ``jax.jvp`` (its tangent recursion is the custom JVP
  rule of ``jaxrnn._src.rnn``). The two agree to float rounding
  (``tests/test_backward_gemm.py``).

  **Arguments:**

  - ``params``: the expansion point (W, A, B), usually the initialization.
  - ``delta``: an ``RNNParams`` whose ``W`` (m, m) and ``A`` (m, d) are the
    perturbation W', A'; ``delta.B`` is ignored (B is not trained).
  - ``xs``: (L, d), one sequence.

  **Returns:** (d_out,), linear in ``delta``. Cost: one forward pass and its
  tangent, 3 (L - 1) products of an m-vector with an (m, m) matrix, O(L m^2).

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> p = jaxrnn.init_params(jax.random.key(0), 64, 4, 1)
    >>> dlt = jaxrnn.init_params(jax.random.key(1), 64, 4, 1)
    >>> xs = jnp.ones((5, 4))
    >>> lin = jaxrnn.pseudo_network(p, dlt, xs)
    >>> t = 1e-3
    >>> moved = p._replace(W=p.W + t * dlt.W, A=p.A + t * dlt.A)
    >>> true = jaxrnn.rnn_output(moved, xs) - jaxrnn.rnn_output(p, xs)
    >>> bool(jnp.allclose(true, t * lin, rtol=1e-2, atol=1e-5))
    True
  """
  arguments.check_sequence(params, xs)
  _check_delta(params, delta)
  if params.W.shape[0] >= _rnn._INLOOP_MIN_M:
    return _pseudo_fused(params.W, params.A, params.B, delta.W, delta.A, xs)
  return _pseudo_jvp(params.W, params.A, params.B, delta.W, delta.A, xs)


def _pseudo_jvp(W, A, B, dW, dA, xs):
  """F^(L)(x; W', A') as ``jax.jvp`` of ``rnn_output`` in (W, A)."""

  def f(W, A):
    return rnn_output(RNNParams(W, A, B), xs)

  return jax.jvp(f, (W, A), (dW, dA))[1]


@jax.custom_jvp
def _pseudo_fused(W, A, B, dW, dA, xs):
  """F^(L)(x; W', A') = B dh^(L) by one scan over (h, dh).

  h^(1) = relu(A x^(1)), dh^(1) = D^(1) A' x^(1) (h^(0) = dh^(0) = 0), then
  for l = 2 ... L with z = A x^(l) + W h^(l-1):
  h^(l) = relu(z), dh^(l) = D^(l) (W dh^(l-1) + W' h^(l-1) + A' x^(l)),
  the recursion of ``jaxrnn._src.rnn._final_state_jvp`` with (W', A', 0).
  W h^(l-1) and W dh^(l-1) are one product of the stacked (2, m) pair.
  """
  W_T, A_T, dW_T, dA_T = W.T, A.T, dW.T, dA.T
  z1 = xs[0] @ A_T

  def step(carry, x):
    h, dh = carry
    w_hdh = jnp.stack([h, dh]) @ W_T
    z = x @ A_T + w_hdh[0]
    dz = w_hdh[1] + h @ dW_T + x @ dA_T
    return (relu(z), apply_relu_mask(relu_mask(z), dz)), None

  carry = (relu(z1), apply_relu_mask(relu_mask(z1), xs[0] @ dA_T))
  (_, dh), _ = lax.scan(step, carry, xs[1:], unroll=_rnn._UNROLL)
  return B @ dh


@_pseudo_fused.defjvp
def _pseudo_fused_jvp(primals, tangents):
  # The derivatives of the jvp form (a linear tangent recursion that JAX can
  # transpose); the fused scan mixes h and dh in one product and is used for
  # values only.
  return jax.jvp(_pseudo_jvp, primals, tangents)


def _patterns(params: RNNParams, xs: jax.Array) -> jax.Array:
  """The diagonals of D^(1) ... D^(L) as (L, m) floats: 0, 1, or NaN where a
  pre-activation is NaN (``relu_derivative``; a boolean pattern would read a
  NaN unit as off and give finite Back matrices for NaN weights)."""
  return relu_derivative(preactivations(params, xs))


def backward_matrices(params: RNNParams, xs: jax.Array) -> jax.Array:
  """The backward matrices ``Back_{i->L}`` of Sec. 4.1 for i = 1 ... L.

  ``Back_{L->L} = B`` and ``Back_{i->L} = Back_{i+1->L} D^(i+1) W``: a reverse
  ``lax.scan`` over the activation patterns.

  **Returns:** (L, d_out, m); entry ``i-1`` is ``Back_{i->L}``.
  Cost O(L m^2 d_out).
  """
  masks = _patterns(params, xs)

  def step(back, mask):
    back = (back * mask[None, :]) @ params.W
    return back, back

  _, earlier = lax.scan(step, params.B, masks[1:], reverse=True)
  return jnp.concatenate([earlier, params.B[None]], axis=0)


def pseudo_network_explicit(params: RNNParams, delta: RNNParams, xs: jax.Array) -> jax.Array:
  """Eq. (4) as written: ``sum_i Back_{i->L} D^(i) (W' h^(i-1) + A' x^(i))``.

  Same value as ``pseudo_network`` up to float rounding; O(L m^2 d_out) to
  build the Back matrices plus O(L m^2) for the perturbation terms, and
  O(L m d_out) memory. Prefer ``pseudo_network``.
  """
  arguments.check_sequence(params, xs)
  _check_delta(params, delta)
  backs = backward_matrices(params, xs)
  masks = _patterns(params, xs)
  hs = hidden_states(params, xs)
  h_prev = jnp.concatenate([jnp.zeros_like(hs[:1]), hs[:-1]], axis=0)
  pert = h_prev @ delta.W.T + xs @ delta.A.T  # (L, m)
  return jnp.einsum("lom,lm->o", backs, masks * pert)


# --------------------------------------------------------------------------
# How well the pseudo-network tracks the RNN (Lemma G.3)
#
# For a perturbation (W', A') the RNN changes by
#
#     Delta(x) = F_rnn^(L)(x; W + W', A + A') - F_rnn^(L)(x; W, A),
#
# and F^(L)(x; W', A') of Eq. (4) is its first-order part.


def _radius(name: str, value, dtype) -> jax.Array:
  """``value`` as a scalar of ``dtype``: a concrete value must be finite and
  >= 0 (``ValueError`` otherwise); a traced negative one becomes NaN."""
  if jnp.ndim(value) != 0:
    raise ValueError(f"{name} must be a scalar, got shape {jnp.shape(value)}")
  if arguments.is_concrete(value):
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
      raise ValueError(f"{name} must be a finite number >= 0 (a norm), got {v!r}")
    return jnp.asarray(value, dtype)
  value = jnp.asarray(value, dtype)
  return jnp.where(value >= 0, value, jnp.asarray(jnp.nan, dtype))


def scaled_perturbation(key: jax.Array, params: RNNParams, omega: float | jax.Array) -> RNNParams:
  """A random perturbation with ``||W'||_F = omega ||W||_F`` and
  ``||A'||_F = omega ||A||_F`` (Gaussian directions); ``B' = 0``.

  **Arguments:** ``key``; ``params`` the expansion point; ``omega`` >= 0 the
  relative radius (a scalar, may be traced). A negative (or non-finite)
  concrete ``omega`` raises ``ValueError``; a negative traced one gives a NaN
  perturbation (a sign cannot be checked under ``jit``, and a norm is never
  negative, so the result is not a number).

  **Returns:** ``RNNParams`` shaped like ``params``. Cost O(m^2 + m d).
  """
  kw, ka = jax.random.split(key)
  dtype = params.W.dtype
  omega = _radius("omega", omega, dtype)

  def direction(k, ref):
    g = jax.random.normal(k, ref.shape, dtype)
    return g * (omega * jnp.linalg.norm(ref) / jnp.linalg.norm(g))

  return RNNParams(direction(kw, params.W), direction(ka, params.A), jnp.zeros_like(params.B))


def absolute_perturbation(
  key: jax.Array, params: RNNParams, radius: float | jax.Array
) -> RNNParams:
  """A random perturbation of prescribed absolute size ``||(W', A')||_F = radius``.

  An isotropic Gaussian direction in the space of (W', A'): G_W (m, m) and
  G_A (m, d) with i.i.d. N(0, 1) entries, both scaled by the same factor

      W' = radius G_W / s,   A' = radius G_A / s,   s = sqrt(||G_W||_F^2 + ||G_A||_F^2),

  so ``||W'||_F^2 + ||A'||_F^2 = radius^2`` exactly; ``B' = 0``. Since W and A
  of Def. 3.2 have the same entry variance 2/m, each block's *relative* size
  is about ``radius / sqrt(2 (m + d))`` (``||W||_F^2 ~ 2m``, ``||A||_F^2 ~
  2d``): a fixed absolute radius is a relative radius that falls like
  ``m^(-1/2)``, the regime of weights that move by O(1) in Frobenius norm as
  the width grows. Compare ``scaled_perturbation`` (fixed relative size).

  **Arguments:** ``key``; ``params`` the expansion point (only shapes and
  dtype are used); ``radius`` >= 0 (a scalar, may be traced; a negative one
  is refused or gives NaN, as ``omega`` of ``scaled_perturbation``).

  **Returns:** ``RNNParams`` shaped like ``params``. Cost O(m^2 + m d).

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> p = jaxrnn.init_params(jax.random.key(0), 64, 4, 1)
    >>> dlt = jaxrnn.absolute_perturbation(jax.random.key(1), p, 0.5)
    >>> norm = jnp.sqrt(jnp.sum(dlt.W**2) + jnp.sum(dlt.A**2))
    >>> round(float(norm), 5), float(jnp.abs(dlt.B).max())
    (0.5, 0.0)
  """
  kw, ka = jax.random.split(key)
  dtype = params.W.dtype
  gw = jax.random.normal(kw, params.W.shape, dtype)
  ga = jax.random.normal(ka, params.A.shape, dtype)
  s = _radius("radius", radius, dtype) / jnp.sqrt(jnp.sum(gw**2) + jnp.sum(ga**2))
  return RNNParams(gw * s, ga * s, jnp.zeros_like(params.B))


def taylor_remainder(params: RNNParams, delta: RNNParams, xs: jax.Array) -> dict[str, jax.Array]:
  """True change, its first-order part, and the pattern flips along ``delta``.

  **Returns:** a dict with ``true`` (d_out,) = Delta(x), ``pseudo`` (d_out,) =
  F^(L)(x; W', A'), ``remainder`` (d_out,) = true - pseudo, and
  ``flip_fraction`` (scalar): the fraction of the L*m entries of the
  activation patterns D^(l) that differ between (W, A) and (W+W', A+A').
  Cost: three RNN passes, O(L m^2).
  """
  moved = RNNParams(params.W + delta.W, params.A + delta.A, params.B)
  true = rnn_output(moved, xs) - rnn_output(params, xs)
  pseudo = pseudo_network(params, delta, xs)
  # |D' - D| is 1 at a flip, 0 elsewhere, NaN where either pre-activation is
  flips = jnp.abs(_patterns(moved, xs) - _patterns(params, xs))
  return {
    "true": true,
    "pseudo": pseudo,
    "remainder": true - pseudo,
    "flip_fraction": jnp.mean(flips),
  }


# --------------------------------------------------------------------------
# Correlation of B with the backward matrices (Lemma F.11)


def backward_correlations(
  params: RNNParams, xs: jax.Array, d_outs: tuple[int, ...] | None = None
) -> dict:
  """``|<B, Back_{i->L}>_F| / (||B||_F ||Back_{i->L}||_F)`` for i = 1 ... L.

  Lemma F.11: for i < L, B is nearly uncorrelated with Back_{i->L}, which is
  why only the i = L term of Eq. (4) survives in the proof of Lemma 4.2.
  Entry L is 1 by definition (Back_{L->L} = B). For d_out = 1 this is the
  cosine of two m-vectors; for d_out > 1 the Frobenius inner product.

  **Arguments:**

  - ``params``: ``RNNParams`` with d_out rows of B; ``xs``: (L, d).
  - ``d_outs``: optional static tuple of k <= d_out: the correlations are
    then computed for the sub-network with output weights ``B[:k]`` for each
    k (row r of Back_{i->L} depends only on row r of B, so one backward pass
    serves every output dimension). Default ``(d_out,)``.

  **Returns:** dict with ``frob`` (len(d_outs), L), the Frobenius
  correlation, and ``rows`` (len(d_outs), L), the mean over output rows of the
  per-row |cosine|. Cost O(L m^2 d_out).

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> p = jaxrnn.init_params(jax.random.key(0), 256, 4, 1)
    >>> c = jaxrnn.backward_correlations(p, jnp.ones((5, 4)))["frob"]
    >>> c.shape, float(c[0, -1])
    ((1, 5), 1.0)
  """
  arguments.check_sequence(params, xs)
  backs = backward_matrices(params, xs)  # (L, d_out, m)
  B = params.B
  if d_outs is None:
    d_outs = (B.shape[0],)
  for k in d_outs:
    if not 1 <= k <= B.shape[0]:
      raise ValueError(f"d_outs entries must lie in [1, d_out={B.shape[0]}], got {k}")
  tiny = jnp.finfo(B.dtype).tiny
  inner = jnp.sum(backs * B[None], axis=2)  # (L, d_out)
  bsq = jnp.sum(backs**2, axis=2)  # (L, d_out)
  brow = jnp.sum(B**2, axis=1)  # (d_out,)
  row_cos = jnp.abs(inner) / jnp.maximum(jnp.sqrt(bsq * brow[None, :]), tiny)
  frob, rows = [], []
  for k in d_outs:
    num = jnp.abs(jnp.sum(inner[:, :k], axis=1))
    den = jnp.sqrt(jnp.sum(brow[:k]) * jnp.sum(bsq[:, :k], axis=1))
    frob.append(num / jnp.maximum(den, tiny))
    rows.append(jnp.mean(row_cos[:, :k], axis=1))
  return {"frob": jnp.stack(frob), "rows": jnp.stack(rows)}
