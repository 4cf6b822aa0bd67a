"""Sec. 5 constructions and the additive class, checked exhaustively against
counting references and brute force (no DFA, no jaxrnn code as yardstick)."""

import itertools
import math

import numpy as np
import pytest

from jaxrnn import languages as E
from jaxrnn.concept import log10_complexity_s, phi_function


def _strings(n):
  return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.int32)


def _contains(rows, pattern):
  p = "".join(pattern)
  return np.array(["".join(map(str, r)).find(p) >= 0 for r in rows])


REF = {"one_one": lambda rows: rows.sum(1) == 1, "parity": lambda rows: rows.sum(1) % 2 == 1}


@pytest.mark.parametrize("name", ["one_one", "parity"])
@pytest.mark.slow
def test_count_constructions_exact_up_to_length_14(name):
  for n in range(1, 15):
    rows = _strings(n)
    got = E.classify(E.concept_member(name, n), rows)
    assert np.array_equal(got, REF[name](rows)), (name, n)


@pytest.mark.parametrize("pattern", ["1", "101", "0110", "00000"])
@pytest.mark.slow
def test_pattern_construction_exact_up_to_length_14(pattern):
  for n in range(len(pattern), 15):
    rows = _strings(n)
    got = E.classify(E.contains_member(n, pattern), rows)
    assert np.array_equal(got, _contains(rows, pattern)), (pattern, n)


@pytest.mark.parametrize("name", ["one_one", "parity", "contains:0110"])
def test_members_satisfy_def_3_3(name):
  c = E.concept_member(name, 9).concept
  w = np.asarray(c.w, np.float64)[0]
  np.testing.assert_allclose(np.linalg.norm(w, axis=1), 1.0, rtol=1e-6)
  assert np.all(np.abs(np.asarray(c.b)) <= 1)
  import jax.numpy as jnp

  for phi in c.phis[0]:
    assert abs(float(phi_function(phi)(jnp.zeros(())))) < 1e-12  # Phi(0) = 0


def _pattern_power(n, q):
  """The smallest P with (n - q + 1)((1 - 1/q)^P + 2^-P) < 1/2, from the
  construction's margin condition, by direct search (independent of the
  library's own pattern_power)."""
  return next(P for P in range(1, 10_000) if (n - q + 1) * ((1 - 1 / q) ** P + 2.0**-P) < 0.5)


def _cs_reference(coeffs, R, C=1e4):
  """Def. 2.1 written out: C* sum_i (i+1)^1.75 R^i |c_i|."""
  return C * sum((i + 1) ** 1.75 * R**i * abs(c) for i, c in enumerate(coeffs))


def test_complexity_of_constructions_against_series():
  for n in (1, 4, 10):
    g = 2 * math.sqrt(n / 3)
    want = _cs_reference([0, 2 * g, -g * g], 1.0)
    assert abs(log10_complexity_s(E.one_one_member(n).concept, 1.0) - math.log10(want)) < 1e-9
    # Phi = 1 - cos(a z) (b = 1/2 is not part of Phi): |c_{2j}| = a^{2j} / (2j)!
    a = math.pi * g
    par = [0.0] * 120
    for j in range(1, 60):
      par[2 * j] = a ** (2 * j) / math.factorial(2 * j)
    assert (
      abs(log10_complexity_s(E.parity_member(n).concept, 1.0) - math.log10(_cs_reference(par, 1.0)))
      < 1e-6
    )
  # Pattern: ((1 + z/zm)/2)^P - 2^-P expanded by the binomial theorem.
  n, q = 12, 4
  P = _pattern_power(n, q)
  zm = math.sqrt(3 * q) / 2
  coeffs = [0.0] + [math.comb(P, i) / 2**P / zm**i for i in range(1, P + 1)]
  got = log10_complexity_s(E.contains_member(n, "0110").concept, 1.0)
  assert abs(got - math.log10(_cs_reference(coeffs, 1.0))) < 1e-9


def test_complexity_growth_with_length():
  ns = [4, 16, 64, 256]
  dl1 = [log10_complexity_s(E.one_one_member(n).concept, 1.0) for n in ns]
  par = [log10_complexity_s(E.parity_member(n).concept, 1.0) for n in ns]
  pat = [log10_complexity_s(E.contains_member(n, "0110").concept, 1.0) for n in ns]
  # D_L1: gamma^2 ~ n dominates, so x4 in n gives at most x4 in C_s (+slack).
  assert all(b - a <= math.log10(4.0) + 0.01 for a, b in zip(dl1, dl1[1:]))
  # PARITY: log C_s ~ pi gamma log10(e) ~ 1.57 sqrt(n): doubling sqrt(n)
  # adds far more than a polynomial would (at n = 64 -> 256 about +12 decades).
  assert par[-1] - par[-2] > 10
  # Pattern: bounded by C* (P + 1)^1.75 with P = O(log n).
  P = _pattern_power(256, 4)
  assert pat[-1] <= 4 + 1.75 * math.log10(P + 1)


def _brute_force_threshold_accuracy(n, labels, wmax):
  """Max accuracy over all threshold functions with integer weights in
  [-wmax, wmax] and half-integer thresholds (covers every threshold function
  of n <= 4 variables, Muroga's bound)."""
  rows = _strings(n)
  best = 0.0
  for a in itertools.product(range(-wmax, wmax + 1), repeat=n):
    s = rows @ np.array(a)
    for t in np.arange(-n * wmax - 0.5, n * wmax + 1.0, 1.0):
      best = max(best, np.mean((s > t) == labels), np.mean((s < t) == labels))
  return best


def test_additive_optimum_on_one_one():
  assert E.additive_best_accuracy("one_one", 1).accuracy == 1.0
  for n in range(2, 8):
    r = E.additive_best_accuracy("one_one", n)
    # Closed form: "at most one 1" errs only on 00...0; nothing does better.
    assert r.exact and abs(r.accuracy - (1 - 2.0**-n)) < 1e-12, n
    assert r.accuracy < 1.0
  for n in (3, 4):
    labels = _strings(n).sum(1) == 1
    bf = _brute_force_threshold_accuracy(n, labels, 3)
    assert abs(E.additive_best_accuracy("one_one", n).accuracy - bf) < 1e-12


def test_additive_optimum_brute_force_other_languages():
  for name, ref in [
    ("parity", lambda r: r.sum(1) % 2 == 1),
    ("tomita1", lambda r: r.sum(1) == r.shape[1]),
  ]:
    labels = ref(_strings(4))
    bf = _brute_force_threshold_accuracy(4, labels, 3)
    assert abs(E.additive_best_accuracy(name, 4).accuracy - bf) < 1e-12, name


def test_additive_sup_error():
  assert E.additive_best_sup_error("one_one", 1) < 1e-9
  for n in range(2, 7):
    assert abs(E.additive_best_sup_error("one_one", n) - 0.5) < 1e-7


def test_member_errors():
  with pytest.raises(ValueError, match="tomita3"):
    E.concept_member("tomita3", 5)
  with pytest.raises(ValueError):
    E.contains_member(3, "0110")
  with pytest.raises(ValueError):
    E.one_one_member(0)


def test_pattern_power_matches_the_margin_condition():
  for n, q in ((4, 2), (12, 4), (64, 3), (256, 4)):
    assert E.pattern_power(n, q) == _pattern_power(n, q)
