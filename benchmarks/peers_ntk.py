"""The RNN's empirical NTK: jaxrnn against neural-tangents.

    python benchmarks/peers_ntk.py            # both workloads, 7 rounds (many minutes)
    python benchmarks/peers_ntk.py --quick    # smaller workloads, 3 rounds
    python benchmarks/peers_ntk.py --levers   # also time jaxrnn's alternatives
    python benchmarks/peers_ntk.py --workloads N1024_L10_m256 --skip-nvp

**What is compared.** ``jaxrnn.kernels.empirical_ntk(params, xs)`` (the (N, N)
Gram of the gradients in (W, A), B frozen) against neural-tangents'
``nt.empirical_ntk_fn`` over the same RNN written the way a user would write
it: a plain ``f((W, A), x)`` over a batch, ``lax.scan`` over time,
``jax.nn.relu``, B closed over (frozen), ``vmap_axes=0`` (the examples are
independent), ``trace_axes=(-1,)`` (d_out = 1, so no trace is taken), and
``x2=None`` (the symmetric Gram). Two of its implementations:
``JACOBIAN_CONTRACTION`` (per-example Jacobians, then their contraction) and
``NTK_VECTOR_PRODUCTS`` (no Jacobians; jvp of vjp). Its third,
``STRUCTURED_DERIVATIVES``, cannot trace ``lax.scan`` and is not run.

**Workloads** (float32, d = 32, d_out = 1): N = 256, L = 20, m = 1024 and
N = 1024, L = 10, m = 256 (``--quick``: N = 64 and N = 256).

**Protocol** (``benchmarks/_common.py``):

- neural-tangents 0.6.5 does not import on recent JAX, and its import pulls in
  TensorFlow, so it runs in its own virtual environment,
  ``benchmarks/out/nt-venv`` (git-ignored), which this script builds on first
  use: ``jax[cpu]==0.4.30``, ``numpy<2``, ``tensorflow-cpu==2.17.1``,
  ``frozendict``, ``absl-py``, ``dm-tree``, then ``--no-deps``
  ``neural-tangents==0.6.5`` and ``tf2jax==0.3.6``. ``--nt-python`` points at
  another interpreter instead.
- One process per (library, implementation), so each process's peak resident
  memory (``VmHWM``, the high-water mark of its resident set) is that
  implementation's; the RSS after
  imports and inputs is reported too (TensorFlow's import alone is hundreds of
  MiB).
- The same weights and inputs, drawn once with NumPy and saved to
  ``benchmarks/out/peers_ntk_<workload>.npz``, are loaded by every process.
- Before any timing, every process writes its Gram matrix; they are compared
  with jaxrnn's (relative Frobenius difference, at most 1e-4 required) and
  with jaxrnn in float64. A mismatch stops the script.
- Alternating rounds, medians; ``NTK_VECTOR_PRODUCTS`` is many times slower
  and is timed in ``--nvp-rounds`` rounds only (default 1).
- JSON to ``benchmarks/out/peers_ntk.json`` with the machine, versions and the
  load average at the start and end of each workload.

Target: jaxrnn at least 5x faster than neural-tangents' fastest
working implementation at both workloads on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np

try:
  from benchmarks import _common as C
except ImportError:
  import _common as C

# this checkout's jaxrnn, also when another one is installed (editable)
sys.path.insert(0, str(C.REPO))

D = 32
WORKLOADS = {
  "full": [("N256_L20_m1024", 256, 20, 1024), ("N1024_L10_m256", 1024, 10, 256)],
  "quick": [("N64_L20_m1024", 64, 20, 1024), ("N256_L10_m256", 256, 10, 256)],
}
NT_VENV = C.OUT_DIR / "nt-venv"
NT_PACKAGES = [
  "jax[cpu]==0.4.30",
  "numpy<2",
  "tensorflow-cpu==2.17.1",
  "frozendict",
  "absl-py",
  "dm-tree",
]
NT_NODEPS = ["neural-tangents==0.6.5", "tf2jax==0.3.6"]
TOLERANCE = 1e-4
NT_CASES = ("JACOBIAN_CONTRACTION", "NTK_VECTOR_PRODUCTS")


# ---------------------------------------------------------------------------
# The neural-tangents environment.


def nt_imports(python: str) -> bool:
  probe = "import neural_tangents, jax; print(jax.__version__)"
  try:
    r = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=600)
  except (OSError, subprocess.TimeoutExpired):
    return False
  return r.returncode == 0


def ensure_nt_venv() -> str:
  """The venv's python, building the venv on first use."""
  python = str(NT_VENV / "bin" / "python")
  if pathlib.Path(python).exists() and nt_imports(python):
    return python
  print(f"[peers_ntk] building {NT_VENV} (a few minutes)", file=sys.stderr, flush=True)
  NT_VENV.parent.mkdir(parents=True, exist_ok=True)
  base = os.environ.get("NT_BASE_PYTHON", "python3.11")
  subprocess.run([base, "-m", "venv", "--clear", str(NT_VENV)], check=True)
  pip = [python, "-m", "pip", "install", "-q"]
  subprocess.run(pip + NT_PACKAGES, check=True)
  subprocess.run(pip + ["--no-deps"] + NT_NODEPS, check=True)
  if not nt_imports(python):
    raise RuntimeError(f"neural-tangents does not import in {NT_VENV}")
  return python


