"""Experiment ``normalization``: inversion and training with and without Def. 3.1 against L.

The paper normalizes its inputs (Def. 3.1) and says why (Sec. 3): "Our
method can be applied without normalization too, but in that case our error
bound has exponential dependence on the length of the input sequence." This
experiment puts the same measurements side by side for two encodings of the
same true tokens (unit vectors of R^{d-1} with last entry 1/2) and asks how
the errors grow with the number of RNN steps L:

- ``normalized`` (Def. 3.1, ``jaxrnn.normalize_sequence``): L steps,
  ``x^(1) = x^(L) = e_d`` (bias tokens), ``x^(l) = (eps_x xbar^(l), 0)`` for
  the L - 2 middle steps.
- ``raw``: the true tokens fed directly, one per step, no bias tokens, no
  eps_x: L steps, ``x^(l) = (xbar^(l), 0)`` for l = 1 .. L (the zero last
  entry keeps the input dimension d, so both encodings drive the same
  network). The raw sequence of length L carries L true tokens, the
  normalized one L - 2; both are compared at the same number of steps L,
  the L of the bounds.

Errors are measured on the true tokens in their own units: normalized,
``max |xhat - x|`` over the middle tokens' first d - 1 entries divided by
eps_x (``reconstruction_errors``'s ``token`` / eps_x, as in the
``invertibility`` experiment); raw, the same max over every token's first
d - 1 entries. A value >= 1 means the true tokens are not recovered better
than by outputting 0.

What is measured.

1. Inversion at initialization (Sec. 4.4), for every width in ``ms``:
   ``pattern`` (``jaxrnn.inversion.invert_hidden_state`` with a fixed base
   sequence: the zero base ``zero_base_sequence`` for normalized inputs, the
   mean true token ``(0, ..., 0, 1/2, 0)`` at every step for raw ones),
   ``centred`` (the same decoding minus the base's decoding plus the base,
   ``invert_hidden_state_centered``: exact at the base, so the constant
   O(m^-1/2) offset that leaks from the bias tokens into the other blocks
   is gone; the growth verdicts read it),
   ``oracle`` (the patterns of the decoded sequence itself) and ``lstsq`` (the
   ridge least-squares yardstick ``fit_linear_decoder``).
2. Training (``jaxrnn.training.train``, model "rnn", SGD on W', A' with B
   frozen, squared loss, lambda = 1) of a width-``train_m`` RNN on a target
   ``F* = Phi(<w, xbar>)`` of every true token
   (``jaxrnn.concept.random_concept``), for both encodings. The change of the
   output, ``F_T - F_init``, is fitted to the target (labels shifted by the
   initial output, see ``train_seed``); the test loss is divided by the loss
   of predicting 0, which is the untrained network's (so 1 = nothing
   learned). The step and the number of steps follow the measured kernel:

   - every run (encoding, L, seed) takes its own step from the top of its
     own Theta_0 on its training set, ``eta = lr / sharpness``
     (``training.kernel_step_size`` with the minibatch size), and records
     ``lambda_max``, ``sharpness`` and ``eta * sharpness`` (< 2: stable
     gradient descent on the linearized objective);
   - T is the first ``min_steps * 2^j`` at which linearized descent on that
     kernel reaches the plateau (``choose_steps``: the training loss falls
     by at most ``plateau_tol`` of its initial value over the last 20% of
     the steps), capped at ``max_steps``; one T per point (the largest over
     its seeds). At short L the normalized tokens' eigenvalues are about
     eps_x^2 times the bias mode's, so their plateau lies ~1/eps_x^2 steps
     out and the cap is what stops it: recorded, per seed, as
     ``plateau_predicted``; whether the trained run itself reached the
     plateau by the same criterion on its chunk losses is ``plateau``;
   - beside the trained network: the kernel's prediction after the same T
     (``linearized``), and the t -> inf limits, kernel regression with
     Theta_0 (modes below ``KERNEL_CUTOFF`` of the top left out) and with
     Theta_inf (``infinite_width_ntk``).

Sources of the verdicts (``verdicts``):

- "raw tokens: grows exponentially in L" for the centred decoder tests the
  Sec. 3 remark after Def. 3.1 ("without normalization ... our error bound
  has exponential dependence on the length", ``def3.1-normalization``): the
  remark is about the bound, so an error that grows more slowly would not
  contradict it.
- "normalized: grows at most polynomially in L" for the centred decoder
  tests Thm. 4.5 (``poly(L, rho, m^-1, eps_x)`` for eps_x < 1/L); its regime
  is eps_x < 1/L at every L of the run, otherwise "not testable at these
  sizes".
- Every other row is a jaxrnn diagnostic: the curvature of raw errors, the
  rate difference, every training row (the paper makes no claim about the
  training loss against L without normalization), the stability of the
  step and the plateau.

The rules (each can fail; ``verdicts`` computes them), per width for the
centred decoder (the uncentred, oracle and least-squares decoders are
diagnostics in the tables) and once for training:

- rate per step: the slope of ln(value) against L has its bootstrap 95%
  interval above 0 (any growing value passes this, so also:)
- "faster than any power of L": the log-log curvature
  (``lab.loglog_curvature``: second derivative of ln value in
  ln L from a quadratic fit; 0 for a power law, b L > 0 for e^{bL}) above 0;
  "at most polynomial": below ``lab.CURVATURE_MARGIN``.
- "raw grows faster per step than normalized": rate(raw) - rate(normalized)
  above 0 (bootstrap over seeds of both).
- Training: "normalized trains to a lower test loss than raw at the largest
  L" (median over seeds of normalized / raw below 1); every recorded
  ``eta * sharpness`` below 2; every run at the plateau.

Design choices where the paper is silent: the raw encoding above (the paper
does not define one); the raw base sequence (the mean token); one set of
true tokens per seed shared by both encodings and every L (prefixes), so the
curves are comparable; training data (``num_samples`` + ``num_test``
sequences, no label noise) shared by the seeds, which differ in the network
and the SGD draws, and by both encodings at one L; sequences shorter than
the longest are front-padded with zero tokens (h stays exactly 0 through
them, for any weights), so one compiled training program serves every L and
both encodings (the kernels are computed on the unpadded sequences: the
padding changes no gradient); the squared loss (the linearized dynamics and
kernel regression are then exact yardsticks near initialization); the
plateau criterion, its tolerance and the doubling grid of T; one T per point
for all seeds; eps_x < 1/L_max (Thm. 4.5's condition) at every L of the
presets; float32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from jaxrnn import (
  cell,
  hidden_states,
  init_params,
  lab,
  normalize_sequence,
  random_true_sequence,
  rnn_output,
  training,
)
from jaxrnn.concept import concept_value, phi_function, random_concept
from jaxrnn.inversion import (
  apply_linear_decoder,
  centered_decoding_offset,
  fit_linear_decoder,
  invert_hidden_state,
  reconstruction_errors,
  zero_base_sequence,
)
from jaxrnn.kernels import empirical_ntk, infinite_width_ntk
from jaxrnn.lab import (
  CURVATURE_MARGIN,
  at_least,
  each,
  greater_than,
  loglog_curvature,
  option,
  pad_front,
  parses,
  robust,
)
from jaxrnn.lab.declare import ratios as ratios_of
from jaxrnn.lab.fits import exp_rate, rate_difference

ENCODINGS = ("normalized", "raw")
#: Decoders: the centred pattern decoder (the one the growth verdicts read),
#: the uncentred one, the oracle and the least-squares yardstick.
METHODS = ("centred", "pattern", "oracle", "lstsq")
METRICS = ("token", "linf")


@lab.config_class(d=6, num_seeds=5, num_train=128, ridge=1e-4, batch_size=16, dtype="float32")
class Config:
  ms: tuple[int, ...] = option((512,), each(at_least(2)), help="widths m for the inversion")
  Ls: tuple[int, ...] = option(
    (3, 5, 8, 12, 16, 20), each(at_least(3)), help="numbers of RNN steps L (>= 3)"
  )
  eps_x: float = option(0.04, greater_than(0), help="Def. 3.1 scale of the normalized encoding")
  num_sequences: int = option(16, at_least(1), help="test sequences per network (inversion)")
  train: bool = option(True, help="also train RNNs on both encodings")
  train_m: int = option(128, at_least(2), help="width of the trained RNNs")
  phi: str = option("pow:1", parses(phi_function), help="target F* = Phi(<w, xbar>)")
  max_steps: int = option(
    1600, at_least(10), help="cap on the SGD steps T (T itself follows from the kernel spectrum)"
  )
  min_steps: int = option(100, at_least(10), help="smallest T tried (T = min_steps * 2^j)")
  lr: float = option(
    1.0,
    greater_than(0),
    help="eta * sharpness of the kernel step (kernel_step_size; < 2 is stable)",
  )
  plateau_tol: float = option(
    0.01, greater_than(0), help="plateau: loss change over the last 20% of steps / initial loss"
  )
  num_samples: int = option(256, at_least(2), help="training samples N")
  num_test: int = option(256, at_least(2), help="test samples")


PRESETS = {
  "quick": Config(
    ms=(256,),
    Ls=(3, 5, 8, 12, 16),
    num_seeds=3,
    train_m=64,
    num_samples=128,
    num_test=128,
    max_steps=800,
  ),
  "paper": Config(
    ms=(256, 1024, 2048),
    Ls=(3, 5, 8, 12, 16, 20, 24),
    eps_x=0.025,
    num_seeds=6,
    num_sequences=32,
    num_train=256,
    max_steps=1600,
    num_samples=256,
    num_test=256,
  ),
  # The smallest run that reaches every code path (tests, smoke runs): three
  # lengths for the rates in L, both encodings trained for a few steps.
  "tiny": Config(
    ms=(16,),
    Ls=(3, 4, 6),
    num_seeds=2,
    num_sequences=3,
    num_train=8,
    train_m=8,
    min_steps=10,
    max_steps=20,
    batch_size=2,
    num_samples=8,
    num_test=8,
  ),
}


def raw_sequences(xbar):
  """The raw encoding: true tokens (..., L, d - 1) -> (..., L, d) with a zero
  last entry."""
  return jnp.concatenate([xbar, jnp.zeros(xbar.shape[:-1] + (1,), xbar.dtype)], axis=-1)


def raw_base_sequence(L: int, d: int, dtype=jnp.float32):
  """Base of the pattern decoder for raw inputs: the mean true token
  ``(0, ..., 0, 1/2, 0)`` at every step."""
  return jnp.zeros((L, d), dtype).at[:, d - 2].set(0.5)


def invert_seed(
  key,
  *,
  m: int,
  Ls: tuple,
  d: int,
  eps_x: float,
  num_sequences: int,
  num_train: int,
  ridge: float,
  dtype: str,
):
  """``{"encoding/method/metric": (len(Ls),)}`` for one network, means over
  the test sequences; ``token`` in units of the true token."""
  dt = jnp.dtype(dtype)
  L_max = max(Ls)
  k_init, k_test, k_train = jax.random.split(key, 3)
  params = init_params(k_init, m, d, 1, dt)

  def tokens(k, n):  # (n, L_max, d - 1): raw length L uses L, normalized L - 2
    return jax.vmap(lambda kk: random_true_sequence(kk, L_max, d, dt))(jax.random.split(k, n))

  tb, tb_tr = tokens(k_test, num_sequences), tokens(k_train, num_train)
  norm = jax.vmap(normalize_sequence, (0, None))
  hidden = jax.vmap(lambda xs: hidden_states(params, xs))
  # Normalized: h^(l) of the prefix (e_d, eps t_1, ...), then the bias token.
  hn, hn_tr = (hidden(norm(t[:, : L_max - 2], eps_x)[:, :-1]) for t in (tb, tb_tr))
  bias_token = jnp.zeros((d,), dt).at[-1].set(1)
  last = jax.vmap(lambda h: cell(params, h, bias_token))
  # Raw: h^(L) of (t_1, ..., t_L) is h^(L) of the longest raw sequence.
  hr, hr_tr = hidden(raw_sequences(tb)), hidden(raw_sequences(tb_tr))
  cases = []  # (encoding, L, xs, h, xs_train, h_train, base)
  for L in Ls:
    cases.append(
      (
        "normalized",
        L,
        norm(tb[:, : L - 2], eps_x),
        last(hn[:, L - 2]),
        norm(tb_tr[:, : L - 2], eps_x),
        last(hn_tr[:, L - 2]),
        zero_base_sequence(L, d, dt),
      )
    )
    cases.append(
      (
        "raw",
        L,
        raw_sequences(tb[:, :L]),
        hr[:, L - 1],
        raw_sequences(tb_tr[:, :L]),
        hr_tr[:, L - 1],
        raw_base_sequence(L, d, dt),
      )
    )
  out = {f"{e}/{meth}/{k}": [] for e in ENCODINGS for meth in METHODS for k in METRICS}
  for enc, _, xs, h, xs_train, h_train, base in cases:
    dec = fit_linear_decoder(h_train, xs_train, ridge)
    pattern = jax.vmap(invert_hidden_state, (None, None, 0))(params, base, h)
    decoded = {
      # jaxrnn.inversion.invert_hidden_state_centered with the pattern
      # decoding reused: Wbar^T h - Wbar^T h(base) + base.
      "centred": pattern + centered_decoding_offset(params, base)[None],
      "pattern": pattern,
      "oracle": jax.vmap(invert_hidden_state, (None, 0, 0))(params, xs, h),
      "lstsq": jax.vmap(apply_linear_decoder, (None, 0, None))(dec, h, d),
    }
    for meth, xhat in decoded.items():
      if enc == "normalized":
        errs = jax.vmap(reconstruction_errors)(xs, xhat)
        tok, linf = errs["token"] / eps_x, errs["linf"]
      else:
        diff = jnp.abs(xhat - xs)
        tok, linf = jnp.max(diff[:, :, :-1], axis=(1, 2)), jnp.max(diff, axis=(1, 2))
      out[f"{enc}/{meth}/token"].append(jnp.mean(tok))
      out[f"{enc}/{meth}/linf"].append(jnp.mean(linf))
  return {k: jnp.stack(v) for k, v in out.items()}


def _init(key, train_m: int, d: int, dtype):
  """The network of one training seed (the same for both encodings)."""
  k_init, k_sgd = jax.random.split(key)
  return init_params(k_init, train_m, d, 1, dtype), k_sgd


def kernel_seed(key, xs, ys, xs_test, *, train_m: int, batch_size: int, lr: float):
  """The measured kernel of one seed's network on its training set: the
  step, and the spectrum that predicts linearized gradient descent.

  ``training.kernel_step_size(params, xs, batch_size=B, lr=lr)`` gives
  ``eta = lr / sharpness``. Near initialization the change of the output is
  linear in (W', A') (Eq. 4), so SGD on the squared loss moves the training
  residual r in expectation as ``r <- (I - eta K / N) r`` with K = Theta_0
  on the N training sequences (the mean of a uniform minibatch gradient is
  the full-batch one): with ``K = U diag(mu) U^T`` the mode k decays as
  ``(1 - eta mu_k / N)^t``. Returns the step fields, ``mu`` (N,), ``proj =
  U^T y`` (N,) and ``test_proj = Theta_0(test, train) U`` (N_test, N), from
  which ``linearized`` predicts training and test loss at any t (and at t =
  inf, the Theta_0 kernel-regression limit). Cost: one (N + N_test)^2
  empirical NTK, O((N + N_test)^2 L^2 m), and one N x N eigh."""
  params, _ = _init(key, train_m, xs.shape[-1], xs.dtype)
  st = training.kernel_step_size(params, xs, batch_size=batch_size, lr=lr)
  n = xs.shape[0]
  K = empirical_ntk(params, jnp.concatenate([xs, xs_test]))
  ktr = 0.5 * (K[:n, :n] + K[:n, :n].T)
  mu, U = jnp.linalg.eigh(ktr)
  return {
    "eta": st.eta,
    "lambda_max": st.lambda_max,
    "sharpness": st.sharpness,
    "ratio": st.ratio,
    "mu": mu,
    "proj": U.T @ ys,
    "test_proj": K[n:, :n] @ U,
  }


#: Eigenvalues below this fraction of the largest are left out of the
#: kernel-regression limit (t = inf): float32 kernels carry noise there.
KERNEL_CUTOFF = 1e-5


def linearized(mu, proj, test_proj, ys_test, eta, n: int, t: float):
  """Linearized gradient descent (expected SGD) after t steps of size eta on
  the squared loss, from the kernel's spectrum (``kernel_seed``):
  ``(train_loss, test_loss)``, each ``mean (f - y)^2 / 2``.

  Mode k of the training residual is ``(1 - a_k)^t proj_k`` with ``a_k = eta
  mu_k / n``; the test prediction is ``test_proj diag(g) proj`` with ``g_k =
  (1 - (1 - a_k)^t) / mu_k``. ``t = inf`` is kernel regression with Theta_0
  (modes with ``mu_k < KERNEL_CUTOFF max mu`` left out: their ``1/mu_k`` is
  float noise). ``eta`` None means ``t = inf`` whatever t is."""
  mu = np.asarray(mu, np.float64)
  proj = np.asarray(proj, np.float64)
  yt = np.asarray(ys_test, np.float64)
  keep = mu > KERNEL_CUTOFF * mu.max()
  if eta is None or not np.isfinite(t):
    decay = np.where(keep, 0.0, 1.0)
    g = np.where(keep, 1.0 / np.where(keep, mu, 1.0), 0.0)
  else:
    a = np.clip(eta * np.maximum(mu, 0.0) / n, 0.0, 2.0)
    decay = (1.0 - a) ** t
    safe = np.where(mu > 0, mu, 1.0)
    g = np.where(mu > 0, (1.0 - decay) / safe, t * eta / n)
  train = 0.5 * float(np.sum((decay * proj) ** 2)) / n
  pred = np.asarray(test_proj, np.float64) @ (g * proj)
  return train, 0.5 * float(np.mean((pred - yt) ** 2))


def choose_steps(mu, proj, eta, n: int, *, min_steps: int, max_steps: int, tol: float):
  """The number of steps T at which linearized descent has reached its
  plateau, by the stated criterion: the training loss falls by at most
  ``tol`` times its initial value over the last 20% of the steps,
  ``L(0.8 T) - L(T) <= tol L(0)``. T is the first of ``min_steps * 2^j``
  that meets it; ``(max_steps, False)`` when none up to ``max_steps`` does
  (the cap). Returns ``(T, reached)``."""
  mu, proj = np.asarray(mu, np.float64), np.asarray(proj, np.float64)
  a_k = np.clip(eta * np.maximum(mu, 0.0) / n, 0.0, 2.0)

  def loss(t):  # linearized training loss after t steps
    return 0.5 * float(np.sum(((1.0 - a_k) ** t * proj) ** 2)) / n

  l0 = loss(0)
  T = min_steps
  while True:
    a, b = loss(0.8 * T), loss(T)
    if a - b <= tol * l0:
      return T, True
    if 2 * T > max_steps:
      return max_steps, False
    T *= 2


def plateau_reached(train_loss, init_loss: float, tol: float) -> bool:
  """The same criterion on a run: ``train_loss`` holds the mean minibatch
  loss of each of 10 chunks of T/10 steps; the plateau is reached when the
  8th chunk's mean minus the last's is at most ``tol`` times the initial
  loss (NaN, e.g. after divergence: not reached)."""
  tl = np.asarray(train_loss, np.float64)
  if tl.size < 3 or not np.all(np.isfinite(tl)) or not np.isfinite(init_loss):
    return False
  return bool(tl[-3] - tl[-1] <= tol * init_loss)


def train_seed(
  key, xs, ys, xs_test, ys_test, key_table, etas, *, train_m: int, steps: int, batch_size: int
):
  """One RNN trained by SGD at its own kernel step so that its change
  ``F_T(x) - F_init(x)`` fits ``ys`` (squared loss, lambda = 1).

    ``etas[i]`` is the step of the seed whose key data is ``key_table[i]``
    (from ``kernel_seed``; looked up by key, so the seeds share one
    compiled program). The labels are shifted by the initial output, ``y +
    F_init(x)``, so the untrained network scores exactly the loss of
    predicting 0 and what is measured is what training added (Thm. 3.1's
    small lambda makes F_init negligible; at lambda = 1 it is not, and its
    size differs between the encodings: ||h^(L)||^2 grows like L for raw
    tokens)."""
  params, k_sgd = _init(key, train_m, xs.shape[-1], xs.dtype)
  idx = jnp.argmax(jnp.all(key_table == jax.random.key_data(key)[None, :], axis=-1))
  f0 = jax.vmap(rnn_output, (None, 0))
  res = training.train(
    k_sgd,
    params,
    xs,
    ys + f0(params, xs)[:, 0],
    xs_test,
    ys_test + f0(params, xs_test)[:, 0],
    optimizer=training.optimizer("sgd", learning_rate=etas[idx]),
    steps=steps,
    loss="squared",
    batch_size=batch_size,
    eval_every=steps // 10,
  )
  return {
    "test_loss": res.eval_loss[-1],
    "init_loss": res.eval_loss[0],
    "train_loss": res.train_loss,
    "diverged": res.diverged,
  }


def training_data(cfg: Config, encoding: str, L: int):
  """(xs, ys, xs_test, ys_test) of L steps (not padded): one target and
  one set of true tokens per L, shared by both encodings."""
  dt = jnp.dtype(cfg.dtype)
  n = cfg.num_samples + cfg.num_test
  k_tok, k_w = jax.random.split(jax.random.key(cfg.seed * 1_000_003 + 7 * L + 1))
  tb = jax.vmap(lambda k: random_true_sequence(k, L, cfg.d, dt))(jax.random.split(k_tok, n))
  if encoding == "raw":
    xbar, xs = tb, raw_sequences(tb)
  else:
    xbar = tb[:, : L - 2]
    xs = jax.vmap(normalize_sequence, (0, None))(xbar, cfg.eps_x)
  concept = random_concept(k_w, xbar.shape[1] + 2, cfg.d, phi=cfg.phi, dtype=dt)
  ys = jax.vmap(lambda xb: concept_value(concept, xb))(xbar).reshape(n)
  N = cfg.num_samples
  return xs[:N], ys[:N], xs[N:], ys[N:]


def points(cfg: Config):
  pts = [{"part": "inversion", "m": m} for m in cfg.ms]
  if cfg.train:
    pts += [{"part": "training", "encoding": e, "L": L} for e in ENCODINGS for L in cfg.Ls]
  return pts


# One compiled program per L (run eagerly, its operations compiled one by one:
# about nine programs per L, with the same values).
_ntk_limit = jax.jit(infinite_width_ntk)


def _infinite_width_limits(xs, ys, xt, yt):
  """Kernel regression with Theta_inf (``infinite_width_ntk``, the width-
  free limit of Theta_0 / m): test loss at t = inf, float64 eigh."""
  K = np.asarray(_ntk_limit(jnp.concatenate([xs, xt]), jnp.concatenate([xs, xt])))
  K = K.astype(np.float64)
  n = xs.shape[0]
  mu, U = np.linalg.eigh(0.5 * (K[:n, :n] + K[:n, :n].T))
  y = np.asarray(ys, np.float64)
  return linearized(mu, U.T @ y, K[n:, :n] @ U, yt, None, n, np.inf)[1]


def run_training(cfg: Config, encoding: str, L: int) -> dict:
  xs, ys, xt, yt = training_data(cfg, encoding, L)
  n = xs.shape[0]
  # Networks depend on (seed, L) only: both encodings train the same ones.
  keys = jaxrnn.seed_keys(cfg.seed * 100_003 + 50_021 + L, cfg.num_seeds)
  ker = jaxrnn.sweep(lab.bind(kernel_seed, cfg), keys, xs, ys, xt)
  ker = {k: np.asarray(v, np.float64) for k, v in ker.items()}
  S = cfg.num_seeds
  chosen = [
    choose_steps(
      ker["mu"][s],
      ker["proj"][s],
      ker["eta"][s],
      n,
      min_steps=cfg.min_steps,
      max_steps=cfg.max_steps,
      tol=cfg.plateau_tol,
    )
    for s in range(S)
  ]
  steps = max(T for T, _ in chosen)
  if steps % 10:
    steps += 10 - steps % 10
  L_max = max(cfg.Ls)
  fn = lab.bind(train_seed, cfg, steps=steps)
  table = jax.random.key_data(keys)
  out = jaxrnn.sweep(
    fn,
    keys,
    pad_front(xs, L_max),
    ys,
    pad_front(xt, L_max),
    yt,
    table,
    jnp.asarray(ker["eta"], xs.dtype),
  )
  zero = 0.5 * float(np.mean(np.asarray(yt, np.float64) ** 2))
  zero_train = 0.5 * float(np.mean(np.asarray(ys, np.float64) ** 2))
  lin_T, theta0 = [], []
  for s in range(S):
    args = (ker["mu"][s], ker["proj"][s], ker["test_proj"][s], yt)
    lin_T.append(linearized(*args, ker["eta"][s], n, steps)[1])
    theta0.append(linearized(*args, None, n, np.inf)[1])
  diverged = np.asarray(out["diverged"], bool)
  train_loss = np.asarray(out["train_loss"], np.float64)
  return {
    "test_loss": np.asarray(out["test_loss"], np.float64),
    "init_loss": np.asarray(out["init_loss"], np.float64),
    "diverged": diverged,
    "zero_loss": zero,
    "steps": int(steps),
    "steps_needed": [int(T) for T, _ in chosen],
    "plateau_predicted": [bool(r) for _, r in chosen],
    "plateau": [plateau_reached(train_loss[s], zero_train, cfg.plateau_tol) for s in range(S)],
    "plateau_tol": cfg.plateau_tol,
    "eta": ker["eta"],
    "lambda_max": ker["lambda_max"],
    "sharpness": ker["sharpness"],
    "ratio": ker["ratio"],
    "linearized_loss": lin_T,
    "theta0_loss": theta0,
    "theta_inf_loss": _infinite_width_limits(xs, ys, xt, yt),
  }


def run_point(cfg: Config, point: dict) -> dict:
  with jax.enable_x64(cfg.dtype == "float64"):
    if point["part"] == "inversion":
      m = point["m"]
      fn = lab.bind(invert_seed, cfg, m=m)
      out = jaxrnn.sweep(fn, jaxrnn.seed_keys(cfg.seed * 100_003 + m, cfg.num_seeds))
      # record["encoding/method/metric"][s][i]: seed s, L = Ls[i].
      return {k: np.asarray(v, np.float64) for k, v in out.items()}
    return run_training(cfg, point["encoding"], point["L"])


# --------------------------------------------------------------------------
# Report

RAW_REGIME = lab.Regime("raw tokens (no Def. 3.1), fixed m", True)
#: The training losses the report reads, each over the loss of predicting 0.
LOSSES = {"test_loss": "trained", "linearized_loss": "linearized at T"}
LOSSES |= {"theta0_loss": "Θ₀ regression", "theta_inf_loss": "Θ∞ regression"}
#: The fields of an inversion record: (encoding, decoder, metric).
FIELDS = [(e, d, k) for e in ENCODINGS for d in METHODS for k in METRICS]
STEPS = "T run | T per seed (kernel) | plateau predicted | plateau reached | η | λ_max(Θ₀)"


def _read(cfg: Config, records: list) -> tuple:
  """The inversion records by m, the training records by (encoding, L), the
  widths with a record, ``errs[m, encoding, decoder, metric]`` and
  ``losses[encoding, which]`` (``which`` in ``LOSSES``): per L the per-seed
  inversion errors and losses / loss of predicting 0 (None for a missing
  seed and, after training, a diverged one)."""
  part = lambda p: [r for r in records if r["point"].get("part") == p]
  inv, trn = lab.Records(part("inversion"), "m"), lab.Records(part("training"), "encoding", "L")
  ms = lab.present(inv, cfg.ms)
  errs = {(m, *f): lab.columns(inv, "/".join(f), len(cfg.Ls), m=m) for m in ms for f in FIELDS}

  def relative(enc, which, L):
    r = trn.record(encoding=enc, L=L) or {}
    dead = (r.get("diverged") if which == "test_loss" else None) or []
    vals, zero = trn.values(which, encoding=enc, L=L), r.get("zero_loss")
    return [
      None if i < len(dead) and dead[i] else lab.finite_ratio(v, zero) for i, v in enumerate(vals)
    ]

  losses = {(e, w): [relative(e, w, L) for L in cfg.Ls] for e in ENCODINGS for w in LOSSES}
  return inv, trn, ms, errs, losses


def _thm45(cfg: Config) -> lab.Regime:
  """Thm. 4.5's condition on the normalized encoding: eps_x < 1/L at every L."""
  ok, L = all(cfg.eps_x < 1 / L for L in cfg.Ls), max(cfg.Ls)
  where = f"ε_x < 1/L at every L (ε_x = {cfg.eps_x:g}, L ≤ {L})"
  return lab.Regime(where, ok, "" if ok else f"ε_x < {1 / L:.3g}")


