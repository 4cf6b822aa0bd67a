"""Seed sweeps: ``jaxrnn.sweep`` against a Python loop of jitted single runs.

    python benchmarks/sweeps.py            # K = 1, 4, 16, 64; m = 16 ... 256
    python benchmarks/sweeps.py --quick    # K = 1, 8, 64; m = 16, 32

The per-seed work is a short training run of Sec. 3.3 through
``jaxrnn.training.init_and_train`` (initialize from the seed, then ``steps`` SGD steps
on (W', A') with minibatches of ``batch`` sequences, logistic loss, and one
evaluation on the training set); the data (N sequences of Def. 3.1 with a
label read off one token) are shared by all seeds. Two ways to run K seeds:

- **sweep**: ``jaxrnn.sweep(fn, seed_keys(0, K), xs, ys)``, one jitted
  program vmapped over the seeds and sharded over the devices;
- **loop**: ``for key in keys: jax.jit(fn)(key, xs, ys)``, one compiled
  program called K times from Python (waiting for each result).

Both are timed after compilation (medians over alternating rounds) and must
give the same losses. Then the sweep at K = 64 runs in subprocesses with
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` for N = 1, 2, 4
simulated CPU devices (they share this machine's cores, so this shows the
sharded code path and its overhead, not more compute). On a GPU the same
script uses the GPU(s). Target (issue 6): at m <= 32 the sweep of K = 64
seeds is >= 3x faster than the loop. JSON: ``benchmarks/out/sweeps.json``.
"""

from __future__ import annotations

import argparse
import functools
import sys

import numpy as np

try:
  from benchmarks import _common as C
except ImportError:
  import _common as C

TARGET = 3.0
LOAD_START: list = []
L, D, N_TRAIN, STEPS, BATCH = 8, 6, 64, 100, 8


def setup(m: int):
  """The per-seed function ``fn(key, xs, ys)`` and the shared data."""
  import jax
  import jax.numpy as jnp

  import jaxrnn

  keys = jaxrnn.seed_keys(12345, N_TRAIN)
  xs = jax.vmap(lambda k: jaxrnn.random_normalized_sequence(k, L, D, 0.5))(keys)
  ys = jnp.sign(xs[:, 2, 0] + 1e-6)
  sched = jaxrnn.training.practical_schedule(m, L, steps=STEPS)
  fn = functools.partial(
    jaxrnn.training.init_and_train,
    m=m,
    optimizer=jaxrnn.training.optimizer("sgd", learning_rate=sched.eta),
    steps=STEPS,
    batch_size=BATCH,
    loss="logistic",
    scale=sched.scale,
  )
  return fn, xs, ys


def worker(ms, ks, loop: bool, min_sample_s: float):
  import jax

  import jaxrnn

  cases, check = {}, {}
  for m in ms:
    fn, xs, ys = setup(m)
    single = jax.jit(fn)
    for k in ks:
      keys = jaxrnn.seed_keys(0, k)
      run_sweep = lambda fn=fn, keys=keys, xs=xs, ys=ys: jaxrnn.sweep(fn, keys, xs, ys)
      cases[f"sweep:m={m}:K={k}"] = run_sweep
      if loop:
        key_list = list(keys)

        def run_loop(single=single, key_list=key_list, xs=xs, ys=ys):
          return [jax.block_until_ready(single(key, xs, ys)) for key in key_list]

        cases[f"loop:m={m}:K={k}"] = run_loop
        a = run_sweep().eval_loss
        b = np.stack([np.asarray(r.eval_loss) for r in run_loop()])
        check[f"m={m}:K={k}"] = float(np.max(np.abs(a - b)))
  info = {**C.jax_info(), "max_abs_loss_difference": check}
  C.serve(cases, info, min_sample_s)


