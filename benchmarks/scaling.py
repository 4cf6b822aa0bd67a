"""How jaxrnn's cost grows with the sequence length L, the width m and d_out.

    python benchmarks/scaling.py            # full grid (a few minutes)
    python benchmarks/scaling.py --quick    # smaller grid, fewer rounds
    python benchmarks/scaling.py --only ntk # only table 4 (N = 4096: minutes)

Three tables, all through the public API batched with ``jax.vmap`` (batch 64,
d = 32):

1. **L sweep** (m = 256) and 2. **m sweep** (L = 20): time and memory of
   ``rnn_output`` (forward), the gradient in (W, A) of a squared loss, and the
   pseudo-network of Eq. (4) computed three ways:

   - ``pseudo_network``: forward mode, state and tangent in one scan,
     O(L m^2) time and O(m) memory per sequence, independent of d_out;
   - ``pseudo_network_explicit``: the sum of Eq. (4) over the Back matrices
     built by the recursion Back_{i->L} = Back_{i+1->L} D^(i+1) W,
     O(L m^2 d_out) time and O(L m d_out) memory;
   - ``literal``: Eq. (4) as printed, every Back_{i->L} = B D^(L) W ... D^(i+1) W
     multiplied out on its own, L (L-1) / 2 products, O(L^2 m^2 d_out)
     (run up to L = 100 only).

3. **d_out sweep** (m = 256, L = 50): ``pseudo_network`` against
   ``pseudo_network_explicit`` as the number of outputs grows.

4. **Empirical NTK at scale** (``jaxrnn.kernels.empirical_ntk(params, xs)``,
   N = 4096, L = 20, m = 1024, d = 32, float32; ``--quick``: N = 1024): one
   call in a fresh subprocess, its wall and CPU time, the process's peak
   resident memory (``VmHWM``, which includes Python and JAX themselves: the
   RSS after imports and inputs is printed too) and XLA's
   account of the compiled program; the same for the untiled (N, N, L, L)
   einsum the library used before (compiled only, not run, when XLA's account
   exceeds the machine's memory). The result is checked against that einsum
   on the first 256 sequences.

Memory is XLA's own account of the compiled program
(``compiled.memory_analysis()``: arguments + outputs + temporaries, in MiB),
which is deterministic, unlike a process's resident size. Times are medians
over alternating rounds. The JSON goes to ``benchmarks/out/scaling.json``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

try:
  from benchmarks import _common as C
except ImportError:
  import _common as C

# this checkout's jaxrnn, also when another one is installed (editable)
sys.path.insert(0, str(C.REPO))

import jax
import jax.numpy as jnp
from jax import lax

import jaxrnn

BATCH, D = 64, 32
LOAD_START: list = []


def einsum_ntk(params, xs1, xs2):
  """The empirical NTK as the library computed it before tiling: (N1, N2, L, L)
  einsums over the per-sequence factors (kept here as the memory baseline)."""
  f = jax.vmap(jaxrnn.kernels.ntk_factors, in_axes=(None, 0))
  g1, h1, x1 = f(params, xs1)
  g2, h2, x2 = f(params, xs2)
  gg = jnp.einsum("ail,bjl->abij", g1, g2)
  hh = jnp.einsum("ail,bjl->abij", h1, h2) + jnp.einsum("ail,bjl->abij", x1, x2)
  return jnp.sum(gg * hh, axis=(2, 3))


def _program_mib(compiled):
  mem = compiled.memory_analysis()
  if mem is None:
    return None
  return (mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes) / 2**20


def _max_rss_mib():
  """This process's peak resident memory (MiB): ``VmHWM`` of /proc/self/status
  (``getrusage``'s max RSS would include the spawning parent's on Linux)."""
  try:
    with open("/proc/self/status") as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return int(line.split()[1]) / 1024
  except OSError:
    pass
  import resource

  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ntk_worker(n, L, m, impl, check_n=256):
  """Runs in a fresh process: one call of ``empirical_ntk`` (``impl="tiled"``)
  or of the old einsum (``"einsum"``); prints one JSON line. The einsum is only
  compiled, not run, when 4 of its (N, N, L, L) intermediates would exceed half
  of the machine's memory (it measured 3.5 of them in peak RSS at N = 1024,
  L = 20; XLA's ``memory_analysis`` reports far less than it uses)."""
  import json
  import os
  import time

  if jax.default_backend() != "cpu":  # true float32 products, as on a CPU (not TF32)
    jax.config.update("jax_default_matmul_precision", "highest")
  k = jax.random.split(jax.random.key(0), 2)
  p = jaxrnn.init_params(k[0], m, D, 1)
  xs = jax.random.normal(k[1], (n, L, D)) / np.sqrt(D)
  jax.block_until_ready(xs)
  mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
  out = {"impl": impl, "N": n, "L": L, "m": m, "d": D, "machine_gib": mem_gib}
  out["rss_inputs_mib"] = _max_rss_mib()
  if impl == "tiled":
    f = jax.jit(lambda p, x: jaxrnn.kernels.empirical_ntk(p, x))
    args = (p, xs)
  else:
    f = jax.jit(einsum_ntk)
    args = (p, xs, xs)
  compiled = f.lower(*args).compile()
  out["xla_mib"] = _program_mib(compiled)
  out["rss_compiled_mib"] = _max_rss_mib()
  out["intermediate_gib"] = n * n * L * L * 4 / 2**30
  if impl == "einsum" and 4 * out["intermediate_gib"] > 0.5 * mem_gib:
    out["ran"] = False
    print(json.dumps(out), flush=True)
    return
  w0, c0 = time.perf_counter(), time.process_time()
  K = np.asarray(jax.block_until_ready(compiled(*args)))
  out["wall_s"], out["cpu_s"] = time.perf_counter() - w0, time.process_time() - c0
  out["rss_peak_mib"] = _max_rss_mib()
  out["ran"] = True
  out["symmetric"] = bool(np.array_equal(K, K.T))
  out["finite"] = bool(np.all(np.isfinite(K)))
  if impl == "tiled":
    sub = min(check_n, n)
    ref = np.asarray(jax.jit(einsum_ntk)(p, xs[:sub], xs[:sub]), np.float64)
    got = K[:sub, :sub].astype(np.float64)
    out["check_n"] = sub
    out["rel_diff_vs_einsum"] = float(np.linalg.norm(got - ref) / np.linalg.norm(ref))
  print(json.dumps(out), flush=True)


