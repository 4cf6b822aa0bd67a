"""The model of Def. 3.2 against the NumPy float64 loops of np_reference."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized

import jaxrnn
from tests import np_reference as ref

SIZES = [(8, 3, 1, 1), (32, 5, 7, 2), (96, 4, 12, 3)]  # (m, d, L, d_out)


def _setup(seed, m, d, L, d_out, dtype):
  kp, kx = jax.random.split(jax.random.key(seed))
  params = jaxrnn.init_params(kp, m, d, d_out, dtype)
  xs = jax.random.normal(kx, (L, d), dtype)
  return params, xs


CASES = [(m, d, L, d_out, dt) for (m, d, L, d_out) in SIZES for dt in (jnp.float32, jnp.float64)]


class AgainstReferenceTest(chex.TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*CASES)
  def test_hidden_states_and_output(self, m, d, L, d_out, dtype):
    with jax.enable_x64(dtype == jnp.float64):
      params, xs = _setup(0, m, d, L, d_out, dtype)
      hs = self.variant(jaxrnn.hidden_states)(params, xs)
      out = self.variant(jaxrnn.rnn_output)(params, xs)
      hL = self.variant(jaxrnn.final_hidden_state)(params, xs)
      assert hs.dtype == dtype and out.dtype == dtype
      chex.assert_shape(hs, (L, m))
      chex.assert_shape(out, (d_out,))
      np.testing.assert_allclose(hs, ref.hidden_states(params.W, params.A, xs), **ref.tol(dtype))
      np.testing.assert_allclose(hL, hs[-1], **ref.tol(dtype))
      np.testing.assert_allclose(
        out, ref.output(params.W, params.A, params.B, xs), **ref.tol(dtype)
      )

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*CASES)
  def test_cell(self, m, d, L, d_out, dtype):
    with jax.enable_x64(dtype == jnp.float64):
      params, xs = _setup(1, m, d, L, d_out, dtype)
      h = jnp.abs(jax.random.normal(jax.random.key(9), (m,), dtype))
      got = self.variant(jaxrnn.cell)(params, h, xs[0])
      want = ref.relu(
        np.asarray(params.A, np.float64) @ np.asarray(xs[0], np.float64)
        + np.asarray(params.W, np.float64) @ np.asarray(h, np.float64)
      )
      assert got.dtype == dtype
      np.testing.assert_allclose(got, want, **ref.tol(dtype))

  @parameterized.parameters(*CASES)
  def test_vmap_matches_loop(self, m, d, L, d_out, dtype):
    with jax.enable_x64(dtype == jnp.float64):
      params, _ = _setup(2, m, d, L, d_out, dtype)
      batch = jax.random.normal(jax.random.key(3), (5, L, d), dtype)
      got = jax.jit(jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0)))(params, batch)
      for b in range(5):
        np.testing.assert_allclose(
          got[b], ref.output(params.W, params.A, params.B, batch[b]), **ref.tol(dtype)
        )


def test_activation_patterns_match_eq5():
  with jax.enable_x64(True):
    for m, d, L, d_out in SIZES:
      params, xs = _setup(4, m, d, L, d_out, jnp.float64)
      got = jaxrnn.activation_patterns(params, xs)
      assert got.dtype == jnp.bool_ and got.shape == (L, m)
      np.testing.assert_array_equal(got, ref.patterns(params.W, params.A, xs))


def test_init_statistics():
  m, d, d_out = 512, 64, 4
  p = jaxrnn.init_params(jax.random.key(0), m, d, d_out)
  chex.assert_shape([p.W, p.A, p.B], [(m, m), (m, d), (d_out, m)])
  # Variance estimates from >= 2048 samples have relative std <= sqrt(2/2048) ~ 3%;
  # a 12% margin is 4 standard deviations.
  np.testing.assert_allclose(np.var(p.W), 2 / m, rtol=0.12)
  np.testing.assert_allclose(np.var(p.A), 2 / m, rtol=0.12)
  np.testing.assert_allclose(np.var(p.B), 2 / d_out, rtol=0.12)
  assert abs(float(np.mean(p.W))) < 4 * np.sqrt(2 / m / m**2)
  q = jaxrnn.init_params(jax.random.key(1), m, d, d_out)
  assert not np.allclose(p.W, q.W)


def test_init_float64_and_errors():
  with jax.enable_x64(True):
    p = jaxrnn.init_params(jax.random.key(0), 4, 3, 2, jnp.float64)
    assert p.W.dtype == p.A.dtype == p.B.dtype == jnp.float64
  with pytest.raises(ValueError, match="m must be a positive int"):
    jaxrnn.init_params(jax.random.key(0), 0, 3, 1)
  with pytest.raises(TypeError, match="floating"):
    jaxrnn.init_params(jax.random.key(0), 4, 3, 1, jnp.int32)


def test_rnn_output_traced_once():
  params, xs = _setup(5, 16, 3, 4, 1, jnp.float32)
  f = jax.jit(chex.assert_max_traces(jaxrnn.rnn_output, n=1))
  for k in range(3):
    f(params, xs + k)


def test_gradient_is_the_transpose_of_the_pseudo_network():
  # <grad_W F, W'> + <grad_A F, A'> must equal the jvp along (W', A') (d_out = 1).
  with jax.enable_x64(True):
    params, xs = _setup(6, 24, 4, 6, 1, jnp.float64)
    delta = jaxrnn.init_params(jax.random.key(7), 24, 4, 1, jnp.float64)
    g = jax.grad(lambda W, A: jaxrnn.rnn_output(params._replace(W=W, A=A), xs)[0], argnums=(0, 1))(
      params.W, params.A
    )
    lhs = float(jnp.vdot(g[0], delta.W) + jnp.vdot(g[1], delta.A))
    want = ref.pseudo(params.W, params.A, params.B, delta.W, delta.A, xs)[0]
    np.testing.assert_allclose(lhs, want, rtol=1e-10)


class TestBadInput:
  def setup_method(self):
    self.params, self.xs = _setup(0, 8, 3, 4, 1, jnp.float32)

  def test_wrong_rank(self):
    with pytest.raises(ValueError, match=r"xs must have shape \(L, d\)"):
      jaxrnn.rnn_output(self.params, self.xs[0])

  def test_mismatched_d(self):
    with pytest.raises(ValueError, match="d=4 features per token but params.A expects d=3"):
      jaxrnn.hidden_states(self.params, jnp.ones((4, 4)))

  def test_non_finite(self):
    with pytest.raises(ValueError, match=r"xs has a non-finite entry at index \(2, 1\)"):
      jaxrnn.rnn_output(self.params, self.xs.at[2, 1].set(jnp.nan))

  def test_integer_input(self):
    with pytest.raises(TypeError, match="floating-point"):
      jaxrnn.rnn_output(self.params, jnp.ones((4, 3), jnp.int32))

  def test_mixed_dtype(self):
    with jax.enable_x64(True):
      with pytest.raises(TypeError, match="float64 but params have dtype float32"):
        jaxrnn.rnn_output(self.params, jnp.ones((4, 3), jnp.float64))

  def test_bad_params(self):
    bad = self.params._replace(W=jnp.ones((8, 7)))
    with pytest.raises(ValueError, match="params.W must be square"):
      jaxrnn.rnn_output(bad, self.xs)
    bad = self.params._replace(B=jnp.ones((1, 5)))
    with pytest.raises(ValueError, match="params.B must have m=8 columns"):
      jaxrnn.rnn_output(bad, self.xs)

  def test_cell_shapes(self):
    with pytest.raises(ValueError, match="h has length 3 but params have m=8"):
      jaxrnn.cell(self.params, jnp.ones(3), self.xs[0])
