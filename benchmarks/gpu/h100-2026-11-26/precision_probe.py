"""GPU probe: what JAX's default float32 matmul precision does to the
quantities the experiments measure (forward pass vs a NumPy float64 loop; the
Taylor remainder of the pseudo-network, Eq. 4), default vs "highest"."""
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn

t0 = time.perf_counter()
m, L, d, n = 1024, 20, 32, 64
k = jax.random.split(jax.random.key(0), 4)
p = jaxrnn.init_params(k[0], m, d, 1)
xs = jax.vmap(lambda kk: jaxrnn.random_normalized_sequence(kk, L, d, 0.5))(jax.random.split(k[1], n))
dW = jax.random.normal(k[2], (m, m)) / np.sqrt(m)
dA = jax.random.normal(k[3], (m, d)) / np.sqrt(m)
delta = jaxrnn.RNNParams(dW, dA, jnp.zeros_like(p.B))

W, A, B = (np.asarray(a, np.float64) for a in p)
X = np.asarray(xs, np.float64)


def ref_forward(W, A):
  h = np.zeros((n, m))
  for l in range(L):
    h = np.maximum(h @ W.T + X[:, l] @ A.T, 0.0)
  return h @ B.T


ref = ref_forward(W, A)
fwd = jax.jit(jax.vmap(jaxrnn.rnn_output, (None, 0)))
pse = jax.jit(jax.vmap(jaxrnn.pseudo_network, (None, None, 0)))
omegas = (1e-1, 1e-2, 1e-3, 1e-4)
out = {"device": str(jax.devices()[0]), "m": m, "L": L, "n": n}
for prec in ("default", "highest"):
  def run():
    f0 = np.asarray(fwd(p, xs), np.float64)
    g = np.asarray(pse(p, delta, xs), np.float64)
    rems = {}
    for w in omegas:
      pw = jaxrnn.RNNParams(p.W + w * dW, p.A + w * dA, p.B)
      fw = np.asarray(fwd(pw, xs), np.float64)
      rems[str(w)] = float(np.linalg.norm(fw - f0 - w * g) / np.linalg.norm(w * g))
    return f0, rems
  if prec == "highest":
    with jax.default_matmul_precision("highest"):
      f0, rems = run()
  else:
    f0, rems = run()
  out[prec] = {
    "forward_rel_err_vs_float64": float(np.max(np.abs(f0 - ref)) / np.max(np.abs(ref))),
    "taylor_remainder_rel": rems,
  }
# float64 reference of the remainder (NumPy, finite differences of the exact forward)
eps = 1e-6
g64 = (ref_forward(W + eps * np.asarray(dW, np.float64), A + eps * np.asarray(dA, np.float64)) - ref) / eps
rems64 = {}
for w in omegas:
  fw = ref_forward(W + w * np.asarray(dW, np.float64), A + w * np.asarray(dA, np.float64))
  rems64[str(w)] = float(np.linalg.norm(fw - ref - w * g64) / np.linalg.norm(w * g64))
out["float64_numpy"] = {"taylor_remainder_rel": rems64}
out["seconds"] = time.perf_counter() - t0
print("PRECISION " + json.dumps(out))
