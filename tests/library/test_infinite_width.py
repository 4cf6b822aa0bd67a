"""The closed-form infinite-width NNGP and NTK (``jaxrnn.kernels.infinite_width_*``)
and the kernel dynamics ``gradient_descent_mse``.

Yardsticks, none of which reuses the library's kernel code:

- a NumPy float64 loop over pairs and time steps, written below from the
  definitions (Def. 3.2, the arc-cosine formulas, the backward products
  ``P^(i) = prod_{j >= i} 2 kappa_0``; the library instead runs a forward
  recursion over whole Gram matrices);
- Monte Carlo over the initialization of Def. 3.2 with the finite networks
  (``empirical_ntk / m`` and products of ``rnn_output``);
- values computed by hand;
- for the kernel dynamics, explicit gradient-descent iterations of a model
  linear in its parameters, in NumPy.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import lab
from jaxrnn.kernels import (
  empirical_ntk,
  gradient_descent_mse,
  infinite_width_nngp,
  infinite_width_ntk,
)

# --------------------------------------------------------------------------
# NumPy float64 reference, pair by pair


def _arccos(a, b, c):
  """kappa_1 = m E[relu(u) relu(v)] and kappa_0 = P(u >= 0, v >= 0) for
  (u, v) ~ N(0, (2/m) [[a, c], [c, b]]); a zero variance means u = 0 >= 0."""
  if a == 0 or b == 0:
    return 0.0, (1.0 if a == b else 0.5)
  cos = min(1.0, max(-1.0, c / math.sqrt(a * b)))
  theta = math.acos(cos)
  k1 = math.sqrt(a * b) / math.pi * (math.sin(theta) + (math.pi - theta) * cos)
  return k1, (math.pi - theta) / (2 * math.pi)


def ref_pair(x, y):
  """(NNGP, NTK) of two sequences of equal length, by the recursions."""
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  L = len(x)
  kxx = kyy = kxy = 0.0
  S, k0 = [], []
  for step in range(L):
    sxx = float(x[step] @ x[step]) + kxx
    syy = float(y[step] @ y[step]) + kyy
    sxy = float(x[step] @ y[step]) + kxy
    kxx = _arccos(sxx, sxx, sxx)[0]
    kyy = _arccos(syy, syy, syy)[0]
    kxy, on = _arccos(sxx, syy, sxy)
    S.append(sxy)
    k0.append(on)
  ntk = 0.0
  for i in range(L):
    P = 1.0
    for j in range(i, L):
      P *= 2 * k0[j]
    ntk += P * S[i]
  return 2 * kxy, ntk


def ref_gram(xs1, xs2):
  xs1, xs2 = np.asarray(xs1), np.asarray(xs2)
  out = np.zeros((2, len(xs1), len(xs2)))
  for a in range(len(xs1)):
    for b in range(len(xs2)):
      out[:, a, b] = ref_pair(xs1[a], xs2[b])
  return out


def _normalized(key, n, L, d, eps_x, dtype=jnp.float32):
  seq = lambda k: jaxrnn.random_normalized_sequence(k, L, d, eps_x, dtype)
  return jax.vmap(seq)(jax.random.split(key, n))


def _gaussian(seed, shape):
  return np.random.default_rng(seed).normal(size=shape)


# --------------------------------------------------------------------------
# Against the NumPy loop


def test_matches_numpy_loop_float64():
  xs1 = _gaussian(0, (5, 4, 3)) * np.array([0.3, 1.0, 2.0, 0.7])[None, :, None]
  xs2 = _gaussian(1, (3, 4, 3))
  xs2[0] = -xs1[0]  # an antiparallel pair
  xs2[1] = 2.5 * xs1[1]  # a parallel pair
  want = ref_gram(xs1, xs2)
  with jax.enable_x64(True):
    got_nngp = np.asarray(infinite_width_nngp(jnp.asarray(xs1), jnp.asarray(xs2)))
    got_ntk = np.asarray(infinite_width_ntk(jnp.asarray(xs1), jnp.asarray(xs2)))
    assert got_ntk.dtype == np.float64
  # The parallel pair (different norms) loses sqrt(eps) ~ 1e-8 of its angle
  # (here and in the reference's arccos): 1e-7 relative to the largest entry.
  np.testing.assert_allclose(got_nngp, want[0], rtol=0, atol=1e-7 * np.abs(want[0]).max())
  np.testing.assert_allclose(got_ntk, want[1], rtol=0, atol=1e-7 * np.abs(want[1]).max())


def test_matches_numpy_loop_float32_normalized_inputs():
  xs = _normalized(jax.random.key(3), 6, 6, 5, 0.3)
  want = ref_gram(xs, xs)
  got_nngp = infinite_width_nngp(xs, xs)
  got_ntk = infinite_width_ntk(xs, xs)
  assert got_ntk.dtype == jnp.float32 and got_nngp.dtype == jnp.float32
  # Every pair shares x^(1) (theta = 0 at step 1, and on the diagonal at
  # every step): the distance form keeps these exact, so float32 agrees to
  # ~1e-7 (measured 1.3e-7); a cosine-based float32 evaluation is ~1e-4 off.
  for got, ref in ((got_nngp, want[0]), (got_ntk, want[1])):
    np.testing.assert_allclose(np.asarray(got), ref, rtol=0, atol=2e-6 * np.abs(ref).max())


def test_close_pairs_keep_their_angle_in_float32():
  # Pairs 1e-3 apart: 1 - cos theta ~ 1e-6, which a float32 cosine would
  # resolve to only ~10%; the distance form gets it from the token
  # differences (measured agreement 1e-7 relative).
  rng = np.random.default_rng(13)
  x = rng.normal(size=(3, 5, 3))
  both = np.concatenate([x, x + 1e-3 * rng.normal(size=x.shape)])
  want = ref_gram(both, both)
  xs = jnp.asarray(both, jnp.float32)
  for got, ref in ((infinite_width_nngp(xs, xs), want[0]), (infinite_width_ntk(xs, xs), want[1])):
    np.testing.assert_allclose(np.asarray(got), ref, rtol=0, atol=2e-6 * np.abs(ref).max())


def test_reference_is_not_trivially_close_to_simpler_formulas():
  # The tests above can fail: dropping the kappa_0 factors (P = 1) or the
  # recurrent part K of S changes the kernel by far more than the tolerance.
  xs = _gaussian(4, (4, 3, 3))
  want = ref_gram(xs, xs)[1]
  S_only = np.zeros_like(want)
  for a in range(4):
    for b in range(4):
      S_only[a, b] = sum(float(xs[a, i] @ xs[b, i]) for i in range(3))
  assert np.linalg.norm(S_only - want) > 0.1 * np.linalg.norm(want)


# --------------------------------------------------------------------------
# Exact values by hand


def test_hand_values_length_one():
  x = jnp.array([[[1.0, 0.0]], [[1.0, 1.0]], [[0.0, 2.0]]])
  ntk = np.asarray(infinite_width_ntk(x, x))
  nngp = np.asarray(infinite_width_nngp(x, x))
  # L = 1: NTK = 2 kappa_0 <x, x'>, NNGP = 2 kappa_1.
  # (1,0) vs (1,1): theta = pi/4, kappa_0 = 3/8 -> NTK = 3/4;
  # kappa_1 = sqrt(2)/pi (sin + (3 pi/4) cos)(pi/4) = 1/pi + 3/4.
  np.testing.assert_allclose(ntk[0, 1], 0.75, rtol=1e-6)
  np.testing.assert_allclose(nngp[0, 1], 2 / math.pi + 1.5, rtol=1e-6)
  # orthogonal: NTK = 0 (S = 0), NNGP = 2 |x||x'| / pi.
  np.testing.assert_allclose(ntk[0, 2], 0.0, atol=1e-7)
  np.testing.assert_allclose(nngp[0, 2], 4 / math.pi, rtol=1e-6)
  np.testing.assert_allclose(np.diag(ntk), [1.0, 2.0, 4.0], rtol=1e-6)
  np.testing.assert_allclose(np.diag(nngp), [2.0, 4.0, 8.0], rtol=1e-6)


@pytest.mark.parametrize("c", [0.5, 1.0, 3.0])
@pytest.mark.slow
def test_parallel_and_antiparallel_sequences(c):
  x = jnp.asarray(_gaussian(5, (1, 5, 3)), jnp.float32)
  norms = np.sum(np.asarray(x[0], np.float64) ** 2, axis=-1)
  L = 5
  diag_ntk = sum((L - j) * norms[j] for j in range(L))  # sum_j (L - j + 1) |x^(j)|^2
  diag_nngp = 2 * norms.sum()
  both = jnp.concatenate([x, c * x, -c * x])
  ntk = np.asarray(infinite_width_ntk(both, both))
  nngp = np.asarray(infinite_width_nngp(both, both))
  assert np.all(np.isfinite(ntk)) and np.all(np.isfinite(nngp))
  # x' = c x: every S scales by c, every kappa_0 is 1/2. The diagonal is
  # exact up to the rounding of the sums. Parallel pairs of different norms
  # keep an angle error of a few sqrt(eps) (module docstring): in float32
  # each 2 kappa_0 may be ~3e-4 below 1; 5 steps -> rtol 2e-3.
  np.testing.assert_allclose(ntk[0, 0], diag_ntk, rtol=1e-6)
  np.testing.assert_allclose(ntk[1, 1], c * c * diag_ntk, rtol=1e-6)
  np.testing.assert_allclose(nngp[0, 0], diag_nngp, rtol=1e-6)
  np.testing.assert_allclose(ntk[0, 1], c * diag_ntk, rtol=2e-3)
  np.testing.assert_allclose(nngp[0, 1], c * diag_nngp, rtol=1e-5)
  with jax.enable_x64(True):
    ntk64 = np.asarray(infinite_width_ntk(both.astype(jnp.float64), both.astype(jnp.float64)))
  np.testing.assert_allclose(ntk64[0, 1], c * diag_ntk, rtol=1e-7)
  np.testing.assert_allclose(ntk64[0, 0], diag_ntk, rtol=1e-7)
  # x' = -c x. L = 1: z' = -c z, the two neurons are never on together and
  # both kernels vanish. L = 2: the states after step 1 have disjoint
  # supports (K^(1) = 0) but keep their norms, so step 2 is not antiparallel:
  # S = -c n2 with variances n1 + n2 and c^2 (n1 + n2), cos = -n2 / (n1 + n2).
  n1, n2 = norms[0], norms[1]
  two = jnp.concatenate([x[:, :2], -c * x[:, :2]])
  cos = -n2 / (n1 + n2)
  th = math.acos(cos)
  ntk2 = np.asarray(infinite_width_ntk(two, two))
  nngp2 = np.asarray(infinite_width_nngp(two, two))
  # float32: at step 1 the angle is pi - O(sqrt(eps)), so 2 kappa_0^(1) is
  # ~1e-4 instead of 0; it carries c n1 with it.
  want = (math.pi - th) / math.pi * (-c * n2)
  np.testing.assert_allclose(ntk2[0, 1], want, rtol=1e-4, atol=3e-4 * c * n1)
  k1 = c * (n1 + n2) / math.pi * (math.sin(th) + (math.pi - th) * cos)
  np.testing.assert_allclose(nngp2[0, 1], 2 * k1, rtol=1e-4)
  one = np.asarray(infinite_width_ntk(two[:, :1], two[:, :1]))
  np.testing.assert_allclose(one[0, 1], 0.0, atol=3e-4 * c * n1)  # as above
  np.testing.assert_allclose(
    np.asarray(infinite_width_nngp(two[:, :1], two[:, :1]))[0, 1], 0.0, atol=1e-6 * n1
  )


def test_exactly_parallel_pairs_give_no_nan_in_float32_and_float64():
  base = jnp.array([[[0.1, 0.2, 0.3], [1e-3, 0.0, 5.0], [7.0, -1.0, 0.5]]])
  for dtype in (jnp.float32, jnp.float64):
    with jax.enable_x64(dtype == jnp.float64):
      xs = jnp.concatenate([base, base, -base, 3 * base, jnp.zeros_like(base)]).astype(dtype)
      for f in (infinite_width_ntk, infinite_width_nngp):
        K = np.asarray(f(xs, xs))
        assert np.all(np.isfinite(K)), (f.__name__, dtype)
        assert K.dtype == dtype
        np.testing.assert_array_equal(K[4], 0.0)  # an all-zero sequence


def test_zero_tokens_left_padding_and_different_lengths():
  x = jnp.asarray(_gaussian(6, (3, 4, 3)), jnp.float32)
  y = jnp.asarray(_gaussian(7, (2, 2, 3)), jnp.float32)  # shorter
  y_padded = jnp.concatenate([jnp.zeros((2, 2, 3)), y], axis=1)
  for f in (infinite_width_ntk, infinite_width_nngp):
    np.testing.assert_allclose(f(x, y), f(x, y_padded), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(f(y, x), f(x, y).T, rtol=1e-6, atol=1e-6)
    # The padded short sequences against themselves equal the unpadded ones.
    np.testing.assert_allclose(f(y_padded, y_padded), f(y, y), rtol=1e-6, atol=1e-6)
  # Hand value: x = (v, w) against y = (0, u). Step 1 has S = <v, 0> = 0
  # (it adds nothing, whatever its kappa_0) and leaves K^(1) = 0; step 2 has
  # S = <w, u> + 0 = 1 with variances |v|^2 + |w|^2 = 10 (norm preservation)
  # and |u|^2 = 2, so NTK = 2 kappa_0 * 1 = (pi - arccos(1 / sqrt(20))) / pi.
  u, v, w = jnp.array([1.0, 1.0]), jnp.array([0.0, 3.0]), jnp.array([1.0, 0.0])
  a = jnp.stack([v, w])[None]
  b = jnp.stack([jnp.zeros(2), u])[None]
  want = (math.pi - math.acos(1 / math.sqrt(20))) / math.pi
  np.testing.assert_allclose(float(infinite_width_ntk(a, b)[0, 0]), want, rtol=1e-6)


def test_left_padding_is_exact_for_the_finite_network():
  # The docstring's alignment claim, checked on the finite RNN: zero tokens
  # before a sequence change neither the output nor the empirical NTK.
  p = jaxrnn.init_params(jax.random.key(0), 32, 3, 1)
  y = jnp.asarray(_gaussian(8, (2, 3, 3)), jnp.float32)
  pad = jnp.concatenate([jnp.zeros((2, 2, 3)), y], axis=1)
  out = jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))
  np.testing.assert_allclose(out(p, pad), out(p, y), rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(empirical_ntk(p, pad, pad), empirical_ntk(p, y, y), rtol=1e-5)


# --------------------------------------------------------------------------
# Structure: symmetric positive semi-definite Gram matrices, transforms


def test_gram_matrices_are_symmetric_psd():
  with jax.enable_x64(True):
    xs = jnp.asarray(_gaussian(9, (40, 5, 3)))
    xs = xs.at[1].set(xs[0]).at[2].set(-xs[0])  # duplicates make it singular
    for f in (infinite_width_ntk, infinite_width_nngp):
      K = np.asarray(f(xs, xs))
      np.testing.assert_allclose(K, K.T, rtol=0, atol=1e-12 * np.abs(K).max())
      ev = np.linalg.eigvalsh((K + K.T) / 2)
      assert ev.min() > -1e-9 * ev.max(), (f.__name__, ev.min(), ev.max())
      assert ev.max() > 0


@pytest.mark.slow
def test_jit_vmap_and_grad():
  # Gaussian tokens: no pair is parallel at any step (normalized sequences
  # all share x^(1), where the kernels are not differentiable in the inputs).
  xs1 = jnp.asarray(_gaussian(10, (5, 5, 4)), jnp.float32)
  xs2 = jnp.asarray(_gaussian(11, (3, 5, 4)), jnp.float32)
  for f in (infinite_width_ntk, infinite_width_nngp):
    K = f(xs1, xs2)
    np.testing.assert_allclose(jax.jit(f)(xs1, xs2), K, rtol=1e-6, atol=1e-6)
    rows = jax.vmap(lambda x, f=f: f(x[None], xs2)[0])(xs1)
    np.testing.assert_allclose(rows, K, rtol=1e-6, atol=1e-6)
    # vmap over a batch of Gram matrices (leading axis of both inputs)
    batched = jax.vmap(f)(jnp.stack([xs1, 2 * xs1]), jnp.stack([xs2, xs2]))
    np.testing.assert_allclose(batched[0], K, rtol=1e-6, atol=1e-6)
    # derivatives in the inputs are finite away from parallel pairs
    g = jax.jit(jax.grad(lambda a, f=f: jnp.sum(f(a, xs2))))(xs1)
    assert np.all(np.isfinite(np.asarray(g)))


def test_bad_inputs_raise():
  x = jnp.ones((2, 3, 4))
  with pytest.raises(ValueError, match="token dimension"):
    infinite_width_ntk(x, jnp.ones((2, 3, 5)))
  with pytest.raises(ValueError, match=r"\(N, L, d\)"):
    infinite_width_nngp(jnp.ones((3, 4)), x)
  with pytest.raises(TypeError, match="floating"):
    infinite_width_ntk(jnp.ones((2, 3, 4), jnp.int32), x)


# --------------------------------------------------------------------------
# Monte Carlo: the finite networks converge to the limits


_L, _D, _N = 4, 4, 4


def _mc_inputs():
  return _normalized(jax.random.key(7), _N, _L, _D, 0.5)


def _ntk_over_m(keys, xs, m):
  def one(k):
    return empirical_ntk(jaxrnn.init_params(k, m, _D, 1), xs, xs) / m

  return np.asarray(jax.jit(jax.vmap(one))(keys), np.float64)


def _ref_ntk_without_kappa0(xs):
  """A wrong kernel for contrast: P^(i) = 1 (the kappa_0 factors dropped)."""
  xs = np.asarray(xs, np.float64)
  n, L = xs.shape[:2]
  out = np.zeros((n, n))
  for a in range(n):
    for b in range(n):
      kab = kaa = kbb = 0.0
      for step in range(L):
        saa = xs[a, step] @ xs[a, step] + kaa
        sbb = xs[b, step] @ xs[b, step] + kbb
        sab = xs[a, step] @ xs[b, step] + kab
        out[a, b] += sab
        kaa, kbb, kab = saa, sbb, _arccos(saa, sbb, sab)[0]
  return out


def _within(est, lim, bias):
  """Entrywise |mean - lim| <= 4 standard errors over seeds + a bias allowance."""
  mean = est.mean(0)
  se = est.std(0, ddof=1) / np.sqrt(est.shape[0])
  return bool(np.all(np.abs(mean - lim) <= 4 * se + bias * np.abs(lim).max()))


@pytest.mark.slow
def test_empirical_ntk_converges_at_rate_m_to_the_minus_half():
  """Per-seed relative error ||Theta/m - NTK||_F / ||NTK||_F against m.

  Measured once with 200 seeds per width (L = 4, d = 4, eps_x = 0.5, 4
  sequences, m = 64 ... 1024): slope -0.53 [-0.57, -0.49] (bootstrap 95%),
  mean error 0.44, 0.20, 0.10 at m = 64, 256, 1024, and the average of the
  200 seeds within 0.006 of the limit at m = 1024. With the 12 seeds and 3
  widths used here the fitted slope has sampling standard deviation 0.08
  (16 disjoint batches of seeds: -0.65 ... -0.38). The window [-0.8, -0.2]
  is about 3.5 standard deviations wide on each side and excludes both "no
  convergence" (0) and a 1/m rate (-1).
  """
  xs = _mc_inputs()
  lim = np.asarray(infinite_width_ntk(xs, xs), np.float64)
  ms = (64, 256, 1024)
  errs = []
  for m in ms:
    E = _ntk_over_m(jaxrnn.seed_keys(1000 + m, 12), xs, m)
    errs.append(np.linalg.norm(E - lim, axis=(1, 2)) / np.linalg.norm(lim))
  slope = lab.power_law(ms, errs)
  assert -0.8 < slope.value < -0.2, slope
  assert slope.hi < 0, slope  # the error falls with m (95% interval)
  assert np.median(errs[-1]) < np.median(errs[0]) / 2
  # The seed average converges to the limit itself, not to a nearby kernel:
  # every entry within 4 standard errors over the 12 seeds, plus 2% of the
  # largest entry for the O(1/m) bias (measured < 1% at m = 1024). The same
  # rule rejects the kernel without the kappa_0 factors.
  assert _within(E, lim, 0.02)
  assert not _within(E, _ref_ntk_without_kappa0(xs), 0.02)


@pytest.mark.slow
def test_nngp_matches_monte_carlo_of_output_products():
  """E[F(x) F(x')] over (W, A, B) of Def. 3.2 against ``2 K^(L)``.

  For each of 32 draws of (W, A) at m = 2048, 256 draws of B ~ N(0, 2) (F is
  linear in B, so a wide B gives many outputs per network), and the products
  ``F(x) F(x')`` of ``rnn_output`` averaged. Entrywise within 4 standard
  errors over the (W, A) draws plus 2% of the largest entry for the O(1/m)
  bias. Gaussian tokens, so that the arc-cosine recursion is far from the
  kernel ``2 sum_l <x^(l), x'^(l)>`` of a network without ReLU, which the
  same rule rejects.
  """
  xs = jnp.asarray(_gaussian(12, (4, 3, 3)), jnp.float32)
  m, n_wa, n_b = 2048, 32, 256

  def one(key):
    k1, k2 = jax.random.split(key)
    p = jaxrnn.init_params(k1, m, 3, 1)
    B = jnp.sqrt(2.0) * jax.random.normal(k2, (n_b, m))
    F = jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))(p._replace(B=B), xs)  # (N, n_b)
    return F @ F.T / n_b

  est = np.asarray(jax.jit(jax.vmap(one))(jaxrnn.seed_keys(5, n_wa)), np.float64)
  lim = np.asarray(infinite_width_nngp(xs, xs), np.float64)
  assert _within(est, lim, 0.02)
  linear = 2 * np.einsum("ald,bld->ab", np.asarray(xs, np.float64), np.asarray(xs, np.float64))
  assert not _within(est, linear, 0.02)


# --------------------------------------------------------------------------
# Kernel dynamics against explicit gradient descent on a linear model


def _linear_problem(seed=0, n=6, n_test=4, P=9, k=None):
  rng = np.random.default_rng(seed)
  Phi = rng.normal(size=(n, P))
  Phi_t = rng.normal(size=(n_test, P))
  shape = (n,) if k is None else (n, k)
  y = rng.normal(size=shape)
  f0 = rng.normal(size=shape)
  f0t = rng.normal(size=(n_test,) if k is None else (n_test, k))
  return Phi, Phi_t, y, f0, f0t


def _gd_in_parameter_space(Phi, Phi_t, y, f0, f0t, lr, steps):
  """theta <- theta - lr grad (1/(2|y|)) sum (f0 + Phi theta - y)^2, theta_0 = 0."""
  y2 = y.reshape(len(y), -1)
  theta = np.zeros((Phi.shape[1], y2.shape[1]))
  f0_2, f0t_2 = f0.reshape(y2.shape), f0t.reshape(len(f0t), -1)
  for _ in range(steps):
    res = f0_2 + Phi @ theta - y2
    theta = theta - lr * Phi.T @ res / y2.size
  return (f0_2 + Phi @ theta).reshape(y.shape), (f0t_2 + Phi_t @ theta).reshape(f0t.shape)


@pytest.mark.parametrize("k", [None, 2])
def test_discrete_gradient_descent_is_exact(k):
  Phi, Phi_t, y, f0, f0t = _linear_problem(k=k)
  K, Kt = Phi @ Phi.T, Phi_t @ Phi.T
  lr = 0.5 * (1 if k is None else 2) * len(y) / np.linalg.eigvalsh(K).max()  # stable
  with jax.enable_x64(True):
    times = jnp.array([0.0, 1.0, 7.0, 40.0])
    ftr, fte = gradient_descent_mse(K, Kt, y, f0, f0t, learning_rate=lr, t=times, discrete=True)
  for i, steps in enumerate([0, 1, 7, 40]):
    want_tr, want_te = _gd_in_parameter_space(Phi, Phi_t, y, f0, f0t, lr, steps)
    np.testing.assert_allclose(np.asarray(ftr[i]), want_tr, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.asarray(fte[i]), want_te, rtol=1e-9, atol=1e-9)


def test_gradient_flow_matches_small_step_iteration():
  # Gradient flow at time t is the limit of t / h steps of size lr * h: the
  # Euler error is O(h); with h = 1e-3 it is below 1e-3 of the change.
  Phi, Phi_t, y, f0, f0t = _linear_problem(seed=1)
  K, Kt = Phi @ Phi.T, Phi_t @ Phi.T
  lr, t, h = 0.3, 5.0, 1e-3
  want_tr, want_te = _gd_in_parameter_space(Phi, Phi_t, y, f0, f0t, lr * h, int(round(t / h)))
  with jax.enable_x64(True):
    ftr, fte = gradient_descent_mse(K, Kt, y, f0, f0t, learning_rate=lr, t=t)
  scale = np.abs(want_te - f0t).max()
  np.testing.assert_allclose(np.asarray(ftr), want_tr, atol=1e-3 * scale)
  np.testing.assert_allclose(np.asarray(fte), want_te, atol=1e-3 * scale)
  # ... and differs from the h = 1 (discrete) trajectory by much more.
  coarse_tr, coarse_te = _gd_in_parameter_space(Phi, Phi_t, y, f0, f0t, lr * 0.5, 10)
  assert np.abs(coarse_te - want_te).max() > 1e-2 * scale


def test_infinite_time_is_kernel_regression_even_with_a_singular_kernel():
  # P < n: K has rank P; the kernel-regression limit is the pseudo-inverse
  # solution, which is also where gradient descent from theta = 0 ends.
  Phi, Phi_t, y, f0, f0t = _linear_problem(seed=2, n=8, P=5)
  K, Kt = Phi @ Phi.T, Phi_t @ Phi.T
  want_te = f0t + Kt @ np.linalg.pinv(K) @ (y - f0)
  want_tr = f0 + K @ np.linalg.pinv(K) @ (y - f0)
  with jax.enable_x64(True):
    for discrete in (False, True):
      ftr, fte = gradient_descent_mse(
        K, Kt, y, f0, f0t, learning_rate=1.0, t=jnp.inf, discrete=discrete
      )
      np.testing.assert_allclose(np.asarray(fte), want_te, rtol=1e-8, atol=1e-8)
      np.testing.assert_allclose(np.asarray(ftr), want_tr, rtol=1e-8, atol=1e-8)
    # many finite steps approach it
    _, fte_long = gradient_descent_mse(K, Kt, y, f0, f0t, learning_rate=1.0, t=1e5)
    np.testing.assert_allclose(np.asarray(fte_long), want_te, rtol=1e-6, atol=1e-6)
  ls_tr, ls_te = _gd_in_parameter_space(Phi, Phi_t, y, f0, f0t, 1.0, 20000)
  np.testing.assert_allclose(want_te, ls_te, rtol=1e-6, atol=1e-6)


def test_kernel_dynamics_jit_vmap_float32_and_errors():
  Phi, Phi_t, y, f0, f0t = _linear_problem(seed=3)
  K, Kt = (jnp.asarray(a, jnp.float32) for a in (Phi @ Phi.T, Phi_t @ Phi.T))
  y, f0, f0t = (jnp.asarray(a, jnp.float32) for a in (y, f0, f0t))
  ts = jnp.array([0.0, 2.0, 10.0, jnp.inf], jnp.float32)
  ftr, fte = gradient_descent_mse(K, Kt, y, f0, f0t, learning_rate=0.2, t=ts)
  assert ftr.shape == (4, 6) and fte.shape == (4, 4) and fte.dtype == jnp.float32
  np.testing.assert_allclose(ftr[0], f0, atol=1e-5)
  np.testing.assert_allclose(fte[0], f0t, atol=1e-5)
  fn = jax.jit(lambda lr, t: gradient_descent_mse(K, Kt, y, f0, f0t, learning_rate=lr, t=t))
  for i in range(4):
    a, b = fn(jnp.float32(0.2), ts[i])
    np.testing.assert_allclose(a, ftr[i], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(b, fte[i], rtol=1e-4, atol=1e-4)
  # vmap over the learning rate
  vf = jax.vmap(lambda lr: gradient_descent_mse(K, Kt, y, f0, f0t, learning_rate=lr, t=2.0)[1])
  np.testing.assert_allclose(vf(jnp.array([0.2, 0.4]))[0], fte[1], rtol=1e-4, atol=1e-4)
  with pytest.raises(ValueError, match="k_test_train"):
    gradient_descent_mse(K, Kt[:, :3], y, f0, f0t, learning_rate=0.1, t=1.0)
  with pytest.raises(ValueError, match="learning_rate"):
    gradient_descent_mse(K, Kt, y, f0, f0t, learning_rate=0.0, t=1.0)
  with pytest.raises(ValueError, match="t must be >= 0"):
    gradient_descent_mse(K, Kt, y, f0, f0t, learning_rate=0.1, t=-1.0)
  with pytest.raises(ValueError, match="integer"):
    gradient_descent_mse(K, Kt, y, f0, f0t, learning_rate=0.1, t=1.5, discrete=True)
  with pytest.raises(ValueError, match="f0_train"):
    gradient_descent_mse(K, Kt, y, f0[:3], f0t, learning_rate=0.1, t=1.0)


def test_unstable_discrete_steps_diverge_like_the_iteration():
  Phi, Phi_t, y, f0, f0t = _linear_problem(seed=4)
  K, Kt = Phi @ Phi.T, Phi_t @ Phi.T
  lr = 2.5 * len(y) / np.linalg.eigvalsh(K).max()  # lr lambda_max / n = 2.5 > 2
  with jax.enable_x64(True):
    ftr, fte = gradient_descent_mse(K, Kt, y, f0, f0t, learning_rate=lr, t=40.0, discrete=True)
    _, f_inf = gradient_descent_mse(K, Kt, y, f0, f0t, learning_rate=lr, t=jnp.inf, discrete=True)
  want_tr, want_te = _gd_in_parameter_space(Phi, Phi_t, y, f0, f0t, lr, 40)
  np.testing.assert_allclose(np.asarray(ftr), want_tr, rtol=1e-6)
  np.testing.assert_allclose(np.asarray(fte), want_te, rtol=1e-6)
  assert np.abs(want_tr).max() > 1e3  # it did diverge
  assert not np.all(np.isfinite(np.asarray(f_inf)))


# --------------------------------------------------------------------------
# Boundary cases: parallel, antiparallel and zero-norm steps


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_kernels_are_exact_at_parallel_antiparallel_and_zero_steps(dtype):
  """theta = 0 and theta = pi are the ends where the angle is most sensitive
  to rounding; at exactly those ends the values are known in closed form:
  kappa_0 = 1/2 (parallel, equal norms) or 0 (antiparallel), kappa_1 = a or 0.
  x and -x at L = 1: NTK = 2 kappa_0 S = 0, NNGP = 2 kappa_1 = 0; x with itself:
  the diagonal sums; a zero step leaves everything at 0."""
  with jax.enable_x64(dtype == jnp.float64):
    x = jnp.asarray([[[0.3, 0.4, 0.5]]], dtype)
    tol = 1e-6 if dtype == jnp.float32 else 1e-15
    for f in (infinite_width_ntk, infinite_width_nngp):
      assert abs(float(f(x, -x)[0, 0])) <= tol, f
    assert float(infinite_width_ntk(x, x)[0, 0]) == pytest.approx(0.5, abs=tol)
    assert float(infinite_width_nngp(x, x)[0, 0]) == pytest.approx(1.0, abs=tol)
    # antiparallel first token, identical second: step 2 sees K^(1) = 0 exactly,
    # so S^(2) = |x2|^2 and the NTK is 2 kappa_0(S^(2)) S^(2) with the angle of
    # (a, b, c) = (|x1|^2 + |x2|^2, same, |x2|^2); from float64 NumPy:
    x2 = jnp.asarray([[[0.3, 0.4, 0.5], [1.0, 2.0, 3.0]]], dtype)
    y2 = x2.at[:, 0].multiply(-1)
    a, c = 0.5 + 14.0, 14.0
    theta = np.arccos(c / a)
    want = 2 * (np.pi - theta) / (2 * np.pi) * c
    got = float(infinite_width_ntk(x2, y2)[0, 0])
    assert got == pytest.approx(want, rel=1e-5 if dtype == jnp.float32 else 1e-12)
    zeros = jnp.zeros((1, 2, 3), dtype)
    assert float(infinite_width_ntk(zeros, zeros)[0, 0]) == 0.0
    assert float(infinite_width_ntk(x2, zeros)[0, 0]) == 0.0


@pytest.mark.slow
def test_kernel_gradients_are_finite_at_the_boundary():
  x = jnp.asarray([[[0.0, 0.0, 0.0], [0.3, 0.4, 0.5], [1.0, 2.0, 3.0]]])
  for f in (infinite_width_ntk, infinite_width_nngp):
    for other in (lambda v: v, lambda v: -v, jnp.zeros_like):
      # jit: one compiled program per gradient instead of op-by-op dispatch
      g = jax.jit(jax.grad(lambda v, f=f, other=other: jnp.sum(f(v, other(v)))))(x)
      assert bool(jnp.all(jnp.isfinite(g))), (f, other)
    g0 = jax.jit(jax.grad(lambda v, f=f: jnp.sum(f(v, v))))(jnp.zeros((1, 2, 3)))
    assert bool(jnp.all(jnp.isfinite(g0)))