# ---------------------------------------------------------------------------
# Inside a worker.


def max_rss_mib() -> float:
  """This process's peak resident memory (MiB): ``VmHWM`` of /proc/self/status.

  Not ``getrusage``'s max RSS: Linux carries that over ``exec`` from the
  process that spawned the worker, so a worker started by a large parent would
  report the parent's size."""
  try:
    with open("/proc/self/status") as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return int(line.split()[1]) / 1024
  except OSError:
    pass
  import resource

  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def load(path):
  z = np.load(path)
  return z["W"], z["A"], z["B"], z["xs"]


def build_jaxrnn(path, case):
  import jax
  import jax.numpy as jnp

  import jaxrnn

  W, A, B, xs = load(path)
  p = jaxrnn.RNNParams(jnp.asarray(W), jnp.asarray(A), jnp.asarray(B))
  xs = jnp.asarray(xs)
  ntk = jaxrnn.kernels.empirical_ntk
  if case == "jaxrnn":
    f = jax.jit(lambda p, x: ntk(p, x))
  elif case == "general":  # no symmetric saving: xs2 is another array
    f = jax.jit(lambda p, x: ntk(p, x, x + 0))
  elif case == "one_tile":  # symmetric, but a single (N L) x (N L) tile
    f = jax.jit(lambda p, x: ntk(p, x, tile=x.shape[0]))
  elif case == "einsum":  # the pre-tiling implementation
    sys.path.insert(0, str(C.REPO / "benchmarks"))
    from scaling import einsum_ntk

    f = jax.jit(lambda p, x: einsum_ntk(p, x, x))
  else:
    raise ValueError(case)
  info = C.jax_info() | {"library": "jaxrnn", "implementation": case}
  info["rss_base_mib"] = max_rss_mib()  # imports and inputs, nothing compiled
  return (lambda: f(p, xs).block_until_ready()), info


def reference_f64(path):
  """jaxrnn's kernel in float64 (a third opinion for the agreement check)."""
  import jax
  import jax.numpy as jnp

  import jaxrnn

  with jax.enable_x64(True):
    W, A, B, xs = (np.asarray(a, np.float64) for a in load(path))
    p = jaxrnn.RNNParams(jnp.asarray(W), jnp.asarray(A), jnp.asarray(B))
    return np.asarray(jaxrnn.kernels.empirical_ntk(p, jnp.asarray(xs)))


def build_nt(path, case):
  import jax
  import jax.numpy as jnp
  import neural_tangents as nt
  from jax import lax

  W, A, B, xs = load(path)
  B = jnp.asarray(B)

  def f(params, x):
    """The RNN of Def. 3.2 over a batch x (N, L, d); B frozen (closed over)."""
    W, A = params

    def step(h, x_t):
      return jax.nn.relu(x_t @ A.T + h @ W.T), None

    h0 = jnp.zeros((x.shape[0], W.shape[0]), x.dtype)
    h, _ = lax.scan(step, h0, jnp.swapaxes(x, 0, 1))
    return h @ B.T

  kfn = nt.empirical_ntk_fn(
    f, trace_axes=(-1,), vmap_axes=0, implementation=getattr(nt.NtkImplementation, case)
  )
  g = jax.jit(lambda x, params: kfn(x, None, params))
  params = (jnp.asarray(W), jnp.asarray(A))
  xs = jnp.asarray(xs)
  info = C.jax_info() | {
    "library": "neural-tangents",
    "nt_version": getattr(nt, "__version__", "?"),
    "implementation": case,
  }
  info["rss_base_mib"] = max_rss_mib()  # imports and inputs, nothing compiled
  return (lambda: g(xs, params).block_until_ready()), info


