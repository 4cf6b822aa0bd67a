"""Def. 3.3 targets, data sets and OPT."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn


def test_concept_value_matches_numpy_eq2():
  k = jax.random.split(jax.random.key(0), 3)
  L, d, p = 5, 4, 2
  w = np.asarray(jax.random.normal(k[0], (1, p, (L - 2) * (d - 1))), np.float64)
  w /= np.linalg.norm(w, axis=-1, keepdims=True)
  b = np.array([[0.5, -1.0]])
  c = jaxrnn.concept.make_concept(jnp.asarray(w, jnp.float32), b, (("sin:2", "pow:2"),))
  xbar = jaxrnn.random_true_sequence(k[1], L - 2, d)
  z = w[0] @ np.asarray(xbar, np.float64).reshape(-1)
  want = 0.5 * math.sin(2 * z[0]) - 1.0 * z[1] ** 2
  assert float(jaxrnn.concept.concept_value(c, xbar)[0]) == pytest.approx(want, rel=1e-5)


def test_dataset_shapes_normalization_and_noise_opt():
  c = jaxrnn.concept.random_concept(jax.random.key(1), 6, 4, phi="pow:1")
  xs, ys, f, xb = jaxrnn.concept.concept_dataset(jax.random.key(2), c, 4000, 6, 4, 0.3, noise=0.2)
  assert xs.shape == (4000, 6, 4) and ys.shape == (4000, 1) and xb.shape == (4000, 4, 3)
  np.testing.assert_allclose(xs[:, 0], np.tile([0, 0, 0, 1.0], (4000, 1)))
  np.testing.assert_allclose(xs[:, 1:-1, :3], 0.3 * xb, rtol=1e-6)
  np.testing.assert_allclose(np.linalg.norm(xb, axis=-1), 1.0, rtol=1e-5)
  # w lives on the free coordinates: <w, xbar> has variance 3 / (4 (d-2)).
  z = np.asarray(xb).reshape(4000, -1) @ np.asarray(c.w[0, 0])
  assert np.var(z) == pytest.approx(3 / 8, rel=0.1)  # 4000 samples: ~3% sd
  # OPT for Gaussian noise 0.2 with the Huber loss: mostly quadratic, ~ 0.02.
  opt = jaxrnn.concept.huber_noise_opt(0.2)
  r = np.linspace(-10, 10, 200001) * 0.2
  dens = np.exp(-0.5 * (r / 0.2) ** 2) / (0.2 * math.sqrt(2 * math.pi))
  assert opt == pytest.approx(
    np.sum(np.where(abs(r) <= 1, r * r / 2, abs(r) - 0.5) * dens) * (r[1] - r[0]), rel=1e-3
  )
  est = jaxrnn.concept.estimate_opt(f, ys, "clipped_squared")
  assert est == pytest.approx(opt, rel=0.1)


def test_classification_flips():
  c = jaxrnn.concept.random_concept(jax.random.key(3), 5, 4, phi="sin")
  _, ys, f, _ = jaxrnn.concept.concept_dataset(
    jax.random.key(4), c, 4000, 5, 4, 0.5, task="classification", flip=0.2
  )
  disagree = np.mean(np.asarray(ys) != np.where(np.asarray(f) >= 0, 1.0, -1.0))
  assert disagree == pytest.approx(0.2, abs=0.03)  # binomial sd 0.006


def test_bad_concepts():
  with pytest.raises(ValueError, match="unit vector"):
    jaxrnn.concept.make_concept(jnp.ones((1, 1, 6)), jnp.ones((1, 1)), "sin")
  with pytest.raises(ValueError, match=r"\|b_\(r,s\)\| <= 1"):
    jaxrnn.concept.make_concept(jnp.eye(6)[None, :1], 2 * jnp.ones((1, 1)), "sin")
  with pytest.raises(ValueError, match="unknown phi"):
    jaxrnn.concept.make_concept(jnp.eye(6)[None, :1], jnp.ones((1, 1)), "cos")
  c = jaxrnn.concept.random_concept(jax.random.key(0), 5, 4)
  with pytest.raises(ValueError, match="expected \\(L-2\\)\\(d-1\\)"):
    jaxrnn.concept.concept_dataset(jax.random.key(0), c, 4, 6, 4, 0.5)


# ------------------------------------------------- token-mixing targets and the token-wise gap


def _block_norms(c, L, d):
  return np.linalg.norm(np.asarray(c.w, np.float64).reshape(*c.w.shape[:2], L - 2, d - 1), axis=-1)


def test_balanced_concept_weights_every_token_equally():
  L, d = 7, 4
  c = jaxrnn.concept.random_concept(jax.random.key(0), L, d, phi="pow:2", balanced=True)
  np.testing.assert_allclose(_block_norms(c, L, d), 1 / math.sqrt(L - 2), rtol=1e-5)
  # free coordinates only: the constant last entry of every token is unused
  w = np.asarray(c.w).reshape(L - 2, d - 1)
  assert np.all(w[:, -1] == 0)


def test_product_concept_is_a_product_of_two_tokens():
  L, d, coef = 6, 5, 0.7
  c = jaxrnn.concept.product_concept(jax.random.key(1), L, d, positions=(1, -1), coef=coef)
  assert c.w.shape == (1, 2, (L - 2) * (d - 1)) and c.phis == (("pow:2", "pow:2"),)
  np.testing.assert_allclose(np.linalg.norm(np.asarray(c.w), axis=-1), 1.0, rtol=1e-5)
  w = np.asarray(c.w[0], np.float64)
  b = np.asarray(c.b[0], np.float64)
  F = lambda xbar: sum(b[r] * (w[r] @ xbar.reshape(-1)) ** 2 for r in range(2))  # Eq. (2)
  xs = np.asarray(
    jax.vmap(lambda k: jaxrnn.random_true_sequence(k, L - 2, d))(jaxrnn.seed_keys(2, 2)), np.float64
  )
  x, y = xs
  # Only tokens 1 and 3 (= -1) matter.
  z = x.copy()
  z[[0, 2]] = y[[0, 2]]
  assert F(z) == pytest.approx(F(x), abs=1e-6)
  # F is bilinear in (token 1, token 3): F(a, b) F(a', b') = F(a, b') F(a', b).
  ab, apbp, abp, apb = x.copy(), x.copy(), x.copy(), x.copy()
  apbp[1], apbp[3] = y[1], y[3]
  abp[3] = y[3]
  apb[1] = y[1]
  assert F(ab) * F(apbp) == pytest.approx(F(abp) * F(apb), rel=1e-6)
  # and it is 2 coef <u, x1> <v, x3> with unit u, v on the free coordinates
  U = (w[0] + w[1]).reshape(L - 2, d - 1) / math.sqrt(2)
  V = (w[0] - w[1]).reshape(L - 2, d - 1) / math.sqrt(2)
  assert F(x) == pytest.approx(2 * coef * (U[1] @ x[1]) * (V[3] @ x[3]), rel=1e-6)
  assert float(jaxrnn.concept.concept_value(c, jnp.asarray(x, jnp.float32))[0]) == pytest.approx(
    F(x), rel=1e-4, abs=1e-6
  )
  with pytest.raises(ValueError, match="two different tokens"):
    jaxrnn.concept.product_concept(jax.random.key(0), L, d, positions=(1, -3))
  with pytest.raises(ValueError, match=r"\|coef\| <= 1"):
    jaxrnn.concept.product_concept(jax.random.key(0), L, d, coef=1.5)
  with pytest.raises(ValueError, match="two true tokens"):
    jaxrnn.concept.product_concept(jax.random.key(0), 3, d)


# The estimates below are checked against closed forms from the definitions,
# within 4 Monte Carlo standard errors (fixed seeds; a wrong estimator, e.g.
# one returning the additive part or the total variance, misses by >> 4 SE).


def test_tokenwise_gap_of_a_product_is_its_variance():
  # a, b independent, mean 0, variance 3/(4(d-2)): Var(2 c a b) = 9 c^2 / (4 (d-2)^2),
  # and no token carries any of it (E[ab | one token] = 0).
  L, d, coef = 6, 4, 0.8
  c = jaxrnn.concept.product_concept(jax.random.key(3), L, d, coef=coef)
  g = jaxrnn.concept.tokenwise_gap(jax.random.key(4), c, L, d, n=40000)
  want = 9 * coef**2 / (4 * (d - 2) ** 2)
  se = float(g.gap_se[0])
  assert abs(float(g.gap[0]) - want) < 4 * se
  assert abs(float(g.variance[0]) - want) < 0.03 * want  # sample variance, rel. sd ~ 1%
  assert abs(float(g.additive_variance[0])) < 4 * se


def test_tokenwise_gap_of_a_linear_target_is_zero():
  L, d = 6, 4
  c = jaxrnn.concept.random_concept(jax.random.key(5), L, d, phi="pow:1")
  g = jaxrnn.concept.tokenwise_gap(jax.random.key(6), c, L, d, n=40000)
  assert abs(float(g.gap[0])) < 4 * float(g.gap_se[0])
  assert float(g.variance[0]) == pytest.approx(3 / (4 * (d - 2)), rel=0.03)


def test_tokenwise_gap_of_a_square_of_a_sum():
  # z = sum_l a_l, independent zero-mean a_l with variances s_l = |w_l|^2 3/(4(d-2)):
  # z^2 = sum_l a_l^2 + 2 sum_{l<l'} a_l a_l'; the cross terms are orthogonal to
  # every token-wise function, so the gap is 4 sum_{l<l'} s_l s_l'.
  L, d = 7, 4
  c = jaxrnn.concept.random_concept(jax.random.key(7), L, d, phi="pow:2")
  s = _block_norms(c, L, d)[0, 0] ** 2 * 3 / (4 * (d - 2))
  want = 2 * (s.sum() ** 2 - (s**2).sum())
  g = jaxrnn.concept.tokenwise_gap(jax.random.key(8), c, L, d, n=40000)
  assert abs(float(g.gap[0]) - want) < 4 * float(g.gap_se[0])
  assert float(g.gap_se[0]) < 0.05 * want