def _growth_verdicts(cfg: Config, what: str, raw, nrm, paper: bool) -> list:
  """Growth against L of raw and normalized values. With ``paper`` the raw
  rate tests the Sec. 3 remark (exponential dependence on L without
  normalization; the remark bounds the error, so slower growth would not
  contradict it), the normalized curvature Thm. 4.5 (poly(L)) and a last
  row compares the two rates; the raw curvature, the rate difference and
  every row without ``paper`` are jaxrnn diagnostics."""
  src = lambda c, r: {"claim": lab.claims.claim(c), "regime": r} if paper else {}
  curve = lambda ys: loglog_curvature(cfg.Ls, ys)
  exp = f"{what}, raw tokens: grows exponentially in L (rate per step = slope of ln error vs L)"
  fast = f"{what}, raw tokens: grows faster than any power of L (log-log curvature)"
  poly = f"{what}, normalized: grows at most polynomially in L (log-log curvature)"
  out = [
    lab.check(exp, exp_rate(cfg.Ls, raw), above=0, **src("def3.1-normalization", RAW_REGIME)),
    lab.check(fast, curve(raw), above=0),
    lab.check(poly, curve(nrm), below=CURVATURE_MARGIN, **src("thm4.5", _thm45(cfg))),
  ]
  if paper:
    rule = f"{what}: raw grows faster per step than normalized (rate difference)"
    out.append(lab.check(rule, rate_difference(cfg.Ls, raw, nrm), above=0))
  return out