def main(argv=None):
  global LOAD_START
  LOAD_START = C.loadavg()
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--quick", action="store_true")
  ap.add_argument("--rounds", type=int, default=None)
  ap.add_argument("--min-sample", type=float, default=None)
  ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
  ap.add_argument("--ms", help=argparse.SUPPRESS)
  ap.add_argument("--ks", help=argparse.SUPPRESS)
  ap.add_argument("--no-loop", action="store_true", help=argparse.SUPPRESS)
  args = ap.parse_args(argv)
  min_sample = args.min_sample or (0.05 if args.quick else 0.1)
  if args.worker:
    worker(
      [int(x) for x in args.ms.split(",")],
      [int(x) for x in args.ks.split(",")],
      not args.no_loop,
      min_sample,
    )
    return
  rounds = args.rounds or 3
  ms = (16, 32) if args.quick else (16, 32, 64, 128, 256)
  ks = (1, 8, 64) if args.quick else (1, 4, 16, 64)
  shard_ms, shard_k, devices = ((16,) if args.quick else (16, 32)), 64, (1, 2, 4)

  def argv_for(m_list, k_list, loop):
    return [
      __file__,
      "--worker",
      "--ms",
      ",".join(map(str, m_list)),
      "--ks",
      ",".join(map(str, k_list)),
      "--min-sample",
      str(min_sample),
    ] + ([] if loop else ["--no-loop"])

  print("[sweeps] sweep vs loop", file=sys.stderr, flush=True)
  w = C.Worker(argv_for(ms, ks, True), label="grid")
  try:
    cases = [f"{kind}:m={m}:K={k}" for m in ms for k in ks for kind in ("sweep", "loop")]
    times = C.alternate({"jax": w}, {"jax": cases}, rounds)["jax"]
    info = w.info
  finally:
    w.close()

  rows, grid = [], []
  for m in ms:
    for k in ks:
      ts = times[f"sweep:m={m}:K={k}"]["median"]
      tl = times[f"loop:m={m}:K={k}"]["median"]
      grid.append(dict(m=m, K=k, sweep_s=ts, loop_s=tl, speedup=tl / ts))
      rows.append(
        [
          m,
          k,
          C.ms(ts),
          C.ms(tl),
          f"{tl / ts:.1f}x",
          info["max_abs_loss_difference"][f"m={m}:K={k}"],
        ]
      )
  text = [
    f"Sweep vs loop ({STEPS} SGD steps, minibatch {BATCH}, L={L}, d={D}, "
    f"N={N_TRAIN}; device {info['device']})",
    "",
    C.table(["m", "K", "sweep ms", "loop ms", "loop/sweep", "max |loss diff|"], rows),
    "",
  ]

  print("[sweeps] sharded over simulated devices", file=sys.stderr, flush=True)
  workers = {}
  try:
    for n in devices:
      env = {"XLA_FLAGS": f"--xla_force_host_platform_device_count={n}"}
      workers[f"{n}"] = C.Worker(
        argv_for(shard_ms, (shard_k,), False), env=env, label=f"devices={n}"
      )
    shard_cases = {n: [f"sweep:m={m}:K={shard_k}" for m in shard_ms] for n in workers}
    shard_times = C.alternate(workers, shard_cases, rounds)
    shard_info = {n: wk.info for n, wk in workers.items()}
  finally:
    for wk in workers.values():
      wk.close()
  srows, shard = [], []
  for n in workers:
    for m in shard_ms:
      t = shard_times[n][f"sweep:m={m}:K={shard_k}"]["median"]
      t1 = shard_times["1"][f"sweep:m={m}:K={shard_k}"]["median"]
      shard.append(
        dict(
          requested_devices=int(n),
          devices=shard_info[n]["num_devices"],
          m=m,
          K=shard_k,
          sweep_s=t,
          vs_one_device=t1 / t,
        )
      )
      srows.append([shard_info[n]["num_devices"], m, shard_k, C.ms(t), f"{t1 / t:.2f}x"])
  text += [
    f"Sharded sweep, K={shard_k} (simulated CPU devices share the same cores)",
    "",
    C.table(["devices", "m", "K", "sweep ms", "speed vs 1 device"], srows),
    "",
  ]

  small = [g for g in grid if g["m"] <= 32 and g["K"] == max(ks)]
  for g in small:
    ok = g["speedup"] >= TARGET
    text.append(
      f"Target m={g['m']}, K={g['K']}: sweep {g['speedup']:.1f}x faster than the loop: "
      + ("met" if ok else f"MISSED by {100 * (1 - g['speedup'] / TARGET):.0f}%")
      + f" (target {TARGET:.0f}x)"
    )
  text.append(f"Load average before / after: {LOAD_START} / {C.loadavg()}.")
  loop_t = {(g["m"], g["K"]): g["loop_s"] for g in grid}
  for sh in shard:
    if sh["devices"] > 1 and (sh["m"], sh["K"]) in loop_t and sh["m"] <= 32:
      text.append(
        f"  with the seeds sharded over {sh['devices']} CPU devices, m={sh['m']}: "
        f"{loop_t[(sh['m'], sh['K'])] / sh['sweep_s']:.1f}x faster than the loop"
      )
  out = "\n".join(text)
  print(out)
  path = C.write_json(
    "sweeps",
    {
      "rounds": rounds,
      "loadavg_start": LOAD_START,
      "loadavg_end": C.loadavg(),
      "info": info,
      "task": dict(L=L, d=D, N=N_TRAIN, steps=STEPS, batch=BATCH),
      "grid": grid,
      "sharded": shard,
      "times": times,
      "shard_times": shard_times,
      "report": out,
    },
  )
  print(f"\nwrote {path.relative_to(C.REPO)}")


if __name__ == "__main__":
  main()
