"""Kernel baselines: the RNN's empirical NTK at initialization, and the
token-wise additive class of Allen-Zhu & Li [37].

**Empirical NTK (B frozen).** For output o, the gradient of ``F_o = B_o h^(L)``
with respect to (W, A) is, by Eq. (4), ``grad_W F_o = sum_i g_{i,o} h^(i-1)^T``
and ``grad_A F_o = sum_i g_{i,o} x^(i)^T`` with ``g_{i,o} = D^(i) Back_{i->L}[o]^T``
(m,). Hence

    K_{oo'}(x, x') = <grad F_o(x), grad F_o'(x')>
                   = sum_{i,j} (g_{i,o} . g'_{j,o'}) (h^(i-1) . h'^(j-1) + x^(i) . x'^(j)),

computed from (L, m) factors per sequence without ever forming the
(m^2 + m d)-long gradients.

**The sums as GEMMs.** Stack the factors of a tile of T sequences time-major,
one row per (step i, sequence a): ``G`` (L T, m), ``X`` (L T, d) and ``H``
((L - 1) T, m) holding h^(1) ... h^(L-1) (h^(0) = 0, so step 1 contributes only
through x^(1) and its rows are left out of ``H``). Then for two tiles

    P = G G'^T,   S = X X'^T + [0, 0; 0, H H'^T],   K[a, b] = sum_{i,j} (P * S)[(i,a), (j,b)],

two (L T) x (L T) Gram products (a third one with inner dimension d), an
elementwise product and a block reduction. ``empirical_ntk`` runs this over
tiles of examples (``lax.scan`` over the tile pairs, so memory does not grow
with the number of pairs); for one set of sequences (``xs2`` omitted or the
same object as ``xs1``) only the tiles on and above the diagonal are computed
and the others are their transposes (the result is exactly symmetric).

Kernel regression with it is the model trained by gradient flow on the
squared loss in the linearized regime (``model="pseudo"`` of ``train`` in the
infinite-time limit).

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

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxrnn._src import arguments
from jaxrnn._src.rnn import RNNParams, apply_relu_mask, relu, relu_mask

# Size of one tile pair when ``tile`` is not given: the tile's rows R = L T
# (time steps x sequences) are chosen so that its Gram products take about
# R^2 (m d_out + m + d) = _TILE_MADDS multiply-adds. Measured on 2 CPU cores
# (benchmarks/peers_ntk.py): R = 320 at m = 1024 and R = 640 at m = 256 were
# the fastest, both about 2^28; smaller tiles pay per-GEMM overhead, larger
# ones lose the symmetric saving (fewer tiles) and spill the (R, R)
# temporaries out of cache. The temporaries stay at a few MiB.
_TILE_MADDS = 2**28


def _default_tile(L: int, m: int, d: int, d_out: int) -> int:
  rows = (_TILE_MADDS / (m * d_out + m + d)) ** 0.5
  return max(1, int(rows // L))


def _batched_factors(params: RNNParams, xs: jax.Array):
  """Time-major factors of a batch: ``G`` (L, N, O, m), ``H`` (L - 1, N, m)
  holding h^(1) ... h^(L-1), ``X`` (L, N, d).

  One forward scan (states and masks together, step 1 without the product
  with W since h^(0) = 0) and one reverse scan ``g_i = D^(i) (W^T g_{i+1})``
  from ``g_L = D^(L) B^T``: O(N L m^2 (1 + O)) time.
  """
  W, A, B = params
  xt = jnp.swapaxes(xs, 0, 1)  # (L, N, d)

  def fwd(h, x):
    z = x @ A.T + h @ W.T
    h = relu(z)
    return h, (h, relu_mask(z))

  z1 = xt[0] @ A.T
  h1, mask1 = relu(z1), relu_mask(z1)
  _, (hs, masks) = lax.scan(fwd, h1, xt[1:])
  masks = jnp.concatenate([mask1[None], masks], axis=0)  # (L, N, m) int8
  hprev = jnp.concatenate([h1[None], hs], axis=0)[:-1]  # h^(1) ... h^(L-1); none if L = 1

  # D^(i) through apply_relu_mask: 0, 1, or NaN where the pre-activation is
  # NaN (a boolean select would read a NaN unit as inactive and return a
  # finite kernel for NaN weights).
  def bwd(g_next, mask):
    g = apply_relu_mask(mask[:, None, :], g_next @ W)
    return g, g

  g_last = apply_relu_mask(masks[-1][:, None, :], B[None])  # (N, O, m)
  _, gs = lax.scan(bwd, g_last, masks[:-1], reverse=True)
  G = jnp.concatenate([gs, g_last[None]], axis=0)
  return G, hprev, xt


def ntk_factors(params: RNNParams, xs: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Per-sequence factors ``(G, Hprev, X)`` of the empirical NTK.

  ``G[i] = D^(i) Back_{i->L}^T`` (the (m,) vector g_i of the module docstring;
  (d_out, m) when d_out > 1), ``Hprev[i] = h^(i-1)`` (row 0 is h^(0) = 0),
  ``X[i] = x^(i)``.

  **Arguments:** ``params``; ``xs`` (L, d), one sequence.

  **Returns:** ``G`` (L, m) for d_out = 1 and (L, d_out, m) otherwise,
  ``Hprev`` (L, m), ``X`` (L, d). Cost O(L m^2 (1 + d_out)).
  """
  arguments.check_sequence(params, xs)
  G, hprev, xt = _batched_factors(params, xs[None])
  G = G[:, 0, 0] if params.B.shape[0] == 1 else G[:, 0]
  h0 = jnp.zeros((1, params.W.shape[0]), params.W.dtype)
  hprev = jnp.concatenate([h0, hprev[:, 0]], axis=0)
  return G, hprev, xt[:, 0]


