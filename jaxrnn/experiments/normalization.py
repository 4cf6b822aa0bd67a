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
   ``oracle`` (the patterns of the decoded sequence itself) and ``lstsq`` (the
   ridge least-squares yardstick ``fit_linear_decoder``).
2. Training (``jaxrnn.training.train``, model "rnn", SGD on W', A' with B
   frozen, clipped squared loss, lambda = 1, eta = lr / m) of a width-
   ``train_m`` RNN on a target ``F* = Phi(<w, xbar>)`` of every true token
   (``jaxrnn.concept.random_concept``), for both encodings. The change of the
   output, ``F_T - F_init``, is fitted to the target (labels shifted by the
   initial output, see ``train_seed``); the test loss is divided by the loss
   of predicting 0, which is the untrained network's (so 1 = nothing learned).

The rules (each can fail; ``verdicts`` computes them), per width for the
pattern decoder and once for training:

- "raw: grows exponentially in L" (the rule the paper's remark suggests):
  the slope of ln(error) against L -- the growth rate per step -- has its
  bootstrap 95% interval above 0. (Any growing error passes this; so also:)
- "raw: faster than any power of L": the log-log curvature
  (``invertibility.loglog_curvature``: second derivative of ln error in ln L
  from a quadratic fit; 0 for a power law, b L > 0 for an exponential e^{bL})
  above 0.
- "normalized: at most polynomial in L": the curvature below
  ``invertibility.CURVATURE_MARGIN``.
- "raw grows faster per step than normalized": rate(raw) - rate(normalized)
  above 0 (bootstrap over seeds of both).
- Training: the same three rules on the relative test loss, and "normalized
  trains to a lower test loss than raw at the largest L": the median over
  seeds of normalized / raw below 1.

Design choices where the paper is silent: the raw encoding above (the paper
does not define one); the raw base sequence (the mean token); one set of
true tokens per seed shared by both encodings and every L (prefixes), so the
curves are comparable; training data (``num_samples`` + ``num_test``
sequences, no label noise) shared by the seeds, which differ in the network
and the SGD draws, and by both encodings at one L; sequences shorter than
the longest are front-padded with zero tokens (h stays exactly 0 through
them, for any weights), so one compiled training program serves every L and
both encodings; eps_x < 1/L_max (Thm. 4.5's condition) at every L of the
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
from jaxrnn.experiments.invertibility import (
  CURVATURE_MARGIN,
  boot_log_means,
  loglog_curvature,
  pad_front,
  robust,
  x_axis_ticks,
)
from jaxrnn.inversion import (
  apply_linear_decoder,
  fit_linear_decoder,
  invert_hidden_state,
  reconstruction_errors,
  zero_base_sequence,
)
from jaxrnn.lab import at_least, each, greater_than, option, parses

ENCODINGS = ("normalized", "raw")
METHODS = ("pattern", "oracle", "lstsq")
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
  train_steps: int = option(300, at_least(1), help="SGD steps")
  lr: float = option(0.25, greater_than(0), help="learning rate times m (eta = lr / train_m)")
  num_samples: int = option(256, at_least(2), help="training samples N")
  num_test: int = option(256, at_least(2), help="test samples")


PRESETS = {
  "quick": Config(),
  "paper": Config(
    ms=(256, 1024, 2048),
    Ls=(3, 5, 8, 12, 16, 20, 24, 28, 32),
    eps_x=0.025,
    num_seeds=6,
    num_sequences=32,
    num_train=256,
    train_steps=1000,
    num_samples=1024,
    num_test=512,
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
  # Every least-squares decoder in one batched fit (targets front-padded to
  # L_max, the padding sliced off): one batched eigh, see ``invertibility``.
  decs = jax.vmap(fit_linear_decoder, (0, 0, None))(
    jnp.stack([c[5] for c in cases]), jnp.stack([pad_front(c[4], L_max) for c in cases]), ridge
  )
  out = {f"{e}/{meth}/{k}": [] for e in ENCODINGS for meth in METHODS for k in METRICS}
  for i, (enc, L, xs, h, _, _, base) in enumerate(cases):
    dec = jax.tree.map(lambda a, i=i: a[i], decs)
    decoded = {
      "pattern": jax.vmap(invert_hidden_state, (None, None, 0))(params, base, h),
      "oracle": jax.vmap(invert_hidden_state, (None, 0, 0))(params, xs, h),
      "lstsq": jax.vmap(apply_linear_decoder, (None, 0, None))(dec, h, d)[:, L_max - L :],
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


def train_seed(
  key, xs, ys, xs_test, ys_test, *, train_m: int, train_steps: int, batch_size: int, lr: float
):
  """One RNN trained so that its change ``F_T(x) - F_init(x)`` fits ``ys``:
  test loss before and after, divergence.

    The labels are shifted by the initial output, ``y + F_init(x)``, so the
    untrained network scores exactly the loss of predicting 0 and what is
    measured is what training added (Thm. 3.1's small lambda makes F_init
    negligible; at lambda = 1 it is not, and its size differs between the
    encodings: ||h^(L)||^2 grows like L for raw tokens)."""
  k_init, k_sgd = jax.random.split(key)
  params = init_params(k_init, train_m, xs.shape[-1], 1, xs.dtype)
  f0 = jax.vmap(rnn_output, (None, 0))
  res = training.train(
    k_sgd,
    params,
    xs,
    ys + f0(params, xs),
    xs_test,
    ys_test + f0(params, xs_test),
    optimizer=training.optimizer("sgd", learning_rate=lr / train_m),
    steps=train_steps,
    loss="clipped_squared",
    batch_size=batch_size,
  )
  return {"test_loss": res.eval_loss[-1], "init_loss": res.eval_loss[0], "diverged": res.diverged}


def training_data(cfg: Config, encoding: str, L: int):
  """(xs, ys, xs_test, ys_test), front-padded to max(Ls) steps: one target
  and one set of true tokens per (seed, L), shared by both encodings."""
  dt = jnp.dtype(cfg.dtype)
  L_max = max(cfg.Ls)
  n = cfg.num_samples + cfg.num_test
  k_tok, k_w = jax.random.split(jax.random.key(cfg.seed * 1_000_003 + 7 * L + 1))
  tb = jax.vmap(lambda k: random_true_sequence(k, L, cfg.d, dt))(jax.random.split(k_tok, n))
  if encoding == "raw":
    xbar, xs = tb, raw_sequences(tb)
  else:
    xbar = tb[:, : L - 2]
    xs = jax.vmap(normalize_sequence, (0, None))(xbar, cfg.eps_x)
  concept = random_concept(k_w, xbar.shape[1] + 2, cfg.d, phi=cfg.phi, dtype=dt)
  ys = jax.vmap(lambda xb: concept_value(concept, xb))(xbar)
  xs = pad_front(xs, L_max)
  N = cfg.num_samples
  return xs[:N], ys[:N], xs[N:], ys[N:]


def points(cfg: Config):
  pts = [{"part": "inversion", "m": m} for m in cfg.ms]
  if cfg.train:
    pts += [{"part": "training", "encoding": e, "L": L} for e in ENCODINGS for L in cfg.Ls]
  return pts


def run_point(cfg: Config, point: dict) -> dict:
  with jax.enable_x64(cfg.dtype == "float64"):
    if point["part"] == "inversion":
      m = point["m"]
      fn = lab.bind(invert_seed, cfg, m=m)
      out = jaxrnn.sweep(fn, jaxrnn.seed_keys(cfg.seed * 100_003 + m, cfg.num_seeds))
      # record["encoding/method/metric"][s][i]: seed s, L = Ls[i].
      return {k: np.asarray(v, np.float64) for k, v in out.items()}
    xs, ys, xt, yt = training_data(cfg, point["encoding"], point["L"])
    fn = lab.bind(train_seed, cfg)
    # Networks depend on (seed, L) only: both encodings train the same ones.
    keys = jaxrnn.seed_keys(cfg.seed * 100_003 + 50_021 + point["L"], cfg.num_seeds)
    out = jaxrnn.sweep(fn, keys, xs, ys, xt, yt)
    zero = jax.vmap(training.clipped_squared_loss)(jnp.zeros_like(yt), yt)
    return {
      "test_loss": np.asarray(out["test_loss"], np.float64),
      "init_loss": np.asarray(out["init_loss"], np.float64),
      "diverged": np.asarray(out["diverged"], bool),
      "zero_loss": float(jnp.mean(zero)),
    }


# --------------------------------------------------------------------------
# Report


def _rate(Ls, per_L) -> lab.Slope:
  """Slope of ln(value) against L (growth rate per step), with the bootstrap
  interval of ``lab.power_law`` (a power law in e^L)."""
  return lab.power_law([float(np.exp(L)) for L in Ls], per_L)


def rate_difference(Ls, per_a, per_b, *, n_boot: int = 2000, seed: int = 0) -> lab.Slope:
  """rate(a) - rate(b) (slopes of ln value against L) with a 95% interval
  from independent bootstrap resamples of the seeds of a and of b at every L."""
  a, b = _rate(Ls, per_a), _rate(Ls, per_b)
  if not (a.ok and b.ok):
    return lab.Slope(float("nan"), float("nan"), float("nan"), 0, 0, a.left_out + b.left_out)

  def boot(per, seed):
    pts = []
    for L, ys in zip(Ls, per):
      v = lab.finite_values(ys if isinstance(ys, (list, tuple, np.ndarray)) else [ys])
      v = v[v > 0]
      if v.size:
        pts.append((float(L), np.log(v)))
    x = np.array([p[0] for p in pts])
    x = x - x.mean()
    means = boot_log_means(pts, n_boot, seed)
    return (means - means.mean(axis=1, keepdims=True)) @ x / np.dot(x, x)

  lo, hi = np.quantile(boot(per_a, seed) - boot(per_b, seed + 1), [0.025, 0.975])
  return lab.Slope(
    a.value - b.value, float(lo), float(hi), min(a.n_x, b.n_x), min(a.n_seeds, b.n_seeds), 0
  )


class _Cells:
  def __init__(self, cfg: Config, records: list):
    self.cfg = cfg
    self.inv = {r["point"]["m"]: r for r in records if r["point"].get("part") == "inversion"}
    self.trn = {
      (r["point"]["encoding"], r["point"]["L"]): r
      for r in records
      if r["point"].get("part") == "training"
    }
    self.ms = [m for m in cfg.ms if m in self.inv]
    self.missing = sum(
      v is None
      for m in self.ms
      for e in ENCODINGS
      for meth in METHODS
      for L in cfg.Ls
      for v in self.err(m, e, L, meth)
    )
    self.diverged = sum(
      bool(x) for r in self.trn.values() for x in np.ravel(r.get("diverged") or []) if x
    )
    self.train_missing = sum(v is None for e in ENCODINGS for L in cfg.Ls for v in self.loss(e, L))

  def err(self, m, enc, L, meth="pattern", metric="token") -> list:
    r = self.inv.get(m)
    if r is None or L not in self.cfg.Ls:
      return []
    i = self.cfg.Ls.index(L)
    rows = r.get(f"{enc}/{meth}/{metric}") or []
    return [lab.finite(row[i]) if i < len(row) else None for row in rows]

  def loss(self, enc, L, which: str = "test_loss") -> list:
    """Relative test loss per seed (loss / loss of predicting 0; ``which`` =
    "test_loss" after training or "init_loss" before); None for diverged or
    missing seeds."""
    r = self.trn.get((enc, L))
    if r is None:
      return []
    zero = lab.finite(r.get("zero_loss"))
    div = list(r.get("diverged") or [])
    out = []
    for i, v in enumerate(r.get(which) or []):
      v = lab.finite(v)
      diverged = which == "test_loss" and i < len(div) and bool(div[i])
      bad = v is None or zero is None or zero <= 0 or diverged
      out.append(None if bad else v / zero)
    return out


def _growth_verdicts(what: str, Ls, per, *, raw: bool) -> list:
  if raw:
    return [
      lab.slope_verdict(
        f"{what}, raw tokens: grows exponentially in L (rate per step = slope of ln error vs L)",
        _rate(Ls, per),
        above=0,
      ),
      lab.slope_verdict(
        f"{what}, raw tokens: grows faster than any power of L (log-log curvature)",
        loglog_curvature(Ls, per),
        above=0,
      ),
    ]
  return [
    lab.slope_verdict(
      f"{what}, normalized: grows at most polynomially in L (log-log curvature)",
      loglog_curvature(Ls, per),
      below=CURVATURE_MARGIN,
    )
  ]


def verdicts(cfg: Config, records: list) -> list:
  """Every conclusion of the summary, computed from the records."""
  c = _Cells(cfg, records)
  Ls = list(cfg.Ls)
  out = []
  for m in c.ms:
    what = f"pattern-decoder token error (m={m})"
    raw = [c.err(m, "raw", L) for L in Ls]
    nrm = [c.err(m, "normalized", L) for L in Ls]
    out += _growth_verdicts(what, Ls, raw, raw=True)
    out += _growth_verdicts(what, Ls, nrm, raw=False)
    out.append(
      lab.slope_verdict(
        f"{what}: raw grows faster per step than normalized (rate difference)",
        rate_difference(Ls, raw, nrm),
        above=0,
      )
    )
  if c.trn:
    what = f"relative test loss after training (m={cfg.train_m})"
    raw = [c.loss("raw", L) for L in Ls]
    nrm = [c.loss("normalized", L) for L in Ls]
    out += _growth_verdicts(what, Ls, raw, raw=True)
    out += _growth_verdicts(what, Ls, nrm, raw=False)
    ratios = [
      a / b
      for a, b in zip(c.loss("normalized", Ls[-1]), c.loss("raw", Ls[-1]))
      if a is not None and b is not None and b > 0
    ]
    out.append(
      lab.threshold_verdict(
        f"normalized inputs train to a lower test loss than raw at L={Ls[-1]}",
        float(np.median(ratios)) if ratios else None,
        below=1.0,
        what=f"median over {len(ratios)} seeds of normalized / raw relative test loss",
      )
    )
  return out


def report(cfg: Config, records: list, out_dir) -> str:
  c = _Cells(cfg, records)
  Ls = list(cfg.Ls)
  s = lab.Summary(
    "normalization: inversion and training with and without Def. 3.1, against L",
    setup=(
      f"d={cfg.d}; normalized: ε_x={cfg.eps_x:g} (ε_x < 1/L for every L: "
      f"{'yes' if all(cfg.eps_x < 1 / L for L in Ls) else 'no'}); raw: the true tokens "
      f"fed directly. Inversion: {cfg.num_seeds} networks (seeds) × {cfg.num_sequences} test "
      f"sequences per (m, L), least squares on {cfg.num_train} held-out sequences. Training: "
      f"m={cfg.train_m}, {cfg.train_steps} SGD steps of batch {cfg.batch_size}, η = "
      f"{cfg.lr:g}/m, target Φ={cfg.phi} of all true tokens, N={cfg.num_samples}, "
      f"{cfg.num_test} test samples, {cfg.num_seeds} seeds. Token error in units of the true "
      "token (≥ 1: not recovered better than by 0). Cells: median [quartiles] over seeds, n = "
      "seeds."
    ),
  )
  if not c.ms and not c.trn:
    s.text("No completed points.")
    return s.render()
  ecolors = lab.color_map(list(ENCODINGS))
  styles = ["-", "--", ":", "-."]
  markers = ["o", "s", "^", "d"]
  n_panels = len(METHODS) + (1 if c.trn else 0)
  fig, axes = lab.figure(ncols=n_panels, width=4.4, height=3.8)

  def against_L(ax, xlabel, ylabel, title):  # linear L axis, a dashed line at the level 1
    ax.axhline(1.0, color="k", lw=1, ls="--")
    lab.style_axes(ax, xlabel, ylabel, title, xlog=False)
    x_axis_ticks(ax, Ls)

  for ax, meth in zip(axes, METHODS):
    for enc in ENCODINGS:
      for j, m in enumerate(c.ms):
        lab.band_plot(
          ax,
          Ls,
          [c.err(m, enc, L, meth) for L in Ls],
          label=f"{enc}, m={m}",
          color=ecolors[enc],
          ls=styles[j % len(styles)],
          marker=markers[j % len(markers)],
        )
    against_L(
      ax,
      "steps L (linear axis: exponential = straight line)",
      "token error (true-token units)",
      f"{meth} decoder",
    )
  if c.trn:
    ax = axes[len(METHODS)]
    for enc in ENCODINGS:
      lab.band_plot(ax, Ls, [c.loss(enc, L) for L in Ls], label=enc, color=ecolors[enc])
    against_L(ax, "steps L", "test loss / loss of predicting 0", f"training, m={cfg.train_m}")
  s.figure(out_dir / "normalization.png", fig=fig)

  rows = []
  for m in c.ms:
    for meth in METHODS:
      for enc in ENCODINGS:
        per = [c.err(m, enc, L, meth) for L in Ls]
        rows.append(
          [
            m,
            meth,
            enc,
            _rate(Ls, per).fmt(".3f"),
            lab.power_law(Ls, per).fmt(),
            loglog_curvature(Ls, per).fmt(),
          ]
        )
  if c.trn:
    for enc in ENCODINGS:
      per = [c.loss(enc, L) for L in Ls]
      rows.append(
        [
          cfg.train_m,
          "training",
          enc,
          _rate(Ls, per).fmt(".3f"),
          lab.power_law(Ls, per).fmt(),
          loglog_curvature(Ls, per).fmt(),
        ]
      )
  s.table(
    ["m", "decoder", "encoding", "rate per step (ln / L)", "log-log slope", "log-log curvature"],
    rows,
    caption=(
      "Growth against L (95% bootstrap intervals over seeds): the rate is the slope of ln "
      "error against L; the curvature is the second derivative of ln error in ln L from a "
      "quadratic fit (0 for a power law, > 0 for an exponential)."
    ),
  )
  s.verdicts(verdicts(cfg, records))
  s.bullets(
    "Reading",
    [
      lab.missing_note(
        {
          "non-finite inversion values": c.missing,
          "diverged training runs": c.diverged,
          "missing training values": c.train_missing - c.diverged,
        }
      )
    ],
  )
  s.choices(
    "the raw encoding (true tokens one per step, zero last entry, no bias tokens, no ε_x); "
    "the raw decoder's base (the mean true token at every step); one set of true tokens per "
    "seed for both encodings; training data shared by the seeds; zero front-padding so one "
    f"compiled program serves every L; the curvature margin {CURVATURE_MARGIN:g}; float32."
  )
  rows = []
  for m in c.ms:
    for L in Ls:
      rows.append(
        [m, L]
        + [robust(c.err(m, enc, L, meth)) for enc in ENCODINGS for meth in METHODS]
        + [robust(c.err(m, enc, L, "pattern", "linf")) for enc in ENCODINGS]
      )
  if rows:
    s.table(
      ["m", "L"]
      + [f"{enc} {meth}" for enc in ENCODINGS for meth in METHODS]
      + [f"{enc} pattern l∞" for enc in ENCODINGS],
      rows,
      caption="### Inversion: token error in true-token units",
    )
  if c.trn:
    rows = [[L] + [robust(c.loss(enc, L)) for enc in ENCODINGS] for L in Ls]
    s.table(
      ["L"] + [f"{enc}: test loss / loss of 0 after training" for enc in ENCODINGS],
      rows,
      caption="### Training (diverged seeds counted as missing)",
    )
  return s.render()


EXPERIMENT = lab.Experiment.from_module(
  __name__, "Sec. 3 remark: inversion error and training loss against L with and without Def. 3.1"
)
