"""Lemma 4.4 random ReLU features, against NumPy float64 references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn


def _np_readout(T, v, variance):
  m = T.shape[0]
  p = np.zeros(m)
  for r in range(m):
    p[r] = 2.0 * sum(T[r, k] * v[k] for k in range(T.shape[1])) / (m * variance)
  return p


def _np_apply(T, p, x):
  return sum(p[r] * max(0.0, float(T[r] @ x)) for r in range(T.shape[0]))


@pytest.mark.parametrize("variance", [1.0, 2.0 / 48])
def test_readout_and_apply_match_numpy(variance):
  rng = np.random.default_rng(0)
  T = rng.normal(size=(48, 5)) * np.sqrt(variance)
  v, x = rng.normal(size=5), rng.normal(size=5)
  with jax.enable_x64(True):
    p = jaxrnn.features.relu_readout(jnp.asarray(T), jnp.asarray(v), variance)
    y = jaxrnn.features.relu_features_apply(jnp.asarray(T), p, jnp.asarray(x))
    e = jaxrnn.features.relu_features_error(
      jnp.asarray(T), jnp.asarray(v), jnp.asarray(x), variance
    )
  p_ref = _np_readout(T, v, variance)
  np.testing.assert_allclose(np.asarray(p), p_ref, rtol=1e-12)
  np.testing.assert_allclose(float(y), _np_apply(T, p_ref, x), rtol=1e-12)
  np.testing.assert_allclose(float(e), v @ x - _np_apply(T, p_ref, x), rtol=1e-10, atol=1e-12)


def test_rnn_scale_readout_is_T_v():
  # With entries of variance 2/m the factor 2 cancels: p = T v (Sec. 4.4).
  T = jaxrnn.features.random_relu_features(jax.random.key(0), 64, 4, 2.0 / 64)
  v = jnp.arange(4.0)
  np.testing.assert_allclose(jaxrnn.features.relu_readout(T, v, 2.0 / 64), T @ v, rtol=1e-5)


def test_paper_readout_is_off_by_factor_m():
  # p = 2 T v gives ~ m v^T x. Over 400 pairs the least-squares slope has a
  # relative standard error ~ sqrt(2.2 / m) / sqrt(400 * E c^2) ~ 0.02 at
  # m = 512, d = 8, so a 10% window is > 4 sigma.
  m, d, n = 512, 8, 400
  rng = np.random.default_rng(1)
  T = rng.normal(size=(m, d))
  V = rng.normal(size=(n, d))
  X = rng.normal(size=(n, d))
  vx = np.sum(V * X, axis=1)
  with jax.enable_x64(True):
    # The library's readout is exactly the paper's 2 T v divided by m ...
    p_lib = jax.vmap(lambda v: jaxrnn.features.relu_readout(jnp.asarray(T), v))(jnp.asarray(V))
    np.testing.assert_allclose(m * np.asarray(p_lib), 2 * V @ T.T, rtol=1e-12)
    # ... and the paper's readout, applied by the library, gives ~ m v.x.
    paper = jax.vmap(lambda p, x: jaxrnn.features.relu_features_apply(jnp.asarray(T), m * p, x))(
      p_lib, jnp.asarray(X)
    )
  slope = np.sum(np.asarray(paper) * vx) / np.sum(vx * vx)
  assert abs(slope / m - 1) < 0.1
  with jax.enable_x64(True):
    ours = jax.vmap(
      lambda v, x: jaxrnn.features.relu_features_apply(
        jnp.asarray(T), jaxrnn.features.relu_readout(jnp.asarray(T), v), x
      )
    )(jnp.asarray(V), jnp.asarray(X))
  slope_ours = np.sum(np.asarray(ours) * vx) / np.sum(vx * vx)
  assert abs(slope_ours - 1) < 0.1


def _errors(m, v, x, K, seed):
  keys = jaxrnn.seed_keys(seed, K)
  f = lambda k: jaxrnn.features.relu_features_error(
    jaxrnn.features.random_relu_features(k, m, v.shape[0]), v, x
  )
  return np.asarray(jax.vmap(f)(keys), np.float64)


def test_error_std_matches_prediction():
  # sqrt((2 + 3c^2)/m) |v||x|. The sample std of K = 600 draws has relative
  # standard error ~ 1/sqrt(2K) ~ 3%; the 10% window is > 3 sigma.
  _d, m = 6, 64
  v = jnp.asarray([1.0, 0, 0, 0, 0, 0]) * 2.0
  x = jnp.asarray([0.6, 0.8, 0, 0, 0, 0]) * 0.5
  err = _errors(m, v, x, 600, 0)
  pred = float(jaxrnn.features.relu_features_error_std(v, x, m))
  np.testing.assert_allclose(pred, np.sqrt((2 + 3 * 0.36) / m) * 1.0, rtol=1e-6)
  assert abs(err.mean()) < 4 * pred / np.sqrt(600)  # unbiased
  assert abs(err.std() / pred - 1) < 0.1


def test_error_falls_like_one_over_sqrt_m():
  # 16x more neurons -> 4x smaller mean |err|; 400 draws each give the mean
  # to ~4%, so [3, 5.3] is a wide, honest window around 4.
  v = jnp.ones(5) / jnp.sqrt(5.0)
  x = jnp.asarray([1.0, -1, 0, 0, 0]) / jnp.sqrt(2.0)
  small = np.abs(_errors(64, v, x, 400, 1)).mean()
  big = np.abs(_errors(1024, v, x, 400, 2)).mean()
  assert 3.0 < small / big < 5.3


def test_bad_input():
  T = jnp.ones((4, 3))
  with pytest.raises(ValueError, match="v must have shape"):
    jaxrnn.features.relu_readout(T, jnp.ones(4))
  with pytest.raises(ValueError, match="T must have shape"):
    jaxrnn.features.relu_readout(jnp.ones(3), jnp.ones(3))
  with pytest.raises(ValueError, match="variance"):
    jaxrnn.features.random_relu_features(jax.random.key(0), 4, 3, variance=0.0)