def verdicts(cfg: Config, records: list) -> list:
  """Every conclusion of the summary (module docstring, "Sources of the
  verdicts"): per width the growth of the centred decoder's token error
  (the uncentred one carries a constant O(m^-1/2) offset from the bias
  tokens) and the raw - normalized rate difference; then the training rows,
  the step's stability and the plateau, all jaxrnn diagnostics."""
  _, trn, ms, errs, losses = _read(cfg, records)
  out = []
  for m in ms:
    raw, nrm = errs[m, "raw", "centred", "token"], errs[m, "normalized", "centred", "token"]
    out += _growth_verdicts(cfg, f"centred pattern-decoder token error (m={m})", raw, nrm, True)
  if not trn.by:
    return out
  raw, nrm = losses["raw", "test_loss"], losses["normalized", "test_loss"]
  what = f"relative test loss after training (m={cfg.train_m})"
  out += _growth_verdicts(cfg, what, raw, nrm, False)
  ratios = ratios_of(nrm[-1], raw[-1])
  lower = f"normalized inputs train to a lower test loss than raw at L={cfg.Ls[-1]}"
  median = f"median over {len(ratios)} seeds of normalized / raw relative test loss"
  stable = "every SGD run's step is inside gradient descent's stability limit"
  plateau = f"SGD reaches the plateau (last 20% of steps change the loss by ≤ {cfg.plateau_tol:g} "
  plateau += f"of its start) within T ≤ {cfg.max_steps}"
  largest = "largest η·sharpness over runs (kernel_step_size)"
  share = "fraction of runs at the plateau"
  return out + [
    lab.check(lower, lab.reduce_finite(ratios, np.median), below=1.0, what=median),
    lab.stability_check(stable, lab.pooled(trn, "ratio"), what=largest),
    lab.plateau_check(plateau, lab.pooled(trn, "plateau"), what=share),
  ]


