"""Def. 2.1 complexities against values computed by hand."""

import math

import numpy as np
import pytest

import jaxrnn
from jaxrnn import concept as cx


def test_monomial_by_hand():
  # phi = z^2, C* = 1, R = 1: C_eps = 1 + (sqrt(log(1/eps))/sqrt(2))^2
  # = 1 + log(1/eps)/2 and C_s = (2+1)^1.75.
  eps = 0.1
  assert cx.complexity_eps("pow:2", 1.0, eps, C_star=1.0) == pytest.approx(1 + math.log(10) / 2)
  assert cx.complexity_s("pow:2", 1.0, C_star=1.0) == pytest.approx(3**1.75)
  # R and C* enter as (C* R)^i: z^3 at C* R = 2
  want = 2**3 + (math.sqrt(math.log(10)) / math.sqrt(3) * 2) ** 3
  assert cx.complexity_eps("pow:3", 2.0, eps, C_star=1.0) == pytest.approx(want)


def test_i0_convention_polynomial():
  # phi = 1 + z (coefficient array): i = 0 term is 2|c_0| by the documented
  # convention, i = 1 term is C*R + sqrt(log(1/eps)) C*R.
  eps = 0.05
  want = 2 + 1 + math.sqrt(math.log(1 / eps))
  assert cx.complexity_eps([1.0, 1.0], 1.0, eps, C_star=1.0) == pytest.approx(want)
  assert cx.complexity_s([1.0, 1.0], 1.0, C_star=1.0) == pytest.approx(1 + 2**1.75)


def test_sin_series_matches_direct_sum():
  eps, R = 0.1, 1.3
  s = math.sqrt(math.log(1 / eps))
  want_eps = sum((R**i + (s / math.sqrt(i) * R) ** i) / math.factorial(i) for i in range(1, 60, 2))
  want_s = sum((i + 1) ** 1.75 * R**i / math.factorial(i) for i in range(1, 60, 2))
  assert cx.complexity_eps("sin", R, eps, C_star=1.0) == pytest.approx(want_eps, rel=1e-10)
  assert cx.complexity_s("sin", R, C_star=1.0) == pytest.approx(want_s, rel=1e-10)


def test_paper_constant_overflows_to_log():
  # sum over odd i of (1e4)^i / i! = sinh(1e4): log = 1e4 - log 2 (+ a
  # second-term contribution below 1e-300 relative).
  assert cx.log10_complexity_eps("sin", 1.0, 0.1) == pytest.approx(
    (1e4 - math.log(2)) / math.log(10), abs=1e-6
  )
  assert cx.complexity_eps("sin", 1.0, 0.1) == math.inf
  # C_s(sin, R) = C* sum (i+1)^1.75 R^i / i! stays moderate
  assert math.isfinite(cx.complexity_s("sin", 1.0))


def test_complexity_grows_with_frequency_and_degree():
  a = [cx.log10_complexity_eps(f"sin:{k}", 1.0, 0.1) for k in (1, 2, 4)]
  b = [cx.log10_complexity_eps(f"pow:{k}", 1.0, 0.1) for k in (1, 2, 3)]
  assert a[0] < a[1] < a[2] and b[0] < b[1] < b[2]


def test_taylor_coefficients():
  np.testing.assert_allclose(cx.taylor_coefficients("sin", 6), [0, 1, 0, -1 / 6, 0, 1 / 120])
  np.testing.assert_allclose(cx.taylor_coefficients("cos1:2", 5), [0, 0, 2, 0, -16 / 24])
  np.testing.assert_allclose(cx.taylor_coefficients("exp1", 4), [0, 1, 0.5, 1 / 6])


def test_bad_inputs():
  with pytest.raises(ValueError, match="unknown phi"):
    cx.log10_complexity_eps("tan", 1.0, 0.1)
  with pytest.raises(ValueError, match="eps must lie"):
    cx.log10_complexity_eps("sin", 1.0, 1.5)
  with pytest.raises(ValueError, match="R must be positive"):
    cx.log10_complexity_s("sin", -1.0)
  with pytest.raises(ValueError, match="integer degree"):
    jaxrnn.concept.phi_function("pow:1.5")


def test_polynomial_coefficients_and_concepts_share_the_max_rule():
  # A coefficient sequence is a polynomial: (0, 2, -1) is 2z - z^2.
  by_hand = 1.0 * (2 * 2**1.75 + 1 * 3**1.75)  # C* = 1, R = 1
  assert cx.complexity_s((0.0, 2.0, -1.0), 1.0, C_star=1.0) == pytest.approx(by_hand)
  # A Concept stands for the set of its Phi's: the max over them (Def. 3.3).
  import jax.numpy as jnp

  w = jnp.ones((1, 2, 4)) / 2.0
  c = cx.make_concept(w, jnp.ones((1, 2)), (("pow:2", "sin:3"),))
  want = max(cx.log10_complexity_s("pow:2", 2.0), cx.log10_complexity_s("sin:3", 2.0))
  assert cx.log10_complexity_s(c, 2.0) == want
