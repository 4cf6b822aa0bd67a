"""The derivative paths of the RNN's fast path at the widths the benchmarks use.

From m = ``_INLOOP_MIN_M`` on, the custom JVP rule of
``jaxrnn._src.rnn._final_state`` computes W' h^(l-1) and A' x^(l) inside its
tangent step (reverse mode then accumulates the W and A gradients step by
step), and ``pseudo_network`` takes its value from one scan over the pair
(h, dh) with the derivatives of ``jax.jvp``. These tests lower the switch so
that small problems take those paths, and check them (and the other branch)
against the NumPy float64 references of ``tests/np_reference.py``, in
float32 and float64, under jit, vmap, grad, jvp and second order.
"""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn._src import rnn as rnn_mod
from tests import np_reference as ref


@contextlib.contextmanager
def inloop_from(m_min):
  """Patches the width switch; the switch is read at trace time, so the
  caches are cleared on the way in and out."""
  old = rnn_mod._INLOOP_MIN_M
  rnn_mod._INLOOP_MIN_M = m_min
  jax.clear_caches()
  try:
    yield
  finally:
    rnn_mod._INLOOP_MIN_M = old
    jax.clear_caches()


def problem(seed, m=12, d=3, L=5, d_out=2, dtype=jnp.float64):
  ks = jax.random.split(jax.random.key(seed), 4)
  p = jaxrnn.init_params(ks[0], m, d, d_out, dtype)
  dl = jaxrnn.init_params(ks[1], m, d, d_out, dtype)
  xs = (jax.random.normal(ks[2], (L, d), dtype) / np.sqrt(d)).astype(dtype)
  c = jax.random.normal(ks[3], (d_out,), dtype)
  return p, dl, xs, c


def np_grad(W, A, B, xs, c):
  """Gradient of c . B h^(L) in (W, A): backpropagation through Eq. (1)
  with D^(l) = diag(1[z^(l) >= 0]) (Eq. 5), in float64."""
  W, A, B, xs, c = (np.asarray(a, np.float64) for a in (W, A, B, xs, c))
  hs = ref.hidden_states(W, A, xs)
  h_prev = np.vstack([np.zeros((1, W.shape[0])), hs[:-1]])
  D = ref.patterns(W, A, xs).astype(np.float64)
  gW, gA, g = np.zeros_like(W), np.zeros_like(A), B.T @ c
  for l in range(len(xs) - 1, -1, -1):
    gz = g * D[l]
    gW += np.outer(gz, h_prev[l])
    gA += np.outer(gz, xs[l])
    g = W.T @ gz
  return gW, gA


def close(actual, expected, dtype):
  expected = np.asarray(expected, np.float64)
  scale = max(np.max(np.abs(expected)), 1e-12)
  atol = (2e-5 if dtype == jnp.float32 else 1e-11) * scale
  np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=0, atol=atol)


BRANCHES = [pytest.param(1, id="inloop_and_fused"), pytest.param(10**9, id="hoisted_and_jvp")]
DTYPES = [pytest.param(jnp.float32, id="f32"), pytest.param(jnp.float64, id="f64")]