def _steps_row(r: dict) -> list:
  """The cells of the steps table for one training record (``STEPS``, max η·sharpness)."""
  need = r.get("steps_needed") or []
  of = lambda k: f"{sum(map(bool, r.get(k) or []))} of {len(need)}"
  span = f"{min(need)}–{max(need)}" if need else "n/a"
  ratio = lab.largest(r.get("ratio") or [])
  cells = [r.get("steps"), span, of("plateau_predicted"), of("plateau"), robust(r.get("eta") or [])]
  return cells + [robust(r.get("lambda_max") or []), "n/a" if ratio is None else f"{ratio:.3g}"]


def _panels(cfg: Config, errs: dict, losses: dict, ms: list, trained: bool) -> list:
  Ls, colors = list(cfg.Ls), lab.color_map(list(ENCODINGS))
  level, axes = lab.hline(1.0, color="k", lw=1, ls="--"), dict(xlog=False, xticks=Ls)
  x, y = "steps L (linear axis: exponential = straight line)", "token error (true-token units)"
  look = [dict(ls=ls, marker=mk) for ls, mk in zip(["-", "--", ":", "-."], "os^d")]
  bands = lambda meth: [
    lab.band(f"{e}, m={m}", Ls, errs[m, e, meth, "token"], color=colors[e], **look[j % 4])
    for e in ENCODINGS
    for j, m in enumerate(ms)
  ]
  panels = [
    lab.Panel(f"{meth} decoder", x, y, bands(meth) + [level], legend=k == 0, **axes)
    for k, meth in enumerate(METHODS)
  ]
  trn = [lab.band(e, Ls, losses[e, "test_loss"], color=colors[e]) for e in ENCODINGS] + [level]
  y = "test loss / loss of predicting 0"
  train = lab.Panel(f"training, m={cfg.train_m}", "steps L", y, trn, **axes)
  return panels + ([train] if trained else [])