def run_ntk(n, L, m):
  """Runs ``ntk_worker`` for the tiled and the einsum implementation, each in
  its own subprocess (so max RSS is that call's alone)."""
  import json
  import os
  import subprocess

  env = dict(os.environ)
  env.setdefault("PYTHONPATH", str(C.REPO))
  res = {}
  for impl in ("tiled", "einsum"):
    print(f"[scaling] {impl} NTK N={n} L={L} m={m} in a subprocess", file=sys.stderr, flush=True)
    load0 = C.loadavg()
    proc = subprocess.run(
      [sys.executable, __file__, "--ntk-worker", f"{n},{L},{m},{impl}"],
      capture_output=True,
      text=True,
      env=env,
      cwd=str(C.REPO),
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not lines:
      raise RuntimeError(f"ntk worker failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    res[impl] = json.loads(lines[-1])
    res[impl]["loadavg_start"], res[impl]["loadavg_end"] = load0, C.loadavg()
  return res


def render_ntk(res):
  t, e = res["tiled"], res["einsum"]
  gib = lambda mib: mib / 1024 if mib is not None else float("nan")
  na = lambda r, key, f=(lambda x: x): f(r[key]) if r.get("ran") and key in r else "too big"
  rows = [
    ["wall time, one call (s)", na(t, "wall_s"), na(e, "wall_s")],
    ["CPU time, one call (s, both cores)", na(t, "cpu_s"), na(e, "cpu_s")],
    ["peak RSS of the process (GiB)", na(t, "rss_peak_mib", gib), na(e, "rss_peak_mib", gib)],
    ["RSS after imports + inputs (GiB)", gib(t["rss_inputs_mib"]), gib(e["rss_inputs_mib"])],
    ["XLA program: args + output + temps (GiB)", gib(t["xla_mib"]), gib(e["xla_mib"])],
    ["one (N, N, L, L) float32 array (GiB)", "-", e["intermediate_gib"]],
    ["exactly symmetric / finite", na(t, "symmetric"), na(e, "symmetric")],
    ["load average at start", str(t["loadavg_start"]), str(e["loadavg_start"])],
  ]
  title = (
    f"Empirical NTK at scale: N={t['N']}, L={t['L']}, m={t['m']}, d={t['d']}, float32, "
    f"one call in a fresh process; machine memory {t['machine_gib']:.1f} GiB"
  )
  note = (
    f"Tiled vs einsum on the first {t['check_n']} sequences: relative Frobenius "
    f"difference {t['rel_diff_vs_einsum']:.1e}; the kernel is finite: {t['finite']}."
  )
  header = ["quantity", "empirical_ntk (tiled)", "old (N, N, L, L) einsum"]
  return f"{title}\n\n" + C.table(header, rows) + "\n\n" + note


def literal_eq4(params, delta, xs):
  """Eq. (4) with each Back_{i->L} multiplied out from scratch (O(L^2))."""
  L = xs.shape[0]
  masks = jaxrnn.activation_patterns(params, xs).astype(params.W.dtype)
  hs = jaxrnn.hidden_states(params, xs)
  h_prev = jnp.concatenate([jnp.zeros_like(hs[:1]), hs[:-1]], axis=0)
  pert = masks * (h_prev @ delta.W.T + xs @ delta.A.T)  # D^(i)(W'h + A'x)

  def term(i, total):
    # back = B D^(L) W D^(L-1) W ... D^(i+1) W, built right to left from B.
    back = lax.fori_loop(i + 1, L, lambda k, b: (b * masks[L + i - k]) @ params.W, params.B)
    return total + back @ pert[i]

  return lax.fori_loop(0, L, term, jnp.zeros(params.B.shape[0], params.W.dtype))


def build(m, L, d_out, ops):
  """Jitted batched callables and their arguments for one (m, L, d_out)."""
  k = jax.random.split(jax.random.key(0), 4)
  p = jaxrnn.init_params(k[0], m, D, d_out)
  dl = jaxrnn.init_params(k[1], m, D, d_out)
  xs = jax.random.normal(k[2], (BATCH, L, D)) / np.sqrt(D)
  ys = jax.random.normal(k[3], (BATCH, d_out))

  def loss(W, A):
    out = jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))(jaxrnn.RNNParams(W, A, p.B), xs)
    return 0.5 * jnp.mean(jnp.sum((out - ys) ** 2, -1))

  pn = lambda f: (jax.jit(jax.vmap(f, in_axes=(None, None, 0))), (p, dl, xs))
  table = {
    "forward": lambda: (jax.jit(jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))), (p, xs)),
    "grad": lambda: (jax.jit(jax.grad(loss, argnums=(0, 1))), (p.W, p.A)),
    "pseudo": lambda: pn(jaxrnn.pseudo_network),
    "explicit": lambda: pn(jaxrnn.pseudo_network_explicit),
    "literal": lambda: pn(literal_eq4),
  }
  out = {}
  for op in ops:
    f, args = table[op]()
    compiled = f.lower(*args).compile()
    mem = compiled.memory_analysis()
    mib = None
    if mem is not None:
      mib = (mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes) / 2**20
    out[op] = (lambda c=compiled, a=args: jax.block_until_ready(c(*a)), mib, compiled, args)
  return out


