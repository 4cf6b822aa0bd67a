"""The fast paths of the RNN against independent NumPy float64 references.

``rnn_output`` / ``final_hidden_state`` run through a ``jax.custom_jvp``
(``jaxrnn._src.rnn._final_state``) with the input projection inside the step,
and ``pseudo_network`` (``jax.jvp`` through that rule). These tests
check values, reverse-mode gradients in W, A (and xs), forward-mode jvp,
second derivatives, the ReLU derivative convention 1[z >= 0] of Eq. (5) at an
exact tie, ``vmap`` over the batch, several ``scan`` unroll factors, and dtype
preservation. The references (``tests/np_reference.py``) are written from the paper's
equations with NumPy loops and never call jaxrnn. No test times anything.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized

import jaxrnn
from jaxrnn._src import rnn as rnn_mod
from tests import np_reference as ref

# NumPy float64 references: tests/np_reference.py (Eq. 1, Eq. 4, Eq. 5 and
# backpropagation through time written out by hand).
np_output = ref.output
np_vjp = ref.vjp
np_eq4 = ref.pseudo
np_input_tangent = ref.input_tangent


def np_forward(W, A, xs):
  """Pre-activations z^(1..L) (L, m) and states h^(0..L) (L+1, m) of Eq. (1)."""
  hs = ref.hidden_states(W, A, xs)
  return ref.preactivations(W, A, xs), np.vstack([np.zeros((1, hs.shape[1])), hs])


# --------------------------------------------------------------------------


def problem(key, m, d, L, d_out, n=0, dtype=jnp.float32):
  ks = jax.random.split(key, 6)
  p = jaxrnn.init_params(ks[0], m, d, d_out, dtype)
  delta = jaxrnn.init_params(ks[1], m, d, d_out, dtype)
  shape = (n, L, d) if n else (L, d)
  xs = jax.random.normal(ks[2], shape, dtype) / np.sqrt(d)
  dxs = jax.random.normal(ks[3], shape, dtype)
  c = jax.random.normal(ks[4], ((n, d_out) if n else (d_out,)), dtype)
  return p, delta, xs, dxs, c


def assert_close(actual, expected, dtype, scale=None):
  # float32: relative 2e-5 of the largest entry (sums of ~m L terms of size
  # O(1) accumulate ~1e-6 relative rounding); float64: 1e-10.
  expected = np.asarray(expected, np.float64)
  scale = scale if scale is not None else max(np.max(np.abs(expected)), 1e-12)
  tol = 2e-5 if dtype == jnp.float32 else 1e-10
  np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=0, atol=tol * scale)


CASES = [
  dict(m=16, d=3, L=1, d_out=1, dtype=jnp.float32),
  dict(m=24, d=4, L=7, d_out=2, dtype=jnp.float32),
  dict(m=40, d=5, L=12, d_out=3, dtype=jnp.float64),
]
# float64 at the second float32 shape: in the full suite only (the fast subset
# has float64 at another shape with L > 1 and d_out > 1).
SLOW_CASE = dict(m=24, d=4, L=7, d_out=2, dtype=jnp.float64)


class _FastPathChecks:
  """Values, reverse mode and forward mode against NumPy, at one case
  (``self.variant`` is set by ``chex.variants``)."""

  def _output_and_final_state(self, m, d, L, d_out, dtype):
    with jax.enable_x64(dtype == jnp.float64):
      p, _, xs, _, _ = problem(jax.random.key(0), m, d, L, d_out, dtype=dtype)
      out = self.variant(jaxrnn.rnn_output)(p, xs)
      hL = self.variant(jaxrnn.final_hidden_state)(p, xs)
      self.assertEqual(out.dtype, dtype)
      self.assertEqual(hL.dtype, dtype)
      assert_close(out, np_output(p.W, p.A, p.B, xs), dtype)
      assert_close(hL, np_forward(p.W, p.A, xs)[1][-1], dtype)

  def _reverse_mode_in_W_A_xs(self, m, d, L, d_out, dtype):
    with jax.enable_x64(dtype == jnp.float64):
      p, _, xs, _, c = problem(jax.random.key(1), m, d, L, d_out, dtype=dtype)
      f = lambda W, A, xs: c @ jaxrnn.rnn_output(jaxrnn.RNNParams(W, A, p.B), xs)
      gW, gA, gx = self.variant(jax.grad(f, argnums=(0, 1, 2)))(p.W, p.A, xs)
      rW, rA, rx = np_vjp(p.W, p.A, p.B, xs, c)
      for got, ref in ((gW, rW), (gA, rA), (gx, rx)):
        self.assertEqual(got.dtype, dtype)
        assert_close(got, ref, dtype)

  def _forward_mode_jvp(self, m, d, L, d_out, dtype):
    with jax.enable_x64(dtype == jnp.float64):
      p, dl, xs, dxs, _ = problem(jax.random.key(2), m, d, L, d_out, dtype=dtype)
      f = lambda W, A, xs: jaxrnn.rnn_output(jaxrnn.RNNParams(W, A, p.B), xs)
      jvp = self.variant(lambda *a: jax.jvp(f, a[:3], a[3:]))
      zx = jnp.zeros_like(xs)
      out, t_wa = jvp(p.W, p.A, xs, dl.W, dl.A, zx)
      _, t_x = jvp(p.W, p.A, xs, jnp.zeros_like(p.W), jnp.zeros_like(p.A), dxs)
      assert_close(out, np_output(p.W, p.A, p.B, xs), dtype)
      assert_close(t_wa, np_eq4(p.W, p.A, p.B, dl.W, dl.A, xs), dtype)
      assert_close(t_x, np_input_tangent(p.W, p.A, p.B, xs, dxs), dtype)
      # The pseudo-network (jax.jvp through the same rule) is the same tangent.
      pn = self.variant(jaxrnn.pseudo_network)(p, dl, xs)
      self.assertEqual(pn.dtype, dtype)
      assert_close(pn, np_eq4(p.W, p.A, p.B, dl.W, dl.A, xs), dtype)

  def _unroll_and_branch_match_reference(self, unroll, inloop_min_m):
    with jax.enable_x64(True):
      p, dl, xs, _, c = problem(jax.random.key(6), 20, 3, 7, 2, dtype=jnp.float64)
      old = rnn_mod._UNROLL, rnn_mod._INLOOP_MIN_M
      rnn_mod._UNROLL, rnn_mod._INLOOP_MIN_M = unroll, inloop_min_m
      # The switches are read at trace time: without clearing the caches a
      # jitted function would reuse an earlier trace and never run this path.
      jax.clear_caches()
      try:
        jaxpr = str(jax.make_jaxpr(jaxrnn.rnn_output)(p, xs))
        assert f"unroll={unroll}" in jaxpr, "the patched unroll factor did not reach the scan"
        out = jax.jit(jaxrnn.rnn_output)(p, xs)
        gW, gA = jax.grad(
          lambda W, A: c @ jaxrnn.rnn_output(jaxrnn.RNNParams(W, A, p.B), xs), argnums=(0, 1)
        )(p.W, p.A)
        pn = jax.jit(jaxrnn.pseudo_network)(p, dl, xs)
        f = lambda W, A, xs: jaxrnn.rnn_output(jaxrnn.RNNParams(W, A, p.B), xs)
        _, t = jax.jvp(f, (p.W, p.A, xs), (dl.W, dl.A, jnp.zeros_like(xs)))
        _, t_w = jax.jvp(lambda W: f(W, p.A, xs), (p.W,), (dl.W,))
      finally:
        rnn_mod._UNROLL, rnn_mod._INLOOP_MIN_M = old
        jax.clear_caches()
      rW, rA, _ = np_vjp(p.W, p.A, p.B, xs, c)
      assert_close(t, np_eq4(p.W, p.A, p.B, dl.W, dl.A, xs), jnp.float64)
      assert_close(t_w, np_eq4(p.W, p.A, p.B, dl.W, 0 * dl.A, xs), jnp.float64)
      assert_close(out, np_output(p.W, p.A, p.B, xs), jnp.float64)
      assert_close(gW, rW, jnp.float64)
      assert_close(gA, rA, jnp.float64)
      assert_close(pn, np_eq4(p.W, p.A, p.B, dl.W, dl.A, xs), jnp.float64)


class FastPathTest(_FastPathChecks, chex.TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*CASES)
  def test_output_and_final_state(self, m, d, L, d_out, dtype):
    self._output_and_final_state(m, d, L, d_out, dtype)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*CASES)
  def test_reverse_mode_in_W_A_xs(self, m, d, L, d_out, dtype):
    self._reverse_mode_in_W_A_xs(m, d, L, d_out, dtype)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*CASES)
  def test_forward_mode_jvp(self, m, d, L, d_out, dtype):
    self._forward_mode_jvp(m, d, L, d_out, dtype)

  def test_batched_paths_match_reference(self):
    # The benchmarks' usage: jit(vmap(...)) and grad of a batch loss, where W
    # is shared by the batch (its gradient is a sum over sequences).
    with jax.enable_x64(True):
      n, m, d, L, d_out = 5, 32, 4, 9, 2
      p, dl, xs, _, c = problem(jax.random.key(3), m, d, L, d_out, n=n, dtype=jnp.float64)
      out = jax.jit(jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0)))(p, xs)
      pn = jax.jit(jax.vmap(jaxrnn.pseudo_network, in_axes=(None, None, 0)))(p, dl, xs)

      def loss(W, A):
        o = jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))(jaxrnn.RNNParams(W, A, p.B), xs)
        return jnp.sum(c * o)

      gW, gA = jax.jit(jax.grad(loss, argnums=(0, 1)))(p.W, p.A)
      per_ex = jax.vmap(
        jax.grad(lambda W, x, ci: ci @ jaxrnn.rnn_output(jaxrnn.RNNParams(W, p.A, p.B), x)),
        in_axes=(None, 0, 0),
      )(p.W, xs, c)
      refs = [np_vjp(p.W, p.A, p.B, xs[b], c[b]) for b in range(n)]
      for b in range(n):
        assert_close(out[b], np_output(p.W, p.A, p.B, xs[b]), jnp.float64)
        assert_close(pn[b], np_eq4(p.W, p.A, p.B, dl.W, dl.A, xs[b]), jnp.float64)
        assert_close(per_ex[b], refs[b][0], jnp.float64)
      assert_close(gW, sum(r[0] for r in refs), jnp.float64)
      assert_close(gA, sum(r[1] for r in refs), jnp.float64)

  def test_relu_derivative_is_one_at_an_exact_tie(self):
    # x^(1) = 0 makes h^(1) = 0 exactly; x^(2) = e_1 and A[0, 0] = 0 then make
    # unit 0's pre-activation at step 2 exactly 0 while its tangent along A' is
    # A'[0, 0] != 0. Eq. (5) counts the tie as active (1[z >= 0]); the value
    # 1/2 (jnp.maximum) or 0 (torch's relu) would change both derivatives.
    with jax.enable_x64(True):
      m, d, L = 6, 3, 4
      p, dl, _, _, _ = problem(jax.random.key(4), m, d, L, 1, dtype=jnp.float64)
      A = p.A.at[0, 0].set(0.0)
      p = p._replace(A=A, B=jnp.ones((1, m)))
      xs = jnp.array([[0, 0, 0], [1, 0, 0], [0.3, -0.2, 0.5], [0.1, 0.4, -0.3]], jnp.float64)
      zs, _ = np_forward(p.W, p.A, xs)
      assert zs[1][0] == 0.0 and zs[0].max() == 0.0 == zs[0].min()
      dl = dl._replace(A=dl.A.at[0, 0].set(1.0))
      assert_close(
        jaxrnn.pseudo_network(p, dl, xs), np_eq4(p.W, p.A, p.B, dl.W, dl.A, xs), jnp.float64
      )
      f = lambda W, A: jaxrnn.rnn_output(jaxrnn.RNNParams(W, A, p.B), xs)[0]
      _, t = jax.jvp(f, (p.W, p.A), (dl.W, dl.A))
      assert_close(t, np_eq4(p.W, p.A, p.B, dl.W, dl.A, xs)[0], jnp.float64)
      gW, gA = jax.grad(f, argnums=(0, 1))(p.W, p.A)
      rW, rA, _ = np_vjp(p.W, p.A, p.B, xs, np.ones(1))
      assert_close(gW, rW, jnp.float64)
      assert_close(gA, rA, jnp.float64)
      # The tie really matters: with mask 1[z > 0] the reference differs.
      assert abs(rA[0, 0]) > 1e-3

  def test_second_derivatives(self):
    # Hessian-vector products in W, forward-over-reverse and reverse-over-
    # reverse, against central differences of the NumPy gradient (float64;
    # eps = 1e-6 is far below the smallest |z| here, so no activation flips
    # and the difference quotient is exact up to ~1e-9 rounding).
    with jax.enable_x64(True):
      m, d, L = 12, 3, 5
      p, dl, xs, _, _ = problem(jax.random.key(5), m, d, L, 1, dtype=jnp.float64)
      zs, _ = np_forward(p.W, p.A, xs)
      assert np.min(np.abs(zs)) > 1e-4
      f = lambda W: jaxrnn.rnn_output(jaxrnn.RNNParams(W, p.A, p.B), xs)[0]
      V = dl.W
      eps = 1e-6
      ref = (
        np_vjp(p.W + eps * V, p.A, p.B, xs, np.ones(1))[0]
        - np_vjp(p.W - eps * V, p.A, p.B, xs, np.ones(1))[0]
      ) / (2 * eps)
      fwd_rev = jax.jvp(jax.grad(f), (p.W,), (V,))[1]
      rev_rev = jax.grad(lambda W: jnp.vdot(jax.grad(f)(W), V))(p.W)
      assert np.max(np.abs(ref)) > 1e-3  # the Hessian in W is not zero
      np.testing.assert_allclose(fwd_rev, ref, atol=1e-6 * np.max(np.abs(ref)))
      np.testing.assert_allclose(rev_rev, ref, atol=1e-6 * np.max(np.abs(ref)))
      # Second derivative along a line, forward over forward.
      g = lambda t: f(p.W + t * V)
      d2 = jax.jvp(lambda t: jax.jvp(g, (t,), (1.0,))[1], (0.0,), (1.0,))[1]
      ref2 = (
        np_eq4(p.W + eps * V, p.A, p.B, V, 0 * p.A, xs)
        - np_eq4(p.W - eps * V, p.A, p.B, V, 0 * p.A, xs)
      )[0] / (2 * eps)
      np.testing.assert_allclose(d2, ref2, atol=1e-6 * max(abs(ref2), 1e-3))

  # Unroll factors that do and do not divide L = 7, and both branches of the
  # JVP rule (W' h^(l-1) inside the tangent scan when m >= _INLOOP_MIN_M,
  # before it otherwise). The fast subset runs a factor that does not divide L
  # with the in-loop branch and one larger than L with the other branch.
  @parameterized.parameters((3, 1), (8, 10**9))
  def test_unroll_and_inloop_branch_do_not_change_results(self, unroll, inloop_min_m):
    self._unroll_and_branch_match_reference(unroll, inloop_min_m)

  def test_pseudo_network_differentiable_in_delta(self):
    # Training the linearized model differentiates the pseudo-network in
    # (W', A'); it is linear there, so its gradient along c is the VJP of the
    # RNN at (W, A): grad_{W'} c.F(x; W', A') = grad_W c.F_rnn(x; W, A).
    with jax.enable_x64(True):
      p, dl, xs, _, c = problem(jax.random.key(7), 16, 3, 6, 2, dtype=jnp.float64)
      g = jax.grad(
        lambda W_, A_: c @ jaxrnn.pseudo_network(p, jaxrnn.RNNParams(W_, A_, p.B), xs),
        argnums=(0, 1),
      )(dl.W, dl.A)
      rW, rA, _ = np_vjp(p.W, p.A, p.B, xs, c)
      assert_close(g[0], rW, jnp.float64)
      assert_close(g[1], rA, jnp.float64)


@pytest.mark.slow
class FastPathSlowCaseTest(_FastPathChecks, chex.TestCase):
  """The three checks above at ``SLOW_CASE``, with and without jit, and the
  unroll factors 1 and 2."""

  @chex.variants(with_jit=True, without_jit=True)
  def test_float64_at_the_second_float32_shape(self):
    self._output_and_final_state(**SLOW_CASE)
    self._reverse_mode_in_W_A_xs(**SLOW_CASE)
    self._forward_mode_jvp(**SLOW_CASE)

  # (a pytest mark on a method under parameterized.parameters does not reach
  # the generated tests: they are marked slow through this class)
  @parameterized.parameters((1, 1), (2, 10**9))
  def test_unroll_one_and_two_do_not_change_results(self, unroll, inloop_min_m):
    self._unroll_and_branch_match_reference(unroll, inloop_min_m)


def test_fast_path_is_the_one_used():
  # Guards the wiring the benchmarks rely on: rnn_output goes through the
  # custom JVP rule of _final_state.
  p, _, xs, _, _ = problem(jax.random.key(8), 8, 2, 3, 1)
  assert "custom_jvp_call" in str(jax.make_jaxpr(jaxrnn.rnn_output)(p, xs))


if __name__ == "__main__":
  pytest.main([__file__, "-q"])
