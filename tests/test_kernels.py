"""Empirical NTK against NumPy finite-difference gradients; token-wise baseline."""

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn


def _np_out(W, A, B, xs):
  h = np.zeros(W.shape[0])
  for x in xs:
    h = np.maximum(A @ x + W @ h, 0.0)
  return (B @ h)[0]


def test_empirical_ntk_matches_finite_difference_gradients():
  # K = <grad_{W,A} F(x), grad_{W,A} F(x')> with gradients from central
  # differences of an independent float64 NumPy RNN (Eq. 1); B not included.
  p = jaxrnn.init_params(jax.random.key(0), 6, 3, 1)
  xs = jax.random.normal(jax.random.key(1), (3, 4, 3))
  W, A, B = (np.asarray(a, np.float64) for a in p)
  grads = []
  for x in np.asarray(xs, np.float64):
    g = []
    for M, which in ((W, 0), (A, 1)):
      for idx in np.ndindex(M.shape):
        E = np.zeros_like(M)
        E[idx] = 1e-6
        args_p = (W + E, A) if which == 0 else (W, A + E)
        args_m = (W - E, A) if which == 0 else (W, A - E)
        g.append((_np_out(*args_p, B, x) - _np_out(*args_m, B, x)) / 2e-6)
    grads.append(g)
  G = np.asarray(grads)
  np.testing.assert_allclose(jaxrnn.kernels.empirical_ntk(p, xs, xs), G @ G.T, rtol=1e-3, atol=1e-4)


def test_additive_baseline_fits_additive_target_not_product():
  # y = f(token 1) + g(token 2) is in the token-wise class; y = z1 * z2 is not.
  k = jax.random.split(jax.random.key(2), 2)
  xb = jax.vmap(lambda kk: jaxrnn.random_true_sequence(kk, 2, 4))(jax.random.split(k[0], 400))
  xt = jax.vmap(lambda kk: jaxrnn.random_true_sequence(kk, 2, 4))(jax.random.split(k[1], 200))
  add = lambda x: jnp.sin(2 * x[:, 0, 0]) + x[:, 1, 1] ** 2
  prod = lambda x: 4 * x[:, 0, 0] * x[:, 1, 1]
  errs = {}
  for name, f in (("add", add), ("prod", prod)):
    pred, _ = jaxrnn.kernels.fit_additive_baseline(xb, f(xb), xt)
    errs[name] = float(jnp.mean((pred - f(xt)) ** 2) / jnp.var(f(xt)))
  # product of independent zero-mean coordinates has no additive part at all
  assert errs["add"] < 0.05 and errs["prod"] > 0.8, errs
