"""NaN propagates through every computation with the ReLU's mask D of
Eq. (5): the empirical NTK and its factors, the backward matrices and the
explicit pseudo-network, the Taylor remainder's pattern flips, the inversion
of Sec. 4.4, and ``relu``'s own derivative. A boolean mask (``z >= 0``)
reads a NaN pre-activation as an inactive unit, so these used to return
finite numbers for NaN weights while ``rnn_output`` and ``jax.grad`` were
NaN. Infinite inputs follow IEEE arithmetic, and the command-line page says so."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import kernels

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "command-line.md"


def _problem(m=8, d=3, L=5, d_out=1, n=4):
  p = jaxrnn.init_params(jax.random.key(0), m, d, d_out)
  xs = jax.random.normal(jax.random.key(1), (n, L, d)) / np.sqrt(d)
  return p, xs


def _nan_in(p, which):
  return p._replace(**{which: getattr(p, which).at[0, 0].set(jnp.nan)})


CASES = [(which, jit) for which in ("W", "A") for jit in (False, True)]


@pytest.mark.parametrize("which,jit", CASES)
def test_empirical_ntk_is_nan_everywhere_when_a_weight_is_nan(which, jit):
  p, xs = _problem()
  q = _nan_in(p, which)
  # what the kernel is made of: the output and its gradient are NaN ...
  assert np.all(np.isnan(jaxrnn.rnn_output(q, xs[0])))
  grad = jax.grad(lambda W, A: jaxrnn.rnn_output(q._replace(W=W, A=A), xs[0])[0], (0, 1))
  assert all(np.all(np.isnan(g)) for g in grad(q.W, q.A))
  # ... so is every entry of the kernel of those gradients
  ntk = jax.jit(kernels.empirical_ntk) if jit else kernels.empirical_ntk
  K = np.asarray(ntk(q, xs))
  assert np.all(np.isnan(K)), K
  K2 = np.asarray(ntk(q, xs, xs[:2] + 0.0))  # the two-set path too
  assert np.all(np.isnan(K2)), K2


@pytest.mark.parametrize("which,jit", CASES)
def test_ntk_factors_are_nan_when_a_weight_is_nan(which, jit):
  p, xs = _problem()
  q = _nan_in(p, which)
  fac = jax.jit(kernels.ntk_factors) if jit else kernels.ntk_factors
  G, H, _ = fac(q, xs[0])
  assert np.all(np.isnan(np.asarray(G)))  # every g_i, the last one D^(L) B included
  # Hprev = h^(0) ... h^(L-1): h^(0) = 0; the NaN reaches one unit within two
  # steps (W enters at step 2) and every unit one step later
  H = np.asarray(H)
  assert np.all(H[0] == 0) and np.any(np.isnan(H[1:3])) and np.all(np.isnan(H[3:]))


def test_the_ntk_of_finite_weights_is_unchanged_by_the_nan_aware_mask():
  # D as 0/1 factors gives the same kernel as the definition's einsum
  p, xs = _problem(m=6, L=4, n=3)
  G, H, X = jax.vmap(kernels.ntk_factors, in_axes=(None, 0))(p, xs)
  want = np.einsum("aim,bjm,aibj->ab", G, G, np.einsum("aik,bjk->aibj", H, H))
  want += np.einsum("aim,bjm,aibj->ab", G, G, np.einsum("aik,bjk->aibj", X, X))
  np.testing.assert_allclose(np.asarray(kernels.empirical_ntk(p, xs)), want, rtol=2e-5)


@pytest.mark.parametrize("which", ["W", "A"])
def test_pseudo_network_patterns_are_nan_when_a_weight_is_nan(which):
  p, xs = _problem(d_out=2)
  q = _nan_in(p, which)
  back = np.asarray(jaxrnn.backward_matrices(q, xs[0]))
  assert np.all(np.isnan(back[:-1]))  # Back_{L->L} = B is the weight B itself
  delta = jaxrnn.scaled_perturbation(jax.random.key(3), p, 0.1)
  assert np.all(np.isnan(jaxrnn.pseudo_network_explicit(q, delta, xs[0])))
  assert np.all(np.isnan(np.asarray(jaxrnn.backward_correlations(q, xs[0])["frob"])[0, :-1]))
  rem = jax.jit(jaxrnn.taylor_remainder)(q, delta, xs[0])
  assert np.isnan(rem["flip_fraction"])  # a 0/1 pattern counted the NaN units as off


def test_taylor_remainder_flip_fraction_is_unchanged_for_finite_weights():
  p, xs = _problem()
  delta = jaxrnn.scaled_perturbation(jax.random.key(3), p, 0.5)
  moved = p._replace(W=p.W + delta.W, A=p.A + delta.A)
  flips = jaxrnn.activation_patterns(moved, xs[0]) != jaxrnn.activation_patterns(p, xs[0])
  got = jaxrnn.taylor_remainder(p, delta, xs[0])["flip_fraction"]
  assert float(got) == float(np.mean(flips)) > 0


@pytest.mark.parametrize("which", ["W", "A"])
def test_inversion_patterns_are_nan_when_a_weight_is_nan(which):
  p, xs = _problem(m=16)
  q = _nan_in(p, which)
  assert np.all(np.isnan(np.asarray(jaxrnn.inversion_matrix(q, xs[0]))[:, 3:]))
  h = jnp.ones((16,))
  dec = np.asarray(jaxrnn.inversion.invert_hidden_state(q, xs[0], h))
  assert np.all(np.isnan(dec)), dec


def test_relu_derivative_is_nan_at_nan_in_every_mode():
  z = jnp.array([-2.0, 0.0, 3.0, jnp.nan])
  want = [0.0, 1.0, 1.0, np.nan]
  g = jax.vmap(jax.grad(jaxrnn.relu))(z)  # was 1.0 at NaN: the where's branch
  np.testing.assert_array_equal(np.asarray(g), want)
  np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(jax.grad(jaxrnn.relu)))(z)), want)
  _, t = jax.jvp(jaxrnn.relu, (z,), (jnp.ones_like(z),))
  np.testing.assert_array_equal(np.asarray(t), want)
  assert np.isnan(float(jax.grad(jaxrnn.relu)(jnp.nan)))
  # the hidden states (relu inside a plain scan) carry the NaN into gradients
  p, xs = _problem()
  q = _nan_in(p, "A")
  g = jax.grad(lambda W: jnp.sum(jaxrnn.hidden_states(q._replace(W=W), xs[0])))(q.W)
  assert np.all(np.isnan(np.asarray(g)))


def test_an_infinite_token_follows_ieee_arithmetic_as_the_docs_say():
  # One unit whose pre-activation at step 1 is -inf: relu(-inf) = 0, and
  # everything after is finite. Under jit the value is not checked, so the
  # output is the finite number IEEE arithmetic gives; outside jit the
  # token is refused. The docs must not promise NaN here.
  p = jaxrnn.RNNParams(jnp.array([[0.5]]), jnp.array([[-1.0]]), jnp.array([[1.0]]))
  xs = jnp.array([[jnp.inf], [0.25]])
  out = np.asarray(jax.jit(jaxrnn.rnn_output)(p, xs))
  assert np.all(np.isfinite(out)), out
  with pytest.raises(jaxrnn.checks.NonFiniteError):
    jaxrnn.rnn_output(p, xs)
  # a NaN in the same place is NaN under jit
  assert np.all(np.isnan(np.asarray(jax.jit(jaxrnn.rnn_output)(p, xs.at[0, 0].set(jnp.nan)))))
  text = " ".join(DOC.read_text().split())
  assert "NaN or inf in weights or inputs give NaN outputs" not in text
  assert "relu(-inf) = 0" in text