def worker(lib, case, path, gram_out, min_sample_s):
  build = build_jaxrnn if lib == "jaxrnn" else build_nt
  run, info = build(path, case)
  t0 = time.perf_counter()
  K = np.asarray(run())  # compile + first call
  info["first_call_s"] = time.perf_counter() - t0
  np.save(gram_out, K)
  if info["first_call_s"] > 20 * min_sample_s:
    reps = 1  # slow case: one call per sample, no second warm-up call
  else:
    t0 = time.perf_counter()
    run()
    dt = time.perf_counter() - t0
    reps = max(1, int(np.ceil(min_sample_s / max(dt, 1e-7))))
  info["rss_after_warmup_mib"] = max_rss_mib()
  C._send({"ready": True, "info": info, "reps": {case: reps}})
  for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("quit"):
      break
    if msg.get("rss"):
      C._send({"rss_mib": max_rss_mib()})
      continue
    C._send({"seconds": C.sample(run, reps)})


# ---------------------------------------------------------------------------
# In the parent.


def make_inputs(name, n, L, m, seed=0):
  """Weights of Def. 3.2 and Gaussian inputs, float32, drawn once with NumPy."""
  rng = np.random.default_rng(seed)
  W = rng.normal(0.0, np.sqrt(2.0 / m), (m, m)).astype(np.float32)
  A = rng.normal(0.0, np.sqrt(2.0 / m), (m, D)).astype(np.float32)
  B = rng.normal(0.0, np.sqrt(2.0), (1, m)).astype(np.float32)
  xs = (rng.normal(0.0, 1.0, (n, L, D)) / np.sqrt(D)).astype(np.float32)
  C.OUT_DIR.mkdir(parents=True, exist_ok=True)
  path = C.OUT_DIR / f"peers_ntk_{name}.npz"
  np.savez(path, W=W, A=A, B=B, xs=xs)
  return path


def rel(a, b):
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def run_workload(name, n, L, m, cases, rounds, nvp_rounds, nt_python, min_sample_s):
  load0 = C.loadavg()
  path = make_inputs(name, n, L, m)
  workers, grams = {}, {}
  try:
    for lib, case in cases:
      key = f"{lib}:{case}"
      gram = C.OUT_DIR / f"peers_ntk_{name}_{lib}_{case}.npy"
      print(f"[peers_ntk] {name}: starting {key}", file=sys.stderr, flush=True)
      argv = [__file__, "--worker", lib, case, str(path), str(gram), str(min_sample_s)]
      python = nt_python if lib == "nt" else None
      workers[key] = C.Worker(argv, label=key, python=python)
      grams[key] = np.load(gram)
    # agreement before timing
    ref32 = grams["jaxrnn:jaxrnn"]
    ref64 = reference_f64(path)
    agree = {k: {"vs_jaxrnn": rel(g, ref32), "vs_float64": rel(g, ref64)} for k, g in grams.items()}
    bad = {k: v for k, v in agree.items() if not v["vs_jaxrnn"] <= TOLERANCE}
    if bad:
      raise SystemExit(f"[peers_ntk] {name}: Gram matrices disagree (> {TOLERANCE}): {bad}")
    # alternating rounds: library order reversed on odd rounds
    samples = {k: [] for k in workers}
    keys = list(workers)
    for r in range(rounds):
      for k in keys if r % 2 == 0 else keys[::-1]:
        if k.endswith("NTK_VECTOR_PRODUCTS") and r >= nvp_rounds:
          continue
        samples[k].append(workers[k].time(k.split(":", 1)[1]))
    out = {}
    for k, w in workers.items():
      out[k] = {
        **C.summarize(samples[k]),
        "reps": w.reps,
        "info": w.info,
        "rss_peak_mib": w.ask({"rss": True})["rss_mib"],
        "agreement": agree[k],
      }
  finally:
    for w in workers.values():
      w.close()
  return {"N": n, "L": L, "m": m, "d": D, "loadavg": [load0, C.loadavg()], "results": out}


