"""Existence of a good pseudo-network (Sec. 4.2: Lemmas 4.1, 4.2, Thm. 4.3).

**Lemma 4.1 (weight function).** For smooth phi there is H : R^2 -> R with

    phi(<wbar, u>) ~= E_{w ~ N(0, I), b0 ~ N(0, 1)} [H(<w, wbar>, b0) 1[<w, u> + b0 >= 0]]

for unit u. Writing alpha = <w, wbar>, <w, u> = alpha t + beta sqrt(1 - t^2)
with t = <wbar, u> and beta ~ N(0, 1) independent, and integrating beta out,

    E[H 1[...]] = E_{alpha, b0}[H(alpha, b0) Phi_N((alpha t + b0) / sqrt(1 - t^2))].

The appendix's explicit H is not available, so this module *fits* H: a
Hermite expansion ``H(alpha, b0) = sum_{j<J, k<K} theta_jk he_j(alpha) he_k(b0)``
(``he_j`` the orthonormal probabilists' Hermite polynomials), with theta the
ridge least-squares solution matching phi on a grid of t in [-t_max, t_max]
(the expectation by 2-D Gauss-Hermite quadrature). The fit's sup error on a
fine grid is returned and reported (``lemma41_error``). A generalization
used below: u of norm ``radius`` instead of 1 (the hidden state is not
exactly unit); the indicator is then ``1[radius <w, u_unit> + b0 >= 0]`` and
the quadrature uses it.

**Lemma 4.2 (W* = 0, A* on the bias column).** For d_out = 1,

    W* = 0,
    a*_r = b_r H(sqrt(m/2) <[w_r, a_{r,:d-1}], wbar>, sqrt(m/2) a_{r,d}) e_d / (m E[b_r^2]),

so the pseudo-network is ``sum_i Back_{i->L} D^(i) A* x^(i)``, nonzero only
at the bias tokens i = 1, L; the i = L term is the empirical average of
Lemma 4.1 with u = [h^(L-1), x^(L)_{:d-1}]. The paper's sketch writes
``a*_r = b_r H(...) / m``; the factor ``1 / E[b_r^2] = d_out / 2`` makes
the average ``(1/m) sum_r b_r^2 H 1[...]`` an unbiased estimate of the
expectation (the sketch drops this constant). For d_out > 1 the constructions
for every output s add up (cross terms have mean 0).

**Theorem 4.3 (concept-class target).** For ``Phi(<w_dagger, xbar>)``:
``Wbar = inversion_matrix(params, base[:L-1])`` decodes
``Wbar^T h^(L-1) ~= [x^(1) ... x^(L-1)]``; with v holding ``w_dagger / eps_x``
on the first d-1 entries of blocks 2 ... L-1 (x^(l) = (eps_x xbar^(l), 0)),
``g = Wbar v`` satisfies ``<g, h^(L-1)> ~= <w_dagger, xbar>``. Lemma 4.2 is
applied with unit ``wbar = [g / |g|, 0]`` and ``phi(t) = Phi(|g| radius t)``,
``radius = |h^(L-1)|`` of the base sequence; the fit range is
``t_max = min(1, max|<w_dagger, xbar>| / (|g| radius))``, which covers every
input (``max|<w, xbar>| = sqrt(3 (L-2) / 4)`` for w on the free coordinates,
``sqrt(L-2)`` otherwise). ``|g| ~ 1 / eps_x`` is why Thm. 3.1's complexity is
taken at R = O(1 / eps_x). The base sequence (default) is the normalized
sequence with zero middle tokens, the eps_x -> 0 limit of every input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

from jaxrnn._src import complexity as cx
from jaxrnn._src.concept import Concept
from jaxrnn._src.inversion import inversion_matrix
from jaxrnn._src.rnn import RNNParams, hidden_states


def hermite_features(z: jax.Array, degree: int) -> jax.Array:
  """Orthonormal probabilists' Hermite polynomials ``he_j(z) = He_j(z) /
  sqrt(j!)`` for j < degree: (..., ) -> (..., degree). Three-term recurrence
  ``He_{j+1} = z He_j - j He_{j-1}``."""
  out = [jnp.ones_like(z), z]
  for j in range(1, degree - 1):
    out.append(z * out[j] - j * out[j - 1])
  out = out[:degree]
  norms = jnp.asarray([math.sqrt(math.factorial(j)) for j in range(degree)], z.dtype)
  return jnp.stack(out, axis=-1) / norms


def weight_function(theta: jax.Array, alpha: jax.Array, b0: jax.Array) -> jax.Array:
  """``H(alpha, b0) = he(alpha)^T theta he(b0)``; theta (J, K); broadcasts
  over alpha and b0."""
  J, K = theta.shape
  return jnp.einsum("...j,jk,...k->...", hermite_features(alpha, J), theta, hermite_features(b0, K))


def _quadrature(n: int, dtype):
  x, w = np.polynomial.hermite_e.hermegauss(n)
  return jnp.asarray(x, dtype), jnp.asarray(w / w.sum(), dtype)


def _design(t: jax.Array, J: int, K: int, radius, n_quad: int) -> jax.Array:
  """(n_t, J*K): E[he_j(alpha) he_k(b0) 1[radius (alpha t + beta s) + b0 >= 0]]."""
  x, w = _quadrature(n_quad, t.dtype)
  s = jnp.sqrt(jnp.clip(1 - t * t, 1e-12, None))
  # P_beta(radius beta s >= -(radius alpha t + b0))
  arg = (radius * x[None, :, None] * t[:, None, None] + x[None, None, :]) / (
    radius * s[:, None, None]
  )
  prob = ndtr(arg)  # (n_t, a, b)
  ha = hermite_features(x, J) * w[:, None]  # (a, J)
  hb = hermite_features(x, K) * w[:, None]  # (b, K)
  return jnp.einsum("tab,aj,bk->tjk", prob, ha, hb).reshape(t.shape[0], J * K)


class WeightFit(NamedTuple):
  """A fitted H of Lemma 4.1: coefficients and the measured accuracy."""

  theta: jax.Array  # (J, K)
  sup_error: jax.Array  # max |phi(t) - E[H 1[...]]| on a fine grid of [-t_max, t_max]
  t_max: jax.Array
  radius: jax.Array


def fit_weight_function(
  phi: Callable,
  *,
  t_max=1.0,
  radius=1.0,
  degree: tuple[int, int] = (16, 8),
  n_fit: int = 97,
  n_quad: int = 48,
  ridge: float = 1e-7,
) -> WeightFit:
  """Fits H of Lemma 4.1 for ``phi`` on ``t in [-t_max, t_max]``.

  Ridge least squares for theta (J, K) = ``degree`` on ``n_fit`` Chebyshev
  points, expectations by ``n_quad`` x ``n_quad`` Gauss-Hermite quadrature.
  ``phi`` is a jnp function; ``t_max`` and ``radius`` may be traced, so the
  fit runs inside jit/vmap. ``sup_error`` is measured on 4 ``n_fit`` equally
  spaced points (not the fit points).

  **Returns:** ``WeightFit``. Cost O(n_fit n_quad^2 J K).

  Example::

    >>> import jax.numpy as jnp
    >>> fit = fit_weight_function(jnp.sin, t_max=0.9)
    >>> bool(fit.sup_error < 1e-2)
    True
  """
  J, K = degree
  dtype = jnp.result_type(float)
  t_max = jnp.minimum(jnp.asarray(t_max, dtype), 0.999)
  cheb = jnp.cos(jnp.pi * (jnp.arange(n_fit, dtype=dtype) + 0.5) / n_fit)
  t = t_max * cheb
  X = _design(t, J, K, radius, n_quad)
  y = phi(t)
  # minimize mean_t (X theta - phi)^2 + ridge |theta|^2; |theta|_F^2 = E[H^2]
  # (orthonormal basis), so ridge = 3 / m balances the fit's bias against the
  # variance E[b^4 H^2] / (m E[b^2]^2) of Lemma 4.2's m-neuron average.
  G = X.T @ X / n_fit + ridge * jnp.eye(J * K, dtype=dtype)
  theta = jnp.linalg.solve(G, X.T @ y / n_fit).reshape(J, K)
  tt = t_max * jnp.linspace(-1, 1, 4 * n_fit, dtype=dtype)
  err = jnp.max(jnp.abs(_design(tt, J, K, radius, n_quad) @ theta.reshape(-1) - phi(tt)))
  return WeightFit(theta, err, t_max, jnp.asarray(radius, dtype))


def lemma41_expectation(fit: WeightFit, t: jax.Array, n_quad: int = 64) -> jax.Array:
  """``E[H(alpha, b0) 1[radius <w, u> + b0 >= 0]]`` at ``t = <wbar, u>`` (any
  shape) by quadrature: what the fitted H represents."""
  J, K = fit.theta.shape
  t = jnp.asarray(t, fit.theta.dtype)
  flat = _design(t.reshape(-1), J, K, fit.radius, n_quad) @ fit.theta.reshape(-1)
  return flat.reshape(t.shape)


def lemma42_a_star(
  params: RNNParams, theta: jax.Array, wbar: jax.Array, output: int = 0
) -> jax.Array:
  """A* of Lemma 4.2 (W* = 0) for output coordinate ``output``.

  ``a*_r = b_r H(sqrt(m/2) <[w_r, a_{r,:d-1}], wbar>, sqrt(m/2) a_{r,d}) e_d
  / (m E[b^2])`` with ``E[b^2] = 2 / d_out``.

  **Arguments:** ``theta`` (J, K) from ``fit_weight_function``; ``wbar``
  (m + d - 1,) unit vector.

  **Returns:** (m, d), zero except the last column. Cost O(m (m + d)).
  """
  m, d = params.A.shape
  d_out = params.B.shape[0]
  if wbar.shape != (m + d - 1,):
    raise ValueError(f"wbar must have shape (m + d - 1,) = ({m + d - 1},), got {wbar.shape}")
  c = jnp.sqrt(jnp.asarray(m / 2.0, params.W.dtype))
  alpha = c * (params.W @ wbar[:m] + params.A[:, : d - 1] @ wbar[m:])
  b0 = c * params.A[:, d - 1]
  col = params.B[output] * weight_function(theta, alpha, b0) / (m * 2.0 / d_out)
  return jnp.zeros_like(params.A).at[:, d - 1].set(col)


def base_sequence(L: int, d: int, dtype=jnp.float32) -> jax.Array:
  """The default base sequence x_(0) (L, d): bias tokens e_d at 1 and L,
  zero middle tokens (the eps_x -> 0 limit of Def. 3.1)."""
  return jnp.zeros((L, d), dtype).at[0, -1].set(1).at[-1, -1].set(1)


class Construction(NamedTuple):
  """Output of ``construct_pseudo_network`` (Thm. 4.3)."""

  A_star: jax.Array  # (m, d); W* = 0
  fit_error: jax.Array  # (d_out, p) sup error of each Lemma 4.1 fit
  g_norm: jax.Array  # (d_out, p) |Wbar v| ~ 1/eps_x: the effective R
  radius: jax.Array  # |h^(L-1)| of the base sequence
  t_max: jax.Array  # (d_out, p) fit ranges
  g: jax.Array  # (d_out, p, m): <g, h^(L-1)(x)> ~= <w_dagger, xbar>
  theta: jax.Array  # (d_out, p, J, K) fitted H coefficients


def construct_pseudo_network(
  params: RNNParams,
  concept: Concept,
  eps_x,
  *,
  base_xs: jax.Array | None = None,
  degree: tuple[int, int] = (16, 8),
  n_quad: int = 48,
  ridge=None,
) -> Construction:
  """W* = 0 and A* of Thm. 4.3 so that ``pseudo_network(params, (0, A*), x)
  ~= F*(xbar)`` for the concept-class target ``concept`` (Def. 3.3).

  See the module docstring for the steps: inversion ``Wbar`` of
  ``h^(L-1)`` (``jaxrnn.inversion_matrix`` at the base sequence), ``g =
  Wbar v``, a Lemma 4.1 fit of ``t -> Phi(|g| radius t)`` per (r, s), and
  Lemma 4.2's A* summed with the coefficients b_(r,s). Jit/vmap-safe.

  **Arguments:** ``params`` at initialization (d_out must equal the
  concept's); ``concept``; ``eps_x`` the Def. 3.1 scale of the inputs;
  ``base_xs`` (L, d) (default ``base_sequence``); ``degree``/``n_quad`` of
  the fits.

  **Returns:** ``Construction``. Cost O(L^2 m^2 d) for the inversion matrix
  plus O(d_out p m^2).

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> k1, k2 = jax.random.split(jax.random.key(0))
    >>> params = jaxrnn.init_params(k1, 256, 4, 1)
    >>> target = jaxrnn.concept.random_concept(k2, L=5, d=4, phi="sin")
    >>> con = jaxrnn.concept.construct_pseudo_network(params, target, eps_x=0.5)
    >>> con.A_star.shape
    (256, 4)
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
  radius = jnp.linalg.norm(hidden_states(params, base_xs)[L - 2])
  eps_x = jnp.asarray(eps_x, dtype)
  free = jnp.any(concept.w.reshape(d_out, concept.p, L - 2, d - 1)[..., -1] != 0)
  max_inner = jnp.where(free, jnp.sqrt(L - 2.0), jnp.sqrt(0.75 * (L - 2)))
  A_star = jnp.zeros_like(params.A)
  errs, gns, tms, gs, ths = [], [], [], [], []
  for s in range(d_out):
    row_e, row_g, row_t, row_gv, row_th = [], [], [], [], []
    for r in range(concept.p):
      blocks = concept.w[s, r].reshape(L - 2, d - 1) / eps_x
      v = jnp.zeros((L - 1, d), dtype).at[1:, : d - 1].set(blocks).reshape(-1)
      g = wbar_mat @ v
      gn = jnp.linalg.norm(g)
      Phi = cx.phi_function(concept.phis[s][r])
      scale = gn * radius
      fit = fit_weight_function(
        lambda t, Phi=Phi, scale=scale: Phi(scale * t),
        t_max=jnp.minimum(1.0, max_inner / scale),
        radius=radius,
        degree=degree,
        n_quad=n_quad,
        ridge=3.0 / m if ridge is None else ridge,
      )
      wbar = jnp.concatenate([g / gn, jnp.zeros((d - 1,), dtype)])
      A_star = A_star + concept.b[s, r] * lemma42_a_star(params, fit.theta, wbar, s)
      row_e.append(fit.sup_error)
      row_g.append(gn)
      row_t.append(fit.t_max)
      row_gv.append(g)
      row_th.append(fit.theta)
    gs.append(jnp.stack(row_gv))
    ths.append(jnp.stack(row_th))
    errs.append(jnp.stack(row_e))
    gns.append(jnp.stack(row_g))
    tms.append(jnp.stack(row_t))
  return Construction(
    A_star, jnp.stack(errs), jnp.stack(gns), radius, jnp.stack(tms), jnp.stack(gs), jnp.stack(ths)
  )