def _dot(a, b):
  """(I, T, k) x (J, S, k) -> (I, T, J, S): one GEMM, natural output order."""
  return lax.dot_general(a, b, (((a.ndim - 1,), (b.ndim - 1,)), ((), ())))


def _tile_kernel(f1, f2, full: bool):
  """Kernel block of two tiles of factors (see the module docstring).

  ``f = (G (L, T, O, m), H (L - 1, T, m), X (L, T, d))``. **Returns:** (T1, T2)
  (trace over outputs) or (T1, T2, O, O) (``full``)."""
  (G1, H1, X1), (G2, H2, X2) = f1, f2
  S = _dot(X1, X2)  # (L1, T1, L2, T2)
  S = S.at[1:, :, 1:, :].add(_dot(H1, H2))
  if not full:
    L1, T1, O, m = G1.shape
    L2, T2 = G2.shape[:2]
    P = _dot(G1.reshape(L1, T1, O * m), G2.reshape(L2, T2, O * m))
    return jnp.sum(P * S, axis=(0, 2))
  P = lax.dot_general(G1, G2, (((3,), (3,)), ((), ())))  # (L1, T1, O, L2, T2, O)
  K = jnp.sum(P * S[:, :, None, :, :, None], axis=(0, 3))  # (T1, O, T2, O)
  return jnp.transpose(K, (0, 2, 1, 3))


def _pad_examples(f, n_pad):
  if n_pad == 0:
    return f
  return tuple(jnp.pad(a, [(0, 0), (0, n_pad)] + [(0, 0)] * (a.ndim - 2)) for a in f)


def _slice_examples(f, start, size):
  return tuple(lax.dynamic_slice_in_dim(a, start, size, axis=1) for a in f)


def _transpose_tile(t, full: bool):
  return jnp.transpose(t, (1, 0, 3, 2)) if full else t.T


