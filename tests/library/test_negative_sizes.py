"""Negative sizes and ridges are refused: a perturbation's radius is a norm
and a ridge makes ``K + lam I`` positive definite, so a negative value is a
mistake. Concrete values raise ``ValueError``; traced ones (no sign to read
under ``jit``) give NaN instead of a plausible number."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import kernels


def _params():
  return jaxrnn.init_params(jax.random.key(0), 8, 3, 1)


@pytest.mark.parametrize("fn", [jaxrnn.scaled_perturbation, jaxrnn.absolute_perturbation])
@pytest.mark.parametrize("bad", [-1.0, -1e-6, float("nan"), float("inf")])
def test_a_negative_or_non_finite_perturbation_size_is_refused(fn, bad):
  with pytest.raises(ValueError, match="must be a finite number >= 0"):
    fn(jax.random.key(1), _params(), bad)


@pytest.mark.parametrize("fn", [jaxrnn.scaled_perturbation, jaxrnn.absolute_perturbation])
def test_a_negative_traced_perturbation_size_gives_nan(fn):
  p = _params()
  out = jax.jit(fn)(jax.random.key(1), p, -1.0)
  assert np.all(np.isnan(np.asarray(out.W))) and np.all(np.isnan(np.asarray(out.A)))
  ok = jax.jit(fn)(jax.random.key(1), p, 0.5)
  assert np.all(np.isfinite(np.asarray(ok.W)))
  zero = fn(jax.random.key(1), p, 0.0)  # zero is a size
  assert float(jnp.abs(zero.W).max()) == 0.0


def _kernel():
  x = jax.random.normal(jax.random.key(2), (6, 3))
  return x @ x.T + 0.1 * jnp.eye(6), jax.random.normal(jax.random.key(3), (6,))


@pytest.mark.parametrize(
  "ridges", [jnp.array([-1.0]), (1e-3, -0.5), jnp.array([0.1, jnp.nan]), jnp.array([jnp.inf])]
)
def test_a_negative_or_non_finite_ridge_is_refused(ridges):
  K, y = _kernel()
  with pytest.raises(ValueError, match="ridges must be finite and >= 0"):
    kernels.kernel_ridge_loo(K, y, ridges)


def test_a_negative_traced_ridge_gives_nan_results():
  K, y = _kernel()
  alpha, _, err = jax.jit(kernels.kernel_ridge_loo)(K, y, jnp.array([0.1, -1.0]))
  assert np.all(np.isnan(np.asarray(alpha))) and np.isnan(float(err))
  alpha, r, err = jax.jit(kernels.kernel_ridge_loo)(K, y, jnp.array([0.1, 0.0]))
  assert np.all(np.isfinite(np.asarray(alpha))) and np.isfinite(float(err))
