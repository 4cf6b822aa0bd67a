"""The concept class of Def. 3.3: targets, data sets, label noise and OPT.

A target is

    F*_s(xbar) = sum_{r in [p]} b_{r,s} Phi_{r,s}(<w_{r,s}, [xbar^(2), ..., xbar^(L-1)]>),

with unit ``w_{r,s}`` in R^{(L-2)(d-1)}, ``|b_{r,s}| <= 1`` and ``Phi(0) = 0``
(Eq. 2). Inputs are true sequences (tokens on S^{d-2} with last entry 1/2)
and the RNN sees their normalized form (Def. 3.1).

``Concept`` is a pytree: ``w`` (d_out, p, (L-2)(d-1)) and ``b`` (d_out, p)
are its leaves; the Phi's are static: names (see ``PHI_NAMES``, e.g.
``"sin:3"`` for sin(3z), ``"pow:2"`` for z^2) or tuples of polynomial
coefficients ``(c_0 = 0, c_1, ...)``. It is the one type for a member of
the class: the targets of the experiments and the formal-language
constructions of Sec. 5 (``jaxrnn.languages.concept_member``) alike.

Design choices (the paper leaves the distribution open):

- ``random_concept`` draws ``w`` on the sphere *restricted to the free
  coordinates* of the tokens (the first d-2 entries of each token; the last
  entry is the constant 1/2 and would only add a constant shift inside Phi),
  spread over all L-2 positions, so every target mixes all tokens. Then
  ``<w, xbar>`` has mean 0 and variance 3 / (4 (d-2)).
- Labels. ``"regression"``: ``y = F*(xbar) + sigma xi`` with xi ~ N(0, 1);
  for the clipped squared (Huber) loss the conditional median/mean F* is the
  Bayes predictor, so ``OPT = E huber(sigma xi)``, a number
  (``huber_noise_opt``). ``"classification"``: ``y = sign(F*(xbar) - t)``
  (t the threshold given, default 0) flipped with probability ``flip``; OPT
  is estimated as the logistic loss of the best rescaling ``c F*`` of the
  target over a grid of c in [0, 1] (the class allows ``|b| <= 1``), an upper
  bound on the true OPT.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn._src import complexity as cx
from jaxrnn._src.inputs import normalize_sequence, random_true_sequence


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Concept:
  """A target of Def. 3.3 (a pytree; ``phis`` is static).

  - ``w``: (d_out, p, (L-2)(d-1)) unit vectors w_{r,s}.
  - ``b``: (d_out, p) output coefficients, |b| <= 1.
  - ``phis``: tuple over s of tuples over r of Phis, each a name or a
    tuple of polynomial coefficients (Phi(0) = 0).
  """

  w: jax.Array
  b: jax.Array
  phis: tuple = dataclasses.field(metadata=dict(static=True))

  @property
  def d_out(self) -> int:
    return self.w.shape[0]

  @property
  def p(self) -> int:
    return self.w.shape[1]


def _as_phi(phi):
  """A Phi as a static, hashable value: a known name or a tuple of floats."""
  if isinstance(phi, str):
    cx.phi_function(phi)  # raises on unknown names
    return phi
  return tuple(float(c) for c in cx._coefficients(phi))


def _is_single_phi(phis) -> bool:
  if isinstance(phis, str):
    return True
  arr = np.asarray(phis, dtype=object)
  return arr.ndim == 1 and all(isinstance(c, (int, float, np.floating, np.integer)) for c in arr)


def make_concept(
  w: jax.typing.ArrayLike,
  b: jax.typing.ArrayLike,
  phis: str | Sequence[float] | Sequence[Sequence[str | Sequence[float]]],
) -> Concept:
  """Builds and checks a ``Concept`` (Def. 3.3).

  **Arguments:** ``w`` (d_out, p, (L-2)(d-1)) with unit rows (tolerance
  1e-4); ``b`` (d_out, p) with ``|b| <= 1``; ``phis`` one Phi used
  everywhere (a name or a coefficient sequence) or a (d_out, p) nested
  sequence of them. Every Phi must have ``Phi(0) = 0``.

  **Returns:** ``Concept``. Raises ``ValueError`` naming the violated
  condition.
  """
  w = jnp.asarray(w)
  b = jnp.asarray(b, w.dtype)
  if w.ndim != 3:
    raise ValueError(f"w must have shape (d_out, p, (L-2)(d-1)), got {w.shape}")
  if b.shape != w.shape[:2]:
    raise ValueError(f"b must have shape {w.shape[:2]} (d_out, p), got {b.shape}")
  norms = np.linalg.norm(np.asarray(w, np.float64), axis=-1)
  if not np.allclose(norms, 1.0, atol=1e-4):
    raise ValueError(f"every w_(r,s) must be a unit vector (Def. 3.3); norms {norms.ravel()[:4]}")
  if np.any(np.abs(np.asarray(b)) > 1 + 1e-6):
    raise ValueError("Def. 3.3 needs |b_(r,s)| <= 1")
  if _is_single_phi(phis):
    one = _as_phi(phis)
    phis = tuple(tuple(one for _ in range(w.shape[1])) for _ in range(w.shape[0]))
  phis = tuple(tuple(_as_phi(p) for p in r) for r in phis)
  if len(phis) != w.shape[0] or any(len(r) != w.shape[1] for r in phis):
    raise ValueError(f"phis must be (d_out, p) = {w.shape[:2]} functions")
  for row in phis:
    for phi in row:
      val = float(cx.phi_function(phi)(jnp.asarray(0.0)))
      if val != 0.0:
        raise ValueError(f"Phi {phi!r} has Phi(0) = {val}, Def. 3.3 needs 0")
  return Concept(w, b, phis)


def random_concept(
  key: jax.Array,
  L: int,
  d: int,
  *,
  phi: str | Sequence[float] = "sin",
  p: int = 1,
  d_out: int = 1,
  b: jax.typing.ArrayLike | None = None,
  balanced: bool = False,
  dtype: jax.typing.DTypeLike = jnp.float32,
) -> Concept:
  """A random target of Def. 3.3 that mixes all L-2 tokens.

  ``w_{r,s}`` uniform on the unit sphere of the free token coordinates (the
  d-2 first entries of each of the L-2 tokens; zero on the constant entry),
  ``b`` all ones by default (so ``F* = Phi(<w, xbar>)`` for p = d_out = 1),
  else the given (d_out, p) array.

  ``balanced=True`` gives every true token the same weight: the block of
  ``w_{r,s}`` on token l is a uniform direction of norm ``1 / sqrt(L-2)``,
  so ``<w, xbar> = sum_l <w_l, xbar^(l)>`` is a sum of L-2 independent,
  identically distributed terms (each of variance ``3 / (4 (d-2) (L-2))``):
  a smooth function of a sum over all positions, with no position favoured.

  Example::

    >>> import jax
    >>> from jaxrnn.concept import random_concept
    >>> c = random_concept(jax.random.key(0), L=6, d=4, phi="pow:2")
    >>> c.w.shape, c.phis
    ((1, 1, 12), (('pow:2',),))
  """
  if L < 3:
    raise ValueError(f"L must be at least 3 (one true token), got {L}")
  if d < 3:
    raise ValueError(f"d must be at least 3, got {d}")
  g = jax.random.normal(key, (d_out, p, L - 2, d - 1), dtype)
  g = g.at[..., -1].set(0.0)
  if balanced:
    g = g / (jnp.linalg.norm(g, axis=-1, keepdims=True) * math.sqrt(L - 2))
  g = g.reshape(d_out, p, (L - 2) * (d - 1))
  w = g / jnp.linalg.norm(g, axis=-1, keepdims=True)
  if b is None:
    b = jnp.ones((d_out, p), dtype)
  return make_concept(w, b, phi)


def product_concept(
  key: jax.Array,
  L: int,
  d: int,
  *,
  positions: tuple[int, int] = (0, -1),
  coef: float = 1.0,
  dtype: jax.typing.DTypeLike = jnp.float32,
) -> Concept:
  """A product of two tokens as a member of Def. 3.3 (p = 2, Phi = z^2).

  With ``u``, ``v`` uniform unit directions on the free coordinates of the
  true tokens ``i, j = positions`` (indices into the L-2 true tokens,
  negative from the end, ``i != j``), ``a = <u, xbar^(i)>`` and
  ``b = <v, xbar^(j)>``, the polarization identity
  ``ab = ((a + b)^2 - (a - b)^2) / 4`` writes

      F*(xbar) = 2 coef a b = coef Phi(<w_1, xbar>) - coef Phi(<w_2, xbar>),

  ``Phi(z) = z^2``, ``w_1 = (u + v) / sqrt(2)``, ``w_2 = (u - v) / sqrt(2)``
  (unit, as u and v live on different tokens), ``b = (coef, -coef)``: Eq. (2)
  with p = 2, so ``|coef| <= 1``.

  **Why no token-wise function comes close.** The tokens of a true sequence
  are independent and their free coordinates are uniform on a sphere, so a
  and b are independent with mean 0 and variance ``3 / (4 (d-2))``. A
  token-wise (additive) function ``sum_l g_l(xbar^(l))`` is best approximated
  in L2 by the sum of the conditional means ``E[F* | xbar^(l)]``, and here
  ``E[F* | xbar^(i)] = 2 coef a E[b] = 0`` (likewise for j and every other
  token): the best token-wise approximation is the constant 0, and its
  squared error is all of ``Var F* = 4 coef^2 (3 / (4 (d-2)))^2
  = 9 coef^2 / (4 (d-2)^2)`` (0.5625 coef^2 at d = 4). ``tokenwise_gap``
  estimates this number for any target.

  **Arguments:** ``key``; ``L`` (>= 4: two true tokens), ``d`` (>= 3);
  ``positions`` the two true tokens; ``coef`` in [-1, 1]; ``dtype``.

  **Returns:** ``Concept`` with w (1, 2, (L-2)(d-1)), b (1, 2), phis pow:2.

  Example::

    >>> import jax
    >>> from jaxrnn.concept import product_concept, concept_value
    >>> c = product_concept(jax.random.key(0), L=6, d=4, coef=0.5)
    >>> c.w.shape, c.phis
    ((1, 2, 12), (('pow:2', 'pow:2'),))
  """
  if L < 4:
    raise ValueError(f"L must be at least 4 (two true tokens), got {L}")
  if d < 3:
    raise ValueError(f"d must be at least 3, got {d}")
  T = L - 2
  if len(positions) != 2:
    raise ValueError(f"positions must name two true tokens, got {positions!r}")
  i, j = (int(q) for q in positions)
  if not all(-T <= q < T for q in (i, j)):
    raise ValueError(
      f"positions must lie in [-{T}, {T}) (the L-2 = {T} true tokens), got {positions}"
    )
  i, j = i % T, j % T
  if i == j:
    raise ValueError(f"positions must name two different tokens, got {positions}")
  if not abs(coef) <= 1:
    raise ValueError(f"Def. 3.3 needs |coef| <= 1, got {coef}")
  g = jax.random.normal(key, (2, d - 2), dtype)
  g = g / jnp.linalg.norm(g, axis=1, keepdims=True)
  U = jnp.zeros((T, d - 1), dtype).at[i, : d - 2].set(g[0]).reshape(-1)
  V = jnp.zeros((T, d - 1), dtype).at[j, : d - 2].set(g[1]).reshape(-1)
  w = jnp.stack([U + V, U - V]) / math.sqrt(2.0)
  b = jnp.asarray([[coef, -coef]], dtype)
  return make_concept(w[None], b, "pow:2")


def concept_value(concept: Concept, xbar: jax.Array) -> jax.Array:
  """``F*(xbar)`` of Eq. (2) for one true sequence ``xbar`` (L-2, d-1).

  **Returns:** (d_out,). Cost O(d_out p L d).
  """
  z = jnp.einsum("spk,k->sp", concept.w, xbar.reshape(-1))
  cols = []
  for s, row in enumerate(concept.phis):
    terms = [concept.b[s, r] * cx.phi_function(phi)(z[s, r]) for r, phi in enumerate(row)]
    cols.append(sum(terms))
  return jnp.stack(cols)


def concept_dataset(
  key: jax.Array,
  concept: Concept,
  n: int,
  L: int,
  d: int,
  eps_x: float | jax.Array,
  *,
  task: str = "regression",
  noise: float = 0.0,
  flip: float = 0.0,
  threshold: float = 0.0,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
  """``n`` i.i.d. samples: true tokens, normalized inputs, labels.

  **Arguments:** ``concept`` from ``random_concept``/``make_concept``; ``L``
  the normalized length (L-2 true tokens); ``eps_x`` of Def. 3.1; ``task``
  "regression" (``y = F* + noise * N(0,1)``) or "classification"
  (``y = sign(F* - threshold)`` in {-1, +1}, each label flipped with
  probability ``flip``).

  **Returns:** ``(xs, ys, fstar, xbars)``: xs (n, L, d) normalized inputs,
  ys (n, d_out) labels, fstar (n, d_out) clean targets F*(xbar), xbars
  (n, L-2, d-1). Jit/vmap-safe in ``key``.
  """
  if task not in ("regression", "classification"):
    raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
  if not (noise >= 0):
    raise ValueError(f"noise must be >= 0, got {noise}")
  if not (0 <= flip < 0.5):
    raise ValueError(f"flip must lie in [0, 1/2), got {flip}")
  if concept.w.shape[-1] != (L - 2) * (d - 1):
    raise ValueError(
      f"concept has weight length {concept.w.shape[-1]}, expected (L-2)(d-1) = {(L - 2) * (d - 1)}"
    )
  kx, ky = jax.random.split(key)
  dtype = concept.w.dtype
  xbars = jax.vmap(lambda k: random_true_sequence(k, L - 2, d, dtype))(jax.random.split(kx, n))
  xs = jax.vmap(lambda xb: normalize_sequence(xb, eps_x))(xbars)
  fstar = jax.vmap(lambda xb: concept_value(concept, xb))(xbars)
  if task == "regression":
    ys = fstar + noise * jax.random.normal(ky, fstar.shape, dtype)
  else:
    ys = jnp.where(fstar >= threshold, 1.0, -1.0).astype(dtype)
    ys = jnp.where(jax.random.uniform(ky, fstar.shape) < flip, -ys, ys)
  return xs, ys, fstar, xbars


class TokenwiseGap(NamedTuple):
  """What ``tokenwise_gap`` returns; every field (d_out,).

  - ``variance``: Var F*.
  - ``additive_variance``: sum_l Var E[F* | xbar^(l)], the part of the
    variance a token-wise (additive) function can carry.
  - ``gap``: ``variance - additive_variance``, the least squared L2 error of
    any token-wise function: ``min_g E (F* - sum_l g_l(xbar^(l)))^2``.
  - ``gap_se``: the Monte Carlo standard error of ``gap``.
  """

  variance: jax.Array
  additive_variance: jax.Array
  gap: jax.Array
  gap_se: jax.Array


@functools.partial(jax.jit, static_argnames=("L", "d", "n"))
def tokenwise_gap(key: jax.Array, concept: Concept, L: int, d: int, *, n: int = 20000):
  """How far the token-wise class of Allen-Zhu & Li [37] is from a target.

  The token-wise class holds sums over positions of functions of one token,
  ``g(xbar) = sum_l g_l(xbar^(l))``. The true tokens are independent, so
  the L2-best such function is the first-order ANOVA (Hoeffding) projection
  ``E F* + sum_l (E[F* | xbar^(l)] - E F*)``, its components are orthogonal,
  and

      min_g E (F* - g)^2 = Var F* - sum_l Var E[F* | xbar^(l)]   (= ``gap``),

  the variance carried by interactions between tokens. ``gap = 0`` for a
  token-wise target (e.g. ``pow:1``, linear); ``gap = Var F*`` for
  ``product_concept``.

  Estimator (Saltelli's pick-freeze, unbiased): with independent true
  sequences x, x' and ``y^l`` equal to x' except for token l taken from x,
  ``Var E[F* | xbar^(l)] = E[F(x) (F(y^l) - F(x'))]``. Over n draws the
  per-draw terms ``(F(x) - mean)^2 n / (n-1) - sum_l F(x)(F(y^l) - F(x'))``
  average to ``gap``; ``gap_se`` is their standard deviation / sqrt(n).

  **Arguments:** ``key``; ``concept`` of Def. 3.3; ``L`` (L-2 true tokens),
  ``d``; ``n`` draws (static).

  **Returns:** ``TokenwiseGap`` of (d_out,) arrays. Cost: (L-2) + 2 batches
  of n target evaluations, O(n L (L d + p)).

  Example::

    >>> import jax
    >>> from jaxrnn.concept import product_concept, tokenwise_gap
    >>> c = product_concept(jax.random.key(0), L=5, d=4)
    >>> g = tokenwise_gap(jax.random.key(1), c, 5, 4, n=40000)
    >>> round(float(g.gap[0]), 1), round(float(g.variance[0]), 1)   # 9/16 each
    (0.6, 0.6)
  """
  if concept.w.shape[-1] != (L - 2) * (d - 1):
    raise ValueError(
      f"concept has weight length {concept.w.shape[-1]}, expected (L-2)(d-1) = {(L - 2) * (d - 1)}"
    )
  if n < 2:
    raise ValueError(f"n must be at least 2, got {n}")
  T = L - 2
  dtype = concept.w.dtype
  ka, kb = jax.random.split(key)
  draw = jax.vmap(lambda k: random_true_sequence(k, T, d, dtype))
  xa, xb = draw(jax.random.split(ka, n)), draw(jax.random.split(kb, n))
  value = jax.vmap(lambda xbar: concept_value(concept, xbar))
  fa, fb = value(xa), value(xb)  # (n, d_out)
  fl = jax.vmap(lambda l: value(xb.at[:, l].set(xa[:, l])))(jnp.arange(T))  # (T, n, d_out)
  centred = (fa - jnp.mean(fa, axis=0, keepdims=True)) ** 2 * (n / (n - 1))
  first_order = jnp.sum(fa[None] * (fl - fb[None]), axis=0)  # (n, d_out)
  terms = centred - first_order
  return TokenwiseGap(
    variance=jnp.mean(centred, axis=0),
    additive_variance=jnp.mean(first_order, axis=0),
    gap=jnp.mean(terms, axis=0),
    gap_se=jnp.std(terms, axis=0) / math.sqrt(n),
  )


def huber_noise_opt(noise: float, n_grid: int = 20001) -> float:
  """``E huber(sigma xi)``, xi ~ N(0, 1), with the Huber (clipped squared)
  loss of threshold 1: OPT for regression labels ``F* + sigma xi``.

  Closed form: for |r| <= 1 the loss is r^2/2, else |r| - 1/2; computed by
  quadrature on a fine grid (error < 1e-8).
  """
  if noise < 0:
    raise ValueError(f"noise must be >= 0, got {noise}")
  if noise == 0:
    return 0.0
  r = np.linspace(-12 * noise, 12 * noise, n_grid)
  dens = np.exp(-0.5 * (r / noise) ** 2) / (noise * math.sqrt(2 * math.pi))
  loss = np.where(np.abs(r) <= 1, 0.5 * r * r, np.abs(r) - 0.5)
  return float(np.trapezoid(loss * dens, r))


def estimate_opt(fstar: jax.Array, ys: jax.Array, loss: str) -> float:
  """An estimate of OPT from clean targets and labels on a large sample.

  ``"clipped_squared"``/``"squared"``: mean loss of F* itself. ``"logistic"``:
  min over c in [0, 1] (51-point grid) of the mean logistic loss of ``c F*``
  (functions of the class with |b| <= 1); an upper bound on OPT.
  """
  from jaxrnn._src.training import get_loss

  G = jax.vmap(get_loss(loss))
  f, y = jnp.asarray(fstar), jnp.asarray(ys)
  if loss == "logistic":
    vals = [float(jnp.mean(G(c * f, y))) for c in np.linspace(0, 1, 51)]
    return min(vals)
  return float(jnp.mean(G(f, y)))