@functools.partial(jax.jit, static_argnames=("tile", "full", "symmetric"))
def _empirical_ntk(params, xs1, xs2, *, tile: int, full: bool, symmetric: bool):
  f1 = _batched_factors(params, xs1)
  f2 = f1 if symmetric else _batched_factors(params, xs2)
  n1, n2 = xs1.shape[0], xs2.shape[0]
  O = params.B.shape[0]
  # at most ``tile`` sequences per tile, as evenly as possible (least padding)
  k1, k2 = -(-n1 // tile), -(-n2 // tile)
  t1, t2 = -(-n1 // k1), -(-n2 // k2)
  if k1 == 1 and k2 == 1:
    K = _tile_kernel(f1, f2, full)
    if symmetric:
      K = 0.5 * (K + _transpose_tile(K, full))
    return K
  f1 = _pad_examples(f1, k1 * t1 - n1)
  f2 = f1 if symmetric else _pad_examples(f2, k2 * t2 - n2)
  pairs = [(i, j) for i in range(k1) for j in range(i if symmetric else 0, k2)]
  I = jnp.asarray(np.array([p[0] for p in pairs], np.int32))
  J = jnp.asarray(np.array([p[1] for p in pairs], np.int32))
  shape = (k1 * t1, k2 * t2) + ((O, O) if full else ())
  K0 = jnp.zeros(shape, params.W.dtype)

  def body(K, ij):
    i, j = ij
    zeros = (jnp.zeros((), i.dtype),) * 2 if full else ()
    blk = _tile_kernel(_slice_examples(f1, i * t1, t1), _slice_examples(f2, j * t2, t2), full)
    if symmetric:
      blk_T = _transpose_tile(blk, full)
      blk = jnp.where(i == j, 0.5 * (blk + blk_T), blk)
      K = lax.dynamic_update_slice(K, _transpose_tile(blk, full), (j * t2, i * t1, *zeros))
    K = lax.dynamic_update_slice(K, blk, (i * t1, j * t2, *zeros))
    return K, None

  K, _ = lax.scan(body, K0, (I, J))
  return K[:n1, :n2]


def _check_batch(params, xs, name):
  m, d, _ = arguments.check_params(params)
  arguments.check_ndim(name, xs, 3, f"(N, L, d) with d={d}")
  arguments.check_float(name, xs)
  if xs.shape[2] != d:
    raise ValueError(f"{name} has d={xs.shape[2]} features per token but params.A expects d={d}")
  if xs.shape[0] < 1 or xs.shape[1] < 1:
    raise ValueError(
      f"{name} must hold at least one sequence of at least one token, got {xs.shape}"
    )
  if jnp.result_type(xs) != jnp.result_type(params.W):
    raise TypeError(
      f"{name} has dtype {jnp.result_type(xs)} but params have dtype "
      f"{jnp.result_type(params.W)}; cast one of them explicitly"
    )
  arguments.check_finite(name, xs)


def empirical_ntk(
  params: RNNParams,
  xs1: jax.Array,
  xs2: jax.Array | None = None,
  *,
  outputs: str = "trace",
  tile: int | None = None,
) -> jax.Array:
  """Empirical NTK ``K[a, b] = <grad_{W,A} F(xs1[a]), grad_{W,A} F(xs2[b])>``
  at ``params`` (B frozen).

  The tangent kernel of the pseudo-network of Eq. (4):
  ``sum_{i,j} (g_i . g'_j) (h^(i-1) . h'^(j-1) + x^(i) . x'^(j))`` with
  ``g_i = D^(i) Back_{i->L}^T``, evaluated as tiled Gram products (module
  docstring); the same values as the (N1, N2, L, L) einsum of the definition
  up to float rounding.

  **Arguments:**

  - ``params``: ``RNNParams`` (W, A, B); any d_out.
  - ``xs1``: (N1, L1, d); ``xs2``: (N2, L2, d), or omitted for ``xs2 = xs1``.
    The lengths may differ (the definition needs no alignment). When ``xs2``
    is omitted or is the same object as ``xs1``, only the tiles on and above
    the diagonal are computed (about half the work for many tiles) and the
    result is exactly symmetric; under ``jax.jit`` pass one array once (or
    omit ``xs2``) to get this, since two jit arguments are never the same
    object.
  - ``outputs`` (keyword), for d_out > 1: ``"trace"`` (default) returns
    ``sum_o <grad F_o(x), grad F_o(x')>``, the trace over the output pair; with
    B ~ N(0, 2/d_out) of Def. 3.2 its scale does not depend on d_out.
    ``"mean"`` returns the trace / d_out, neural-tangents' convention
    (``empirical_ntk_fn(..., trace_axes=(-1,))``, its default). ``"full"``
    returns every output pair. For d_out = 1, ``"trace"`` and ``"mean"`` are
    the one kernel, (N1, N2).
  - ``tile`` (keyword): at most this many sequences per tile (the tiles are
    then made as even as possible). The default gives each tile pair about
    2^28 multiply-adds: ``(L tile)^2 (m d_out + m + d) ~ 2^28``, i.e.
    ``tile = 2^14 / (L sqrt(m d_out + m + d))`` (16 at L = 20, m = 1024).

  **Returns:** (N1, N2) for ``"trace"`` and ``"mean"``; (N1, N2, d_out, d_out)
  for ``"full"`` (entry [a, b, o, p] pairs output o of xs1[a] with output p of
  xs2[b]).

  **Cost:** factors O((N1 L1 + N2 L2) m^2 (1 + d_out)); Gram products
  N1 N2 L1 L2 (m d_out + m + d) multiply-adds (about half of that on the
  symmetric path when there are many tiles), as GEMMs.

  **Memory bound.** Peak working memory, in bytes (b = 4 in float32):

      b [2 (N1 L1 + N2 L2) (m d_out + m + d) + N1 N2 k + 3 R^2 + m (m + d + d_out)]

  with R = L T d_out the rows of a tile, k = d_out^2 for ``"full"`` and 1
  otherwise: the factors (the first term counts them twice, for the copies
  made while they are assembled; N2 L2 drops out on the symmetric path), the
  output, the tile temporaries and the weights. It grows like N (L m) and
  N1 N2, never like N1 N2 L^2 as the untiled (N1, N2, L, L) einsum did. At
  N = 4096, L = 20, m = 1024, d = 32, d_out = 1 in float32 the bound is
  1.34 GiB; measured (``benchmarks/scaling.py``): XLA's account of the
  compiled program 1.22 GiB, the process's peak resident memory 1.6 GiB
  (0.38 GiB of it Python, JAX and the inputs), where one (N, N, L, L) float32
  array of the einsum alone is 25 GiB.

  Example::

    >>> import jax, jaxrnn
    >>> p = jaxrnn.init_params(jax.random.key(0), 16, 3, 1)
    >>> xs = jax.random.normal(jax.random.key(1), (4, 5, 3))
    >>> jaxrnn.kernels.empirical_ntk(p, xs, xs).shape
    (4, 4)
    >>> p2 = jaxrnn.init_params(jax.random.key(0), 16, 3, 2)
    >>> jaxrnn.kernels.empirical_ntk(p2, xs, outputs="full").shape
    (4, 4, 2, 2)
  """
  symmetric = xs2 is None or xs2 is xs1
  if xs2 is None:
    xs2 = xs1
  _check_batch(params, xs1, "xs1")
  if not symmetric:
    _check_batch(params, xs2, "xs2")
  if outputs not in ("trace", "mean", "full"):
    raise ValueError(f"outputs must be 'trace', 'mean' or 'full', got {outputs!r}")
  d_out = params.B.shape[0]
  if tile is None:
    L = max(xs1.shape[1], xs2.shape[1])
    tile = _default_tile(L, params.W.shape[0], params.A.shape[1], d_out)
  if not isinstance(tile, int) or isinstance(tile, bool) or tile < 1:
    raise ValueError(f"tile must be a positive int, got {tile!r}")
  K = _empirical_ntk(params, xs1, xs2, tile=tile, full=outputs == "full", symmetric=symmetric)
  return K / d_out if outputs == "mean" and d_out > 1 else K


def kernel_ridge_loo(
  K: jax.Array, y: jax.Array, ridges: jax.Array, mask: jax.Array | None = None
) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Kernel ridge regression with the ridge chosen by exact leave-one-out
  error among ``ridges`` (relative to mean diag(K)).

  ``mask`` (N,) bool marks the training rows actually used (the others are
  decoupled: zero kernel rows/columns, unit diagonal, zero target), so runs
  with several N share one shape. **Returns:** ``(alpha, ridge, loo_mse)``
  with predictions ``K_test_train @ alpha``. Jit-safe. The ridges must
  be ``>= 0`` (a negative one makes ``K + lam I`` indefinite and its "LOO error"
  meaningless): concrete ``ridges`` with a negative or non-finite entry
  raise ``ValueError``; under ``jit`` such an entry's error is NaN, and
  ``argmin`` then picks it, so the results are NaN rather than a number.
  """
  n = K.shape[0]
  if all(arguments.is_concrete(x) for x in jax.tree.leaves(ridges)):
    r = np.asarray(ridges, np.float64)
    bad = ~(np.isfinite(r) & (r >= 0))
    if r.ndim != 1 or r.size == 0:
      raise ValueError(f"ridges must be a non-empty 1-D sequence, got shape {r.shape}")
    if bad.any():
      raise ValueError(
        f"ridges must be finite and >= 0, got {float(r[bad][0])!r} at index {int(np.argmax(bad))}"
      )
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
    lam = jnp.where(r >= 0, r, jnp.nan) * scale
    alpha = evecs @ (proj / (evals + lam))
    res = alpha / jnp.einsum("ik,k,ik->i", evecs, 1.0 / (evals + lam), evecs)
    return jnp.sum((res * mf) ** 2) / jnp.sum(mf), alpha

  errs, alphas = jax.vmap(loo)(jnp.asarray(ridges, K.dtype))
  best = jnp.argmin(errs)
  return alphas[best] * mf, jnp.asarray(ridges, K.dtype)[best], errs[best]


def additive_token_kernel(
  xbar1: jax.Array, xbar2: jax.Array, bandwidth: float | jax.Array
) -> jax.Array:
  """``K[a, b] = sum_l exp(-|xbar1[a, l] - xbar2[b, l]|^2 / (2 s^2))``:
  (N1, T, k), (N2, T, k) -> (N1, N2). The kernel of sums over positions of
  functions of one token (the class of [37])."""
  d2 = jnp.sum((xbar1[:, None] - xbar2[None]) ** 2, axis=-1)  # (N1, N2, T)
  return jnp.sum(jnp.exp(-d2 / (2 * bandwidth**2)), axis=-1)


def fit_additive_baseline(
  xbar_train: jax.Array,
  y_train: jax.Array,
  xbar_test: jax.Array,
  *,
  mask: jax.Array | None = None,
  bandwidths: Sequence[float] = (0.25, 0.5, 1.0, 2.0),
  ridges: Sequence[float] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0),
) -> tuple[jax.Array, dict[str, float]]:
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
