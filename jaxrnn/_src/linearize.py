"""How well the pseudo-network tracks the RNN (Sec. 4.1, Lemma G.3).

For a perturbation (W', A') the RNN changes by

    Delta(x) = F_rnn^(L)(x; W + W', A + A') - F_rnn^(L)(x; W, A),

and the pseudo-network F^(L)(x; W', A') of Eq. (4) is its first-order part.
``taylor_remainder`` returns both, and ``scaled_perturbation`` draws a random
direction with a prescribed relative Frobenius size, so that the remainder
can be studied against the radius and the width.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrnn._src.pseudo import pseudo_network
from jaxrnn._src.rnn import RNNParams, activation_patterns, rnn_output


def scaled_perturbation(key: jax.Array, params: RNNParams, omega) -> RNNParams:
  """A random perturbation with ``||W'||_F = omega ||W||_F`` and
  ``||A'||_F = omega ||A||_F`` (Gaussian directions); ``B' = 0``.

  **Arguments:** ``key``; ``params`` the expansion point; ``omega`` the
  relative radius (a scalar, may be traced).

  **Returns:** ``RNNParams`` shaped like ``params``. Cost O(m^2 + m d).
  """
  kw, ka = jax.random.split(key)
  dtype = params.W.dtype

  def direction(k, ref):
    g = jax.random.normal(k, ref.shape, dtype)
    return g * (jnp.asarray(omega, dtype) * jnp.linalg.norm(ref) / jnp.linalg.norm(g))

  return RNNParams(direction(kw, params.W), direction(ka, params.A),
                   jnp.zeros_like(params.B))


def taylor_remainder(params: RNNParams, delta: RNNParams, xs: jax.Array):
  """True change, its first-order part, and the pattern flips along ``delta``.

  **Returns:** a dict with ``true`` (d_out,) = Delta(x), ``pseudo`` (d_out,) =
  F^(L)(x; W', A'), ``remainder`` (d_out,) = true - pseudo, and
  ``flip_fraction`` (scalar): the fraction of the L*m entries of the
  activation patterns D^(l) that differ between (W, A) and (W+W', A+A').
  Cost: three RNN passes, O(L m^2).
  """
  moved = RNNParams(params.W + delta.W, params.A + delta.A, params.B)
  true = rnn_output(moved, xs) - rnn_output(params, xs)
  pseudo = pseudo_network(params, delta, xs)
  flips = activation_patterns(moved, xs) != activation_patterns(params, xs)
  return {"true": true, "pseudo": pseudo, "remainder": true - pseudo,
          "flip_fraction": jnp.mean(flips.astype(params.W.dtype))}
