"""Independent NumPy float64 references, written from the paper's definitions.

Nothing here imports jaxrnn: these loops are the yardstick the library is
checked against. Indices follow the paper (steps l = 1..L); arrays are
0-indexed, so ``xs[l-1]`` is x^(l).
"""

import numpy as np

#: Tolerances for comparing jaxrnn with these references, per dtype of the
#: jaxrnn computation (float32: rounding of O(m L) accumulated products at
#: the test sizes, m <= 64, L <= 10; float64: a few ulps of the same sums).
#: The one place the suite's dtype tolerances live: ``**tol(x.dtype)``.
TOL = {"float32": dict(rtol=2e-4, atol=1e-4), "float64": dict(rtol=1e-10, atol=1e-12)}


def tol(dtype) -> dict:
  """``assert_allclose`` keyword arguments for results computed in ``dtype``."""
  return TOL[np.dtype(dtype).name]


def relu(z):
  return np.where(z >= 0, z, 0.0)


def hidden_states(W, A, xs):
  """Eq. (1): h^(0) = 0, h^(l) = relu(A x^(l) + W h^(l-1)); returns (L, m)."""
  W, A, xs = (np.asarray(a, np.float64) for a in (W, A, xs))
  m = W.shape[0]
  h = np.zeros(m)
  out = []
  for x in xs:
    pre = np.zeros(m)
    for r in range(m):  # neuron by neuron, as in Eq. (1)
      pre[r] = A[r] @ x + W[r] @ h
    h = relu(pre)
    out.append(h)
  return np.array(out)


def output(W, A, B, xs):
  return np.asarray(B, np.float64) @ hidden_states(W, A, xs)[-1]


def preactivations(W, A, xs):
  """Eq. (1) before the ReLU: z^(l) = A x^(l) + W h^(l-1), h^(0) = 0; (L, m)."""
  W, A, xs = (np.asarray(a, np.float64) for a in (W, A, xs))
  hs = hidden_states(W, A, xs)
  h_prev = np.vstack([np.zeros((1, W.shape[0])), hs[:-1]])
  return np.array([A @ xs[l] + W @ h_prev[l] for l in range(len(xs))])


def patterns(W, A, xs):
  """Eq. (5): D^(l)_rr = 1[w_r.h^(l-1) + a_r.x^(l) >= 0]; returns (L, m) bool."""
  W, A, xs = (np.asarray(a, np.float64) for a in (W, A, xs))
  hs = hidden_states(W, A, xs)
  h_prev = np.vstack([np.zeros((1, W.shape[0])), hs[:-1]])
  return np.array([W @ h_prev[l] + A @ xs[l] >= 0 for l in range(len(xs))])


def back_matrices(W, A, B, xs):
  """Back_{i->L} = B D^(L) W ... D^(i+1) W, Back_{L->L} = B; (L, d_out, m)."""
  W, B = np.asarray(W, np.float64), np.asarray(B, np.float64)
  D = patterns(W, A, xs).astype(np.float64)
  L = len(xs)
  out = []
  for i in range(1, L + 1):
    M = B.copy()
    for j in range(L, i, -1):  # multiply D^(j) W for j = L ... i+1
      M = M @ np.diag(D[j - 1]) @ W
    out.append(M)
  return np.array(out)


def pseudo(W, A, B, Wp, Ap, xs):
  """Eq. (4): sum_i Back_{i->L} D^(i) (W' h^(i-1) + A' x^(i))."""
  W, A, Wp, Ap, xs = (np.asarray(a, np.float64) for a in (W, A, Wp, Ap, xs))
  backs = back_matrices(W, A, B, xs)
  D = patterns(W, A, xs).astype(np.float64)
  hs = hidden_states(W, A, xs)
  h_prev = np.vstack([np.zeros((1, W.shape[0])), hs[:-1]])
  total = 0.0
  for i in range(len(xs)):
    total = total + backs[i] @ (D[i] * (Wp @ h_prev[i] + Ap @ xs[i]))
  return total


def normalize(xbar, eps_x):
  """Def. 3.1: x^(1) = x^(L) = (0,...,0,1), x^(l) = (eps_x xbar^(l), 0)."""
  xbar = np.asarray(xbar, np.float64)
  n, dm1 = xbar.shape
  d = dm1 + 1
  xs = np.zeros((n + 2, d))
  xs[0, -1] = 1.0
  xs[-1, -1] = 1.0
  for k in range(n):
    xs[k + 1, :dm1] = eps_x * xbar[k]
  return xs


def inversion_matrix(W, A, base_xs):
  """Sec. 4.4: Wbar^[1] = D^(1) A, Wbar^[l] = [D^(l) W Wbar^[l-1], D^(l) A]_r."""
  W, A = np.asarray(W, np.float64), np.asarray(A, np.float64)
  D = patterns(W, A, base_xs).astype(np.float64)
  Wbar = np.diag(D[0]) @ A
  for l in range(2, len(base_xs) + 1):
    Dl = np.diag(D[l - 1])
    Wbar = np.hstack([Dl @ W @ Wbar, Dl @ A])  # row-wise concatenation [.,.]_r
  return Wbar


def centred_decoder(W, A, base_xs, xs):
  """The centred pattern decoder: decode(x) - decode(base) + base with
  decode(x) = (Wbar^[L]^T h^(L)(x)).reshape(L, d), Wbar^[L] of Sec. 4.4
  built on the base sequence; exact at the base. Returns (L, d)."""
  wbar = inversion_matrix(W, A, base_xs)
  L, d = np.shape(base_xs)

  def decode(seq):
    return (wbar.T @ hidden_states(W, A, seq)[-1]).reshape(L, d)

  return decode(xs) - decode(base_xs) + np.asarray(base_xs, np.float64)


def vjp(W, A, B, xs, c):
  """Gradient of c . F(x) in (W, A, xs), backpropagation through time with
  D^(l) = diag(1[z^(l) >= 0]) of Eq. (5); returns (gW, gA, gxs)."""
  W, A, B, xs, c = (np.asarray(a, np.float64) for a in (W, A, B, xs, c))
  zs = preactivations(W, A, xs)
  h = np.vstack([np.zeros((1, W.shape[0])), hidden_states(W, A, xs)])  # h^(0..L)
  gW, gA, gx = np.zeros_like(W), np.zeros_like(A), np.zeros_like(xs)
  g = B.T @ c  # dF/dh^(L)
  for l in range(len(xs), 0, -1):  # l = L ... 1
    gz = g * (zs[l - 1] >= 0)
    gW += np.outer(gz, h[l - 1])
    gA += np.outer(gz, xs[l - 1])
    gx[l - 1] = A.T @ gz
    g = W.T @ gz
  return gW, gA, gx


def input_tangent(W, A, B, xs, dxs):
  """Forward-mode derivative along the input: dh^(l) = D^(l) (A dx^(l) + W dh^(l-1)),
  returns B dh^(L)."""
  W, A, B, xs, dxs = (np.asarray(a, np.float64) for a in (W, A, B, xs, dxs))
  zs = preactivations(W, A, xs)
  dh = np.zeros(W.shape[0])
  for l in range(len(xs)):
    dh = (zs[l] >= 0) * (A @ dxs[l] + W @ dh)
  return B @ dh
