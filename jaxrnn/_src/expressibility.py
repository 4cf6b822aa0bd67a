"""Sec. 5 made concrete: regular languages as members of the concept class
(Def. 3.3), their complexity (Def. 2.1), and the token-wise additive class.

**Setting.** Strings z in {0, 1}^n are the true sequences of Def. 3.1 with
d - 1 = 2: bit b is the token ``xbar(b) = ((2b-1) sqrt(3)/2, 1/2)`` on the
unit circle with last entry 1/2 (``jaxrnn.languages.bit_tokens(3)``), and a
concept-class member is

    F(xbar) = sum_r b_r Phi_r(<w_r, [xbar^(1), ..., xbar^(n)]>)        (Eq. 2)

with unit vectors w_r in R^{2n}, |b_r| <= 1 and Phi_r(0) = 0; it classifies
a string as a member iff ``F > threshold``. Every construction here is
exact on all of {0, 1}^n (checked in the tests up to n = 14).

**The count of ones.** With ``w = (1/(2 sqrt(n))) (1, sqrt(3), 1, sqrt(3),
...)`` one gets ``<w, xbar> = sqrt(3) k / (2 sqrt(n))`` with k the number of
1s (the -sqrt(3)/2 and 1/2 parts cancel for 0s), so ``k = gamma z`` with
``gamma = 2 sqrt(n / 3)``. This is the single neuron "that calculates the
number of 1s" of Sec. 5.

- **D_L1** (``one_one_member``): ``Phi(z) = 2 gamma z - gamma^2 z^2 = k (2 -
  k)``: 1 at k = 1, 0 at k in {0, 2}, negative for k >= 3; threshold 1/2. One
  neuron, quadratic activation, ``C_s(Phi, R) = C* (2^1.75 2 gamma R +
  3^1.75 gamma^2 R^2) = O(n R^2)``: polynomial in L.
- **PARITY** (``parity_member``): ``Phi(z) = 1 - cos(pi gamma z) = 1 -
  cos(pi k)`` and ``b = 1/2``, so F is 1 for odd k and 0 for even k;
  threshold 1/2. Its Taylor series has ``|c_{2j}| = (pi gamma)^{2j} /
  (2j)!``, so ``C_s(Phi, R) ~ C* exp(pi gamma R) poly``:
  a *cosine* as the paper says, but with frequency ``pi gamma ~ 3.6
  sqrt(n)`` forced by the unit-norm w of Def. 3.3 (consecutive counts are
  only ``1/gamma`` apart in z). At fixed R the complexity therefore grows
  like ``exp(3.6 sqrt(n) R)`` -- super-polynomially in L. The paper's
  "C_s(cos, R) = O(1)" (after Def. 2.1) is for unit frequency.
- **Pattern matching** (``contains_member``, pattern p of length q): one
  neuron per window position j = 1 ... n - q + 1, ``w_j`` puts ``(s_i /
  sqrt(q), 0)`` on token j + i - 1 with ``s_i = 2 p_i - 1``, so ``z_j =
  z_max (1 - 2 mismatches_j / q)`` with ``z_max = sqrt(3 q) / 2``, and
  ``Phi(z) = u^P - 2^{-P}`` with ``u = (1 + z / z_max) / 2 = 1 -
  mismatches / q`` in [0, 1]. A matching window gives ``1 - 2^{-P}``, a
  non-matching one at most ``(1 - 1/q)^P``; P is the smallest integer with
  ``(n - q + 1) ((1 - 1/q)^P + 2^{-P}) < 1/2``, so ``F > 1/2`` iff the
  pattern occurs. ``P = O(q log n)`` and, for R <= z_max, ``C_s(Phi, R)
  <= C* (P + 1)^1.75 ((1 + R / z_max) / 2)^P <= C* (P + 1)^{1.75}``:
  polynomial in log L.

**The token-wise additive class** (Allen-Zhu & Li [37]; the paper's Thm.
H.1): ``F(z) = sum_l f_l(z_l)``, any function of one token per position.
Over bits, ``f_l(z_l) = f_l(0) + (f_l(1) - f_l(0)) z_l``, so the class is
exactly the affine functions ``c + a . z``, and as classifiers the linear
threshold functions. ``additive_best_accuracy`` computes the best fraction
of strings of length n that such a classifier labels correctly, exactly, as
a mixed-integer linear program over all 2^n strings (scipy's HiGHS ``milp``;
a big-M constraint per string with Muroga's bound on integer weights, so
the optimum is over *all* threshold functions). For D_L1 it is ``1 -
2^{-n}`` for n >= 2: "at most one 1" (``sum z <= 1``) is a threshold
function and errs only on the all-zero string, while no threshold function
is exactly D_L1 (XOR sits inside at n = 2). ``additive_best_sup_error``
gives the representation gap of Thm. H.1 as a plain LP: the best uniform
error ``min max_z |c + a . z - D_L1(z)|`` = 1/2 for every n >= 2.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import optimize, special

from jaxrnn._src import languages as _languages
from jaxrnn._src.concept import Concept, concept_value, make_concept


class LanguageConcept(NamedTuple):
  """A member of the concept class (Def. 3.3) that decides a language on
  strings of length n.

  - ``concept``: the ``jaxrnn.concept.Concept`` (d_out = 1, w of shape
    (1, p, 2n), token-major: entries 2l, 2l+1 act on token l).
  - ``threshold``: a string is classified as a member iff F > threshold.
  - ``description``: the construction in words.
  """

  concept: Concept
  threshold: float
  description: str


def true_sequence(
  bits: jax.typing.ArrayLike, dtype: jax.typing.DTypeLike = jnp.float32
) -> jax.Array:
  """(n,) bits -> the true sequence (n, 2) with ``xbar(b) = ((2b-1)
  sqrt(3)/2, 1/2)`` per token (Def. 3.1 with d - 1 = 2)."""
  bits = jnp.asarray(bits, jnp.int32)
  return _languages.bit_tokens(3, dtype)[bits]


def evaluate(member: LanguageConcept, bits: jax.typing.ArrayLike) -> jax.Array:
  """``F(xbar)`` of Eq. (2) for a batch of strings ``bits`` (N, n) -> (N,).
  Jit-able in ``bits``; O(N p n)."""
  bits = jnp.asarray(bits, jnp.int32)
  w = member.concept.w
  if bits.ndim != 2 or 2 * bits.shape[1] != w.shape[-1]:
    raise ValueError(f"bits must have shape (N, {w.shape[-1] // 2}), got {bits.shape}")
  xbar = jax.vmap(lambda s: true_sequence(s, w.dtype))(bits)  # (N, n, 2)
  return jax.vmap(lambda xb: concept_value(member.concept, xb))(xbar)[:, 0]


def classify(member: LanguageConcept, bits: jax.typing.ArrayLike) -> np.ndarray:
  """(N,) bool: ``evaluate(member, bits) > member.threshold``."""
  return np.asarray(evaluate(member, bits) > member.threshold)


def _member(w, b, phi, threshold, description) -> LanguageConcept:
  dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
  w = jnp.asarray(np.asarray(w, np.float64)[None], dtype)
  b = jnp.asarray(np.asarray(b, np.float64)[None], dtype)
  return LanguageConcept(make_concept(w, b, phi), float(threshold), description)


def count_direction(n: int) -> np.ndarray:
  """The unit vector w in R^{2n} with ``<w, xbar> = sqrt(3) k / (2 sqrt(n))``,
  k the number of 1s."""
  _check_n(n)
  w = np.tile([1.0, math.sqrt(3.0)], n) / (2.0 * math.sqrt(n))
  return w


def _check_n(n):
  if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
    raise ValueError(f"n (string length) must be a positive int, got {n!r}")


def one_one_member(n: int) -> LanguageConcept:
  """D_L1 with one neuron of quadratic activation on the count of ones:
  ``Phi(z) = 2 gamma z - gamma^2 z^2``, ``gamma = 2 sqrt(n/3)`` (so
  ``Phi = k (2 - k)``), threshold 1/2.

  Example::

    >>> from jaxrnn.languages import one_one_member, classify
    >>> classify(one_one_member(3), [[0, 1, 0], [1, 1, 0], [0, 0, 0]]).tolist()
    [True, False, False]
  """
  _check_n(n)
  g = 2.0 * math.sqrt(n / 3.0)
  return _member(
    count_direction(n)[None, :],
    np.ones(1),
    (0.0, 2.0 * g, -g * g),
    0.5,
    "one neuron, Phi(z) = k(2-k) with k = gamma z the count of 1s",
  )


def parity_member(n: int) -> LanguageConcept:
  """PARITY with a cosine of the count of ones: ``Phi(z) = 1 - cos(pi gamma
  z)`` (``"cos1:pi*gamma"``) with ``b = 1/2``, threshold 1/2."""
  _check_n(n)
  g = 2.0 * math.sqrt(n / 3.0)
  return _member(
    count_direction(n)[None, :],
    np.array([0.5]),
    f"cos1:{math.pi * g!r}",
    0.5,
    "one neuron, Phi(z) = (1 - cos(pi k))/2 with k the count of 1s",
  )


def pattern_power(n: int, q: int) -> int:
  """The smallest P with ``(n - q + 1) ((1 - 1/q)^P + 2^{-P}) < 1/2``."""
  windows = n - q + 1
  P = 1
  while windows * ((1.0 - 1.0 / q) ** P + 2.0 ** (-P)) >= 0.5:
    P += 1
  return P


def contains_member(n: int, pattern: str) -> LanguageConcept:
  """Pattern matching ("contains ``pattern``") with one neuron per window:
  ``z_j`` measures the agreement of window j with the pattern and ``Phi(z) =
  ((1 + z/z_max)/2)^P - 2^{-P}`` is 1 - 2^{-P} on a full match and at most
  (1 - 1/q)^P otherwise; threshold 1/2. Needs ``1 <= len(pattern) <= n``."""
  _check_n(n)
  pattern = _languages._as_pattern(pattern)
  q = len(pattern)
  if not 1 <= q <= n:
    raise ValueError(f"pattern length must be in [1, n={n}], got {q}")
  s = np.array([2.0 * int(c) - 1.0 for c in pattern])
  windows = n - q + 1
  w = np.zeros((windows, 2 * n))
  for j in range(windows):
    w[j, 2 * j : 2 * (j + q) : 2] = s / math.sqrt(q)
  P = pattern_power(n, q)
  z_max = math.sqrt(3.0 * q) / 2.0
  i = np.arange(P + 1)
  coeffs = special.comb(P, i) * 2.0 ** (-P) / z_max**i  # ((1 + z/z_max)/2)^P
  coeffs[0] = 0.0  # minus 2^{-P}
  return _member(
    w,
    np.ones(windows),
    tuple(coeffs),
    0.5,
    f"{windows} window neurons, Phi(z) = ((1+z/z_max)/2)^{P} - 2^-{P}",
  )


def concept_member(name: str, n: int) -> LanguageConcept:
  """The construction for ``"one_one"``, ``"parity"`` or ``"contains:<p>"``
  on strings of length n. Its complexity (Def. 2.1) is
  ``jaxrnn.concept.log10_complexity_s(member.concept, R)``."""
  if name == "one_one":
    return one_one_member(n)
  if name == "parity":
    return parity_member(n)
  if isinstance(name, str) and name.startswith("contains:"):
    return contains_member(n, name[len("contains:") :])
  raise ValueError(
    f"no concept-class construction for language {name!r} "
    "(available: one_one, parity, contains:<pattern>)"
  )


# --------------------------------------------------------------------------
# The token-wise additive class


def _muroga_bound(n: int) -> float:
  """Every threshold function of n variables has an integer realization with
  weights at most (n+1)^{(n+1)/2} / 2^n (Muroga 1971)."""
  return (n + 1) ** ((n + 1) / 2.0) / 2.0**n


class AdditiveOptimum(NamedTuple):
  """Result of ``additive_best_accuracy``: ``accuracy`` (best fraction, or
  class-balanced accuracy), ``a`` (n,) and ``c`` of an optimal ``c + a . z``,
  ``errors`` (bool per string, in ``all_strings(n)`` order), ``exact``
  (False if the solver stopped at its time limit)."""

  accuracy: float
  a: np.ndarray
  c: float
  errors: np.ndarray
  exact: bool


def additive_best_accuracy(
  name: str, n: int, *, balanced: bool = False, time_limit: float = 60.0
) -> AdditiveOptimum:
  """Best accuracy of the token-wise additive class on the language ``name``
  over all 2^n strings of length n, exactly (mixed-integer LP).

  Variables: ``a`` (n), ``c``, and a binary ``e_s`` per string (1 = may be
  misclassified). Constraints ``c + a . z_s >= 1 - M e_s`` for members and
  ``c + a . z_s <= -1 + M e_s`` for non-members, ``|a_i|, |c| <= U`` with
  U from Muroga's integer-weight bound (any threshold function can be
  written with margin 1 within these bounds) and ``M = U (n + 1) + 1``;
  minimize the (class-weighted if ``balanced``) number of errors.

  **Returns:** ``AdditiveOptimum``. Cost: HiGHS branch and bound on 2^n
  binaries (n <= 8 takes well under a second for D_L1).
  """
  _check_n(n)
  strings = _languages.all_strings(n).astype(np.float64)
  labels = np.asarray(_languages.batch_accepts(name, strings.astype(np.int32)))
  N = strings.shape[0]
  w_max = _muroga_bound(n)
  U = 2.0 * n * w_max + 1.0
  M = U * (n + 1) + 1.0
  if balanced:
    n_pos, n_neg = labels.sum(), (~labels).sum()
    cost = np.where(labels, 0.5 / max(n_pos, 1), 0.5 / max(n_neg, 1))
  else:
    cost = np.full(N, 1.0 / N)
  # x = [a (n), c, e (N)]
  obj = np.concatenate([np.zeros(n + 1), cost])
  sign = np.where(labels, 1.0, -1.0)[:, None]
  A = np.concatenate([sign * strings, sign, M * np.eye(N)], axis=1)
  cons = optimize.LinearConstraint(A, lb=np.ones(N), ub=np.full(N, np.inf))
  integrality = np.concatenate([np.zeros(n + 1), np.ones(N)])
  bounds = optimize.Bounds(
    np.concatenate([np.full(n + 1, -U), np.zeros(N)]),
    np.concatenate([np.full(n + 1, U), np.ones(N)]),
  )
  res = optimize.milp(
    obj,
    constraints=cons,
    integrality=integrality,
    bounds=bounds,
    options={"time_limit": time_limit},
  )
  if res.x is None:
    raise RuntimeError(f"milp failed for {name!r}, n={n}: {res.message}")
  a, c = res.x[:n], res.x[n]
  pred = strings @ a + c > 0
  errors = pred != labels
  if balanced:
    acc = 1.0 - float(np.sum(cost * errors))
  else:
    acc = 1.0 - float(errors.mean())
  return AdditiveOptimum(acc, a, float(c), errors, bool(res.status == 0))


def additive_best_sup_error(name: str, n: int) -> float:
  """``min_{a, c} max_z |c + a . z - 1[z in language]|`` over all strings of
  length n: the best uniform approximation of the 0/1 label by the additive
  class, a linear program (``scipy.optimize.linprog``). Zero iff the label
  function is itself additive; 1/2 means no additive function separates the
  classes with margin (Thm. H.1's non-representability for D_L1)."""
  _check_n(n)
  strings = _languages.all_strings(n).astype(np.float64)
  y = np.asarray(_languages.batch_accepts(name, strings.astype(np.int32))).astype(np.float64)
  N = strings.shape[0]
  ones = np.ones((N, 1))
  # x = [a (n), c, t]; minimize t s.t. +-(X a + c - y) <= t.
  A = np.concatenate(
    [
      np.concatenate([strings, ones, -ones], axis=1),
      np.concatenate([-strings, -ones, -ones], axis=1),
    ]
  )
  b = np.concatenate([y, -y])
  obj = np.zeros(n + 2)
  obj[-1] = 1.0
  res = optimize.linprog(
    obj, A_ub=A, b_ub=b, bounds=[(None, None)] * (n + 1) + [(0, None)], method="highs"
  )
  if res.status != 0:
    raise RuntimeError(f"linprog failed for {name!r}, n={n}: {res.message}")
  return float(res.fun)
