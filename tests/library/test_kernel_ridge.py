"""kernel_ridge_loo against brute-force leave-one-out, with and without a mask."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn.kernels import kernel_ridge_loo

RIDGES = (1e-3, 1e-2, 1e-1, 1.0)


def _brute_force(K, y, ridges, rows):
  """Refit without each training row in turn (NumPy float64)."""
  K, y = np.asarray(K, np.float64), np.asarray(y, np.float64)
  Kt, yt = K[np.ix_(rows, rows)], y[rows]
  scale = np.mean(np.diag(Kt))
  best = None
  for r in ridges:
    lam = r * scale
    errs = []
    for i in range(len(rows)):
      keep = np.arange(len(rows)) != i
      a = np.linalg.solve(Kt[np.ix_(keep, keep)] + lam * np.eye(keep.sum()), yt[keep])
      errs.append((yt[i] - Kt[i, keep] @ a) ** 2)
    mse = float(np.mean(errs))
    if best is None or mse < best[0]:
      best = (mse, r, np.linalg.solve(Kt + lam * np.eye(len(rows)), yt))
  return best


def _problem(n=12, seed=0):
  rng = np.random.default_rng(seed)
  X = rng.normal(size=(n, 3))
  K = np.exp(-0.5 * np.sum((X[:, None] - X[None]) ** 2, -1)) + 0.1 * X @ X.T
  y = np.sin(X[:, 0]) + 0.3 * rng.normal(size=n)
  return K, y


@pytest.mark.parametrize("use_mask", [False, True])
def test_matches_brute_force_leave_one_out(use_mask):
  K, y = _problem()
  rows = np.arange(12) if not use_mask else np.array([0, 2, 3, 5, 6, 8, 9, 11])
  mask = None if not use_mask else np.isin(np.arange(12), rows)
  want_mse, want_ridge, want_alpha = _brute_force(K, y, RIDGES, rows)
  with jax.enable_x64(True):
    alpha, ridge, mse = jax.jit(kernel_ridge_loo)(
      jnp.asarray(K),
      jnp.asarray(y),
      jnp.asarray(RIDGES),
      None if mask is None else jnp.asarray(mask),
    )
  assert float(ridge) == want_ridge
  assert float(mse) == pytest.approx(want_mse, rel=1e-8)
  alpha = np.asarray(alpha)
  np.testing.assert_allclose(alpha[rows], want_alpha, rtol=1e-8, atol=1e-10)
  if use_mask:  # rows outside the mask get no weight
    assert not np.any(alpha[~mask])


def test_mask_ignores_whatever_the_masked_rows_hold():
  K, y = _problem(seed=1)
  mask = np.arange(12) < 7
  K2, y2 = K.copy(), y.copy()
  K2[7:, :] = K2[:, 7:] = 99.0
  y2[7:] = -5.0
  with jax.enable_x64(True):
    a = kernel_ridge_loo(jnp.asarray(K), jnp.asarray(y), jnp.asarray(RIDGES), jnp.asarray(mask))
    b = kernel_ridge_loo(jnp.asarray(K2), jnp.asarray(y2), jnp.asarray(RIDGES), jnp.asarray(mask))
  for u, v in zip(a, b):
    np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-10, atol=1e-12)
