"""How jaxrnn's cost grows with the sequence length L, the width m and d_out.

    python benchmarks/scaling.py            # full grid (a few minutes)
    python benchmarks/scaling.py --quick    # smaller grid, fewer rounds

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

import jax
import jax.numpy as jnp
from jax import lax

import jaxrnn

BATCH, D = 64, 32
LOAD_START: list = []


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
  args = ap.parse_args(argv)
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
      "report": out,
    },
  )
  print(f"\nwrote {path.relative_to(C.REPO)}")


if __name__ == "__main__":
  main()
