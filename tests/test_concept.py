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
