"""The pattern-based inversion matrix of Sec. 4.4 (API contract)."""

import jax
import jax.numpy as jnp
import np_reference as ref
import numpy as np
import pytest

import jaxrnn


@pytest.mark.parametrize("m,d,L", [(6, 3, 1), (24, 4, 5), (50, 3, 9)])
def test_matches_recursive_definition(m, d, L):
  with jax.enable_x64(True):
    params = jaxrnn.init_params(jax.random.key(m), m, d, 1, jnp.float64)
    base = jax.random.normal(jax.random.key(L), (L, d), jnp.float64)
    got = jax.jit(jaxrnn.inversion_matrix)(params, base)
    assert got.shape == (m, L * d) and got.dtype == jnp.float64
    np.testing.assert_allclose(
      got, ref.inversion_matrix(params.W, params.A, base), rtol=1e-10, atol=1e-12
    )
    # invert_hidden_state is the same linear map without forming the matrix.
    h = jnp.abs(jax.random.normal(jax.random.key(0), (m,), jnp.float64))
    np.testing.assert_allclose(
      jaxrnn.inversion.invert_hidden_state(params, base, h),
      (got.T @ h).reshape(L, d),
      rtol=1e-10,
      atol=1e-12,
    )


def test_recovers_a_short_sequence_at_large_width():
  # At initialization A^T D A ~ I, so with the sequence's own patterns the bias
  # entries (exactly 1 at steps 1 and L) come back to within O(L / sqrt(m)).
  # m = 4096: the statistical error of each entry is ~ sqrt(2 L / m) ~ 0.05;
  # a 0.25 margin is ~5 standard deviations.
  xs = jaxrnn.random_normalized_sequence(jax.random.key(1), 4, 6, 0.1)
  params = jaxrnn.init_params(jax.random.key(2), 4096, 6, 1)
  dec = jaxrnn.inversion.invert_hidden_state(params, xs, jaxrnn.final_hidden_state(params, xs))
  assert abs(float(dec[-1, -1]) - 1.0) < 0.25
  assert abs(float(dec[0, -1]) - 1.0) < 0.25
  assert float(jnp.max(jnp.abs(dec - xs))) < 0.35
