"""scaled_perturbation and taylor_remainder (Sec. 4.1, Lemma G.3) against
NumPy float64 references written from Eq. (1), (4) and (5)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from tests import np_reference as ref


def _setup(m=16, d=4, L=5, d_out=2):
  params = jaxrnn.init_params(jax.random.key(0), m, d, d_out, jnp.float64)
  xs = jax.random.normal(jax.random.key(1), (L, d), jnp.float64)
  return params, xs


@pytest.mark.parametrize("jit", [False, True])
def test_scaled_perturbation_has_the_prescribed_relative_size(jit):
  with jax.enable_x64(True):
    params, _ = _setup()
    f = jax.jit(jaxrnn.scaled_perturbation) if jit else jaxrnn.scaled_perturbation
    for omega in (1e-3, 0.5):
      delta = f(jax.random.key(3), params, jnp.asarray(omega))
      assert float(jnp.linalg.norm(delta.W)) == pytest.approx(
        omega * float(jnp.linalg.norm(params.W)), rel=1e-12
      )
      assert float(jnp.linalg.norm(delta.A)) == pytest.approx(
        omega * float(jnp.linalg.norm(params.A)), rel=1e-12
      )
      assert not np.any(np.asarray(delta.B))
    # Direction is random but fixed by the key; different keys differ.
    a = jaxrnn.scaled_perturbation(jax.random.key(3), params, 0.1)
    b = jaxrnn.scaled_perturbation(jax.random.key(4), params, 0.1)
    assert not np.allclose(np.asarray(a.W), np.asarray(b.W))


def test_taylor_remainder_matches_numpy():
  with jax.enable_x64(True):
    params, xs = _setup()
    delta = jaxrnn.scaled_perturbation(jax.random.key(5), params, 0.3)
    out = jax.jit(jaxrnn.taylor_remainder)(params, delta, xs)
  W, A, B = (np.asarray(a) for a in params)
  dW, dA, x = np.asarray(delta.W), np.asarray(delta.A), np.asarray(xs)
  true = ref.output(W + dW, A + dA, B, x) - ref.output(W, A, B, x)
  lin = ref.pseudo(W, A, B, dW, dA, x)
  flips = np.mean(ref.patterns(W + dW, A + dA, x) != ref.patterns(W, A, x))
  np.testing.assert_allclose(np.asarray(out["true"]), true, **ref.tol(out["true"].dtype))
  np.testing.assert_allclose(np.asarray(out["pseudo"]), lin, **ref.tol(out["pseudo"].dtype))
  np.testing.assert_allclose(np.asarray(out["remainder"]), true - lin, rtol=1e-9, atol=1e-12)
  assert float(out["flip_fraction"]) == pytest.approx(flips)
  assert 0 < flips < 0.5  # omega = 0.3 flips some patterns, not most


def test_remainder_is_second_order_when_no_pattern_flips():
  # Without flips F_rnn is a polynomial in the perturbation, so the remainder
  # falls 100x when the step falls 10x (Taylor); a first-order error would
  # fall only 10x. Small steps: no flip at these seeds.
  with jax.enable_x64(True):
    params, xs = _setup(m=32)
    rem = []
    for omega in (1e-4, 1e-5):
      delta = jaxrnn.scaled_perturbation(jax.random.key(6), params, omega)
      out = jaxrnn.taylor_remainder(params, delta, xs)
      assert float(out["flip_fraction"]) == 0.0
      rem.append(float(jnp.linalg.norm(out["remainder"])))
  assert 60 < rem[0] / rem[1] < 160
