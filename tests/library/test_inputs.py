"""Normalized input sequences (Def. 3.1)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from tests import np_reference as ref


def _xbar(key, n, dm1, dtype=jnp.float32):
  g = np.asarray(jax.random.normal(key, (n, dm1 - 1)), np.float64)
  g = g / np.linalg.norm(g, axis=1, keepdims=True) * np.sqrt(0.75)
  return jnp.asarray(np.hstack([g, np.full((n, 1), 0.5)]), dtype)


@pytest.mark.parametrize("n,dm1", [(0, 3), (1, 2), (5, 4), (18, 7)])
def test_matches_definition(n, dm1):
  with jax.enable_x64(True):
    xbar = _xbar(jax.random.key(n), n, dm1, jnp.float64)
    got = jaxrnn.normalize_sequence(xbar, 0.05)
    assert got.shape == (n + 2, dm1 + 1) and got.dtype == jnp.float64
    np.testing.assert_array_equal(got, ref.normalize(xbar, 0.05))
  got32 = jaxrnn.normalize_sequence(_xbar(jax.random.key(n), n, dm1), 0.05)
  assert got32.dtype == jnp.float32


def test_jit_and_vmap():
  xbars = jnp.stack([_xbar(jax.random.key(i), 4, 3) for i in range(3)])
  got = jax.jit(jax.vmap(jaxrnn.normalize_sequence, in_axes=(0, None)))(xbars, 0.1)
  for i in range(3):
    np.testing.assert_allclose(got[i], ref.normalize(xbars[i], 0.1), rtol=1e-6)


def test_random_sequences_are_normalized():
  xs = jaxrnn.random_normalized_sequence(jax.random.key(0), 9, 6, 0.2)
  assert xs.shape == (9, 6)
  np.testing.assert_array_equal(xs[0], xs[-1])
  np.testing.assert_allclose(np.linalg.norm(xs[1:-1, :-1], axis=1), 0.2, rtol=1e-6)
  np.testing.assert_allclose(xs[1:-1, -2], 0.1, rtol=1e-6)  # eps_x * 1/2
  np.testing.assert_array_equal(xs[1:-1, -1], 0.0)


def test_bad_rows_are_named():
  good = _xbar(jax.random.key(1), 4, 3)
  with pytest.raises(ValueError, match="xbar row 2 is not on the unit sphere"):
    jaxrnn.normalize_sequence(good.at[2, 0].mul(2.0), 0.1)
  flipped = (
    good.at[1]
    .set(jnp.array([0.0, jnp.sqrt(0.75), 0.5]))
    .at[3]
    .set(jnp.array([0.0, 0.5, jnp.sqrt(0.75)]))
  )
  with pytest.raises(ValueError, match="xbar row 3 has last entry 0.866"):
    jaxrnn.normalize_sequence(flipped, 0.1)
  with pytest.raises(ValueError, match="xbar row 0 has a non-finite entry"):
    jaxrnn.normalize_sequence(good.at[0, 0].set(jnp.inf), 0.1)
  with pytest.raises(ValueError, match="eps_x must be a positive"):
    jaxrnn.normalize_sequence(good, 0.0)
  with pytest.raises(ValueError, match=r"xbar must have shape \(L-2, d-1\)"):
    jaxrnn.normalize_sequence(good[0], 0.1)
  with pytest.raises(TypeError, match="floating-point"):
    jaxrnn.normalize_sequence(jnp.ones((2, 3), jnp.int32), 0.1)