def declare(cfg: Config, records: list) -> lab.Report:
  inv, trn, ms, errs, losses = _read(cfg, records)
  Ls, runs = list(cfg.Ls), trn.by
  setup = (
    f"d={cfg.d}; normalized: ε_x={cfg.eps_x:g} (ε_x < 1/L for every L: "
    f"{'yes' if _thm45(cfg).met else 'no'}); raw: the true tokens fed directly. Inversion: "
    f"{cfg.num_seeds} networks (seeds) × {cfg.num_sequences} test sequences per (m, L), least "
    f"squares on {cfg.num_train} held-out sequences. Training: m={cfg.train_m}, SGD of batch "
    f"{cfg.batch_size} on the squared loss at each run's own kernel step η = {cfg.lr:g}/sharpness "
    f"(training.kernel_step_size on its training set), T = the first {cfg.min_steps}·2^j at which "
    "linearized descent on the measured kernel reaches the plateau (loss change over the last 20% "
    f"of steps ≤ {cfg.plateau_tol:g} of the initial loss), capped at {cfg.max_steps}; target "
    f"Φ={cfg.phi} of all true tokens, N={cfg.num_samples}, {cfg.num_test} test samples, "
    f"{cfg.num_seeds} seeds. Token error in units of the true token (≥ 1: not recovered better "
    "than by 0). Cells: median [quartiles] over seeds, n = seeds. The centred decoder is the "
    "pattern decoder minus its decoding of the base sequence plus the base "
    "(jaxrnn.inversion.invert_hidden_state_centered)."
  )
  title = "normalization: inversion and training with and without Def. 3.1, against L"
  if not ms and not runs:
    return lab.Report(title, setup, ["No completed points."], [])
  curves = [(m, d, e, errs[m, e, d, "token"]) for m in ms for d in METHODS for e in ENCODINGS]
  if runs:
    curves += [(cfg.train_m, "training", e, losses[e, "test_loss"]) for e in ENCODINGS]
  growth = lab.Table(
    "m | decoder | encoding | rate per step (ln / L) | log-log slope | log-log curvature",
    curves,
    caption="Growth against L (95% bootstrap intervals over seeds): the rate is the slope of ln "
    "error against L; the curvature is the second derivative of ln error in ln L from a quadratic "
    "fit (0 for a power law, > 0 for an exponential).",
    cells=lambda r: (
      [*r[:3], exp_rate(Ls, r[3]).fmt(".3f"), lab.power_law(Ls, r[3]).fmt()]
      + [loglog_curvature(Ls, r[3]).fmt()]
    ),
  )
  cols = [(e, d, "token") for e in ENCODINGS for d in METHODS]
  cols += [(e, "pattern", "linf") for e in ENCODINGS]
  inversion = lab.Table(
    ["m", "L"] + [f"{e} {d}" + (" l∞" if k == "linf" else "") for e, d, k in cols],
    [(m, i) for m in ms for i in range(len(Ls))],
    caption="### Inversion: token error in true-token units",
    cells=lambda r: [r[0], Ls[r[1]]] + [robust(errs[r[0], *k][r[1]]) for k in cols],
  )
  training = [
    lab.Table(
      ["L"] + [f"{e}: {name}" for e in ENCODINGS for name in LOSSES.values()],
      range(len(Ls)),
      caption="### Training: test loss / loss of predicting 0 (diverged seeds counted as missing). "
      "Trained = the RNN after T SGD steps; linearized at T = the kernel's prediction of expected "
      "SGD after the same T; Θ₀ / Θ∞ regression = the t → ∞ limit with the network's kernel at "
      "initialization / the infinite-width kernel.",
      cells=lambda i: [Ls[i]] + [robust(losses[k][i]) for k in losses],
    ),
    lab.Table(
      f"encoding | L | {STEPS} | max η·sharpness",
      [(e, L, runs[e, L]) for e in ENCODINGS for L in Ls if (e, L) in runs],
      caption="### Steps: each run's own kernel step and T (T run = the largest over seeds; "
      f"capped at {cfg.max_steps})",
      cells=lambda r: [*r[:2]] + _steps_row(r[2]),
    ),
  ]
  diverged = int(lab.pooled(trn, "diverged").sum())
  train_missing = sum(lab.stats(v).missing for e in ENCODINGS for v in losses[e, "test_loss"])
  return lab.Report(
    title,
    setup,
    [lab.Figure("normalization", _panels(cfg, errs, losses, ms, bool(runs))), growth],
    verdicts(cfg, records),
    choices=(
      "the raw encoding (true tokens one per step, zero last entry, no bias tokens, no ε_x); the "
      "raw decoder's base (the mean true token at every step); the growth verdicts read the "
      "centred decoder; one set of true tokens per seed for both encodings; training data shared "
      "by the seeds; zero front-padding so one compiled program serves every L; the curvature "
      f"margin {CURVATURE_MARGIN:g}; the squared loss (so linearized descent and kernel regression "
      "are exact yardsticks near initialization); the plateau criterion and its tolerance; the "
      f"eigenvalue cut-off {KERNEL_CUTOFF:g}·max of the kernel-regression limit; float32."
    ),
    missing={
      "non-finite inversion values": inv.missing,  # token and l∞ errors (``_read`` reads all)
      "diverged training runs": diverged,
      "missing training values": train_missing - diverged,
    },
    after=([inversion] if ms else []) + (training if runs else []),
    restate=("every SGD run's step", "SGD reaches the plateau"),
  )


report = lab.reporter(declare)


EXPERIMENT = lab.Experiment.from_module(
  __name__, "Sec. 3 remark: inversion error and training loss against L with and without Def. 3.1"
)