def render(wl):
  res = wl["results"]
  base = res["jaxrnn:jaxrnn"]["median"]
  nt_best = min((v["median"], k) for k, v in res.items() if k.startswith("nt:"))
  rows = []
  for k, v in res.items():
    rows.append(
      [
        k,
        C.ms(v["median"]),
        C.ms(v["min"]),
        len(v["samples"]),
        v["median"] / base,
        v["rss_peak_mib"] / 1024,
        (v["rss_peak_mib"] - v["info"]["rss_base_mib"]) / 1024,
        f"{v['agreement']['vs_jaxrnn']:.1e}",
        f"{v['agreement']['vs_float64']:.1e}",
      ]
    )
  header = [
    "implementation",
    "median ms",
    "min ms",
    "rounds",
    "time / jaxrnn",
    "peak RSS GiB",
    "above imports GiB",
    "rel. diff vs jaxrnn",
    "rel. diff vs f64",
  ]
  ratio = nt_best[0] / base
  verdict = "met" if ratio >= 5.0 else f"missed (shortfall {5.0 / ratio:.2f}x)"
  title = (
    f"N={wl['N']}, L={wl['L']}, m={wl['m']}, d={wl['d']}, float32; "
    f"load average {wl['loadavg'][0]} at the start, {wl['loadavg'][1]} at the end"
  )
  tail = (
    f"neural-tangents' fastest ({nt_best[1]}) / jaxrnn = {ratio:.2f}x; target >= 5x: {verdict}."
  )
  return f"{title}\n\n{C.table(header, rows)}\n\n{tail}", ratio


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--quick", action="store_true")
  ap.add_argument("--rounds", type=int, default=None)
  ap.add_argument("--nvp-rounds", type=int, default=1)
  ap.add_argument("--skip-nvp", action="store_true", help="do not run NTK_VECTOR_PRODUCTS")
  ap.add_argument("--workloads", default=None, help="comma-separated names (default: all)")
  ap.add_argument("--levers", action="store_true", help="also time jaxrnn's alternatives")
  ap.add_argument("--nt-python", default=None, help="python of an env with neural-tangents")
  ap.add_argument("--min-sample", type=float, default=None)
  ap.add_argument("--worker", nargs=5, default=None, help=argparse.SUPPRESS)
  args = ap.parse_args(argv)
  if args.worker:
    lib, case, path, gram, min_s = args.worker
    worker(lib, case, path, gram, float(min_s))
    return
  rounds = args.rounds or (3 if args.quick else 7)
  min_sample = args.min_sample or (0.05 if args.quick else 0.1)
  nt_python = args.nt_python or ensure_nt_venv()
  cases = [("jaxrnn", "jaxrnn")]
  if args.levers:
    cases += [("jaxrnn", c) for c in ("general", "one_tile", "einsum")]
  cases += [("nt", c) for c in NT_CASES if not (args.skip_nvp and c == "NTK_VECTOR_PRODUCTS")]
  load0 = C.loadavg()
  results, texts, ratios = {}, [], {}
  todo = WORKLOADS["quick" if args.quick else "full"]
  if args.workloads:
    todo = [w for w in todo if w[0] in args.workloads.split(",")]
    if not todo:
      raise SystemExit(f"no workload named {args.workloads!r}: choose from {WORKLOADS}")
  for name, n, L, m in todo:
    wl = run_workload(name, n, L, m, cases, rounds, args.nvp_rounds, nt_python, min_sample)
    results[name] = wl
    text, ratios[name] = render(wl)
    texts.append(text)
    print(text + "\n", flush=True)
    path = C.write_json(  # after each workload, so a stopped run keeps what it measured
      "peers_ntk" + ("_quick" if args.quick else ""),
      {
        "rounds": rounds,
        "nvp_rounds": 0 if args.skip_nvp else args.nvp_rounds,
        "loadavg_start": load0,
        "loadavg_end": C.loadavg(),
        "workloads": results,
        "ratios": ratios,
        "report": "\n\n".join(texts),
      },
    )
  print(f"wrote {C.shown(path)}")


if __name__ == "__main__":
  main()
