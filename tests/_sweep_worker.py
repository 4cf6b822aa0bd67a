"""Run a small seed sweep and save it; used by test_sweep.py in a subprocess
so that XLA_FLAGS can set the number of simulated CPU devices."""

import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn


def per_seed(key, eps_x):
  kp, kx, kd = jax.random.split(key, 3)
  params = jaxrnn.init_params(kp, 32, 5, 2)
  xs = jax.vmap(lambda k: jaxrnn.random_normalized_sequence(k, 6, 5, eps_x))(
    jax.random.split(kx, 8)
  )
  delta = jaxrnn.init_params(kd, 32, 5, 2)
  out = jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))(params, xs)
  lin = jax.vmap(jaxrnn.pseudo_network, in_axes=(None, None, 0))(params, delta, xs)
  return {"out": out, "lin": lin}


if __name__ == "__main__":
  path = sys.argv[1]
  res = jaxrnn.sweep(per_seed, jaxrnn.seed_keys(0, 10), jnp.float32(0.1))
  np.savez(path, n_devices=len(jax.devices()), **res)
