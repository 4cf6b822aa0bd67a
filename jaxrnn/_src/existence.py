"""Existence of a good pseudo-network (Sec. 4.2: Lemmas 4.1, 4.2, Thm. 4.3).

**Lemma 4.1 (weight function).** For smooth phi there is a bounded,
Lipschitz H : R^2 -> (-C, C) (C = C_eps(phi, 1) in the paper) with

    phi(<wbar, u>) ~= E_{w ~ N(0, I), b0 ~ N(0, 1)} [H(<w, wbar>, b0) 1[<w, u> + b0 >= 0]]

for unit u. Writing alpha = <w, wbar>, <w, u> = alpha t + beta sqrt(1 - t^2)
with t = <wbar, u> and beta ~ N(0, 1) independent, and integrating beta out,

    E[H 1[...]] = E_{alpha, b0}[H(alpha, b0) Phi_N((alpha t + b0) / sqrt(1 - t^2))].

The appendix's explicit H is not available, so this module *fits* one, in a
basis that makes it bounded and Lipschitz by construction, as the lemma
requires: **H is piecewise bilinear on a uniform grid of ``nodes x nodes``
points of the box [-box, box]^2 and constant beyond it** (the arguments are
clipped to the box), ``H(alpha, b0) = sum_jk theta_jk psi_j(alpha) psi_k(b0)``
with ``psi_j`` the hat functions of the clipped argument. Then, exactly,

- ``sup |H| = max_jk |theta_jk|`` (a bilinear interpolant takes its extremes
  at the nodes), and
- the Lipschitz constant (Euclidean norm on R^2) is the largest gradient
  norm, which in each cell is attained at a corner: ``max sqrt(da^2 + db^2)
  / h`` over the pairs of one alpha-edge difference ``da`` and one b0-edge
  difference ``db`` meeting at a corner of a cell (h = 2 box / (nodes - 1));
  in the constant tails the gradient has one component of a cell edge and
  one zero, so the same maximum bounds it.

Both are returned (``WeightFit.sup``, ``WeightFit.lipschitz``), with
``E[H^2]`` (``second_moment``), which sets the variance of Lemma 4.2's
m-neuron average.

The fit: theta minimizes ``mean_t (E[H 1[...]](t) - phi(t))^2 + ridge
(E[H^2] + smooth * S(theta))`` over ``n_fit`` Chebyshev points t of the
range [t_min, t_max]; ``S`` is the mean squared slope of H over the grid's edges
(unweighted, so the tail nodes, which the Gaussian barely sees, stay
smooth). Expectations are by composite Gauss-Legendre quadrature against the
Gaussian density, ``n_quad`` points on every cell of the grid and on equal
segments of the tails out to |z| = 8 (mass beyond: 1e-15); the quadrature
follows the kinks of H, so it converges. ``sup_error`` is measured on
``2 n_fit + 1`` equally spaced points (not the fit points). The range is
clipped to [-0.95, 0.95] (``T_CAP``): beyond it the indicator's smoothing
width sqrt(1 - t^2) falls below what the quadrature resolves. A generalization used below: u of norm
``radius`` instead of 1 (the hidden state is not exactly unit); the indicator
is then ``1[radius <w, u_unit> + b0 >= 0]``.

Why this basis and not a polynomial (Hermite) series: a polynomial H is
unbounded, so the concentration step of Lemma 4.2 (Hoeffding over the m
neurons with |b_r H| bounded) does not apply to it, and a*_r = O(C / m) has
no C; the bilinear H has a finite, computed C = max(sup |H|, Lip H).

**Lemma 4.2 (W* = 0, A* on the bias column).** For d_out = 1,

    W* = 0,
    a*_r = b_r H(sqrt(m/2) <[w_r, a_{r,:d-1}], wbar>, sqrt(m/2) a_{r,d}) e_d / (m E[b_r^2]),

so the pseudo-network is ``sum_i Back_{i->L} D^(i) A* x^(i)``, nonzero only
at the bias tokens i = 1, L; the i = L term is the empirical average of
Lemma 4.1 with u = [h^(L-1), x^(L)_{:d-1}]. The paper's sketch writes
``a*_r = b_r H(...) / m``; the factor ``1 / E[b_r^2] = d_out / 2`` makes
the average ``(1/m) sum_r b_r^2 H 1[...]`` an unbiased estimate of the
expectation (the sketch drops this constant). For d_out > 1 the constructions
for every output s add up (cross terms have mean 0). With H fixed (a ridge
that does not depend on m), ``m max_r |a*_r| <= max_r |b_r| sup|H| d_out / 2``:
O(C / m) up to the growth of max_r |b_r| ~ sqrt(2 log m), a poly(rho) factor.
The variance of the i = L average is at most ``E[b^4] E[H^2] / (m E[b^2]^2)
= 3 E[H^2] / m``, which is why the default ridge is ``3 / m``: it balances
the fit's bias against that variance at width m.

**Theorem 4.3 (concept-class target).** For ``Phi(<w_dagger, xbar>)``:
``Wbar = inversion_matrix(params, base[:L-1])`` decodes
``Wbar^T h^(L-1) ~= [x^(1) ... x^(L-1)]``; with v holding ``w_dagger / eps_x``
on the first d-1 entries of blocks 2 ... L-1 (x^(l) = (eps_x xbar^(l), 0)),
``g = Wbar v`` satisfies ``<g, h^(L-1)> - c ~= <w_dagger, xbar>``. Lemma 4.2
is applied with unit ``wbar = [g / |g|, 0]`` and ``phi(t) = Phi(|g| radius t
- c)``, ``radius = |h^(L-1)|`` of the base sequence; the fit range is
``t in [(c - M) / (|g| radius), (c + M) / (|g| radius)]`` clipped to
[-0.95, 0.95], M = max|<w_dagger, xbar>|, which covers every input
(``M = sqrt(3 (L-2) / 4)`` for w on the free coordinates, ``sqrt(L-2)``
otherwise) unless the cap binds (``coverage`` < 1 says so). ``|g| ~ 1 /
eps_x`` is why Thm. 3.1's complexity is taken at R = O(1 / eps_x): phi is
Phi at the scale |g| radius, and the E[H^2] needed to represent its
degree-k part grows like that scale^(2k). The base sequence (default) is
the normalized sequence with zero middle tokens, the eps_x -> 0 limit of
every input.

The offset ``c = <g, h^(L-1)(base)>`` (``center=True``, the default) is a
choice where the sketch is silent ("we can modify Wbar to get [xbar^(2),
...]"): the base sequence has xbar = 0, so c is the decoder's error there,
which every input near the base shares (the leakage of the known bias token
x^(1) into the decoded true tokens, amplified by 1 / eps_x). Subtracting it
makes the decoder affine; the constant is absorbed into phi, which Lemma 4.2
allows for any smooth phi, so W* = 0 and A* keep their form. ``center=False``
gives the purely linear decoder (c = 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import ndtr

from jaxrnn._src import complexity as cx
from jaxrnn._src.concept import Concept
from jaxrnn._src.inversion import inversion_matrix
from jaxrnn._src.pseudo import pseudo_network
from jaxrnn._src.rnn import RNNParams, hidden_states

#: Largest fit range t_max (see the module docstring).
T_CAP = 0.95
#: The quadrature covers |z| <= _Z_END (standard normal mass beyond: 1e-15).
_Z_END = 8.0


def hat_features(z: jax.Array, nodes: int, box=3.0) -> jax.Array:
  """The hat functions of the grid: (...,) -> (..., nodes).

  ``psi_j(z) = max(0, 1 - |clip(z, -box, box) - z_j| / h)`` with ``z_j``
  equally spaced on [-box, box] and ``h = 2 box / (nodes - 1)``; they sum to 1
  and are constant beyond the box. ``box`` may be traced.
  """
  if nodes < 2:
    raise ValueError(f"nodes must be at least 2, got {nodes}")
  z = jnp.asarray(z)
  box = jnp.asarray(box, z.dtype)
  h = 2 * box / (nodes - 1)
  grid = jnp.linspace(-1.0, 1.0, nodes, dtype=z.dtype) * box
  zc = jnp.clip(z, -box, box)
  grid = grid.reshape((1,) * zc.ndim + (nodes,))
  return jnp.maximum(0.0, 1.0 - jnp.abs(zc[..., None] - grid) / h)


def weight_function(
  theta: jax.Array, alpha: jax.Array, b0: jax.Array, box: float | jax.Array = 3.0
) -> jax.Array:
  """``H(alpha, b0)`` of Lemma 4.1: the bilinear interpolant of node values.

  ``H(alpha, b0) = sum_jk theta_jk psi_j(alpha) psi_k(b0)`` with ``psi`` the
  hat functions of ``hat_features``: bilinear on the uniform grid of
  [-box, box]^2, constant beyond the box, so ``sup |H| = max |theta|``.

  **Arguments:** ``theta`` (nodes, nodes) node values (``WeightFit.theta``);
  ``alpha``, ``b0`` broadcastable arrays; ``box`` the grid's half-width.

  **Returns:** H at the broadcast shape. Cost O(nodes^2) per point.

  Example::

    >>> import jax.numpy as jnp
    >>> theta = jnp.arange(9.0).reshape(3, 3)   # nodes at -3, 0, 3
    >>> float(weight_function(theta, jnp.array(0.0), jnp.array(1.5)))
    4.5
    >>> float(weight_function(theta, jnp.array(-50.0), jnp.array(50.0)))  # clipped
    2.0
  """
  n = theta.shape[0]
  if theta.shape != (n, n):
    raise ValueError(f"theta must be square (nodes, nodes), got {theta.shape}")
  return jnp.einsum(
    "...j,jk,...k->...", hat_features(alpha, n, box), theta, hat_features(b0, n, box)
  )


def _quadrature(nodes: int, box, n_quad: int, dtype):
  """Composite Gauss-Legendre points and Gaussian-density weights on
  [-_Z_END, _Z_END]: ``n_quad`` points on every grid cell and on each of the
  equal tail segments; breakpoints at the grid nodes, where H has kinks."""
  x, w = np.polynomial.legendre.leggauss(n_quad)
  x, w = jnp.asarray((x + 1) / 2, dtype), jnp.asarray(w / 2, dtype)
  box = jnp.asarray(box, dtype)
  n_tail = max(2, (nodes - 1) // 2)
  u = jnp.linspace(-1.0, 1.0, nodes, dtype=dtype)
  inner = box * u
  tail = box + (_Z_END - box) * jnp.linspace(0.0, 1.0, n_tail + 1, dtype=dtype)
  edges = jnp.concatenate([-tail[::-1], inner[1:-1], tail])
  a, b = edges[:-1], edges[1:]
  pts = (a[:, None] + (b - a)[:, None] * x[None, :]).reshape(-1)
  wts = (
    ((b - a)[:, None] * w[None, :]).reshape(-1) * jnp.exp(-0.5 * pts * pts) / jnp.sqrt(2 * jnp.pi)
  )
  return pts, wts / jnp.sum(wts)


def _design(t: jax.Array, nodes: int, box, radius, n_quad: int) -> jax.Array:
  """(n_t, nodes^2): E[psi_j(alpha) psi_k(b0) 1[radius (alpha t + beta s) + b0 >= 0]]."""
  x, w = _quadrature(nodes, box, n_quad, t.dtype)
  s = jnp.sqrt(jnp.clip(1 - t * t, 1e-12, None))
  # P_beta(radius beta s >= -(radius alpha t + b0))
  arg = (radius * x[None, :, None] * t[:, None, None] + x[None, None, :]) / (
    radius * s[:, None, None]
  )
  prob = ndtr(arg)  # (n_t, a, b)
  hw = hat_features(x, nodes, box) * w[:, None]  # (q, nodes)
  return jnp.einsum("tab,aj,bk->tjk", prob, hw, hw).reshape(t.shape[0], nodes * nodes)


def _gram(nodes: int, box, n_quad: int, dtype) -> jax.Array:
  """(nodes, nodes): E[psi_j(z) psi_k(z)] for z ~ N(0, 1)."""
  x, w = _quadrature(nodes, box, n_quad, dtype)
  hx = hat_features(x, nodes, box)
  return (hx * w[:, None]).T @ hx


def lipschitz_constant(theta: jax.Array, box: float | jax.Array = 3.0) -> jax.Array:
  """The Lipschitz constant of the bilinear H of ``weight_function`` on R^2.

  In a cell the gradient of a bilinear function is ``(da(b0), db(alpha)) /
  h`` with each component affine in the other coordinate, so its norm is
  largest at a corner: the constant (Euclidean norm) is ``max sqrt(da^2 +
  db^2) / h`` over the pairs of an alpha-edge difference ``da`` and a
  b0-edge difference ``db`` meeting at a corner of a cell, ``h = 2 box /
  (nodes - 1)``. In the constant tails one component is an edge difference
  and the other 0, which the same maximum bounds. Exact, not a bound.

  **Arguments:** ``theta`` (nodes, nodes); ``box``.

  **Returns:** scalar. Cost O(nodes^2).

  Example::

    >>> import jax.numpy as jnp
    >>> a, b = jnp.meshgrid(jnp.linspace(-3, 3, 5), jnp.linspace(-3, 3, 5), indexing="ij")
    >>> round(float(lipschitz_constant(3 * a + 4 * b, box=3.0)), 4)   # |grad| = 5
    5.0
  """
  n = theta.shape[0]
  h = 2 * jnp.asarray(box, theta.dtype) / (n - 1)
  da = jnp.diff(theta, axis=0)  # (n-1, n): alpha-edges
  db = jnp.diff(theta, axis=1)  # (n, n-1): b0-edges
  # cell (i, j): alpha-edges da[i, j], da[i, j+1]; b0-edges db[i, j], db[i+1, j]
  pairs = [
    da[:, :-1] ** 2 + db[:-1, :] ** 2,
    da[:, :-1] ** 2 + db[1:, :] ** 2,
    da[:, 1:] ** 2 + db[:-1, :] ** 2,
    da[:, 1:] ** 2 + db[1:, :] ** 2,
  ]
  return jnp.sqrt(jnp.max(jnp.stack(pairs))) / h


def _spd_solve(M: jax.Array, y: jax.Array) -> jax.Array:
  """``M^-1 y`` for symmetric positive definite M by a Cholesky factorization
  written in XLA ops (``lax.fori_loop`` over columns, O(n^3)).

  Not ``jnp.linalg.solve``: under ``vmap`` its CPU LAPACK kernel splits the
  batch over XLA's intra-op thread pool and waits for it, and two such
  kernels running at once (several fits in one program, vmapped over seeds)
  deadlock a pool of two threads (observed with jaxlib 0.10.2 on 2 cores).
  """
  n = M.shape[0]
  idx = jnp.arange(n)

  def column(j, Lf):
    row = jnp.where(idx < j, Lf[j], 0)
    diag = jnp.sqrt(jnp.maximum(M[j, j] - row @ row, jnp.finfo(M.dtype).tiny))
    col = (M[:, j] - Lf @ row) / diag
    return Lf.at[:, j].set(jnp.where(idx > j, col, jnp.where(idx == j, diag, 0)))

  Lf = lax.fori_loop(0, n, column, jnp.zeros_like(M))

  def forward(i, z):  # Lf z = y
    return z.at[i].set((y[i] - jnp.where(idx < i, Lf[i], 0) @ z) / Lf[i, i])

  def backward(k, x):  # Lf^T x = z
    i = n - 1 - k
    return x.at[i].set((z[i] - jnp.where(idx > i, Lf[:, i], 0) @ x) / Lf[i, i])

  z = lax.fori_loop(0, n, forward, jnp.zeros_like(y))
  return lax.fori_loop(0, n, backward, jnp.zeros_like(y))


class WeightFit(NamedTuple):
  """A fitted H of Lemma 4.1: node values, its bounds and its accuracy."""

  theta: jax.Array  # (nodes, nodes) values of H at the grid nodes
  sup_error: jax.Array  # max |phi(t) - E[H 1[...]]| on a fine grid of [t_min, t_max]
  t_max: jax.Array
  t_min: jax.Array
  radius: jax.Array
  box: jax.Array  # H is bilinear on [-box, box]^2, constant beyond
  sup: jax.Array  # sup |H| over R^2 (= max |theta|, exact)
  lipschitz: jax.Array  # Lipschitz constant of H on R^2 (exact)
  second_moment: jax.Array  # E[H(alpha, b0)^2], alpha, b0 ~ N(0, 1)


def fit_weight_function(
  phi: Callable,
  *,
  t_max: float | jax.Array = 1.0,
  t_min: float | jax.Array | None = None,
  radius: float | jax.Array = 1.0,
  nodes: int = 13,
  box: float | jax.Array = 3.0,
  n_fit: int = 49,
  n_quad: int = 6,
  ridge: float | jax.Array = 1e-6,
  smooth: float = 1e-2,
) -> WeightFit:
  """Fits a bounded, Lipschitz H of Lemma 4.1 for ``phi`` on ``t in [t_min, t_max]``.

  H is bilinear on a ``nodes x nodes`` grid of [-box, box]^2 and constant
  beyond (module docstring). theta minimizes ``mean_t (E[H 1[...]](t) -
  phi(t))^2 + ridge (E[H^2] + smooth S)`` over ``n_fit`` Chebyshev points
  of [t_min, t_max] (``t_min`` defaults to ``-t_max``; both are clipped to
  [-T_CAP, T_CAP]), ``S`` the mean squared slope over the grid's edges;
  expectations by composite Gauss-Legendre quadrature (``n_quad`` points per
  segment). ``phi`` is a jnp function; ``t_min``, ``t_max``, ``radius``,
  ``box`` and ``ridge`` may be traced, so the fit runs inside jit/vmap.

  **Returns:** ``WeightFit``: node values, the exact ``sup`` |H| and
  ``lipschitz`` constant on R^2, ``second_moment`` E[H^2], and
  ``sup_error`` on ``2 n_fit + 1`` equally spaced t of the range (not the
  fit points).
  Cost O(n_fit Q^2 nodes + nodes^6) with Q = n_quad (nodes - 1 + 2 max(2,
  (nodes - 1) // 2)) quadrature points per axis.

  Example::

    >>> import jax.numpy as jnp
    >>> fit = fit_weight_function(jnp.sin, t_max=0.9)
    >>> bool(fit.sup_error < 1e-2), fit.theta.shape
    (True, (13, 13))
    >>> bool(jnp.max(jnp.abs(fit.theta)) == fit.sup)
    True
  """
  if nodes < 2 or n_fit < 2 or n_quad < 1:
    raise ValueError(f"need nodes >= 2, n_fit >= 2, n_quad >= 1; got {nodes}, {n_fit}, {n_quad}")
  dtype = jnp.result_type(float)
  t_max = jnp.clip(jnp.asarray(t_max, dtype), -T_CAP, T_CAP)
  t_min = -t_max if t_min is None else jnp.clip(jnp.asarray(t_min, dtype), -T_CAP, T_CAP)
  mid, half = (t_max + t_min) / 2, (t_max - t_min) / 2
  radius = jnp.asarray(radius, dtype)
  box = jnp.asarray(box, dtype)
  cheb = jnp.cos(jnp.pi * (jnp.arange(n_fit, dtype=dtype) + 0.5) / n_fit)
  t = mid + half * cheb
  X = _design(t, nodes, box, radius, n_quad)
  y = phi(t)
  G1 = _gram(nodes, box, n_quad, dtype)
  h = 2 * box / (nodes - 1)
  D1 = (jnp.eye(nodes, dtype=dtype)[1:] - jnp.eye(nodes, dtype=dtype)[:-1]) / h
  eye = jnp.eye(nodes, dtype=dtype)
  lap = D1.T @ D1
  S = (jnp.kron(lap, eye) + jnp.kron(eye, lap)) / (2 * nodes * (nodes - 1))
  M = X.T @ X / n_fit + ridge * (jnp.kron(G1, G1) + smooth * S)
  theta = _spd_solve(M, X.T @ y / n_fit).reshape(nodes, nodes)
  tt = mid + half * jnp.linspace(-1, 1, 2 * n_fit + 1, dtype=dtype)
  err = jnp.max(jnp.abs(_design(tt, nodes, box, radius, n_quad) @ theta.reshape(-1) - phi(tt)))
  return WeightFit(
    theta,
    err,
    t_max,
    t_min,
    radius,
    box,
    jnp.max(jnp.abs(theta)),
    lipschitz_constant(theta, box),
    jnp.sum(theta * (G1 @ theta @ G1)),
  )


def lemma41_expectation(fit: WeightFit, t: jax.Array, n_quad: int = 8) -> jax.Array:
  """What the fitted H represents: ``E[H(alpha, b0) 1[radius <w, u> + b0 >= 0]]``.

  The right-hand side of Lemma 4.1 at ``t = <wbar, u>`` (u unit), as
  ``E_{alpha, b0}[H Phi_N((radius alpha t + b0) / (radius sqrt(1 - t^2)))]``
  by the quadrature of ``fit_weight_function`` (``n_quad`` points per
  segment).

  **Arguments:** ``fit`` a ``WeightFit``; ``t`` any shape, |t| < 1.

  **Returns:** the expectation at every t, shape of ``t``. Cost O(Q^2
  nodes) per t.

  Example::

    >>> import jax.numpy as jnp
    >>> fit = fit_weight_function(jnp.sin, t_max=0.9)
    >>> bool(jnp.abs(lemma41_expectation(fit, 0.5) - jnp.sin(0.5)) < 1e-2)
    True
  """
  n = fit.theta.shape[0]
  t = jnp.asarray(t, fit.theta.dtype)
  flat = _design(t.reshape(-1), n, fit.box, fit.radius, n_quad) @ fit.theta.reshape(-1)
  return flat.reshape(t.shape)


def _neuron_inputs(params: RNNParams, wbar: jax.Array):
  """(alpha_r, b0_r) of Lemma 4.2: sqrt(m/2) <[w_r, a_{r,:d-1}], wbar> and
  sqrt(m/2) a_{r,d}, each (m,) and ~ N(0, 1) at initialization."""
  m, d = params.A.shape
  if wbar.shape != (m + d - 1,):
    raise ValueError(f"wbar must have shape (m + d - 1,) = ({m + d - 1},), got {wbar.shape}")
  c = jnp.sqrt(jnp.asarray(m / 2.0, params.W.dtype))
  alpha = c * (params.W @ wbar[:m] + params.A[:, : d - 1] @ wbar[m:])
  return alpha, c * params.A[:, d - 1]


def lemma42_a_star(
  params: RNNParams,
  theta: jax.Array,
  wbar: jax.Array,
  output: int = 0,
  box: float | jax.Array = 3.0,
) -> jax.Array:
  """A* of Lemma 4.2 (W* = 0) for output coordinate ``output``.

  ``a*_r = b_r H(sqrt(m/2) <[w_r, a_{r,:d-1}], wbar>, sqrt(m/2) a_{r,d}) e_d
  / (m E[b^2])`` with ``E[b^2] = 2 / d_out``, H the bilinear weight function
  with node values ``theta`` on [-box, box]^2 (``weight_function``).

  **Arguments:** ``theta`` (nodes, nodes) from ``fit_weight_function`` (with
  its ``box``); ``wbar`` (m + d - 1,) unit vector.

  **Returns:** (m, d), zero except the last column. Cost O(m (m + d)).

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> from jaxrnn.concept import lemma42_a_star
    >>> p = jaxrnn.init_params(jax.random.key(0), 32, 4, 1)
    >>> a = lemma42_a_star(p, jnp.ones((5, 5)), jnp.ones(35) / jnp.sqrt(35.0))
    >>> bool(jnp.allclose(a[:, -1], p.B[0] / 64))   # H = 1: a*_r = b_r / (m E[b^2])
    True
  """
  m, d = params.A.shape
  d_out = params.B.shape[0]
  alpha, b0 = _neuron_inputs(params, wbar)
  col = params.B[output] * weight_function(theta, alpha, b0, box) / (m * 2.0 / d_out)
  return jnp.zeros_like(params.A).at[:, d - 1].set(col)


def base_sequence(L: int, d: int, dtype: jax.typing.DTypeLike = jnp.float32) -> jax.Array:
  """The default base sequence x_(0) (L, d): bias tokens e_d at 1 and L,
  zero middle tokens (the eps_x -> 0 limit of Def. 3.1)."""
  return jnp.zeros((L, d), dtype).at[0, -1].set(1).at[-1, -1].set(1)


class Construction(NamedTuple):
  """Output of ``construct_pseudo_network`` (Thm. 4.3); (d_out, p) arrays
  hold one entry per Lemma 4.1 fit."""

  A_star: jax.Array  # (m, d); W* = 0
  fit_error: jax.Array  # (d_out, p) sup error of each Lemma 4.1 fit
  g_norm: jax.Array  # (d_out, p) |Wbar v| ~ 1/eps_x: the effective R
  radius: jax.Array  # |h^(L-1)| of the base sequence
  t_max: jax.Array  # (d_out, p) fit ranges [(c - M) / s, (M + c) / s], s = |g| radius
  g: jax.Array  # (d_out, p, m): <g, h^(L-1)(x)> ~= <w_dagger, xbar>
  theta: jax.Array  # (d_out, p, nodes, nodes) node values of the fitted H
  h_sup: jax.Array  # (d_out, p) sup |H| over R^2 (Lemma 4.1's bound C)
  h_lipschitz: jax.Array  # (d_out, p) Lipschitz constant of H
  h_second_moment: jax.Array  # (d_out, p) E[H^2]
  h_max_used: jax.Array  # (d_out, p) max_r |H(alpha_r, b0_r)| over the m neurons
  coverage: jax.Array  # (d_out, p) covered fraction of [-M, M], M = max|<w, xbar>|: 1 = all
  offset: jax.Array  # (d_out, p) c = <g, h^(L-1)(base)>: <g, h^(L-1)> - c ~= <w_dagger, xbar>
  box: jax.Array  # H is bilinear on [-box, box]^2, constant beyond


def construct_pseudo_network(
  params: RNNParams,
  concept: Concept,
  eps_x: float | jax.Array,
  *,
  base_xs: jax.Array | None = None,
  nodes: int = 13,
  box: float | jax.Array = 3.0,
  n_quad: int = 6,
  ridge: float | jax.Array | None = None,
  smooth: float = 1e-2,
  center: bool = True,
) -> Construction:
  """W* = 0 and A* of Thm. 4.3 so that ``pseudo_network(params, (0, A*), x)
  ~= F*(xbar)`` for the concept-class target ``concept`` (Def. 3.3).

  See the module docstring for the steps: inversion ``Wbar`` of
  ``h^(L-1)`` (``jaxrnn.inversion_matrix`` at the base sequence), ``g =
  Wbar v``, a bounded, Lipschitz Lemma 4.1 fit of ``t -> Phi(|g| radius t)``
  per (r, s) (``fit_weight_function``), and Lemma 4.2's A* summed with the
  coefficients b_(r,s). Jit/vmap-safe.

  **Arguments:** ``params`` at initialization (d_out must equal the
  concept's); ``concept``; ``eps_x`` the Def. 3.1 scale of the inputs;
  ``base_xs`` (L, d) (default ``base_sequence``); ``nodes``, ``box``,
  ``n_quad``, ``smooth`` of the fits; ``ridge`` (default ``3 / m``, which
  balances fit bias against the m-neuron variance at this width; pass a
  value that does not depend on m to keep the accuracy target, and with it
  H and its bound C, fixed across widths, as Lemma 4.2 has it); ``center``
  subtracts the decoder's offset c at the base sequence (module docstring).

  **Returns:** ``Construction`` (A*, the fits' accuracy and bounds, the
  largest |H| the m neurons use, |g|). Cost O(L^2 m^2 d) for the inversion
  matrix plus O(d_out p m^2) and the fits (independent of m).

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> k1, k2 = jax.random.split(jax.random.key(0))
    >>> params = jaxrnn.init_params(k1, 256, 4, 1)
    >>> target = jaxrnn.concept.random_concept(k2, L=5, d=4, phi="sin")
    >>> con = jaxrnn.concept.construct_pseudo_network(params, target, eps_x=0.15)
    >>> con.A_star.shape, bool(con.h_max_used[0, 0] <= con.h_sup[0, 0])
    ((256, 4), True)
  """
  m, d = params.A.shape
  d_out = params.B.shape[0]
  if concept.d_out != d_out:
    raise ValueError(f"concept has d_out={concept.d_out}, params have {d_out}")
  Dm1 = concept.w.shape[-1]
  if Dm1 % (d - 1):
    raise ValueError(f"concept weight length {Dm1} is not a multiple of d-1={d - 1}")
  L = Dm1 // (d - 1) + 2
  dtype = params.W.dtype
  if base_xs is None:
    base_xs = base_sequence(L, d, dtype)
  if base_xs.shape != (L, d):
    raise ValueError(f"base_xs must have shape ({L}, {d}), got {base_xs.shape}")
  wbar_mat = inversion_matrix(params, base_xs[: L - 1])  # (m, (L-1) d)
  h_base = hidden_states(params, base_xs)[L - 2]
  radius = jnp.linalg.norm(h_base)
  eps_x = jnp.asarray(eps_x, dtype)
  free = jnp.any(concept.w.reshape(d_out, concept.p, L - 2, d - 1)[..., -1] != 0)
  max_inner = jnp.where(free, jnp.sqrt(L - 2.0), jnp.sqrt(0.75 * (L - 2)))
  ridge = 3.0 / m if ridge is None else ridge
  A_star = jnp.zeros_like(params.A)
  rows = []
  for s in range(d_out):
    row = []
    for r in range(concept.p):
      blocks = concept.w[s, r].reshape(L - 2, d - 1) / eps_x
      v = jnp.zeros((L - 1, d), dtype).at[1:, : d - 1].set(blocks).reshape(-1)
      g = wbar_mat @ v
      gn = jnp.linalg.norm(g)
      c = g @ h_base if center else jnp.zeros((), dtype)
      Phi = cx.phi_function(concept.phis[s][r])
      scale = gn * radius
      fit = fit_weight_function(
        lambda t, Phi=Phi, scale=scale, c=c: Phi(scale * t - c),
        t_max=(max_inner + c) / scale,
        t_min=(c - max_inner) / scale,
        radius=radius,
        nodes=nodes,
        box=box,
        n_quad=n_quad,
        ridge=ridge,
        smooth=smooth,
      )
      wbar = jnp.concatenate([g / gn, jnp.zeros((d - 1,), dtype)])
      A_star = A_star + concept.b[s, r] * lemma42_a_star(params, fit.theta, wbar, s, box)
      h_used = jnp.max(jnp.abs(weight_function(fit.theta, *_neuron_inputs(params, wbar), box)))
      row.append(
        (
          fit.sup_error,
          gn,
          fit.t_max,
          g,
          fit.theta,
          fit.sup,
          fit.lipschitz,
          fit.second_moment,
          h_used,
          jnp.minimum(fit.t_max * scale - c, c - fit.t_min * scale) / max_inner,
          c,
        )
      )
    rows.append(row)
  cols = [jnp.stack([jnp.stack([cell[i] for cell in row]) for row in rows]) for i in range(11)]
  err, gn, tm, g, th, sup, lip, mom, used, cov, off = cols
  box = jnp.asarray(box, dtype)
  return Construction(A_star, err, gn, radius, tm, g, th, sup, lip, mom, used, cov, off, box)


class ConstructionTerms(NamedTuple):
  """The three stages of Thm. 4.3 on one input (``construction_terms``)."""

  pseudo: jax.Array  # (d_out,) F^(L)(x; 0, A*), the constructed pseudo-network
  lemma41: jax.Array  # (d_out,) sum_r b_(r,s) E[H 1[...]] at this input: the limit m -> inf
  decoded: jax.Array  # (d_out,) sum_r b_(r,s) Phi(<g, h^(L-1)(x)> - c): F* through the decoder


def construction_terms(
  params: RNNParams, concept: Concept, con: Construction, xs: jax.Array, n_quad: int = 8
) -> ConstructionTerms:
  """The constructed pseudo-network on one input and the two quantities it
  approximates, so that its error splits along the proof of Thm. 4.3.

  ``F* - pseudo = (F* - decoded)`` (the inversion, Thm. 4.5: the decoder
  ``<g, h^(L-1)> - c`` of ``<w_dagger, xbar>``) ``+ (decoded - lemma41)``
  (the Lemma 4.1 fit: how far ``E[H 1[...]]`` is from phi) ``+ (lemma41 -
  pseudo)`` (Lemma 4.2: the average over m neurons in place of the
  expectation, and the i < L terms of Eq. (4)). ``lemma41`` evaluates the
  expectation at this input's ``t = <g, h> / (|g| |h|)`` with indicator
  ``1[|h| <w, u_unit> + b0 >= 0]``, ``h = h^(L-1)(x)`` (u = [h, x^(L)_{:d-1}]
  with x^(L)_{:d-1} = 0), by the quadrature of ``fit_weight_function``.

  **Arguments:** ``params`` at initialization; ``concept`` and ``con`` from
  ``construct_pseudo_network(params, concept, ...)``; ``xs`` (L, d) one
  normalized sequence.

  **Returns:** ``ConstructionTerms``, each (d_out,). Cost O(L m^2) for the
  pseudo-network plus O(d_out p Q^2 nodes) for the expectations.

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> from jaxrnn import concept as cc
    >>> k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    >>> params = jaxrnn.init_params(k1, 256, 4, 1)
    >>> target = cc.random_concept(k2, L=5, d=4, phi="sin")
    >>> con = cc.construct_pseudo_network(params, target, eps_x=0.15)
    >>> xs, _, fstar, _ = cc.concept_dataset(k3, target, 4, L=5, d=4, eps_x=0.15)
    >>> terms = jax.vmap(lambda x: cc.construction_terms(params, target, con, x))(xs)
    >>> terms.pseudo.shape, terms.decoded.shape
    ((4, 1), (4, 1))
  """
  m, d = params.A.shape
  d_out = params.B.shape[0]
  L = xs.shape[0]
  if con.A_star.shape != (m, d) or con.g.shape[:2] != (d_out, concept.p):
    raise ValueError("con does not come from construct_pseudo_network(params, concept, ...)")
  delta = RNNParams(jnp.zeros_like(params.W), con.A_star, params.B)
  pseudo = pseudo_network(params, delta, xs)
  h = hidden_states(params, xs)[L - 2]
  hn = jnp.linalg.norm(h)
  nodes = con.theta.shape[-1]
  lem, dec = [], []
  for s in range(d_out):
    row_l, row_d = jnp.zeros((), h.dtype), jnp.zeros((), h.dtype)
    for r in range(concept.p):
      g = con.g[s, r]
      z = g @ h
      t = jnp.reshape(z / (jnp.linalg.norm(g) * hn), (1,))
      X = _design(t, nodes, con.box, hn, n_quad)
      row_l = row_l + concept.b[s, r] * (X @ con.theta[s, r].reshape(-1))[0]
      row_d = row_d + concept.b[s, r] * cx.phi_function(concept.phis[s][r])(z - con.offset[s, r])
    lem.append(row_l)
    dec.append(row_d)
  return ConstructionTerms(pseudo, jnp.stack(lem), jnp.stack(dec))