@pytest.mark.parametrize("m_min", BRANCHES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("L", [1, 2, 6])
@pytest.mark.slow
def test_gradient_and_pseudo_network_match_numpy_float64(m_min, dtype, L):
  # L = 1 leaves the peeled first step alone (empty scans); L = 2 one step.
  with jax.enable_x64(True), inloop_from(m_min):
    p, dl, xs, c = problem(1, L=L, dtype=dtype)
    gW, gA = jax.jit(
      jax.grad(lambda W, A: c @ jaxrnn.rnn_output(jaxrnn.RNNParams(W, A, p.B), xs), (0, 1))
    )(p.W, p.A)
    pn = jax.jit(jaxrnn.pseudo_network)(p, dl, xs)
    rW, rA = np_grad(p.W, p.A, p.B, xs, c)
    close(gW, rW, dtype)
    close(gA, rA, dtype)
    close(pn, ref.pseudo(p.W, p.A, p.B, dl.W, dl.A, xs), dtype)


# The batched form in float32 is in the full suite only: the fast subset runs
# it in float64 on both branches, and float32 on both branches per sequence.
BATCHED_DTYPES = [
  pytest.param(jnp.float32, id="f32", marks=pytest.mark.slow),
  pytest.param(jnp.float64, id="f64"),
]


@pytest.mark.parametrize("m_min", BRANCHES)
@pytest.mark.parametrize("dtype", BATCHED_DTYPES)
@pytest.mark.slow
def test_batched_gradient_and_pseudo_network_match_numpy_float64(m_min, dtype):
  # The benchmark's form: vmap over sequences, mean-square loss, jit.
  with jax.enable_x64(True), inloop_from(m_min):
    p, dl, _, _ = problem(2, dtype=dtype)
    xs = (jax.random.normal(jax.random.key(3), (4, 5, 3), dtype) / np.sqrt(3)).astype(dtype)
    ys = jax.random.normal(jax.random.key(4), (4, 2), dtype)

    def loss(W, A):
      out = jax.vmap(jaxrnn.rnn_output, (None, 0))(jaxrnn.RNNParams(W, A, p.B), xs)
      return 0.5 * jnp.mean(jnp.sum((out - ys) ** 2, axis=-1))

    gW, gA = jax.jit(jax.grad(loss, (0, 1)))(p.W, p.A)
    pn = jax.jit(jax.vmap(jaxrnn.pseudo_network, (None, None, 0)))(p, dl, xs)
    rW, rA = np.zeros(p.W.shape), np.zeros(p.A.shape)
    for b in range(4):
      resid = ref.output(p.W, p.A, p.B, xs[b]) - np.asarray(ys[b], np.float64)
      w, a = np_grad(p.W, p.A, p.B, xs[b], resid / 4)
      rW, rA = rW + w, rA + a
      close(pn[b], ref.pseudo(p.W, p.A, p.B, dl.W, dl.A, xs[b]), dtype)
    close(gW, rW, dtype)
    close(gA, rA, dtype)


@pytest.mark.parametrize("m_min", BRANCHES)
@pytest.mark.slow
def test_pseudo_network_derivatives_are_those_of_the_jvp(m_min):
  # In delta (training the linearized model): grad_{W'} c.F = grad_W c.F_rnn;
  # in W (second order), against central differences of the float64 Eq. (4).
  with jax.enable_x64(True), inloop_from(m_min):
    p, dl, xs, c = problem(5)
    g = jax.grad(
      lambda W_, A_: c @ jaxrnn.pseudo_network(p, jaxrnn.RNNParams(W_, A_, p.B), xs), (0, 1)
    )(dl.W, dl.A)
    rW, rA = np_grad(p.W, p.A, p.B, xs, c)
    close(g[0], rW, jnp.float64)
    close(g[1], rA, jnp.float64)
    V = jax.random.normal(jax.random.key(9), p.W.shape, jnp.float64)
    _, t = jax.jvp(lambda W: jaxrnn.pseudo_network(p._replace(W=W), dl, xs), (p.W,), (V,))
    eps = 1e-6
    fd = (
      ref.pseudo(p.W + eps * V, p.A, p.B, dl.W, dl.A, xs)
      - ref.pseudo(p.W - eps * V, p.A, p.B, dl.W, dl.A, xs)
    ) / (2 * eps)
    np.testing.assert_allclose(np.asarray(t), fd, atol=1e-6 * max(np.max(np.abs(fd)), 1e-3))
    # Reverse over reverse through the fast path: the Hessian of c.F_rnn in W
    # along V, against central differences of the float64 gradient.
    f = lambda W: c @ jaxrnn.rnn_output(p._replace(W=W), xs)
    hv = jax.jvp(jax.grad(f), (p.W,), (V,))[1]
    hv_rev = jax.grad(lambda W: jnp.vdot(jax.grad(f)(W), V))(p.W)
    fd2 = np_grad(p.W + eps * V, p.A, p.B, xs, c)[0] - np_grad(p.W - eps * V, p.A, p.B, xs, c)[0]
    fd2 = fd2 / (2 * eps)
    assert np.max(np.abs(fd2)) > 1e-3  # the Hessian is not zero
    for h in (hv, hv_rev):
      np.testing.assert_allclose(np.asarray(h), fd2, atol=1e-6 * np.max(np.abs(fd2)))


def test_fused_pseudo_network_agrees_with_the_jvp_and_keeps_nan():
  # The fused value path against the jvp path it stands in for, float32 at a
  # width where it is taken without patching; a NaN in W' reaches the output.
  p, dl, xs, _ = problem(6, m=rnn_mod._INLOOP_MIN_M, d=4, L=7, d_out=1, dtype=jnp.float32)
  fused = jaxrnn.pseudo_network(p, dl, xs)
  with inloop_from(10**9):
    plain = jaxrnn.pseudo_network(p, dl, xs)
  close(fused, plain, jnp.float32)
  bad = dl._replace(W=dl.W.at[3, 5].set(jnp.nan))
  assert bool(jnp.all(jnp.isnan(jaxrnn.pseudo_network(p, bad, xs))))


def test_reverse_mode_runs_one_forward_and_one_backward_loop():
  # The tangent step is rematerialized, so reverse mode applies the int8
  # masks in its own step: no extra loop that stacks them as floats.
  with inloop_from(1):
    p, _, xs, c = problem(7, dtype=jnp.float32)
    hlo = (
      jax.jit(jax.grad(lambda W: c @ jaxrnn.rnn_output(p._replace(W=W), xs)))
      .lower(p.W)
      .compile()
      .as_text()
    )
  assert hlo.count(" while(") == 2
