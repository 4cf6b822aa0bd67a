"""One meaning of ``L`` across the input functions: ``L`` is the paper's
length of a normalized sequence (Def. 3.1), and ``random_true_sequence``
counts what it draws, ``num_tokens = L - 2`` true tokens."""

import inspect

import jax
import numpy as np
import pytest

import jaxrnn


@pytest.mark.parametrize("L", [2, 3, 10])
def test_a_normalized_sequence_of_length_l_holds_l_minus_2_true_tokens(L):
  key, d, eps = jax.random.key(3), 5, 0.25
  xs = jaxrnn.random_normalized_sequence(key, L, d, eps)
  xbar = jaxrnn.random_true_sequence(key, num_tokens=L - 2, d=d)
  assert xs.shape == (L, d) and xbar.shape == (L - 2, d - 1)
  np.testing.assert_array_equal(np.asarray(xs), np.asarray(jaxrnn.normalize_sequence(xbar, eps)))


def test_the_length_arguments_say_what_they_count():
  true_params = list(inspect.signature(jaxrnn.random_true_sequence).parameters)
  assert true_params[1] == "num_tokens" and "length" not in true_params
  assert list(inspect.signature(jaxrnn.random_normalized_sequence).parameters)[1] == "L"
  with pytest.raises(TypeError, match="length"):
    jaxrnn.random_true_sequence(jax.random.key(0), length=8, d=4)
