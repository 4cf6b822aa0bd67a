"""Seed sweeps: ``jaxrnn.sweep`` against a Python loop of jitted single runs.

    python benchmarks/sweeps.py            # K = 1, 4, 16, 64; m = 16 ... 256
    python benchmarks/sweeps.py --quick    # K = 1, 64; m = 16, 32, 128; 3 rounds
    python benchmarks/sweeps.py --tiny     # m = 8; K = 1, 4; 10 steps (a smoke test)

The per-seed work is a short training run of Sec. 3.3 through
``jaxrnn.training.init_and_train`` (initialize from the seed, then ``steps`` SGD steps
on (W', A') with minibatches of ``batch`` sequences, logistic loss, and one
evaluation on the training set); the data (N sequences of Def. 3.1 with a
label read off one token) are shared by all seeds. Two ways to run K seeds:

- **sweep**: ``jaxrnn.sweep(fn, seed_keys(0, K), xs, ys)`` with its automatic
  layout (one program: a vmap of all seeds, or ``lax.map`` over chunks of
  vmapped seeds; the table names the one it chose);
- **loop**: ``jax.jit(fn)`` called for each key from Python, with XLA's
  default options, and the K results stacked into host arrays
  (``np.stack`` per leaf): the code a user writes to get what ``sweep``
  returns (every experiment needs its seeds' results on the host);
- **loop, device results**: the same calls, each waited for, the results
  left on the device as a list of K pytrees (no host copy, no stacking): a
  column that keeps the cost of the results' host copy visible (with one
  seed that copy is most of what tells the two apart: the sweep then makes
  one call of the same program as the loop).

``--invariant`` also times ``sweep(..., layout_invariant=True)`` (the same
bits in every layout; XLA:CPU without its YNNPACK calls). Both are timed
after compilation, in one worker process, alternating the order of sweep and
loop from round to round. Each sample follows one untimed call of its case:
the first call after another grid point starts with cold caches, and
whichever kind came first paid for it (at m = 128, K = 1 the sweep came
first in 3 of 5 rounds and the plain loop never; the per-round ratios were
0.94-0.98 in the grid, 0.97-1.15 in three workers that timed that point
alone). The table shows medians, the ratio loop/sweep both in wall time and
in the process's CPU time (the steadier measure when other jobs share the
cores), and the range of the ratio within single rounds (sweep and loop back
to back; with one seed, where both do the same work, it shows the machine's
noise). Sweep and loop must give the same losses (the largest difference is
shown). Then the sweep at K = 64 runs in subprocesses
with ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` for N = 1, 2, 4
CPU devices: the way ``jaxrnn.sweep`` uses several cores (one device per
core; with more devices than cores it shows the sharded code path and its
overhead, not more compute). On a GPU the same
script uses the GPU(s), with float32 products in full float32
(``jax_default_matmul_precision="highest"``, as the experiment runner sets):
under JAX's default TF32 the vmapped and the single-seed programs round
differently, and 100 SGD steps carried that to a loss difference of 0.11
(on an H100). Targets: loop/sweep >= 1.0 at every grid
point and >= 3 at m <= 32, K = 64, one device. A missed target is called a
*tie* when at least one single round reached it (the median then lies within
the round-to-round noise) and *slower* when every round fell short
(``miss_kind``). Those times follow compilation; the **first call** table
counts it (a fresh function traced, compiled and run once, one process per
point with the persistent compilation cache off, after JAX's one-time costs):
what a user waits for when a sweep runs once, as most do. JSON:
``benchmarks/out/sweeps.json`` (``--out NAME`` for another name).
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

TARGET_SMALL, TARGET_ALL = 3.0, 1.0
L, D, N_TRAIN, BATCH = 8, 6, 64, 8


def setup(m: int, steps: int):
  """The per-seed function ``fn(key, xs, ys)`` and the shared data."""
  import jax
  import jax.numpy as jnp

  import jaxrnn

  keys = jaxrnn.seed_keys(12345, N_TRAIN)
  xs = jax.vmap(lambda k: jaxrnn.random_normalized_sequence(k, L, D, 0.5))(keys)
  ys = jnp.sign(xs[:, 2, 0] + 1e-6)
  sched = jaxrnn.training.practical_schedule(m, L, steps=steps)
  fn = functools.partial(
    jaxrnn.training.init_and_train,
    m=m,
    optimizer=jaxrnn.training.optimizer("sgd", learning_rate=sched.eta),
    steps=steps,
    batch_size=BATCH,
    loss="logistic",
    scale=sched.scale,
  )
  return fn, xs, ys


def worker(ms, ks, loop: bool, invariant: bool, steps: int, min_sample_s: float):
  import jax

  import jaxrnn

  if jax.default_backend() != "cpu":  # true float32 products, as the experiments use
    jax.config.update("jax_default_matmul_precision", "highest")
  cases, check, plans = {}, {}, {}
  for m in ms:
    fn, xs, ys = setup(m, steps)
    single = jax.jit(fn)
    for k in ks:
      keys = jaxrnn.seed_keys(0, k)
      run_sweep = lambda fn=fn, keys=keys, xs=xs, ys=ys: jaxrnn.sweep(fn, keys, xs, ys)
      cases[f"sweep:m={m}:K={k}"] = run_sweep
      p = jaxrnn.sweep_plan(fn, keys, xs, ys)
      plans[f"m={m}:K={k}"] = {
        "layout": p.layout,
        "batch_size": p.batch_size,
        "num_chunks": p.num_chunks,
        "bytes_per_device": p.bytes_per_device,
        "reason": p.reason,
      }
      if invariant:
        cases[f"inv:m={m}:K={k}"] = lambda fn=fn, keys=keys, xs=xs, ys=ys: jaxrnn.sweep(
          fn, keys, xs, ys, layout_invariant=True
        )
      if loop:
        key_list = list(keys)

        def run_loop(single=single, key_list=key_list, xs=xs, ys=ys):
          outs = [single(key, xs, ys) for key in key_list]
          return jax.tree.map(lambda *leaves: np.stack(leaves), *outs)

        def run_loop_device(single=single, key_list=key_list, xs=xs, ys=ys):
          return [jax.block_until_ready(single(key, xs, ys)) for key in key_list]

        cases[f"loop:m={m}:K={k}"] = run_loop
        cases[f"loopdev:m={m}:K={k}"] = run_loop_device
        a = run_sweep().eval_loss
        b = run_loop().eval_loss
        c = np.stack([np.asarray(r.eval_loss) for r in run_loop_device()])
        assert np.array_equal(b, c), "the two loops disagree"
        check[f"m={m}:K={k}"] = float(np.max(np.abs(a - b)))
  info = {**C.jax_info(), "max_abs_loss_difference": check, "plans": plans}
  # the grid's cases differ in size: each sample starts warm
  C.serve(cases, info, min_sample_s, warm_each_sample=True)


def first_call(m: int, k: int, steps: int, sweep_first: bool) -> None:
  """Prints the seconds of the first call of the sweep and of the loop at one
  point, each from a fresh function (tracing and compiling included), in a
  process of its own with the persistent compilation cache off."""
  import json
  import time

  import jax

  import jaxrnn

  if jax.config.jax_enable_compilation_cache and jax.config.jax_compilation_cache_dir:
    sys.exit("sweeps --first-call: the persistent compilation cache is on")

  def sweep(m=m, k=k, steps=steps):
    fn, xs, ys = setup(m, steps)
    return jax.block_until_ready(jaxrnn.sweep(fn, jaxrnn.seed_keys(0, k), xs, ys))

  def loop(m=m, k=k, steps=steps):
    fn, xs, ys = setup(m, steps)
    single = jax.jit(fn)
    outs = [single(key, xs, ys) for key in jaxrnn.seed_keys(0, k)]
    return jax.tree.map(lambda *leaves: np.stack(leaves), *outs)

  # JAX's one-time costs (the backend, lazy imports, first lowerings) outside the timings
  sweep(4, 2, 2), loop(4, 2, 2)
  out = {}
  for name, case in [("sweep", sweep), ("loop", loop)][:: 1 if sweep_first else -1]:
    t = time.perf_counter()
    case()
    out[name] = time.perf_counter() - t
  print(json.dumps(out))


def _first_calls(ms, ks, steps) -> dict:
  """{(m, K): {"sweep": s, "loop": s}}, one process per point, the order of
  the two alternating from point to point."""
  import json
  import os
  import subprocess

  # This process turned JAX's cache on for its children (``_common``): off here.
  env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
  env |= {"JAXRNN_COMPILATION_CACHE": "0", "JAX_ENABLE_COMPILATION_CACHE": "false"}
  out = {}
  for i, (m, k) in enumerate((m, k) for m in ms for k in ks):
    cmd = [sys.executable, __file__, "--first-call", "--ms", str(m), "--ks", str(k)]
    cmd += ["--steps", str(steps)] + (["--loop-first"] if i % 2 else [])
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    out[(m, k)] = json.loads(res.stdout.strip().splitlines()[-1])
  return out


def _rounds(w, points, kinds, rounds):
  """{case: {"wall": [...], "cpu": [...]}}: one sample per case and round;
  within a point the kinds run in turn, their order reversed every round."""
  out = {}
  for r in range(rounds):
    for pt in points:
      order = kinds if (r + points.index(pt)) % 2 == 0 else kinds[::-1]
      for kind in order:
        case = f"{kind}:{pt}"
        wall, cpu = w.time_both(case)
        out.setdefault(case, {"wall": [], "cpu": []})
        out[case]["wall"].append(wall)
        out[case]["cpu"].append(cpu if cpu is not None else float("nan"))
  return out


def miss_kind(rounds: list[float], target: float) -> str:
  """How a point whose median ratio missed ``target`` missed it, from the
  ratios of its single rounds (sweep and loop back to back): ``"tie"`` when
  some round reached the target (the median lies within the machine's
  round-to-round noise), ``"slower"`` when every round fell short."""
  return "tie" if max(rounds) >= target else "slower"


def _layout(plan: dict) -> str:
  if plan["layout"] == "vmap":
    return f"vmap {plan['batch_size']}"
  if plan["layout"] == "sequential":
    return f"sequential x{plan['num_chunks']}"
  return f"{plan['num_chunks']} chunks of {plan['batch_size']}"


def main(argv=None):
  load_start = C.loadavg()
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--quick", action="store_true", help="K = 1, 64; m = 16, 32, 128; 3 rounds")
  ap.add_argument("--tiny", action="store_true", help="m = 8; K = 1, 4; 10 steps; 1 round")
  ap.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 5)")
  ap.add_argument("--min-sample", type=float, default=None, help="seconds per sample")
  ap.add_argument("--steps", type=int, default=None, help="SGD steps per seed (default 100)")
  ap.add_argument("--invariant", action="store_true", help="also time layout_invariant=True")
  ap.add_argument("--no-shard", action="store_true", help="skip the simulated-devices table")
  ap.add_argument("--no-first-call", action="store_true", help="skip the first-call table")
  ap.add_argument("--out", default="sweeps", help="name of the JSON file in benchmarks/out/")
  ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
  ap.add_argument("--ms", help=argparse.SUPPRESS)
  ap.add_argument("--ks", help=argparse.SUPPRESS)
  ap.add_argument("--no-loop", action="store_true", help=argparse.SUPPRESS)
  ap.add_argument("--first-call", action="store_true", help=argparse.SUPPRESS)
  ap.add_argument("--loop-first", action="store_true", help=argparse.SUPPRESS)
  args = ap.parse_args(argv)
  steps = args.steps or (10 if args.tiny else 100)
  min_sample = args.min_sample or (0.01 if args.tiny else 0.05 if args.quick else 0.1)
  if args.first_call:
    first_call(int(args.ms), int(args.ks), steps, not args.loop_first)
    return
  if args.worker:
    worker(
      [int(x) for x in args.ms.split(",")],
      [int(x) for x in args.ks.split(",")],
      not args.no_loop,
      args.invariant,
      steps,
      min_sample,
    )
    return
  rounds = args.rounds or (1 if args.tiny else 3 if args.quick else 5)
  if args.tiny:
    ms, ks = (8,), (1, 4)
  elif args.quick:
    ms, ks = (16, 32, 128), (1, 64)
  else:
    ms, ks = (16, 32, 64, 128, 256), (1, 4, 16, 64)
  shard = not (args.no_shard or args.tiny)
  shard_ms, shard_k, devices = ((16,) if args.quick else (16, 32)), 64, (1, 2, 4)

  def argv_for(m_list, k_list, loop, invariant=False):
    return (
      [__file__, "--worker", "--ms", ",".join(map(str, m_list))]
      + ["--ks", ",".join(map(str, k_list)), "--min-sample", str(min_sample)]
      + ["--steps", str(steps)]
      + ([] if loop else ["--no-loop"])
      + (["--invariant"] if invariant else [])
    )

  print("[sweeps] sweep vs loop", file=sys.stderr, flush=True)
  kinds = ["sweep", "loop", "loopdev"] + (["inv"] if args.invariant else [])
  points = [f"m={m}:K={k}" for m in ms for k in ks]
  w = C.Worker(argv_for(ms, ks, True, args.invariant), label="grid")
  try:
    samples = _rounds(w, points, kinds, rounds)
    info = w.info
  finally:
    w.close()
  times = {c: {k: C.summarize(v) for k, v in s.items()} for c, s in samples.items()}

  rows, grid = [], []
  for m in ms:
    for k in ks:
      pt = f"m={m}:K={k}"
      med = lambda kind, what, pt=pt: times[f"{kind}:{pt}"][what]["median"]
      # loop/sweep within each round (the two ran back to back): how far a
      # single round's ratio strays, i.e. what the median's ratio can be trusted to
      paired = np.divide(samples[f"loop:{pt}"]["wall"], samples[f"sweep:{pt}"]["wall"])
      g = dict(
        m=m,
        K=k,
        layout=info["plans"][pt],
        sweep_s=med("sweep", "wall"),
        loop_s=med("loop", "wall"),
        speedup=med("loop", "wall") / med("sweep", "wall"),
        speedup_cpu=med("loop", "cpu") / med("sweep", "cpu"),
        speedup_rounds=[float(x) for x in paired],
        loop_device_s=med("loopdev", "wall"),
        speedup_device=med("loopdev", "wall") / med("sweep", "wall"),
        max_abs_loss_difference=info["max_abs_loss_difference"][pt],
      )
      row = [m, k, _layout(g["layout"]), C.ms(g["sweep_s"]), C.ms(g["loop_s"])]
      row += [f"{g['speedup']:.2f}x", f"{paired.min():.2f}-{paired.max():.2f}"]
      row += [f"{g['speedup_cpu']:.2f}x", f"{g['speedup_device']:.2f}x"]
      if args.invariant:
        g["invariant_s"] = med("inv", "wall")
        g["speedup_invariant"] = med("loop", "wall") / med("inv", "wall")
        g["speedup_invariant_cpu"] = med("loop", "cpu") / med("inv", "cpu")
        row += [f"{g['speedup_invariant']:.2f}x", f"{g['speedup_invariant_cpu']:.2f}x"]
      row.append(f"{g['max_abs_loss_difference']:.1e}")
      grid.append(g)
      rows.append(row)
  header = ["m", "K", "layout", "sweep ms", "loop ms", "loop/sweep", "(per round)", "(CPU time)"]
  header.append("device-results loop/sweep")
  if args.invariant:
    header += ["loop/invariant", "(CPU time)"]
  header.append("max |loss diff|")
  text = [
    f"Sweep vs loop ({steps} SGD steps, minibatch {BATCH}, L={L}, d={D}, "
    f"N={N_TRAIN}; device {info['device']}; medians of {rounds} alternating rounds)",
    "",
    C.table(header, rows),
    "",
  ]

  shard_rows = []
  if shard:
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
    srows = []
    for n in workers:
      for m in shard_ms:
        t = shard_times[n][f"sweep:m={m}:K={shard_k}"]["median"]
        t1 = shard_times["1"][f"sweep:m={m}:K={shard_k}"]["median"]
        shard_rows.append(
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

  verdicts = []
  for g in grid:
    need = TARGET_SMALL if (g["m"] <= 32 and g["K"] == max(ks) and max(ks) >= 64) else TARGET_ALL
    ok = g["speedup"] >= need
    v = dict(m=g["m"], K=g["K"], target=need, speedup=g["speedup"], met=ok)
    if not ok:
      v["miss"] = miss_kind(g["speedup_rounds"], need)
    verdicts.append(v)
  missed = [v for v in verdicts if not v["met"]]
  text.append(
    f"Targets: loop/sweep >= {TARGET_ALL:.0f} at every point, >= {TARGET_SMALL:.0f} at m <= 32, "
    f"K = 64 (wall time): {len(verdicts) - len(missed)} of {len(verdicts)} met"
    + (
      "."
      if not missed
      else "; missed at "
      + ", ".join(
        f"m={v['m']} K={v['K']} ({v['speedup']:.3f}x < {v['target']:.0f}x; {v['miss']})"
        for v in missed
      )
      + "."
      + (
        " A tie: some single round reached the target (the median is within the"
        " round-to-round noise); slower: every round fell short."
        if missed
        else ""
      )
    )
  )
  below = [g for g in grid if g["speedup_device"] < TARGET_ALL]
  text.append(
    f"Against the device-results loop: loop/sweep >= {TARGET_ALL:.0f} at "
    f"{len(grid) - len(below)} of {len(grid)} points"
    + (
      "."
      if not below
      else "; below at "
      + ", ".join(f"m={g['m']} K={g['K']} ({g['speedup_device']:.2f}x)" for g in below)
      + "."
    )
  )
  print("[sweeps] first calls", file=sys.stderr, flush=True)
  first = {} if args.no_first_call else _first_calls(ms, ks, steps)
  frows, first_rows = [], []
  for (m, k), t in first.items():
    ratio = t["loop"] / t["sweep"]
    need = TARGET_SMALL if (m <= 32 and k == max(ks) and max(ks) >= 64) else TARGET_ALL
    first_rows.append(dict(m=m, K=k, sweep_s=t["sweep"], loop_s=t["loop"], speedup=ratio))
    frows.append([m, k, f"{t['sweep']:.2f}", f"{t['loop']:.2f}", f"{ratio:.2f}x"])
    first_rows[-1]["met"] = ratio >= need
  met = sum(r["met"] for r in first_rows)
  text += (
    []
    if args.no_first_call
    else [
      "First call (a fresh function traced, compiled and run once; one process per "
      "point, the persistent compilation cache off, the order of sweep and loop "
      "alternating from point to point)",
      "",
      C.table(["m", "K", "sweep s", "loop s", "loop/sweep"], frows),
      "",
      f"First-call targets (the same as above, compile time counted): {met} of "
      f"{len(first_rows)} met"
      + "".join(
        f"; missed at m={r['m']} K={r['K']} ({r['speedup']:.2f}x)"
        for r in first_rows
        if not r["met"]
      )
      + ".",
    ]
  )
  text.append(f"Load average before / after: {load_start} / {C.loadavg()}.")
  loop_t = {(g["m"], g["K"]): g["loop_s"] for g in grid}
  for sh in shard_rows:
    if sh["devices"] > 1 and (sh["m"], sh["K"]) in loop_t:
      text.append(
        f"  with the seeds sharded over {sh['devices']} CPU devices, m={sh['m']}: "
        f"{loop_t[(sh['m'], sh['K'])] / sh['sweep_s']:.1f}x faster than the loop"
      )
  out = "\n".join(text)
  print(out)
  path = C.write_json(
    args.out,
    {
      "rounds": rounds,
      "loadavg_start": load_start,
      "loadavg_end": C.loadavg(),
      "info": info,
      "task": dict(L=L, d=D, N=N_TRAIN, steps=steps, batch=BATCH),
      "grid": grid,
      "targets": verdicts,
      "sharded": shard_rows,
      "first_call": first_rows,
      "times": times,
      "report": out,
    },
  )
  print(f"\nwrote {path}")


if __name__ == "__main__":
  main()
