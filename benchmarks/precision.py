"""What JAX's default float32 matmul precision does to what the experiments measure.

    python benchmarks/precision.py          # m = 1024, L = 20, 64 sequences
    python benchmarks/precision.py --tiny   # m = 64, L = 8, 8 sequences (a smoke test)

On GPUs and TPUs JAX multiplies float32 matrices with TensorFloat-32 or
bfloat16 passes unless told otherwise; on a CPU in full float32. This script
measures, on the default device, for one network (m = 1024, L = 20, d = 32,
64 sequences of Def. 3.1, Def. 3.2 initialization) and one Gaussian
direction (W', A') of entries N(0, 1/m):

- the forward pass against a NumPy float64 loop (max |diff| / max |ref|);
- the relative Taylor remainder of the pseudo-network (Eq. 4),
  ``||F(W + w W', A + w A') - F(W, A) - w F'(W', A')|| / ||w F'(W', A')||``
  for w = 1e-1 ... 1e-4, the quantity ``linearization`` reports (jaxrnn's
  ``rnn_output`` and ``pseudo_network``),

each under JAX's default precision and under ``"highest"`` (what
``jaxrnn.lab.run_experiment`` uses for every point), and the same remainder
from NumPy float64 alone (``_common.float64_rnn``: the loop over time and
its exact forward-mode tangent for F').
Results: ``benchmarks/out/precision.json``.
"""

from __future__ import annotations

import time

import numpy as np

try:
  from benchmarks import _common as C
except ImportError:
  import _common as C

OMEGAS = (1e-1, 1e-2, 1e-3, 1e-4)


def main(argv=None) -> None:
  import argparse

  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--tiny", action="store_true", help="m = 64, L = 8, 8 sequences")
  ap.add_argument("--out", default="precision", help="name of the JSON file in benchmarks/out/")
  args = ap.parse_args(argv)
  M, L, D, N = (64, 8, 32, 8) if args.tiny else (1024, 20, 32, 64)

  import jax
  import jax.numpy as jnp

  import jaxrnn

  t0 = time.perf_counter()
  k = jax.random.split(jax.random.key(0), 4)
  p = jaxrnn.init_params(k[0], M, D, 1)
  xs = jax.vmap(lambda kk: jaxrnn.random_normalized_sequence(kk, L, D, 0.5))(
    jax.random.split(k[1], N)
  )
  dW = jax.random.normal(k[2], (M, M)) / np.sqrt(M)
  dA = jax.random.normal(k[3], (M, D)) / np.sqrt(M)
  delta = jaxrnn.RNNParams(dW, dA, jnp.zeros_like(p.B))
  dW64, dA64 = np.asarray(dW, np.float64), np.asarray(dA, np.float64)
  W, A, B = (np.asarray(a, np.float64) for a in p)
  ref64 = C.float64_rnn(W, A, B, xs, dW64, dA64)
  ref, g64 = ref64["forward"], ref64["pseudo"]
  fwd = jax.jit(jax.vmap(jaxrnn.rnn_output, (None, 0)))
  pse = jax.jit(jax.vmap(jaxrnn.pseudo_network, (None, None, 0)))

  def measure():
    f0 = np.asarray(fwd(p, xs), np.float64)
    g = np.asarray(pse(p, delta, xs), np.float64)
    rems = {}
    for w in OMEGAS:
      pw = jaxrnn.RNNParams(p.W + w * dW, p.A + w * dA, p.B)
      fw = np.asarray(fwd(pw, xs), np.float64)
      rems[str(w)] = float(np.linalg.norm(fw - f0 - w * g) / np.linalg.norm(w * g))
    err = float(np.max(np.abs(f0 - ref)) / np.max(np.abs(ref)))
    return {"forward_rel_err_vs_float64": err, "taylor_remainder_rel": rems}

  out = {"default": measure()}
  with jax.default_matmul_precision("highest"):
    out["highest"] = measure()
  rems64 = {}
  for w in OMEGAS:
    fw = C.float64_rnn(W + w * dW64, A + w * dA64, B, xs)["forward"]
    rems64[str(w)] = float(np.linalg.norm(fw - ref - w * g64) / np.linalg.norm(w * g64))
  out["float64_numpy"] = {"taylor_remainder_rel": rems64}

  rows = [
    [
      "forward: max rel. error vs float64",
      *(f"{out[c]['forward_rel_err_vs_float64']:.1e}" for c in ("default", "highest")),
      "-",
    ]
  ]
  for w in OMEGAS:
    rows.append(
      [f"Taylor remainder, omega = {w:g}"]
      + [
        f"{out[c]['taylor_remainder_rel'][str(w)]:.3g}"
        for c in ("default", "highest", "float64_numpy")
      ]
    )
  dev = jax.devices()[0]
  report = (
    f"Matmul precision on {dev.platform}:{getattr(dev, 'device_kind', '')} "
    f"(jax {jax.__version__}; m={M}, L={L}, d={D}, {N} sequences)\n\n"
    + C.table(["quantity", "JAX default", "highest", "NumPy float64"], rows)
  )
  print(report)
  path = C.write_json(
    args.out,
    {
      "info": C.jax_info(),
      "m": M,
      "L": L,
      "d": D,
      "n": N,
      **out,
      "seconds": time.perf_counter() - t0,
      "report": report,
    },
  )
  print(f"\nwrote {C.shown(path)}")


if __name__ == "__main__":
  main()