def check_agree(built):
  """The three pseudo-network paths give the same numbers (float32)."""
  ref = None
  errs = {}
  for op in ("pseudo", "explicit", "literal"):
    if op in built:
      _, _, c, a = built[op]
      v = np.asarray(c(*a), np.float64)
      if ref is None:
        ref = v
      else:
        errs[op] = float(np.max(np.abs(v - ref)) / max(np.max(np.abs(ref)), 1e-30))
  return errs


def run_grid(points, rounds, min_sample_s):
  """points: list of (label, m, L, d_out, ops). Returns list of result rows."""
  runs, meta = {}, {}
  for label, m, L, d_out, ops in points:
    print(f"[scaling] compiling {label}", file=sys.stderr, flush=True)
    built = build(m, L, d_out, ops)
    meta[label] = dict(
      m=m, L=L, d_out=d_out, agree=check_agree(built), mib={op: b[1] for op, b in built.items()}
    )
    for op, (run, *_rest) in built.items():
      run()
      runs[(label, op)] = (run, C.calibrate(run, min_sample_s))
  samples = {key: [] for key in runs}
  for r in range(rounds):
    keys = list(runs) if r % 2 == 0 else list(runs)[::-1]
    for key in keys:
      run, reps = runs[key]
      samples[key].append(C.sample(run, reps))
  results = []
  for label, info in meta.items():
    row = dict(label=label, **info, ms={})
    for (lab, op), v in samples.items():
      if lab == label:
        row["ms"][op] = 1e3 * float(np.median(v))
    results.append(row)
  return results


def render(title, results, key, ops):
  header = [key] + [f"{op} ms" for op in ops] + [f"{op} MiB" for op in ops]
  rows = []
  for r in results:
    rows.append(
      [r[key]]
      + [r["ms"].get(op, float("nan")) for op in ops]
      + [r["mib"].get(op) if r["mib"].get(op) is not None else float("nan") for op in ops]
    )
  return f"{title}\n\n" + C.table(header, rows)


