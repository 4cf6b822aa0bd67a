"""Run a small seed sweep in every layout and save it; used by test_sweep.py
in a subprocess so that XLA_FLAGS can set the number of simulated CPU
devices."""

import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn

# (name, batch_size, layout_invariant); 10 seeds: one vmap of 10 on 1 device,
# of 3 (padded to 12) on 4 devices.
LAYOUTS = (
  ("inv_vmap", 10, True),
  ("inv_seq", 1, True),
  ("inv_chunk2", 2, True),
  ("def_vmap", 10, False),
  ("def_seq", 1, False),
)


def per_seed(key, eps_x):
  kp, kx, kd = jax.random.split(key, 3)
  params = jaxrnn.init_params(kp, 32, 5, 2)
  xs = jax.vmap(lambda k: jaxrnn.random_normalized_sequence(k, 6, 5, eps_x))(
    jax.random.split(kx, 8)
  )
  delta = jaxrnn.init_params(kd, 32, 5, 2)
  out = jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))(params, xs)
  lin = jax.vmap(jaxrnn.pseudo_network, in_axes=(None, None, 0))(params, delta, xs)
  # A reduction over the seed's data and a gradient: the operations whose
  # rounding could depend on how many seeds share one vmapped operation.
  loss = lambda p: jnp.mean(
    jnp.log1p(jnp.exp(-jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))(p, xs)))
  )
  grad_w = jax.grad(loss)(params).W
  return {"out": out, "lin": lin, "loss": loss(params), "grad_w": grad_w}


if __name__ == "__main__":
  path = sys.argv[1]
  keys = jaxrnn.seed_keys(0, 10)
  eps = jnp.float32(0.1)
  res = {"n_devices": np.asarray(len(jax.devices()))}
  for name, b, invariant in LAYOUTS:
    out = jaxrnn.sweep(per_seed, keys, eps, batch_size=b, layout_invariant=invariant)
    for field, value in out.items():
      res[f"{name}_{field}"] = value
  np.savez(path, **res)
