"""Small value checks: values that used to be read as
something else are refused with a clear message."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn._src.languages import as_bits, batch_accepts


@pytest.mark.parametrize("bad,where", [(2, (0, 1)), (-5, (1, 0)), (7, (1, 2))])
def test_batch_accepts_refuses_bits_other_than_0_1_and_padding(bad, where):
  bits = np.array([[0, 1, 1], [-1, 1, 0]])
  bits[where] = bad
  # The old code read 2 as 1 and -5 as padding.
  with pytest.raises(ValueError, match=rf"got {bad} at index \({where[0]}, {where[1]}\)"):
    batch_accepts("one_one", bits)
  with pytest.raises(ValueError, match="only 0 and 1"):
    as_bits(bits[where[0]])


def test_batch_accepts_keeps_padding_and_runs_under_jit():
  bits = np.array([[0, 1, 0], [-1, 1, 1], [-1, -1, 0]])
  np.testing.assert_array_equal(batch_accepts("one_one", bits), [True, False, False])
  out = jax.jit(lambda b: batch_accepts("one_one", b))(jnp.asarray(bits))
  np.testing.assert_array_equal(out, [True, False, False])


def test_init_params_takes_numpy_integer_widths():
  p = jaxrnn.init_params(jax.random.key(0), np.int64(8), np.int32(3), np.int64(2))
  q = jaxrnn.init_params(jax.random.key(0), 8, 3, 2)
  assert p.W.shape == (8, 8) and p.A.shape == (8, 3) and p.B.shape == (2, 8)
  for a, b in zip(p, q):
    np.testing.assert_array_equal(a, b)
  for bad in (True, 8.0, np.float64(8), "8", 0, np.int64(-1)):
    with pytest.raises(ValueError, match="m must be a positive int"):
      jaxrnn.init_params(jax.random.key(0), bad, 3, 2)


@pytest.mark.parametrize("eps", ["0.1", b"0.1", True, jnp.array([0.1, 0.2])])
def test_normalize_sequence_refuses_an_eps_that_is_not_a_real_scalar(eps):
  xbar = jaxrnn.random_true_sequence(jax.random.key(0), 3, 4)
  with pytest.raises(TypeError, match="eps_x must be"):
    jaxrnn.normalize_sequence(xbar, eps)


def test_normalize_sequence_accepts_real_scalars_traced_or_not():
  xbar = jaxrnn.random_true_sequence(jax.random.key(0), 3, 4)
  ref = jaxrnn.normalize_sequence(xbar, 0.1)
  for eps in (np.float32(0.1), jnp.asarray(0.1), np.asarray(0.1, np.float32)):
    np.testing.assert_allclose(jaxrnn.normalize_sequence(xbar, eps), ref)
  np.testing.assert_allclose(jax.jit(jaxrnn.normalize_sequence)(xbar, 0.1), ref)
  for bad in (0.0, -1.0, float("inf"), float("nan")):
    with pytest.raises(ValueError, match="eps_x must be a positive finite number"):
      jaxrnn.normalize_sequence(xbar, bad)