def fit_exponent(xs, ys):
  """Slope of log y against log x (the empirical power law)."""
  xs, ys = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
  return float(np.polyfit(xs, ys, 1)[0])


def main(argv=None):
  global LOAD_START
  LOAD_START = C.loadavg()
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--quick", action="store_true")
  ap.add_argument("--rounds", type=int, default=None)
  ap.add_argument("--min-sample", type=float, default=None)
  ap.add_argument("--only", choices=("grids", "ntk"), default=None)
  ap.add_argument("--ntk-worker", default=None, help=argparse.SUPPRESS)
  args = ap.parse_args(argv)
  if args.ntk_worker:
    n, L, m, impl = args.ntk_worker.split(",")
    ntk_worker(int(n), int(L), int(m), impl)
    return
  if args.only == "ntk":
    res = run_ntk(1024 if args.quick else 4096, 20, 1024)
    out = render_ntk(res)
    print(out)
    path = C.write_json("scaling_ntk", {"info": C.jax_info(), "ntk": res, "report": out})
    print(f"\nwrote {C.shown(path)}")
    return
  rounds = args.rounds or (3 if args.quick else 5)
  min_sample = args.min_sample or (0.03 if args.quick else 0.1)
  if args.quick:
    Ls, ms_, douts, lit_max = (10, 20, 50), (64, 256, 512), (1, 8), 20
  else:
    Ls, ms_, douts, lit_max = (10, 20, 50, 100, 200), (64, 128, 256, 512, 1024), (1, 4, 16, 64), 100
  all_ops = ("forward", "grad", "pseudo", "explicit", "literal")
  L_pts = [
    (f"L={L}", 256, L, 1, [o for o in all_ops if o != "literal" or L <= lit_max]) for L in Ls
  ]
  m_pts = [
    (f"m={m}", m, 20, 1, [o for o in all_ops if o != "literal" or 20 <= lit_max]) for m in ms_
  ]
  d_pts = [(f"d_out={k}", 256, 50, k, ["pseudo", "explicit"]) for k in douts]
  res_L = run_grid(L_pts, rounds, min_sample)
  res_m = run_grid(m_pts, rounds, min_sample)
  res_d = run_grid(d_pts, rounds, min_sample)
  for r in res_L:
    r["L_value"] = r["L"]
  text = [
    render(
      f"Time and memory against L (m=256, batch {BATCH}, d={D}, d_out=1)", res_L, "L", all_ops
    ),
    "",
    render(f"Time and memory against m (L=20, batch {BATCH}, d={D}, d_out=1)", res_m, "m", all_ops),
    "",
    render(
      f"Pseudo-network against d_out (m=256, L=50, batch {BATCH})",
      res_d,
      "d_out",
      ("pseudo", "explicit"),
    ),
    "",
  ]
  slopes = {}
  for op in all_ops:
    pts = [(r["L"], r["ms"][op]) for r in res_L if op in r["ms"]]
    if len(pts) >= 2:
      slopes[f"time~L^k, {op}"] = fit_exponent(*zip(*pts))
  for op in ("pseudo", "explicit"):
    pts = [(r["d_out"], r["ms"][op]) for r in res_d]
    slopes[f"time~d_out^k, {op}"] = fit_exponent(*zip(*pts))
  text.append("Fitted exponents: " + ", ".join(f"{k}: {v:.2f}" for k, v in slopes.items()))
  worst = max((e for r in res_L + res_m + res_d for e in r["agree"].values()), default=0.0)
  text.append(f"Largest relative difference between the pseudo-network paths: {worst:.1e}")
  text.append(f"Load average before / after: {LOAD_START} / {C.loadavg()}.")
  res_ntk = None
  if args.only != "grids":
    res_ntk = run_ntk(1024 if args.quick else 4096, 20, 1024)
    text += ["", render_ntk(res_ntk)]
  out = "\n".join(text)
  print(out)
  path = C.write_json(
    "scaling",
    {
      "rounds": rounds,
      "loadavg_start": LOAD_START,
      "loadavg_end": C.loadavg(),
      "info": C.jax_info(),
      "L_sweep": res_L,
      "m_sweep": res_m,
      "d_out_sweep": res_d,
      "exponents": slopes,
      "ntk": res_ntk,
      "report": out,
    },
  )
  print(f"\nwrote {C.shown(path)}")


if __name__ == "__main__":
  main()
