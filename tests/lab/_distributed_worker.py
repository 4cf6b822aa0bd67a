"""One process of a multi-process run, for test_distributed.py.

    python tests/lab/_distributed_worker.py PROCESS_ID NUM_PROCESSES PORT OUT RUN_DIR

With NUM_PROCESSES > 1 it joins the others through ``jax.distributed`` on
127.0.0.1:PORT (CPU collectives over gloo, jax's default CPU implementation),
then, like every process of a multi-host run, makes the same calls:

- seed sweeps (``jaxrnn.sweep``) in several layouts, saved to
  ``OUT/sweep_<id>.npz``;
- a tiny ``linearization`` experiment through
  ``jaxrnn.experiments.run_experiment(..., writer=(jax.process_index() == 0))``
  into RUN_DIR (shared by all processes, as on a shared filesystem); the
  records each process computed go to ``OUT/records_<id>.json``.
"""

import dataclasses
import json
import sys


def per_seed(key, scale):
  import jax
  import jax.numpy as jnp

  import jaxrnn

  kp, kx = jax.random.split(key)
  params = jaxrnn.init_params(kp, 24, 4, 2)
  xs = jax.vmap(lambda k: jaxrnn.random_normalized_sequence(k, 5, 4, 0.3))(jax.random.split(kx, 6))
  out = jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))(params, xs)
  return {"out": scale * out, "mean": jnp.mean(out)}


def main(pid: int, n: int, port: int, out: str, run_dir: str) -> None:
  import jax

  if n > 1:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
      coordinator_address=f"127.0.0.1:{port}",
      num_processes=n,
      process_id=pid,
      initialization_timeout=120,
    )
  import numpy as np

  import jaxrnn
  from jaxrnn import experiments

  assert jax.process_count() == n and jax.process_index() == pid
  keys = jaxrnn.seed_keys(0, 7)  # 7 seeds over 2 devices: padded to 8
  res = {"num_devices": np.asarray(jax.device_count())}
  layouts = (("inv_auto", None, True), ("inv_seq", 1, True), ("inv_chunk2", 2, True))
  for name, b, invariant in layouts + (("def_auto", None, False),):
    got = jaxrnn.sweep(per_seed, keys, np.float32(2.0), batch_size=b, layout_invariant=invariant)
    for field, value in got.items():
      res[f"{name}_{field}"] = value
  np.savez(f"{out}/sweep_{pid}.npz", **res)

  exp = experiments.get("linearization")
  cfg = dataclasses.replace(
    exp.presets["quick"],
    ms=(8,),
    omegas=(0.01, 0.1),
    num_seeds=3,
    num_sequences=2,
    L=4,
    scalings=("relative",),
  )
  records, _ = experiments.run_experiment(
    exp, cfg, run_dir, preset="quick", progress=False, writer=(jax.process_index() == 0)
  )
  with open(f"{out}/records_{pid}.json", "w") as f:
    json.dump(records, f)


if __name__ == "__main__":
  a = sys.argv[1:]
  main(int(a[0]), int(a[1]), int(a[2]), a[3], a[4])
