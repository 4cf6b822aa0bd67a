"""``absolute_perturbation``: a random (W', A') of prescribed Frobenius size
(Sec. 4.1), checked with NumPy float64 norms and moments (taylor_remainder
itself is checked in test_linearize.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn


def _params(seed, m, d, d_out=1):
  return jaxrnn.init_params(jax.random.key(seed), m, d, d_out, jnp.float64)


@pytest.mark.parametrize("m,d,radius", [(8, 3, 0.3), (64, 5, 2.0), (200, 4, 1e-3)])
def test_absolute_perturbation_has_the_radius(m, d, radius):
  with jax.enable_x64(True):
    p = _params(0, m, d)
    dlt = jaxrnn.absolute_perturbation(jax.random.key(1), p, radius)
    W, A, B = (np.asarray(x) for x in dlt)
  assert W.shape == (m, m) and A.shape == (m, d) and W.dtype == np.float64
  assert np.sqrt(np.sum(W**2) + np.sum(A**2)) == pytest.approx(radius, rel=1e-12)
  assert not B.any()


def test_absolute_perturbation_is_isotropic():
  # One scale for both blocks: the mean square entry of W' and of A' agree.
  # With m = 256, d = 16 there are 4096 A-entries; the mean of 4096 squared
  # N(0, 1) has relative std sqrt(2/4096) = 2.2%, so 10% is > 4 sigma.
  m, d = 256, 16
  with jax.enable_x64(True):
    dlt = jaxrnn.absolute_perturbation(jax.random.key(3), _params(2, m, d), 1.0)
  W, A = np.asarray(dlt.W), np.asarray(dlt.A)
  assert np.mean(W**2) == pytest.approx(np.mean(A**2), rel=0.1)
  # Entry variance radius^2 / (m (m + d)), i.e. relative size ~ r / sqrt(2 (m + d)).
  assert np.mean(W**2) == pytest.approx(1.0 / (m * (m + d)), rel=0.05)
  assert abs(np.mean(W)) < 5 * np.sqrt(np.mean(W**2) / W.size)


def test_absolute_perturbation_is_linear_in_the_radius_and_traceable():
  with jax.enable_x64(True):
    p = _params(0, 16, 3)
    k = jax.random.key(5)
    one = jaxrnn.absolute_perturbation(k, p, 1.0)
    f = jax.jit(lambda r: jaxrnn.absolute_perturbation(k, p, r))
    three = f(jnp.asarray(3.0))
  np.testing.assert_allclose(np.asarray(three.W), 3 * np.asarray(one.W), rtol=1e-12)
  np.testing.assert_allclose(np.asarray(three.A), 3 * np.asarray(one.A), rtol=1e-12)
