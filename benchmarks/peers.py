"""jaxrnn against PyTorch: forward, gradient in (W, A), pseudo-network.

    python benchmarks/peers.py            # default + small + long workloads
    python benchmarks/peers.py --quick    # default + small, fewer rounds

What is timed (per workload: hidden width m, length L, batch, input dim d):

- **forward**: jaxrnn ``jax.jit(jax.vmap(jaxrnn.rnn_output, (None, 0)))``
  against ``torch.nn.RNN(d, m, nonlinearity="relu", bias=False)`` under
  ``torch.no_grad()`` followed by the readout ``h^(L) @ B.T``.
- **grad**: the gradient in (W, A) of ``0.5 * mean_b ||F(x_b) - y_b||^2``:
  ``jax.jit(jax.grad(loss, argnums=(0, 1)))`` against ``nn.RNN`` forward +
  ``loss.backward()`` (both include their forward pass).
- **pseudo**: the pseudo-network of Eq. (4) along (W', A'):
  ``jax.jit(jax.vmap(jaxrnn.pseudo_network, (None, None, 0)))`` against
  ``torch.func.jvp`` of a functional ReLU RNN (a Python loop over time of
  ``relu(x_l A^T + h W^T)`` on the whole batch).
- **mm_step**, **mm_1024**: an (batch, m) @ (m, m) and a (1024, 1024) @
  (1024, 1024) float32 product in each library; the best of these rates is the
  "matmul peak" that the forward pass is compared with.

Both libraries get the same weights and inputs (written to
``benchmarks/out/peers_<workload>_inputs.npz``), and their outputs are
compared before anything is timed. Each library runs in its own subprocess;
rounds alternate between them and the table shows medians. PyTorch uses
``torch.set_num_threads(os.cpu_count())`` (its default on this machine, one
thread per core; override with BENCH_TORCH_THREADS); XLA's CPU client also
uses one thread per core. On a GPU, JAX picks the GPU and PyTorch uses
``cuda`` (cuDNN for ``nn.RNN``; the JSON records the cuDNN version). Both
libraries then compute float32 products in full float32 (JAX
``jax_default_matmul_precision="highest"``, PyTorch with TF32 off for matmuls
and cuDNN), so that neither gains from TensorFloat-32's 10-bit mantissa;
``--gpu-precision tf32`` lets both use TF32 instead.

Targets (default workload): forward >= 1.1x, grad >= 1.0x, pseudo
>= 1.15x faster than PyTorch, forward >= 75% of the matmul peak. The output
says by how much each target is met or missed. Results:
``benchmarks/out/peers.json``.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

try:
  from benchmarks import _common as C
except ImportError:  # run as a script: python benchmarks/peers.py
  import _common as C

WORKLOADS = {
  "default": dict(m=1024, L=20, batch=256, d=32, d_out=1),
  "small": dict(m=64, L=20, batch=256, d=32, d_out=1),
  "long": dict(m=1024, L=200, batch=256, d=32, d_out=1),
}
TARGETS = {"forward": 1.1, "grad": 1.0, "pseudo": 1.15}
PEAK_TARGET = 0.75
OPS = ("forward", "grad", "pseudo")


def forward_flops(w) -> float:
  """Floating-point work the forward pass needs: L products A x, L - 1
  products W h (W h^(0) = 0 needs none), then B h^(L); 2 flops per
  multiply-add. (A library that multiplies W by h^(0) = 0 does more work
  than this but gets no credit for it.)"""
  m, L, n, d, k = w["m"], w["L"], w["batch"], w["d"], w["d_out"]
  return 2.0 * n * ((L - 1) * m * m + L * m * d + m * k)


def make_inputs(w, seed: int, path) -> None:
  rng = np.random.default_rng(seed)
  m, L, n, d, k = w["m"], w["L"], w["batch"], w["d"], w["d_out"]
  f32 = lambda a: a.astype(np.float32)
  np.savez(
    path,
    W=f32(rng.normal(0, np.sqrt(2 / m), (m, m))),
    A=f32(rng.normal(0, np.sqrt(2 / m), (m, d))),
    B=f32(rng.normal(0, np.sqrt(2 / k), (k, m))),
    dW=f32(rng.normal(0, np.sqrt(2 / m), (m, m))),
    dA=f32(rng.normal(0, np.sqrt(2 / m), (m, d))),
    xs=f32(rng.normal(0, 1 / np.sqrt(d), (n, L, d))),
    ys=f32(rng.normal(0, 1, (n, k))),
  )


# ---------------------------------------------------------------------------
# Workers.


def jax_worker(inputs, outputs, batch, m, min_sample_s, gpu_precision="float32"):
  import jax
  import jax.numpy as jnp

  import jaxrnn

  if jax.default_backend() != "cpu":  # the same float32 arithmetic as torch on cuda
    precision = "highest" if gpu_precision == "float32" else "tensorfloat32"
    jax.config.update("jax_default_matmul_precision", precision)

  z = dict(np.load(inputs))
  params = jaxrnn.RNNParams(jnp.asarray(z["W"]), jnp.asarray(z["A"]), jnp.asarray(z["B"]))
  delta = jaxrnn.RNNParams(jnp.asarray(z["dW"]), jnp.asarray(z["dA"]), jnp.zeros_like(params.B))
  xs, ys = jnp.asarray(z["xs"]), jnp.asarray(z["ys"])

  forward = jax.jit(jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0)))

  def loss(W, A, B, xs, ys):
    out = jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))(jaxrnn.RNNParams(W, A, B), xs)
    return 0.5 * jnp.mean(jnp.sum((out - ys) ** 2, axis=-1))

  grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
  pseudo = jax.jit(jax.vmap(jaxrnn.pseudo_network, in_axes=(None, None, 0)))

  gW, gA = grad(params.W, params.A, params.B, xs, ys)
  np.savez(
    outputs,
    forward=np.asarray(forward(params, xs)),
    gW=np.asarray(gW),
    gA=np.asarray(gA),
    pseudo=np.asarray(pseudo(params, delta, xs)),
  )
  cases = {
    "forward": lambda: forward(params, xs).block_until_ready(),
    "grad": lambda: jax.block_until_ready(grad(params.W, params.A, params.B, xs, ys)),
    "pseudo": lambda: pseudo(params, delta, xs).block_until_ready(),
    "mm_step": C.jax_matmul_case(batch, m),
    "mm_1024": C.jax_matmul_case(1024, 1024),
  }
  info = C.jax_info()
  if jax.default_backend() != "cpu":
    info["matmul_precision"] = jax.config.jax_default_matmul_precision
  C.serve(cases, info, min_sample_s)


def torch_worker(inputs, outputs, batch, m, min_sample_s, gpu_precision="float32"):
  torch, device = C.torch_setup()
  if device.type == "cuda":  # cuDNN's nn.RNN; TF32 only when asked for (see the docstring)
    torch.backends.cudnn.enabled = True
    torch.backends.cuda.matmul.allow_tf32 = gpu_precision == "tf32"
    torch.backends.cudnn.allow_tf32 = gpu_precision == "tf32"
  z = {k: torch.from_numpy(v).to(device) for k, v in np.load(inputs).items()}
  W, A, B, dW, dA, xs, ys = (z[k] for k in ("W", "A", "B", "dW", "dA", "xs", "ys"))
  n, L, d = xs.shape
  rnn = torch.nn.RNN(d, W.shape[0], nonlinearity="relu", bias=False, batch_first=True).to(device)
  with torch.no_grad():
    rnn.weight_hh_l0.copy_(W)
    rnn.weight_ih_l0.copy_(A)
  sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

  def forward():
    with torch.no_grad():
      _, h = rnn(xs)
      return h[0] @ B.T

  def grad():
    rnn.zero_grad(set_to_none=True)
    _, h = rnn(xs)
    loss = 0.5 * ((h[0] @ B.T - ys) ** 2).sum(-1).mean()
    loss.backward()
    return rnn.weight_hh_l0.grad, rnn.weight_ih_l0.grad

  def functional_rnn(W, A):
    us = xs @ A.T
    h = torch.zeros(n, W.shape[0], device=device, dtype=W.dtype)
    for l in range(L):
      h = torch.relu(us[:, l] + h @ W.T)
    return h @ B.T

  def pseudo():
    return torch.func.jvp(functional_rnn, (W, A), (dW, dA))[1]

  gW, gA = grad()
  np.savez(
    outputs,
    forward=forward().cpu().numpy(),
    gW=gW.cpu().numpy(),
    gA=gA.cpu().numpy(),
    pseudo=pseudo().detach().cpu().numpy(),
  )

  def timed(f):
    def run():
      f()
      sync()

    return run

  cases = {
    "forward": timed(forward),
    "grad": timed(grad),
    "pseudo": timed(pseudo),
    "mm_step": C.torch_matmul_case(torch, device, batch, m),
    "mm_1024": C.torch_matmul_case(torch, device, 1024, 1024),
  }
  C.serve(cases, C.torch_info(torch, device), min_sample_s)


# ---------------------------------------------------------------------------
# Parent.


def float64_reference(inputs) -> dict:
  """Eq. (1), the loss gradient (BPTT, mask 1[z >= 0]) and the tangent of
  Eq. (4) in NumPy float64 on the whole batch: the yardstick for both
  libraries (long sequences amplify float32 rounding through activation
  patterns that flip at near-ties, in either library)."""
  z = {k: v.astype(np.float64) for k, v in np.load(inputs).items()}
  W, A, B, dW, dA, xs, ys = (z[k] for k in ("W", "A", "B", "dW", "dA", "xs", "ys"))
  n, L, _ = xs.shape
  run = C.float64_rnn(W, A, B, xs, dW, dA)
  out, hs, masks = run["forward"], run["hs"], run["masks"]
  g = ((out - ys) / n) @ B
  gW, gA = np.zeros_like(W), np.zeros_like(A)
  for l in range(L - 1, -1, -1):
    gz = g * masks[l]
    gW += gz.T @ hs[l]
    gA += gz.T @ xs[:, l]
    g = gz @ W
  return {"forward": out, "gW": gW, "gA": gA, "pseudo": run["pseudo"]}


def rel_err(a, b) -> float:
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def verdict(ratio: float, target: float) -> str:
  if ratio >= target:
    return f"met ({ratio:.2f}x >= {target}x)"
  return f"MISSED by {100 * (1 - ratio / target):.0f}% ({ratio:.2f}x < {target}x)"


def run_workload(name, w, args) -> dict:
  C.OUT_DIR.mkdir(parents=True, exist_ok=True)
  inputs = C.OUT_DIR / f"peers_{name}_inputs.npz"
  make_inputs(w, args.seed, inputs)
  libs = ["jax"] + ([] if args.no_torch else ["torch"])
  workers = {}
  try:
    for lib in libs:
      outputs = C.OUT_DIR / f"peers_{name}_{lib}_outputs.npz"
      argv = [
        __file__,
        "--worker",
        lib,
        "--inputs",
        str(inputs),
        "--outputs",
        str(outputs),
        "--batch",
        str(w["batch"]),
        "--m",
        str(w["m"]),
        "--min-sample",
        str(args.min_sample),
        "--gpu-precision",
        args.gpu_precision,
      ]
      workers[lib] = C.Worker(argv, label=f"{lib}:{name}")
    ref = float64_reference(inputs)
    outs = {lib: np.load(C.OUT_DIR / f"peers_{name}_{lib}_outputs.npz") for lib in workers}
    keys = ("forward", "gW", "gA", "pseudo")
    agree = {
      "vs_float64": {lib: {k: rel_err(o[k], ref[k]) for k in keys} for lib, o in outs.items()}
    }
    if "torch" in outs:
      agree["jax_vs_torch"] = {k: rel_err(outs["jax"][k], outs["torch"][k]) for k in keys}
    cases = {lib: list(OPS) + ["mm_step", "mm_1024"] for lib in workers}
    times = C.alternate(workers, cases, args.rounds)
    info = {lib: wk.info for lib, wk in workers.items()}
  finally:
    for wk in workers.values():
      wk.close()

  flops = forward_flops(w)
  rates = {
    f"{lib}:{c}": (
      2.0 * (w["batch"] if c == "mm_step" else 1024) * (w["m"] if c == "mm_step" else 1024) ** 2
    )
    / t[c]["median"]
    for lib, t in times.items()
    for c in ("mm_step", "mm_1024")
  }
  peak_key = max(rates, key=rates.get)
  fwd_rate = flops / times["jax"]["forward"]["median"]
  res = {
    "workload": w,
    "times": times,
    "info": info,
    "agreement": agree,
    "matmul_rates_gflops": {k: v / 1e9 for k, v in rates.items()},
    "peak": {"which": peak_key, "gflops": rates[peak_key] / 1e9},
    "forward_gflops": fwd_rate / 1e9,
    "forward_fraction_of_peak": fwd_rate / rates[peak_key],
  }
  if "torch" in times:
    res["ratios"] = {op: times["torch"][op]["median"] / times["jax"][op]["median"] for op in OPS}
    res["torch_forward_fraction_of_peak"] = (
      flops / times["torch"]["forward"]["median"] / rates[peak_key]
    )
  return res


def report(results: dict) -> str:
  rows = []
  for name, r in results.items():
    w = r["workload"]
    shape = f"{name} (m={w['m']}, L={w['L']}, batch={w['batch']}, d={w['d']})"
    for op in OPS:
      tj = C.ms(r["times"]["jax"][op]["median"])
      tt = C.ms(r["times"]["torch"][op]["median"]) if "torch" in r["times"] else float("nan")
      ratio = r.get("ratios", {}).get(op, float("nan"))
      rmin = (
        r["times"]["torch"][op]["min"] / r["times"]["jax"][op]["min"]
        if "torch" in r["times"]
        else float("nan")
      )
      rows.append([shape, op, tj, tt, f"{ratio:.2f}x", f"{rmin:.2f}x"])
  out = [
    C.table(["workload", "op", "jaxrnn ms", "torch ms", "torch/jaxrnn", "ratio of minima"], rows),
    "",
  ]
  for name, r in results.items():
    ag = r["agreement"]
    agree = "; ".join(
      f"{lib}: " + ", ".join(f"{k} {v:.1e}" for k, v in errs.items())
      for lib, errs in ag["vs_float64"].items()
    )
    if "jax_vs_torch" in ag:
      agree += "; jaxrnn vs torch: " + ", ".join(
        f"{k} {v:.1e}" for k, v in ag["jax_vs_torch"].items()
      )
    out.append(
      f"{name}: forward {r['forward_gflops']:.0f} GFLOP/s = "
      f"{100 * r['forward_fraction_of_peak']:.0f}% of the matmul peak "
      f"{r['peak']['gflops']:.0f} GFLOP/s ({r['peak']['which']})"
      + (
        f"; torch forward {100 * r['torch_forward_fraction_of_peak']:.0f}%"
        if "torch_forward_fraction_of_peak" in r
        else ""
      )
      + f". Max relative error vs a NumPy float64 reference (max |diff| / max |ref|): {agree}."
    )
  if "default" in results and "ratios" in results["default"]:
    r = results["default"]
    out.append("")
    out.append("Targets (default workload):")
    for op, tgt in TARGETS.items():
      out.append(f"  {op:8s} {verdict(r['ratios'][op], tgt)}")
    frac = r["forward_fraction_of_peak"]
    out.append(
      f"  forward at {100 * frac:.0f}% of matmul peak: "
      + ("met" if frac >= PEAK_TARGET else f"MISSED by {100 * (PEAK_TARGET - frac):.0f} points")
      + f" (target {100 * PEAK_TARGET:.0f}%)"
    )
  return "\n".join(out)


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--quick", action="store_true", help="default + small workloads, 3 rounds")
  ap.add_argument(
    "--workloads", default=None, help=f"comma-separated subset of {','.join(WORKLOADS)}"
  )
  ap.add_argument(
    "--rounds", type=int, default=None, help="alternating rounds (default 7, quick 3)"
  )
  ap.add_argument("--seed", type=int, default=0)
  ap.add_argument(
    "--min-sample",
    type=float,
    default=None,
    help="seconds per timing sample (default 0.1, quick 0.05)",
  )
  ap.add_argument("--no-torch", action="store_true", help="time jaxrnn only")
  ap.add_argument(
    "--gpu-precision",
    choices=["float32", "tf32"],
    default="float32",
    help="float32 products on a GPU: full float32 (default) or TF32, in both libraries",
  )
  ap.add_argument("--out", default="peers", help="name of the JSON file in benchmarks/out/")
  ap.add_argument("--worker", choices=["jax", "torch"], help=argparse.SUPPRESS)
  ap.add_argument("--inputs", help=argparse.SUPPRESS)
  ap.add_argument("--outputs", help=argparse.SUPPRESS)
  ap.add_argument("--batch", type=int, help=argparse.SUPPRESS)
  ap.add_argument("--m", type=int, help=argparse.SUPPRESS)
  args = ap.parse_args(argv)
  if args.min_sample is None:
    args.min_sample = 0.05 if args.quick else 0.1
  if args.worker:
    fn = jax_worker if args.worker == "jax" else torch_worker
    fn(args.inputs, args.outputs, args.batch, args.m, args.min_sample, args.gpu_precision)
    return
  args.rounds = args.rounds or (3 if args.quick else 7)
  names = (
    args.workloads.split(",")
    if args.workloads
    else ["default", "small"]
    if args.quick
    else list(WORKLOADS)
  )
  for n in names:
    if n not in WORKLOADS:
      ap.error(f"unknown workload {n!r}; choose from {', '.join(WORKLOADS)}")
  load_start = C.loadavg()
  if load_start and load_start[0] > 0.5:
    print(
      f"[peers] warning: load average {load_start} before starting; other "
      "processes compete for the cores and the ratios will be noisy (PyTorch's "
      "OpenMP threads suffer most).",
      file=sys.stderr,
      flush=True,
    )
  results = {}
  for n in names:
    print(f"[peers] workload {n}: {WORKLOADS[n]}", file=sys.stderr, flush=True)
    results[n] = run_workload(n, WORKLOADS[n], args)
  text = report(results) + (
    f"\nLoad average before / after: {load_start} / {C.loadavg()} ({os.cpu_count()} cores)."
  )
  print(text)
  path = C.write_json(
    args.out,
    {
      "loadavg_start": load_start,
      "loadavg_end": C.loadavg(),
      "rounds": args.rounds,
      "targets": {**TARGETS, "forward_fraction_of_peak": PEAK_TARGET},
      "results": results,
      "report": text,
    },
  )
  print(f"\nwrote {path}")


if __name__ == "__main__":
  main()
