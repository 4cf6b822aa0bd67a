"""The pseudo-network of Eq. (4) and the Back matrices of Sec. 4.1."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized

import jaxrnn
from tests import np_reference as ref

SIZES = [(8, 3, 2, 1), (40, 5, 6, 2), (64, 4, 10, 3)]  # (m, d, L, d_out)


def _setup(seed, m, d, L, d_out, dtype):
  k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
  params = jaxrnn.init_params(k1, m, d, d_out, dtype)
  delta = jaxrnn.init_params(k2, m, d, d_out, dtype)
  xs = jax.random.normal(k3, (L, d), dtype)
  return params, delta, xs


class PseudoNetworkTest(chex.TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*SIZES)
  def test_equals_eq4_float64(self, m, d, L, d_out):
    with jax.enable_x64(True):
      params, delta, xs = _setup(0, m, d, L, d_out, jnp.float64)
      got = self.variant(jaxrnn.pseudo_network)(params, delta, xs)
      want = ref.pseudo(params.W, params.A, params.B, delta.W, delta.A, xs)
      assert got.dtype == jnp.float64
      np.testing.assert_allclose(got, want, **ref.tol(got.dtype))
      explicit = self.variant(jaxrnn.pseudo_network_explicit)(params, delta, xs)
      np.testing.assert_allclose(explicit, want, **ref.tol(explicit.dtype))

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*SIZES)
  def test_equals_eq4_float32(self, m, d, L, d_out):
    params, delta, xs = _setup(1, m, d, L, d_out, jnp.float32)
    got = self.variant(jaxrnn.pseudo_network)(params, delta, xs)
    assert got.dtype == jnp.float32
    want = ref.pseudo(params.W, params.A, params.B, delta.W, delta.A, xs)
    np.testing.assert_allclose(got, want, **ref.tol(got.dtype))

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*SIZES)
  def test_backward_matrices(self, m, d, L, d_out):
    with jax.enable_x64(True):
      params, _, xs = _setup(2, m, d, L, d_out, jnp.float64)
      got = self.variant(jaxrnn.backward_matrices)(params, xs)
      chex.assert_shape(got, (L, d_out, m))
      np.testing.assert_allclose(
        got, ref.back_matrices(params.W, params.A, params.B, xs), **ref.tol(got.dtype)
      )
      np.testing.assert_array_equal(got[-1], params.B)  # Back_{L->L} = B


def test_linear_in_the_perturbation():
  with jax.enable_x64(True):
    params, d1, xs = _setup(3, 32, 4, 7, 2, jnp.float64)
    _, d2, _ = _setup(4, 32, 4, 7, 2, jnp.float64)
    a, b = 1.7, -0.3
    mix = jax.tree.map(lambda u, v: a * u + b * v, d1, d2)
    f = jax.jit(jaxrnn.pseudo_network)
    np.testing.assert_allclose(
      f(params, mix, xs), a * f(params, d1, xs) + b * f(params, d2, xs), rtol=1e-12, atol=1e-12
    )
    # delta.B is ignored: B is not a trained parameter.
    np.testing.assert_array_equal(f(params, d1._replace(B=d1.B * 0 + 5), xs), f(params, d1, xs))


def test_first_order_taylor_expansion():
  # F(W + tW') - F(W) - t F_pseudo(W') must shrink like t^2 while no
  # activation pattern flips; a 10x smaller step -> ~100x smaller remainder.
  with jax.enable_x64(True):
    params, delta, xs = _setup(5, 48, 4, 6, 1, jnp.float64)
    base = jaxrnn.rnn_output(params, xs)
    lin = jaxrnn.pseudo_network(params, delta, xs)
    rems = []
    for t in (1e-3, 1e-4, 1e-5):
      moved = params._replace(W=params.W + t * delta.W, A=params.A + t * delta.A)
      assert bool(
        jnp.all(jaxrnn.activation_patterns(moved, xs) == jaxrnn.activation_patterns(params, xs))
      )
      rems.append(float(jnp.linalg.norm(jaxrnn.rnn_output(moved, xs) - base - t * lin)))
    for big, small in zip(rems, rems[1:]):
      assert 60 < big / small < 160, rems  # quadratic: 100, with rounding slack
    # And it is a good approximation: remainder << first-order term.
    assert rems[0] < 1e-2 * 1e-3 * float(jnp.linalg.norm(lin)) * 10


def test_vmapped_over_sequences_and_perturbations():
  params, delta, _ = _setup(6, 16, 3, 5, 2, jnp.float32)
  batch = jax.random.normal(jax.random.key(8), (4, 5, 3))
  got = jax.vmap(jaxrnn.pseudo_network, in_axes=(None, None, 0))(params, delta, batch)
  chex.assert_shape(got, (4, 2))
  for b in range(4):
    np.testing.assert_allclose(
      got[b],
      ref.pseudo(params.W, params.A, params.B, delta.W, delta.A, batch[b]),
      **ref.tol(got.dtype),
    )
  deltas = jax.tree.map(lambda u: jnp.stack([u, 2 * u]), delta)
  two = jax.vmap(jaxrnn.pseudo_network, in_axes=(None, 0, None))(params, deltas, batch[0])
  np.testing.assert_allclose(two[1], 2 * two[0], rtol=1e-5)


def test_bad_delta():
  params, delta, xs = _setup(7, 8, 3, 4, 1, jnp.float32)
  with pytest.raises(ValueError, match=r"delta.W has shape \(8, 7\)"):
    jaxrnn.pseudo_network(params, delta._replace(W=jnp.ones((8, 7))), xs)
  with pytest.raises(TypeError, match="delta must be an RNNParams"):
    jaxrnn.pseudo_network(params, {"W": delta.W}, xs)
